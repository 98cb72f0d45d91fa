"""The person table (leo/schema.py PERSON): one row per person of the linkage run that the
research zone keeps, with characteristics taken from the person's records.

Choices (records can disagree, because linkage joined records with errors in them, or a
person has duplicate records):
- KS4 characteristics (ethnicity, FSM, SEN, KS4 year, Attainment 8, region) come from the
  person's earliest KS4 record (ties: the smallest record id, so the choice is stable).
- Sex: the KS4 record's, else the most frequent over the person's records (ties: F first).
- Birth year and month: the most frequent (year, month) over the person's records (ties: the
  earliest). Only year and month are read from raw/ (spark_jobs/content.py).
- HE: the first qualification (earliest graduation year; in a year, the highest aim, as
  spark_jobs/cohorts.py `graduations` picks it).
- Region: the region of the KS4 school's local authority (leo/reference.py); null when the
  code is not in the reference file (counted by the build).
All of it is one aggregation per person over the union of the person's records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Attainment 8 bands (the catalogue's dimension prior_attainment_band states them).
LOW_BELOW, HIGH_FROM = 35, 55
STATED: dict[str, tuple[str, ...]] = {
    "prior_attainment_band": (
        f"low under {LOW_BELOW}, middle {LOW_BELOW} to under {HIGH_FROM}, "
        f"high {HIGH_FROM} and over",
    ),
}
COMMON = ("person_pid", "source", "record_id", "sex", "birth_year", "birth_month")
KS4_COLUMNS = (
    "ks4_year",
    "la_code",
    "fsm_eligible",
    "sen_provision",
    "ethnicity_major",
    "attainment8",
)
HE_COLUMNS = ("graduation_year", "qualification", "subject_cah2", "provider_id")


def prior_attainment_band(attainment8: Column) -> Column:
    from pyspark.sql import functions as F

    return (
        F.when(attainment8.isNull(), F.lit(None).cast("string"))
        .when(attainment8 < LOW_BELOW, F.lit("low"))
        .when(attainment8 < HIGH_FROM, F.lit("middle"))
        .otherwise(F.lit("high"))
    )


def region_of(la_code: Column) -> Column:
    """The region code of a local authority code (a literal map of the reference file)."""
    from pyspark.sql import functions as F

    from leo.reference import la_to_region

    pairs = [F.lit(x) for item in sorted(la_to_region().items()) for x in item]
    return F.element_at(F.create_map(*pairs), la_code)


def characteristics(used: dict[str, DataFrame]) -> DataFrame:
    """The records person_table reads, stacked: COMMON columns from every source, the KS4
    columns from ks4 rows (academic_year as ks4_year), the HE columns from he rows; null
    elsewhere. A column a frame lacks is null."""
    from pyspark.sql import functions as F

    stacked = None
    for source, df in used.items():
        if source == "ks4":
            df = df.withColumnRenamed("academic_year", "ks4_year")
        wanted = list(COMMON)
        wanted += list(KS4_COLUMNS) if source == "ks4" else []
        wanted += list(HE_COLUMNS) if source == "he" else []
        if "source" not in df.columns:
            df = df.withColumn("source", F.lit(source))
        part = df.select(*[c for c in wanted if c in df.columns])
        stacked = part if stacked is None else stacked.unionByName(part, allowMissingColumns=True)
    assert stacked is not None
    for c in (*COMMON, *KS4_COLUMNS, *HE_COLUMNS):
        if c not in stacked.columns:
            stacked = stacked.withColumn(c, F.lit(None))
    return stacked


def person_table(persons: DataFrame, records: DataFrame) -> DataFrame:
    """persons: person_pid, sources, n_records, min_match_probability (kept persons only);
    records: `characteristics` of every record used."""
    from pyspark.sql import functions as F

    from leo.schema import PERSON
    from spark_jobs.cohorts import qualification_rank
    from spark_jobs.contract import conform

    c = F.col
    is_ks4 = c("source") == "ks4"
    qualified = (c("source") == "he") & c("graduation_year").isNotNull()
    ks4 = F.struct(
        c("ks4_year"), c("record_id"), *[c(x) for x in KS4_COLUMNS[1:]], c("sex").alias("ks4_sex")
    )
    he = F.struct(
        c("graduation_year"),
        qualification_rank(c("qualification")).alias("rank"),
        c("subject_cah2"),
        c("provider_id"),
        c("record_id"),
        c("qualification"),
    )
    born = c("birth_year").cast("int") * 100 + c("birth_month").cast("int")
    per_person = records.groupBy("person_pid").agg(
        F.min(F.when(is_ks4, ks4)).alias("ks4"),  # min ignores nulls: the earliest KS4 record
        F.min(F.when(qualified, he)).alias("he"),
        F.mode(c("sex"), True).alias("any_sex"),  # deterministic: the smallest on ties
        F.mode(born, True).alias("born"),
    )
    out = persons.join(per_person, "person_pid", "left").select(
        "person_pid",
        F.coalesce(c("ks4.ks4_sex"), c("any_sex")).alias("sex"),
        (c("born") / 100).cast("int").alias("birth_year"),
        (c("born") % 100).alias("birth_month"),
        c("ks4.ethnicity_major").alias("ethnicity_major"),
        c("ks4.fsm_eligible").alias("fsm_ever"),
        c("ks4.sen_provision").alias("sen"),
        c("ks4.ks4_year").alias("ks4_year"),
        c("ks4.attainment8").alias("attainment8"),
        prior_attainment_band(c("ks4.attainment8")).alias("prior_attainment_band"),
        region_of(c("ks4.la_code")).alias("region"),
        c("he.graduation_year").alias("graduation_year"),
        c("he.subject_cah2").alias("subject_cah2"),
        c("he.provider_id").alias("provider_id"),
        c("he.qualification").alias("qualification"),
        "sources",
        "n_records",
        "min_match_probability",
    )
    return conform(out, PERSON)
