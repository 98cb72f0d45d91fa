"""The person table (leo/schema.py PERSON): one row per person of the linkage run that the
research zone keeps, with characteristics taken from the person's records.

Choices (records can disagree, because linkage joined records with errors in them, or a
person has duplicate records):
- KS4 characteristics (ethnicity, FSM, SEN, KS4 year, Attainment 8, region) come from the
  person's earliest KS4 record (ties: the smallest record id, so the choice is stable).
- Sex: the KS4 record's, else the most frequent over the person's records (ties: F first).
- Birth year and month: the most frequent (year, month) over the person's records (ties: the
  earliest). Only year and month are read from raw/ (spark_jobs/content.py).
- HE: the first qualification (earliest graduation year; in a year, the highest aim as in
  spark_jobs/cohorts.py `QUALIFICATION_RANK`).
- Region: the region of the KS4 school's local authority (leo/reference.py); null when the
  code is not in the reference file (counted by the build).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

# Attainment 8 bands (the catalogue's dimension prior_attainment_band states them).
LOW_BELOW, HIGH_FROM = 35, 55
STATED: dict[str, tuple[str, ...]] = {
    "prior_attainment_band": (
        f"low under {LOW_BELOW}, middle {LOW_BELOW} to under {HIGH_FROM}, "
        f"high {HIGH_FROM} and over",
    ),
}


def prior_attainment_band(attainment8: Column) -> Column:
    from pyspark.sql import functions as F

    return (
        F.when(attainment8.isNull(), F.lit(None).cast("string"))
        .when(attainment8 < LOW_BELOW, F.lit("low"))
        .when(attainment8 < HIGH_FROM, F.lit("middle"))
        .otherwise(F.lit("high"))
    )


def first_by(df: DataFrame, keys: list[str], order: list[str], take: list[str]) -> DataFrame:
    """Per key, the columns `take` of the row that sorts first by `order` (nulls last)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*keys).orderBy(*[F.col(c).asc_nulls_last() for c in order])
    return (
        df.withColumn("__rank", F.row_number().over(w))
        .where(F.col("__rank") == 1)
        .select(*keys, *take)
    )


def most_frequent(df: DataFrame, values: list[str]) -> DataFrame:
    """Per person_pid, the most frequent non-null combination of `values` (ties: smallest)."""
    from pyspark.sql import functions as F

    present = df.where(F.col(values[0]).isNotNull())
    counts = present.groupBy("person_pid", *values).agg(F.count("*").alias("__n"))
    counts = counts.withColumn("__neg", -F.col("__n"))
    return first_by(counts, ["person_pid"], ["__neg", *values], values)


def region_lookup(spark: SparkSession) -> DataFrame:
    from leo.reference import la_to_region

    rows = sorted(la_to_region().items())
    return spark.createDataFrame(rows, "la_code string, region string")


def ks4_record(ks4: DataFrame) -> DataFrame:
    """The earliest KS4 record per person (ties: smallest record id)."""
    cols = [
        "academic_year",
        "la_code",
        "fsm_eligible",
        "sen_provision",
        "ethnicity_major",
        "attainment8",
        "sex",
    ]
    return first_by(ks4, ["person_pid"], ["academic_year", "record_id"], cols)


def person_table(
    spark: SparkSession,
    persons: DataFrame,
    records: DataFrame,
    ks4: DataFrame,
    first_qualification: DataFrame,
) -> DataFrame:
    """persons: person_pid, sources, n_records, min_match_probability (kept persons only);
    records: person_pid, sex, birth_year, birth_month of every record used;
    ks4: the KS4 rows used (person_pid, record_id, content, sex);
    first_qualification: person_pid, graduation_year, subject_cah2, provider_id,
    qualification."""
    from pyspark.sql import functions as F

    from leo.schema import PERSON
    from spark_jobs.contract import conform

    school = ks4_record(ks4).withColumnRenamed("sex", "ks4_sex")
    school = school.join(F.broadcast(region_lookup(spark)), "la_code", "left")
    sex = most_frequent(records, ["sex"]).withColumnRenamed("sex", "any_sex")
    born = most_frequent(records, ["birth_year", "birth_month"])
    out = (
        persons.join(school, "person_pid", "left")
        .join(sex, "person_pid", "left")
        .join(born, "person_pid", "left")
        .join(first_qualification, "person_pid", "left")
        .select(
            "person_pid",
            F.coalesce("ks4_sex", "any_sex").alias("sex"),
            "birth_year",
            "birth_month",
            "ethnicity_major",
            F.col("fsm_eligible").alias("fsm_ever"),
            F.col("sen_provision").alias("sen"),
            F.col("academic_year").alias("ks4_year"),
            "attainment8",
            prior_attainment_band(F.col("attainment8")).alias("prior_attainment_band"),
            "region",
            "graduation_year",
            "subject_cah2",
            "provider_id",
            "qualification",
            "sources",
            "n_records",
            "min_match_probability",
        )
    )
    return conform(out, PERSON)
