"""Opt-outs: source records whose subjects objected to their data being used (design
section 6). The build removes the person each such record belongs to, with all of that
person's records, before anything reaches the research zone.

File format (contract; also in docs/research-zone.md): any number of files
`DATA_ROOT/optouts/*.csv`,
UTF-8 CSV with a header line naming at least the columns `source` and `record_id` (other
columns, e.g. a received date, are ignored), one line per objecting source record:

    source,record_id
    employments,E0000001A2B3C4D
    ks4,P000000045FE12A

`source` is one of ks4, ks5, he, employments, benefits; `record_id` is that source's own
record id (pupil_ref, learner_ref, husid, employment_id, spell_id) exactly as in
raw/<source>/. Values are trimmed of surrounding spaces. A line that names an unknown source,
a record that does not exist, or has a blank field is counted and reported in the manifest
(never silently ignored; counts only, as a misplaced value could be an identifier); a repeated
line counts once. A file without both columns stops the
build with an error naming it. Files are read with Spark from any Hadoop URI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leo.errors import InputError
from leo.schema import SOURCES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from leo.layout import DataRoot

COLUMNS = ("source", "record_id")


@dataclass
class OptOutReport:
    files: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    matched_records: int = 0
    blank: int = 0
    unknown_source: int = 0
    unknown_record: int = 0
    repeated: int = 0
    removed_records: int = 0  # records removed because their person opted out (all of them)
    removed_persons: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "lines": self.lines,
            "matched_records": self.matched_records,
            "not_applied": {
                "blank_field": self.blank,
                "unknown_source": self.unknown_source,
                "unknown_record": self.unknown_record,
                "repeated_line": self.repeated,
            },
            "removed_records": self.removed_records,
            "removed_persons": self.removed_persons,
        }


def read_optouts(
    spark: SparkSession,
    root: DataRoot,
    persist: Callable[[DataFrame], DataFrame] = lambda df: df.cache(),
) -> tuple[DataFrame, OptOutReport]:
    """All opt-out lines as (source, record_id), trimmed; an empty frame when there are none.
    Each file's lines are cached with `persist` (the build passes its own, which unpersists
    them when the build ends)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from spark_jobs.storage import HadoopStorage

    store = HadoopStorage(spark)
    base = root.uri("optouts")
    report = OptOutReport()
    frames = []
    for name in store.list_names(base):
        if not name.endswith(".csv"):
            continue
        uri = f"{base}/{name}"
        digest = hashlib.sha256(store.read_text(uri).encode("utf-8")).hexdigest()
        df = spark.read.option("header", True).option("inferSchema", False).csv(uri)
        if df.columns:
            missing = [c for c in COLUMNS if c not in df.columns]
            if missing:
                raise InputError(
                    f"optouts/{name}: missing column(s) {', '.join(missing)} in the header "
                    f"(found: {', '.join(df.columns)}); expected a CSV with columns "
                    "source,record_id"
                )
            df = persist(df.select(*[F.trim(F.col(c)).alias(c) for c in COLUMNS]))
            rows = df.count()
            frames.append(df)
        else:
            rows = 0  # an empty file: no opt-outs
        report.files.append({"file": f"optouts/{name}", "sha256": digest, "lines": rows})
        report.lines += rows
    schema = StructType([StructField(c, StringType()) for c in COLUMNS])
    lines = spark.createDataFrame([], schema)
    for f in frames:
        lines = lines.unionByName(f)
    return lines, report


def match_optouts(lines: DataFrame, records: DataFrame, report: OptOutReport) -> DataFrame:
    """The distinct (source, record_id) of `records` that opt-out lines name; counts the lines
    that name nothing (blank, unknown source, unknown record) and repeats in `report`.
    `records` holds every raw row with a usable id: source, record_id."""
    from pyspark.sql import functions as F

    blank = (
        F.col("source").isNull()
        | (F.col("source") == "")
        | F.col("record_id").isNull()
        | (F.col("record_id") == "")
    )
    flagged = lines.withColumn("__blank", blank).withColumn(
        "__known", F.col("source").isin(*SOURCES)
    )
    usable = flagged.where(~F.col("__blank") & F.col("__known"))
    distinct = usable.select(*COLUMNS).distinct()
    present = records.select(*COLUMNS).distinct().withColumn("__present", F.lit(True))
    looked_up = distinct.join(present, list(COLUMNS), "left")
    counts = flagged.agg(
        F.sum(F.col("__blank").cast("long")).alias("blank"),
        F.sum((~F.col("__blank") & ~F.col("__known")).cast("long")).alias("unknown_source"),
    ).collect()[0]
    found = looked_up.agg(
        F.count("*").alias("distinct"),
        F.sum(F.col("__present").isNotNull().cast("long")).alias("matched"),
    ).collect()[0]
    report.blank = int(counts["blank"] or 0)
    report.unknown_source = int(counts["unknown_source"] or 0)
    report.matched_records = int(found["matched"] or 0)
    report.unknown_record = int(found["distinct"] or 0) - report.matched_records
    report.repeated = usable.count() - int(found["distinct"] or 0)
    return looked_up.where(F.col("__present").isNotNull()).select(*COLUMNS)
