"""The LEO outcome measures per person and tax year (design section 6, references.md), on
Spark DataFrames. The plain-English statements are in conf/catalogue.yaml (`definitions:`);
`STATED` below lists, for each definition this module implements, the phrases its statement
must contain, built from the constants the code uses, so the two cannot drift
(tests/spark_jobs/test_definitions.py checks them).

Inputs are source rows already mapped to persons and checked (spark_jobs/content.py
quarantines rows these functions could not use, e.g. an end before a start):
- employments: person_pid, tax_year, start_date, end_date (null: continuing), pay;
  one row per employment per tax year, dates those of the whole employment;
- benefits: person_pid, out_of_work, start_date, end_date (null: open at the extract);
- education spans: person_pid, first_year, last_year (academic years, inclusive).

A tax year T runs from 6 April T to 5 April T+1; academic year T from September T to August
T+1, so the October to March of tax year T lies in academic year T.
"""

from __future__ import annotations

import calendar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Sustained employment: at least one day of PAYE employment in MIN_SUSTAINED_MONTHS of the
# months October to March (DfE SFR36/2016). Months 1-3 are in the calendar year after T.
OCT_TO_MAR = (10, 11, 12, 1, 2, 3)
MIN_SUSTAINED_MONTHS = 5
# Annualised earnings: pay / days employed x DAYS_PER_YEAR (our choice, references.md).
DAYS_PER_YEAR = 365

EMPLOYMENT_ONLY = "employment_only"
EMPLOYMENT_AND_STUDY = "employment_and_study"
STUDY_ONLY = "study_only"
NO_SUSTAINED_DESTINATION = "no_sustained_destination"
NOT_CAPTURED = "not_captured"
ACTIVITIES = (
    EMPLOYMENT_ONLY,
    EMPLOYMENT_AND_STUDY,
    STUDY_ONLY,
    NO_SUSTAINED_DESTINATION,
    NOT_CAPTURED,
)

_MONTHS = calendar.month_name
STATED: dict[str, tuple[str, ...]] = {
    "sustained_employment": (
        f"at least {MIN_SUSTAINED_MONTHS} of the {len(OCT_TO_MAR)} months "
        f"{_MONTHS[OCT_TO_MAR[0]]} to {_MONTHS[OCT_TO_MAR[-1]]}",
        "counts once",
    ),
    "employed_days": ("6 April to 5 April", "counted once"),
    "annualised_earnings": (f"x {DAYS_PER_YEAR}", "only for those in sustained employment"),
    "out_of_work_benefit": ("one day in the tax year", "flagged out_of_work"),
    "in_education": (
        "first two terms (October to March)",
        "a KS5 (16-18) record its academic year and the one before",
        "its start year only",
    ),
    "activity": ACTIVITIES,
}


def tax_year_start(tax_year: Column) -> Column:
    from pyspark.sql import functions as F

    return F.make_date(tax_year, F.lit(4), F.lit(6))


def tax_year_end(tax_year: Column) -> Column:
    from pyspark.sql import functions as F

    return F.make_date(tax_year + 1, F.lit(4), F.lit(5))


def tax_year_of(day: Column) -> Column:
    """The tax year (start year) a date falls in."""
    from pyspark.sql import functions as F

    before = (F.month(day) < 4) | ((F.month(day) == 4) & (F.dayofmonth(day) < 6))
    return F.year(day) - before.cast("int")


def clipped_interval(start: Column, end: Column, tax_year: Column) -> tuple[Column, Column]:
    """The days [lo, hi] of a spell inside tax year `tax_year`; an open end (null) runs to the
    end of the tax year. lo > hi when the spell does not touch the tax year."""
    from pyspark.sql import functions as F

    lo = F.greatest(start, tax_year_start(tax_year))
    hi = F.least(F.coalesce(end, tax_year_end(tax_year)), tax_year_end(tax_year))
    return lo, hi


def _new_days(keys: list[str]) -> Column:
    """Per interval row [lo, hi]: the days it adds to the union of the key's intervals that
    sort before it (by lo): those after the furthest day already covered. Summed per key, the
    union's size: overlapping intervals (two concurrent jobs) count each day once."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*keys).orderBy("lo", "hi").rowsBetween(Window.unboundedPreceding, -1)
    reach = F.max("hi").over(w)  # null for the first interval; greatest() skips nulls
    first_new = F.greatest(F.col("lo"), F.date_add(reach, 1))
    return F.greatest(F.datediff(F.col("hi"), first_new) + 1, F.lit(0))


def union_days(intervals: DataFrame, keys: list[str]) -> DataFrame:
    """Days covered by the union of the inclusive date intervals [lo, hi] per key: keys +
    `days`."""
    from pyspark.sql import functions as F

    return (
        intervals.withColumn("__new", _new_days(keys))
        .groupBy(*keys)
        .agg(F.sum("__new").cast("int").alias("days"))
    )


def _month_flags(ty: Column) -> list[Column]:
    """Per interval row: did it cover at least one day of each month October to March of
    tax year `ty` (months 1-3 fall in the calendar year after ty)."""
    from pyspark.sql import functions as F

    flags = []
    for i, month in enumerate(OCT_TO_MAR):
        first = F.make_date(ty + (1 if month < OCT_TO_MAR[0] else 0), F.lit(month), F.lit(1))
        flags.append(((F.col("lo") <= F.last_day(first)) & (F.col("hi") >= first)).alias(f"__m{i}"))
    return flags


def _with_sustained(df: DataFrame) -> DataFrame:
    """Add sustained_employment and annualised_earnings from employed_months_oct_mar,
    paye_earnings and employed_days."""
    from pyspark.sql import functions as F

    sustained = F.coalesce(F.col("employed_months_oct_mar") >= MIN_SUSTAINED_MONTHS, F.lit(False))
    annualised = F.col("paye_earnings") / F.col("employed_days") * DAYS_PER_YEAR
    return df.withColumn("sustained_employment", sustained).withColumn(
        "annualised_earnings", F.when(sustained, annualised).cast("double")
    )


def _employment_base(employments: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    keys = ["person_pid", "tax_year"]
    ty = F.col("tax_year")
    lo, hi = clipped_interval(F.col("start_date"), F.col("end_date"), ty)
    rows = employments.select(*keys, "pay", lo.alias("lo"), hi.alias("hi"))
    rows = rows.select("*", *_month_flags(ty), _new_days(keys).alias("__new"))
    months = sum(F.max(f"__m{i}").cast("int") for i in range(len(OCT_TO_MAR)))
    return rows.groupBy(*keys).agg(
        F.sum("pay").alias("paye_earnings"),
        F.sum("__new").cast("int").alias("employed_days"),
        months.alias("employed_months_oct_mar"),
    )


def employment_years(employments: DataFrame) -> DataFrame:
    """Per person and tax year with an employment row: employed_days (concurrent jobs counted
    once), paye_earnings (summed over employments), employed_months_oct_mar,
    sustained_employment and annualised_earnings (null unless sustained)."""
    return _with_sustained(_employment_base(employments))


def benefit_years(benefits: DataFrame, first_tax_year: int, last_tax_year: int) -> DataFrame:
    """Per person and tax year with an out-of-work benefit day: out_of_work_benefit_days
    (overlapping spells counted once). An open spell runs to the end of the data."""
    from pyspark.sql import functions as F

    keys = ["person_pid", "tax_year"]
    oow = benefits.where(F.col("out_of_work"))
    last_day = tax_year_end(F.lit(last_tax_year))
    ty0 = F.greatest(tax_year_of(F.col("start_date")), F.lit(first_tax_year))
    ty1 = F.least(tax_year_of(F.coalesce(F.col("end_date"), last_day)), F.lit(last_tax_year))
    years = oow.where(ty0 <= ty1).select(
        "person_pid",
        "start_date",
        "end_date",
        F.explode(F.sequence(ty0, ty1)).alias("tax_year"),
    )
    lo, hi = clipped_interval(F.col("start_date"), F.col("end_date"), F.col("tax_year"))
    spans = years.select(*keys, lo.alias("lo"), hi.alias("hi")).where(F.col("lo") <= F.col("hi"))
    return union_days(spans, keys).withColumnRenamed("days", "out_of_work_benefit_days")


def education_years(spans: DataFrame) -> DataFrame:
    """Distinct (person_pid, tax_year) in education: the academic years a span covers, each
    naming the tax year whose October to March it contains."""
    from pyspark.sql import functions as F

    return (
        spans.where(F.col("first_year") <= F.col("last_year"))
        .select(
            "person_pid",
            F.explode(F.sequence(F.col("first_year"), F.col("last_year"))).alias("tax_year"),
        )
        .distinct()
    )


def activity(sustained: Column, in_education: Column, any_record: Column) -> Column:
    from pyspark.sql import functions as F

    return (
        F.when(sustained & in_education, F.lit(EMPLOYMENT_AND_STUDY))
        .when(sustained, F.lit(EMPLOYMENT_ONLY))
        .when(in_education, F.lit(STUDY_ONLY))
        .when(any_record, F.lit(NO_SUSTAINED_DESTINATION))
        .otherwise(F.lit(NOT_CAPTURED))
    )


def person_tax_years(
    employments: DataFrame,
    benefits: DataFrame,
    education_spans: DataFrame,
    first_tax_year: int,
    last_tax_year: int,
) -> DataFrame:
    """The person_tax_year table (leo/schema.py PERSON_TAX_YEAR): one row per person and tax
    year of the data with an employment, out-of-work benefit or education record."""
    from pyspark.sql import functions as F

    from leo.schema import PERSON_TAX_YEAR
    from spark_jobs.contract import conform

    keys = ["person_pid", "tax_year"]
    parts = (
        _employment_base(employments),
        benefit_years(benefits, first_tax_year, last_tax_year),
        education_years(education_spans).withColumn("in_education", F.lit(True)),
    )
    # Each part has one row per key: stack them and take each column's one value (a union
    # and one aggregation instead of two full outer joins).
    stacked = parts[0].unionByName(parts[1], allowMissingColumns=True)
    stacked = stacked.unionByName(parts[2], allowMissingColumns=True)
    stacked = stacked.where(F.col("tax_year").between(first_tax_year, last_tax_year))
    filled = stacked.groupBy(*keys).agg(
        F.coalesce(F.max("employed_days"), F.lit(0)).alias("employed_days"),
        F.coalesce(F.max("paye_earnings"), F.lit(0.0)).alias("paye_earnings"),
        F.coalesce(F.max("employed_months_oct_mar"), F.lit(0)).alias("employed_months_oct_mar"),
        F.coalesce(F.max("out_of_work_benefit_days"), F.lit(0)).alias("out_of_work_benefit_days"),
        F.coalesce(F.max("in_education"), F.lit(False)).alias("in_education"),
    )
    filled = _with_sustained(filled)
    # Every row here has a record: an employment row of the year has at least one day in it
    # (content checks), a benefit row an out-of-work day, an education row education.
    filled = filled.withColumn(
        "activity",
        activity(F.col("sustained_employment"), F.col("in_education"), F.lit(True)),
    )
    return conform(filled, PERSON_TAX_YEAR)
