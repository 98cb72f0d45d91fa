"""Spark frames shaped exactly as a contract of leo/schema.py: its columns, in its order, with
its types, and non-nullable columns checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from leo.schema import Table

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

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


def table_stats(
    df: DataFrame, table: Table, extra: dict[str, Column] | None = None
) -> dict[str, Any]:
    """One pass: `rows`, `nulls` (in the contract's non-nullable columns, only those with
    any) and a count of rows meeting each `extra` condition."""
    from pyspark.sql import functions as F

    required = [c.name for c in table.columns if not c.nullable]
    conds = {f"__null_{c}": F.col(c).isNull() for c in required}
    conds |= {f"__extra_{k}": v for k, v in (extra or {}).items()}
    aggs = [F.count("*").alias("__rows")]
    aggs += [F.sum(cond.cast("long")).alias(name) for name, cond in conds.items()]
    row = df.agg(*aggs).collect()[0]
    nulls = {c: int(row[f"__null_{c}"]) for c in required if row[f"__null_{c}"]}
    out: dict[str, Any] = {"rows": int(row["__rows"]), "nulls": nulls}
    out |= {k: int(row[f"__extra_{k}"] or 0) for k in extra or {}}
    return out
