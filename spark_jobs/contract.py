"""Spark frames shaped exactly as a contract of leo/schema.py: its columns, in its order, with
its types, and non-nullable columns checked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from leo.schema import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_SPARK_TYPES = {
    pa.string(): "string",
    pa.bool_(): "boolean",
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.date32(): "date",
}


def spark_type(t: pa.DataType) -> str:
    try:
        return _SPARK_TYPES[t]
    except KeyError:
        raise TypeError(f"no Spark type for Arrow type {t}") from None


def conform(df: DataFrame, table: Table) -> DataFrame:
    """Select exactly the contract's columns, cast to its types (a missing column is a bug:
    KeyError naming it and the table)."""
    from pyspark.sql import functions as F

    missing = [c for c in table.names if c not in df.columns]
    if missing:
        raise KeyError(f"{table.name}: frame lacks contract column(s) {', '.join(missing)}")
    return df.select(*[F.col(c.name).cast(spark_type(c.type)).alias(c.name) for c in table.columns])


def null_violations(df: DataFrame, table: Table) -> dict[str, int]:
    """Nulls in the contract's non-nullable columns, by column (only those with any)."""
    from pyspark.sql import functions as F

    required = [c.name for c in table.columns if not c.nullable]
    if not required:
        return {}
    row = df.agg(*[F.sum(F.col(c).isNull().cast("long")).alias(c) for c in required]).collect()[0]
    return {c: int(row[c]) for c in required if row[c]}
