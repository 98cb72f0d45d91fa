"""Reading link-tables inputs (CSV as text, Parquet as typed) and writing a run's small files.

Inputs are `PATH` or `NAME=PATH`; the source name is NAME, else the file's stem. CSV is read
with every column as text (no type guessing: `0123` stays `0123`), empty fields as missing.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import pandas as pd

from leo.errors import InputError
from leo.layout import is_uri

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class Input:
    name: str
    path: str

    @property
    def format(self) -> str:
        p = self.path.rstrip("/").lower()
        if p.endswith((".csv", ".csv.gz", ".txt")):
            return "csv"
        return "parquet"

    @property
    def uri(self) -> str:
        if is_uri(self.path):
            return self.path
        return "file://" + posixpath.abspath(self.path)


def parse_input(text: str) -> Input:
    name, sep, path = text.partition("=")
    if not sep or "/" in name or not name:
        path, name = text, ""
    stem = PurePosixPath(path.rstrip("/")).name
    for ext in (".csv.gz", ".csv", ".txt", ".parquet"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return Input(name or stem, path)


def read_spark(spark: SparkSession, inp: Input) -> DataFrame:
    from pyspark.errors import AnalysisException

    try:
        if inp.format == "csv":
            return spark.read.csv(inp.uri, header=True, inferSchema=False, encoding="UTF-8")
        return spark.read.parquet(inp.uri)
    except AnalysisException as exc:
        raise InputError(
            f"input {inp.name}: cannot read {inp.path}: {str(exc).splitlines()[0]}"
        ) from None


def read_pandas(inp: Input) -> pd.DataFrame:
    try:
        if inp.format == "csv":
            return pd.read_csv(inp.path, dtype=str, keep_default_na=False, na_values=[""])
        return pd.read_parquet(inp.path)
    except (OSError, ValueError) as exc:
        raise InputError(f"input {inp.name}: cannot read {inp.path}: {exc}") from None
