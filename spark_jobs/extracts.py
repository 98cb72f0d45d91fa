"""Reading a source extract (raw/<source>/, design section 4) safely.

Before Spark reads a row, every file's Parquet footer is read (three small reads per file,
through Hadoop's FileSystem, so any URI; for a local data root `leo link` does it before
Spark even starts, with `LocalFiles`) and checked against the source contract in
leo/schema.py: an empty, truncated or corrupt file, a missing column, a column the contract
does not have, and a column of another type are errors naming the file and the column,
raised in seconds. An extract holds exactly the agreed columns: an unexpected one may be
personal data no agreement covers, so it is refused rather than carried along.

The footers' row counts are the extract's size; `read_extract` returns them so a job can
check that Spark read every row (a cluster set to skip corrupt files would otherwise drop
rows silently).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from leo.errors import InputError
from leo.schema import SOURCES, Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from leo.layout import DataRoot

MAGIC = b"PAR1"
CONTRACT = "leo/schema.py"


class Files(Protocol):
    """What the checks need of a filesystem (spark_jobs/storage.py HadoopStorage has it)."""

    def list_files(self, uri: str) -> list[tuple[str, int, bool]]: ...

    def read_range(self, uri: str, offset: int, length: int) -> bytes: ...


class LocalFiles:
    """The same on the local filesystem, without Spark (`file://` URIs or paths)."""

    @staticmethod
    def _path(uri: str) -> Path:
        return Path(uri.removeprefix("file://"))

    def list_files(self, uri: str) -> list[tuple[str, int, bool]]:
        folder = self._path(uri)
        if not folder.is_dir():
            return []
        entries = [(p.name, p.stat().st_size, p.is_dir()) for p in folder.iterdir()]
        return sorted(e for e in entries if not e[0].startswith((".", "_")))

    def read_range(self, uri: str, offset: int, length: int) -> bytes:
        with open(self._path(uri), "rb") as f:
            f.seek(offset)
            return f.read(length)


@dataclass(frozen=True)
class Extract:
    """What the footers say: the files and their rows."""

    label: str  # raw/<source>
    files: dict[str, int]  # file name -> rows

    @property
    def rows(self) -> int:
        return sum(self.files.values())


def _same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_dictionary(actual):  # a categorical column: the values' type counts
        actual = actual.value_type
    if pa.types.is_large_string(actual):
        actual = pa.string()
    return actual == expected


def footer(store: Files, uri: str, size: int, label: str) -> pq.FileMetaData:
    """The file's Parquet metadata, or an InputError naming the file and what is wrong."""
    if size < 12:
        what = "an empty file" if size == 0 else f"{size} bytes"
        raise InputError(f"{label}: not a Parquet file ({what})")
    tail = store.read_range(uri, size - 8, 8)
    if store.read_range(uri, 0, 4) != MAGIC or tail[4:] != MAGIC:
        raise InputError(
            f"{label}: not a Parquet file (no Parquet marker at its start or end: "
            "truncated, or another format)"
        )
    n = int.from_bytes(tail[:4], "little")
    if not 0 < n <= size - 12:
        raise InputError(f"{label}: corrupt Parquet footer (length {n} in a {size}-byte file)")
    data = store.read_range(uri, size - 8 - n, n)
    try:
        return pq.read_metadata(pa.BufferReader(MAGIC + data + tail))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"{label}: corrupt Parquet footer ({exc})") from None


def check_schema(label: str, schema: pa.Schema, table: Table) -> None:
    """The file's columns are the contract's, each of the contract's type."""
    repeated = sorted({n for n in schema.names if schema.names.count(n) > 1})
    if repeated:
        raise InputError(f"{label}: column(s) {', '.join(repeated)} appear more than once")
    missing = [c for c in table.names if c not in schema.names]
    if missing:
        raise InputError(
            f"{label}: missing column(s) {', '.join(missing)} of the {table.name} contract "
            f"({CONTRACT})"
        )
    extra = [c for c in schema.names if c not in table.names]
    if extra:
        raise InputError(
            f"{label}: column(s) {', '.join(extra)} not in the {table.name} contract "
            f"({CONTRACT}); an extract holds only the agreed columns"
        )
    for col in table.columns:
        got = schema.field(col.name).type
        if not _same_type(got, col.type):
            raise InputError(
                f"{label}: column '{col.name}' has type {got}; the {table.name} contract "
                f"({CONTRACT}) says {col.type}"
            )


def check_extract(store: Files, root: DataRoot, source: str) -> Extract:
    """Every file of raw/<source>/ checked from its footer; raises on the first problem."""
    table = SOURCES[source]
    uri = root.uri("raw", source)
    label = f"raw/{source}"
    entries = store.list_files(uri)
    if not entries:
        raise InputError(f"{label}: no extract at {root.raw(source)} (run `leo synth` or load it)")
    files: dict[str, int] = {}
    for name, size, is_dir in entries:
        where = f"{label}/{name}"
        if is_dir:
            raise InputError(f"{where}: a folder; an extract is one folder of Parquet files")
        meta = footer(store, f"{uri}/{name}", size, where)
        try:
            schema = meta.schema.to_arrow_schema()
        except (pa.ArrowException, ValueError) as exc:
            raise InputError(f"{where}: unreadable Parquet schema ({exc})") from None
        check_schema(where, schema, table)
        files[name] = meta.num_rows
    extract = Extract(label, files)
    if extract.rows == 0:
        raise InputError(f"{label}: no rows ({len(files)} file(s), all empty)")
    return extract


def read_extract(spark: SparkSession, root: DataRoot, source: str) -> tuple[DataFrame, Extract]:
    """raw/<source>/ as a DataFrame, once every file has passed `check_extract`."""
    from spark_jobs.storage import HadoopStorage

    extract = check_extract(HadoopStorage(spark), root, source)
    return spark.read.parquet(root.uri("raw", source)), extract


def spark_read_failure(exc: Exception, label: str) -> InputError | None:
    """An InputError naming the file for a Spark failure to read one of the extract's files
    (data pages corrupt behind a sound footer), else None: other failures are not the
    input's."""
    text = str(exc)
    m = re.search(r"FAILED_READ_FILE\S*\] Encountered error while reading file (\S+?)\.?\s", text)
    if m is None:
        return None
    cause = re.search(r"Caused by: ([^\n]+)", text)
    why = f" ({cause.group(1).strip()[:200]})" if cause else ""
    return InputError(f"{label}/{m.group(1).rsplit('/', 1)[-1]}: cannot read its rows{why}")
