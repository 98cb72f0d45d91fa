"""Cohorts and years after (references.md; statements in conf/catalogue.yaml), and the
cohort_outcomes table that `leo publish` aggregates (leo/schema.py COHORT_OUTCOMES).

- KS4 cohort of academic year A: people whose (earliest) KS4 record is in A.
- Graduate cohort of academic year G: people with an HE qualification in G (graduation_year
  recorded); one row per person and year, with the year's highest qualification
  (`QUALIFICATION_RANK`), so a first degree and a later master's put a person in two cohorts.
- Years after: k years after the academic year Y (KS4 or graduation) is the tax year
  Y + 1 + k, the k-th full tax year after the academic year ends (for graduates of 2019/20,
  1 year after is 2021-22). KS4 cohorts use the same rule as graduates (our analogue): for KS4
  in 2014/15, 1 year after is 2016-17, the year the pupil turns 18.
- Kept only where the tax year is within the data (first to last tax year of the PAYE data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leo.schema import academic_year_label, tax_year_label

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

YEARS_AFTER = (1, 3, 5, 10)
KS4, GRADUATE = "ks4", "graduate"
NOT_APPLICABLE = "n/a"
UNKNOWN = "unknown"
# Highest aim first: the qualification a graduate cohort row carries when a person qualifies
# twice in one academic year.
QUALIFICATION_RANK = ("postgraduate", "first_degree", "other_undergraduate")
# Sources whose records count as "linked to outcome data" (cohort_outcomes.linked): any source
# other than the one that defines the cohort.
OUTCOME_SOURCES = {
    KS4: ("ks5", "he", "employments", "benefits"),
    GRADUATE: ("employments", "benefits"),
}


def years_after_tax_year(academic_year: int, years_after: int) -> int:
    return academic_year + 1 + years_after


def _years_phrase() -> str:
    return ", ".join(str(k) for k in YEARS_AFTER[:-1]) + f" and {YEARS_AFTER[-1]}"


STATED: dict[str, tuple[str, ...]] = {
    "years_after_graduation": (
        "tax years after the academic year of graduation",
        f"for the {academic_year_label(2019)} cohort, 1 year after is "
        f"{tax_year_label(years_after_tax_year(2019, 1))}",
        _years_phrase(),
    ),
    "years_after_ks4": (
        f"for KS4 in {academic_year_label(2014)}, 1 year after is "
        f"{tax_year_label(years_after_tax_year(2014, 1))}",
        _years_phrase(),
    ),
    "graduate_cohort": (
        "highest qualification of the year",
        "({}, {}, then {})".format(*(q.replace("_", " ") for q in QUALIFICATION_RANK)),
    ),
    "ks4_cohort": ("earliest",),
    "linked": ("employment or benefit record",),
}


def qualification_rank(qualification: Column) -> Column:
    from pyspark.sql import functions as F

    expr = F.lit(len(QUALIFICATION_RANK))  # an unknown aim sorts last
    for i, q in reversed(list(enumerate(QUALIFICATION_RANK))):
        expr = F.when(qualification == q, F.lit(i)).otherwise(expr)
    return expr


def graduations(he: DataFrame) -> DataFrame:
    """One row per person and graduation year: person_pid, graduation_year, qualification,
    subject_cah2, provider_id (the year's highest aim; then the smallest subject, provider,
    record id, so duplicate records and ties give one stable row)."""
    from pyspark.sql import functions as F

    pick = F.struct(
        qualification_rank(F.col("qualification")).alias("rank"),
        "subject_cah2",
        "provider_id",
        "record_id",
        "qualification",
    )
    best = (
        he.where(F.col("graduation_year").isNotNull())
        .groupBy("person_pid", "graduation_year")
        .agg(F.min(pick).alias("__best"))
    )
    return best.select(
        "person_pid",
        "graduation_year",
        *[F.col(f"__best.{c}").alias(c) for c in ("qualification", "subject_cah2", "provider_id")],
    )


def cohort_members(person: DataFrame, graduated: DataFrame) -> DataFrame:
    """Every cohort membership with the person's dimensions (COHORT_OUTCOMES encoding: no
    nulls), sources and min_match_probability: cohort_type, cohort_year, ..."""
    from pyspark.sql import functions as F

    unknown = F.lit(UNKNOWN)
    dims = person.select(
        "person_pid",
        "ks4_year",
        F.coalesce("sex", unknown).alias("sex"),
        F.coalesce("ethnicity_major", unknown).alias("ethnicity_major"),
        F.when(F.col("fsm_ever"), F.lit("fsm"))
        .when(~F.col("fsm_ever"), F.lit("not_fsm"))
        .otherwise(unknown)
        .alias("fsm"),
        F.coalesce("sen", unknown).alias("sen"),
        F.coalesce("prior_attainment_band", unknown).alias("prior_attainment_band"),
        F.coalesce("region", unknown).alias("region"),
        "sources",
        "min_match_probability",
    )
    na = F.lit(NOT_APPLICABLE)
    ks4 = dims.where(F.col("ks4_year").isNotNull()).select(
        "*",
        F.lit(KS4).alias("cohort_type"),
        F.col("ks4_year").alias("cohort_year"),
        na.alias("subject_cah2"),
        na.alias("provider_id"),
        na.alias("qualification"),
    )
    grads = graduated.join(dims, "person_pid").select(
        *dims.columns,
        F.lit(GRADUATE).alias("cohort_type"),
        F.col("graduation_year").alias("cohort_year"),
        *[
            F.coalesce(F.col(c), unknown).alias(c)
            for c in ("subject_cah2", "provider_id", "qualification")
        ],
    )
    return ks4.unionByName(grads).drop("ks4_year")


def _linked(sources: Column, cohort_type: Column) -> Column:
    from pyspark.sql import functions as F

    listed = F.split(sources, ",")
    expr = F.lit(False)
    for ct, outcome in OUTCOME_SOURCES.items():
        has = F.arrays_overlap(listed, F.array(*[F.lit(s) for s in outcome]))
        expr = F.when(cohort_type == ct, has).otherwise(expr)
    return expr


def cohort_outcomes(
    members: DataFrame,
    person_tax_year: DataFrame,
    first_tax_year: int,
    last_tax_year: int,
) -> DataFrame:
    """COHORT_OUTCOMES: each member (`cohort_members`) at each of YEARS_AFTER whose tax year
    is in the data, with the person's outcome that tax year (none: not captured)."""
    from pyspark.sql import functions as F

    from leo.schema import COHORT_OUTCOMES
    from spark_jobs.contract import conform
    from spark_jobs.outcomes import NOT_CAPTURED

    label = F.concat(
        F.col("cohort_year").cast("string"),
        F.lit("/"),
        F.lpad(((F.col("cohort_year") + 1) % 100).cast("string"), 2, "0"),
    )
    at = members.select(
        "*", F.explode(F.array(*[F.lit(k) for k in YEARS_AFTER])).alias("years_after")
    ).withColumn("tax_year", F.col("cohort_year") + 1 + F.col("years_after"))
    at = at.where(F.col("tax_year").between(first_tax_year, last_tax_year))
    year = person_tax_year.select(
        "person_pid",
        "tax_year",
        "activity",
        "sustained_employment",
        "in_education",
        (F.col("out_of_work_benefit_days") > 0).alias("out_of_work_benefit"),
        "annualised_earnings",
    )
    out = at.join(year, ["person_pid", "tax_year"], "left").select(
        "person_pid",
        "cohort_type",
        label.alias("cohort"),
        "years_after",
        "tax_year",
        "sex",
        "ethnicity_major",
        "fsm",
        "sen",
        "prior_attainment_band",
        "region",
        "subject_cah2",
        "provider_id",
        "qualification",
        F.coalesce("activity", F.lit(NOT_CAPTURED)).alias("activity"),
        F.coalesce("sustained_employment", F.lit(False)).alias("sustained_employment"),
        F.coalesce("in_education", F.lit(False)).alias("in_education"),
        F.coalesce("out_of_work_benefit", F.lit(False)).alias("out_of_work_benefit"),
        "annualised_earnings",
        _linked(F.col("sources"), F.col("cohort_type")).alias("linked"),
        "min_match_probability",
    )
    return conform(out, COHORT_OUTCOMES)
