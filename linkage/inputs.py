"""Checks on input tables before linkage (issue item 6). Whole-table and whole-column problems
stop the run with an error naming the table, the column and the row count; a record that
cannot be linked at all (no unique id, or every compared identifier empty) is quarantined
with a reason and counted. Nothing is dropped silently.

Works on Spark DataFrames (`check_spark`, one aggregation pass) and pandas (`check_pandas`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from leo.errors import InputError
from linkage.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

NO_ID = "no unique id"
NO_IDENTIFIERS = "every identifier empty"
TEXT_LIKE = (
    "string",
    "int",
    "bigint",
    "smallint",
    "tinyint",
    "double",
    "float",
    "decimal",
    "date",
    "timestamp",
)


@dataclass
class InputReport:
    table: str
    rows: int
    quarantined: dict[str, int] = field(default_factory=dict)


def required(
    settings: Settings, uid: str | None = None, columns: list[str] | None = None
) -> list[str]:
    return [
        uid or settings.unique_id_column,
        *(settings.input_columns() if columns is None else columns),
    ]


def missing_columns(table: str, have: list[str], need: list[str]) -> None:
    missing = [c for c in need if c not in have]
    if missing:
        raise InputError(
            f"input {table}: missing column(s) {', '.join(missing)} required by the settings "
            f"(it has: {', '.join(have) or 'none'})"
        )


def _fail_on_counts(table: str, rows: int, nulls: dict[str, int], dup_ids: int, uid: str) -> None:
    if rows == 0:
        raise InputError(f"input {table}: no rows")
    for col in nulls:
        if nulls[col] == rows:
            raise InputError(f"input {table}: column '{col}' is empty in all {rows:,} rows")
    if dup_ids:
        raise InputError(
            f"input {table}: column '{uid}' has {dup_ids:,} value(s) held "
            "by more than one row; unique ids must be unique"
        )


def _blank(col: Column) -> Column:
    from pyspark.sql import functions as F

    return col.isNull() | (F.trim(col.cast("string")) == "")


def check_spark(
    table: str,
    df: DataFrame,
    settings: Settings,
    uid: str | None = None,
    columns: list[str] | None = None,
) -> tuple[DataFrame, InputReport]:
    """Validate one input and cast its compared columns to text. Returns the records with a
    `__reason` column (null, or why the record is quarantined) and the counts. `uid` and
    `columns` default to the settings' unique id column and input columns."""
    from pyspark.sql import functions as F

    need = required(settings, uid, columns)
    missing_columns(table, df.columns, need)
    types = dict(df.dtypes)
    for col in need:
        t = types[col]
        if not t.startswith(TEXT_LIKE):
            raise InputError(f"input {table}: column '{col}' has type {t}; expected text")
    date_formats = {c.column: c.date_format for c in settings.comparisons if c.kind == "date"}
    for col in need:
        if types[col] == "date" and col in date_formats:
            java = date_formats[col].replace("%Y", "yyyy").replace("%m", "MM").replace("%d", "dd")
            df = df.withColumn(col, F.date_format(F.col(col), java))
        elif types[col] != "string":
            df = df.withColumn(col, F.col(col).cast("string"))
    uid, idents = need[0], need[1:]
    all_blank = F.lit(True)
    for c in idents:
        all_blank = all_blank & _blank(F.col(c))
    reason = F.when(_blank(F.col(uid)), F.lit(NO_ID)).when(all_blank, F.lit(NO_IDENTIFIERS))
    df = df.withColumn("__reason", reason)
    aggs = [F.count("*").alias("__rows")]
    aggs += [F.sum(_blank(F.col(c)).cast("long")).alias(f"null_{i}") for i, c in enumerate(idents)]
    aggs += [F.sum((F.col("__reason") == NO_ID).cast("long")).alias("no_id")]
    aggs += [F.sum((F.col("__reason") == NO_IDENTIFIERS).cast("long")).alias("no_idents")]
    row = df.agg(*aggs).collect()[0]
    rows = int(row["__rows"])
    nulls = {c: int(row[f"null_{i}"] or 0) for i, c in enumerate(idents)}
    dups = (
        df.where(F.col("__reason").isNull()).groupBy(uid).count().where(F.col("count") > 1).count()
        if rows
        else 0
    )
    _fail_on_counts(table, rows, nulls, dups, uid)
    report = InputReport(table, rows)
    for name, key in ((NO_ID, "no_id"), (NO_IDENTIFIERS, "no_idents")):
        if row[key]:
            report.quarantined[name] = int(row[key])
    return df, report


def check_pandas(
    table: str, df: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame, InputReport]:
    missing_columns(table, list(df.columns), required(settings))
    df = df.copy()
    for col in required(settings):
        s = df[col]
        if s.dtype.kind in "biufcM" or pd.api.types.is_string_dtype(s) or s.dtype == object:
            df[col] = s.astype("string")
        else:
            raise InputError(f"input {table}: column '{col}' has type {s.dtype}; expected text")
    blank = {c: df[c].isna() | (df[c].str.strip() == "") for c in required(settings)}
    rows = len(df)
    nulls = {c: int(blank[c].sum()) for c in settings.input_columns()}
    all_blank = pd.concat([blank[c] for c in settings.input_columns()], axis=1).all(axis=1)
    no_id = blank[settings.unique_id_column]
    reason = pd.Series(None, index=df.index, dtype=object)
    reason[all_blank] = NO_IDENTIFIERS
    reason[no_id] = NO_ID
    df["__reason"] = reason
    ids = df.loc[reason.isna(), settings.unique_id_column]
    dups = int((ids.value_counts() > 1).sum())
    _fail_on_counts(table, rows, nulls, dups, settings.unique_id_column)
    report = InputReport(table, rows)
    for name in (NO_ID, NO_IDENTIFIERS):
        n = int((reason == name).sum())
        if n:
            report.quarantined[name] = n
    return df, report
