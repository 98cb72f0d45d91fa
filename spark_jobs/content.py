"""The sources' content columns as the build reads them, and the content checks it applies.

The build reads from raw/<source>/ only the record id (to join the linkage run's map), the
content columns (leo/schema.py role `content`), sex, and the year and month of birth (the
full date of birth is cut to them on reading and goes no further). Names, postcodes and NINOs
are never read.

A row whose content the measures cannot use is quarantined with the first reason that applies
(`RULES`), counted in the manifest, and left out of every table; it is never dropped
silently. Rows the linkage run quarantined keep the linkage's reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leo.errors import InputError
from leo.schema import CONTENT, SOURCES

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from leo.layout import DataRoot

# Reasons, in the order they are tested. Each is (reason, condition on the raw columns).
END_BEFORE_START = "end_date before start_date"
NEGATIVE_PAY = "negative pay"


def _rules(source: str) -> list[tuple[str, Column]]:
    from pyspark.sql import functions as F

    from spark_jobs.outcomes import clipped_interval

    c = F.col
    if source == "ks4":
        return [
            ("academic_year missing", c("academic_year").isNull()),
            ("attainment8 outside 0-90", ~c("attainment8").between(0, 90)),
        ]
    if source == "ks5":
        return [("academic_year missing", c("academic_year").isNull())]
    if source == "he":
        return [
            ("start_year missing", c("start_year").isNull()),
            ("graduation_year before start_year", c("graduation_year") < c("start_year")),
        ]
    if source == "employments":
        lo, hi = clipped_interval(c("start_date"), c("end_date"), c("tax_year"))
        return [
            ("tax_year missing", c("tax_year").isNull()),
            ("start_date missing", c("start_date").isNull()),
            (END_BEFORE_START, c("end_date") < c("start_date")),
            ("pay missing", c("pay").isNull() | F.isnan(c("pay"))),
            (NEGATIVE_PAY, c("pay") < 0),
            ("employment dates outside its tax_year", lo > hi),
        ]
    if source == "benefits":
        return [
            ("start_date missing", c("start_date").isNull()),
            (END_BEFORE_START, c("end_date") < c("start_date")),
            ("out_of_work missing", c("out_of_work").isNull()),
        ]
    raise ValueError(f"unknown source {source!r}")


def content_columns(source: str) -> list[str]:
    return SOURCES[source].by_role(CONTENT)


def content_reason(source: str) -> Column:
    """The first content rule a row breaks, or null."""
    from pyspark.sql import functions as F

    expr = None
    for reason, cond in _rules(source):
        hit = F.coalesce(cond, F.lit(False))
        expr = F.when(hit, F.lit(reason)) if expr is None else expr.when(hit, F.lit(reason))
    assert expr is not None
    return expr


def read_content(spark: SparkSession, root: DataRoot, source: str) -> DataFrame:
    """raw/<source> as: source, record_id (as text, exactly as the linkage run keys it), blank_id
    (the record has no usable id: the linkage run quarantined it), the content columns, sex,
    birth_year, birth_month, content_reason."""
    from pyspark.sql import functions as F

    from spark_jobs.storage import HadoopStorage

    table = SOURCES[source]
    uri = root.uri("raw", source)
    if not HadoopStorage(spark).list_names(uri):
        raise InputError(f"raw/{source}: no extract at {root.raw(source)}")
    df = spark.read.parquet(uri)
    assert table.record_id is not None
    need = [table.record_id, *content_columns(source), "sex", "date_of_birth"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"raw/{source}: missing column(s) {', '.join(missing)}")
    rid = F.col(table.record_id).cast("string")
    ym = F.regexp_extract(F.col("date_of_birth").cast("string"), r"^(\d{4})-(\d{2})", 0)
    year = F.when(ym != "", F.substring(ym, 1, 4).cast("int"))
    month = F.when(ym != "", F.substring(ym, 6, 2).cast("int"))
    month_ok = month.between(1, 12)
    return df.select(
        F.lit(source).alias("source"),
        rid.alias("record_id"),
        (rid.isNull() | (F.trim(rid) == "")).alias("blank_id"),
        *content_columns(source),
        F.when(F.col("sex").isin("F", "M"), F.col("sex")).alias("sex"),
        F.when(month_ok, year).cast("smallint").alias("birth_year"),
        F.when(month_ok, month).cast("tinyint").alias("birth_month"),
        content_reason(source).alias("content_reason"),
    )
