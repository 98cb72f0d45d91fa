"""A linkage-run-shaped map from ground truth (synthetic data only), so the build can run on
true person ids and the effect of linkage error on the outcome measures can be measured
(bench/linkage_error.py).

truth/records (source, record_id, person_id) becomes record_person (person_pid = HMAC of the
true person id under the pseudonymisation key, prefix "truth-person"; status linked when the
person has two or more records, else unlinked) and persons (sources, n_records, and
min_match_probability 1.0: truth is certain).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leo.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from leo.layout import DataRoot
    from linkage.pseudonymise import PseudonymisationKey


def truth_map(
    spark: SparkSession, root: DataRoot, key: PseudonymisationKey
) -> tuple[DataFrame, DataFrame]:
    """(record_person, persons) shaped as leo/schema.py RECORD_PERSON and LINKED_PERSONS."""
    from pyspark.sql import functions as F

    from leo.schema import LINKED_PERSONS, RECORD_PERSON
    from spark_jobs.contract import conform
    from spark_jobs.link import STATUS_LINKED, STATUS_UNLINKED, _hmac_column
    from spark_jobs.storage import HadoopStorage

    uri = root.uri("truth", "records")
    if not HadoopStorage(spark).list_names(uri):
        raise InputError(f"truth/records: not found at {root.truth('records')} (synthetic only)")
    records = spark.read.parquet(uri).select(
        "source", F.col("record_id").cast("string").alias("record_id"), "person_id"
    )
    ids = _hmac_column(
        records.select("person_id").distinct(), key, "truth-person", ["person_id"], "person_pid"
    )
    mapped = records.join(ids, "person_id")
    persons = mapped.groupBy("person_pid").agg(
        F.concat_ws(",", F.array_sort(F.collect_set("source"))).alias("sources"),
        F.count("*").alias("n_records"),
        F.lit(1.0).alias("min_match_probability"),
    )
    status = F.when(F.col("n_records") > 1, F.lit(STATUS_LINKED)).otherwise(F.lit(STATUS_UNLINKED))
    record_person = mapped.join(persons.select("person_pid", "n_records"), "person_pid").select(
        "source",
        "record_id",
        "person_pid",
        status.alias("status"),
        F.lit(None).cast("string").alias("reason"),
    )
    return conform(record_person, RECORD_PERSON), conform(persons, LINKED_PERSONS)
