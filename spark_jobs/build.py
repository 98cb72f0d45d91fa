"""The build job: a linkage run and the sources' content columns -> the research zone.

    leo build --data D [--run RUN]    work/<RUN>/ (default work/LATEST) -> linked/<RUN>/,
                                      then linked/LATEST
    leo build --data D --truth        truth/records as the person map -> linked/truth/
                                      (evaluation only; linked/LATEST is left alone)
    spark-submit spark_jobs/build.py --data hdfs://.../leo [--run RUN | --truth]

linked/<run>/ holds `person`, `person_tax_year`, `cohort_outcomes` (leo/schema.py) and
`manifest.json`. Stages:
1. read the person map (work/<run>/record_person, persons) and raw/<source>/'s content
   columns (spark_jobs/content.py: no names, postcodes or NINOs are read);
2. opt-outs (spark_jobs/optouts.py): every person a listed record belongs to is removed, with
   all of that person's records;
3. row accounting: every raw row is linked, unlinked, opted_out or quarantined with a
   reason (the linkage's, or a content check's); the counts must add up to the raw rows
   per source, and every record of the map must be a raw row, or the job fails
   (`AccountingError`) before writing anything;
4. person, person_tax_year (spark_jobs/person.py, spark_jobs/outcomes.py), cohort_outcomes
   (spark_jobs/cohorts.py);
5. write all of linked/<run>/ in a hidden temporary sibling, renamed into place when complete;
   then the pointer. <run> is the linkage run's id; a rebuild of the same linkage run (new
   opt-outs, say) gets <run>.2, <run>.3, ...: a folder linked/LATEST may name is never
   replaced (replacing a directory takes two renames, between which it is missing), and a
   release keeps the build it was made from. A crash part-way leaves linked/LATEST and every
   earlier build as they were, and a re-run writes the same tables.

Fault points (leo/faults.py): build:after-accounting, build:after-person,
build:before-rename, build:before-pointer.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leo import __version__
from leo.errors import InputError, LeoError
from leo.faults import fault_point
from leo.layout import LATEST, SOURCES, TRUTH_RUN, DataRoot
from leo.logs import stage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from linkage.pseudonymise import PseudonymisationKey

log = logging.getLogger("spark_jobs.build")

LINKED, UNLINKED, OPTED_OUT, QUARANTINED = "linked", "unlinked", "opted_out", "quarantined"
CATEGORIES = (LINKED, UNLINKED, OPTED_OUT, QUARANTINED)
_ABSENT = "__absent_from_linkage_run"  # a raw row the linkage run does not know: an error


class AccountingError(LeoError):
    """Rows in do not reconcile with rows accounted for: the linkage run does not match
    raw/ (re-run `leo link`), or a bug. Nothing is written."""


@dataclass
class BuildResult:
    run: str
    path: str
    manifest: dict[str, Any]


def _read_linkage_run(
    spark: SparkSession, root: DataRoot, run: str | None
) -> tuple[str, DataFrame, DataFrame]:
    from spark_jobs.storage import HadoopStorage

    store = HadoopStorage(spark)
    if run is None:
        run = store.read_pointer(root.uri("work", LATEST))
        if run is None:
            raise InputError(
                f"no linkage run: {root.work(LATEST)} is missing (run `leo link` first, "
                "or pass --run)"
            )
    base = root.uri("work", run)
    for table in ("record_person", "persons"):
        if not store.list_names(f"{base}/{table}"):
            raise InputError(f"linkage run {run}: {root.work(run)}/{table} not found")
    return run, spark.read.parquet(f"{base}/record_person"), spark.read.parquet(f"{base}/persons")


def _tag_rows(raw: DataFrame, record_person: DataFrame, optout_pids: DataFrame) -> DataFrame:
    """raw rows of one source + person_pid, category and reason (see the module docstring).
    Precedence: opted out, then the linkage's quarantine, then content checks."""
    from pyspark.sql import functions as F

    from linkage.inputs import NO_ID

    rp = record_person.select(
        "source",
        "record_id",
        "person_pid",
        F.col("status").alias("__status"),
        F.col("reason").alias("__lreason"),
    )
    # opt-outs are few: broadcast them
    named = optout_pids.select("source", "record_id", F.lit(True).alias("__named"))
    out_pids = (
        optout_pids.where(F.col("person_pid").isNotNull())
        .select("person_pid", F.lit(True).alias("__pid_out"))
        .distinct()
    )
    ok = raw.where(~F.col("blank_id"))
    tagged = (
        ok.join(rp, ["source", "record_id"], "left")
        .join(F.broadcast(named), ["source", "record_id"], "left")
        .join(F.broadcast(out_pids), "person_pid", "left")
    )
    out = F.coalesce(F.col("__named"), F.lit(False)) | F.coalesce(F.col("__pid_out"), F.lit(False))
    category = (
        F.when(F.col("__status").isNull(), F.lit(_ABSENT))
        .when(out, F.lit(OPTED_OUT))
        .when(F.col("__status") == QUARANTINED, F.lit(QUARANTINED))
        .when(F.col("content_reason").isNotNull(), F.lit(QUARANTINED))
        .otherwise(F.col("__status"))
    )
    reason = (
        F.when(F.col("__status").isNull() | out, F.lit(None))
        .when(F.col("__status") == QUARANTINED, F.concat(F.lit("linkage: "), "__lreason"))
        .when(F.col("content_reason").isNotNull(), F.concat(F.lit("content: "), "content_reason"))
    )
    blank = raw.where(F.col("blank_id")).select(
        "*",
        F.lit(None).cast("string").alias("person_pid"),
        F.lit(QUARANTINED).alias("category"),
        F.lit(f"linkage: {NO_ID}").alias("reason"),
    )
    tagged = tagged.select(
        *raw.columns, "person_pid", category.alias("category"), reason.alias("reason")
    )
    return tagged.unionByName(blank.select(*tagged.columns))


def _accounting(
    counts: list[Any], rp_counts: dict[str, int], raw_rows: dict[str, int]
) -> dict[str, Any]:
    """Row accounting per source from (source, category, reason, n); raises AccountingError
    when the rows do not reconcile."""
    by_source: dict[str, dict[str, Any]] = {}
    problems = []
    for s in SOURCES:
        by_source[s] = {"input_rows": raw_rows[s], **dict.fromkeys(CATEGORIES, 0), "reasons": {}}
    for r in counts:
        entry = by_source[r["source"]]
        n = int(r["n"])
        if r["category"] == _ABSENT:
            problems.append(f"raw/{r['source']}: {n:,} row(s) not in the linkage run's map")
            continue
        if r["category"] not in CATEGORIES:
            problems.append(f"{r['source']}: {n:,} record(s) with status {r['category']!r}")
            continue
        entry[r["category"]] += n
        if r["category"] == QUARANTINED:
            entry["reasons"][r["reason"]] = entry["reasons"].get(r["reason"], 0) + n
    for s, entry in by_source.items():
        accounted = sum(entry[c] for c in CATEGORIES)
        entry["accounted"] = accounted
        if accounted != entry["input_rows"]:
            problems.append(f"raw/{s}: {entry['input_rows']:,} rows in, {accounted:,} accounted")
        # every record of the map is a raw row accounted for (none extra, none twice)
        mapped = rp_counts.get(s, 0)
        if mapped != accounted:
            problems.append(
                f"{s}: the linkage run maps {mapped:,} records, {accounted:,} raw rows match"
            )
    unknown = sorted(set(rp_counts) - set(SOURCES))
    if unknown:
        problems.append(f"the linkage run maps records of unknown source(s) {', '.join(unknown)}")
    if problems:
        raise AccountingError(
            "row accounting does not reconcile (nothing written): " + "; ".join(problems)
        )
    totals = {c: sum(e[c] for e in by_source.values()) for c in CATEGORIES}
    total_in = sum(raw_rows.values())
    return {
        "input_rows": total_in,
        **totals,
        "accounted": sum(totals.values()),
        "reconciled": True,
        "by_source": by_source,
    }


def _stack(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def build_research_zone(
    spark: SparkSession,
    root: DataRoot,
    run: str | None = None,
    truth: bool = False,
    key: PseudonymisationKey | None = None,
) -> BuildResult:
    """Build linked/<run>/ (or linked/truth/ with `truth`, which needs `key`)."""
    from pyspark import StorageLevel

    cached: list[DataFrame] = []

    def persist(df: DataFrame) -> DataFrame:
        cached.append(df.persist(StorageLevel.MEMORY_AND_DISK))
        return df

    try:
        return _build(spark, root, run, truth, key, persist)
    finally:
        # also after an error: a session that runs more jobs (tests, a notebook) keeps no
        # cached frames of a failed build
        for df in cached:
            df.unpersist()


def _build(
    spark: SparkSession,
    root: DataRoot,
    run: str | None,
    truth: bool,
    key: PseudonymisationKey | None,
    persist: Callable[[DataFrame], DataFrame],
) -> BuildResult:
    from pyspark.sql import functions as F

    from leo.schema import COHORT_OUTCOMES, PERSON, PERSON_TAX_YEAR
    from spark_jobs import cohorts, content, outcomes, person
    from spark_jobs.contract import table_stats
    from spark_jobs.optouts import match_optouts, read_optouts
    from spark_jobs.storage import HadoopStorage
    from spark_jobs.truth import truth_map

    started = time.time()
    store = HadoopStorage(spark)

    with stage(log, "read person map and sources") as s:
        if truth:
            if key is None:
                raise InputError("leo build --truth needs the pseudonymisation key")
            record_person, persons = truth_map(spark, root, key)
            out_run, linkage_run = TRUTH_RUN, None
        else:
            linkage_run, record_person, persons = _read_linkage_run(spark, root, run)
            out_run = linkage_run
        record_person = persist(record_person)
        raw = {src: content.read_content(spark, root, src) for src in SOURCES}
        sizes = _stack([raw[src].select("source") for src in SOURCES]).groupBy("source").count()
        raw_rows = dict.fromkeys(SOURCES, 0) | {
            r["source"]: int(r["count"]) for r in sizes.collect()
        }
        mapped = record_person.groupBy("source").count().collect()
        rp_counts = {r["source"]: int(r["count"]) for r in mapped}
        s["run"] = out_run
        s["raw rows"] = sum(raw_rows.values())
        s["records in map"] = sum(rp_counts.values())

    with stage(log, "opt-outs") as s:
        lines, optout_report = read_optouts(spark, root, persist)
        if optout_report.lines:
            ids = _stack(
                [
                    raw[src].where(~F.col("blank_id")).select("source", "record_id")
                    for src in SOURCES
                ]
            )
            rp_ids = record_person.select("source", "record_id", "person_pid")
            matched = match_optouts(lines, ids, optout_report)
            # every record a line names, with its person (null: quarantined by the linkage)
            named = persist(matched.join(rp_ids, ["source", "record_id"], "left"))
        else:
            named = spark.createDataFrame([], "source string, record_id string, person_pid string")
        out_persons = persist(
            named.where(F.col("person_pid").isNotNull()).select("person_pid").distinct()
        )
        optout_report.removed_persons = out_persons.count()
        s["files"] = len(optout_report.files)
        s["lines"] = optout_report.lines
        s["records named"] = optout_report.matched_records
        s["persons removed"] = optout_report.removed_persons
        not_applied = optout_report.to_json()["not_applied"]
        if any(not_applied.values()):
            log.warning("opt-out lines not applied: %s", json.dumps(not_applied))

    with stage(log, "row accounting") as s:
        tagged = {src: persist(_tag_rows(raw[src], record_person, named)) for src in SOURCES}
        counts = (
            _stack([t.select("source", "category", "reason") for t in tagged.values()])
            .groupBy("source", "category", "reason")
            .agg(F.count("*").alias("n"))
            .collect()
        )
        accounting = _accounting(counts, rp_counts, raw_rows)
        optout_report.removed_records = accounting[OPTED_OUT]
        for c in CATEGORIES:
            s[c] = accounting[c]
    fault_point("build:after-accounting")

    used = {src: tagged[src].where(F.col("category").isin(LINKED, UNLINKED)) for src in SOURCES}
    with stage(log, "person") as s:
        kept_persons = persons.join(out_persons, "person_pid", "left_anti")
        graduated = persist(cohorts.graduations(used["he"]))
        person_df = persist(person.person_table(kept_persons, person.characteristics(used)))
        no_region = F.col("ks4_year").isNotNull() & F.col("region").isNull()
        person_stats = table_stats(person_df, PERSON, {"ks4 persons with no region": no_region})
        expected_persons = int(persons.count()) - optout_report.removed_persons
        if person_stats["rows"] != expected_persons:
            raise AccountingError(
                f"person: {person_stats['rows']:,} rows for {expected_persons:,} kept persons "
                "(nothing written)"
            )
        s["persons"] = person_stats["rows"]

    with stage(log, "tax years") as s:
        valid_emp = raw["employments"].where(F.col("content_reason").isNull())
        bounds = valid_emp.agg(F.min("tax_year").alias("a"), F.max("tax_year").alias("b")).first()
        if bounds is None or bounds["a"] is None:
            raise InputError("raw/employments: no usable employment row, so no tax years")
        first_ty, last_ty = int(bounds["a"]), int(bounds["b"])
        emp_cols = ["person_pid", "employer_ref", "tax_year", "start_date", "end_date", "pay"]
        emp_distinct = persist(used["employments"].select(*emp_cols).dropDuplicates(emp_cols))
        emp_used = accounting["by_source"]["employments"]
        duplicates_merged = emp_used[LINKED] + emp_used[UNLINKED] - emp_distinct.count()
        spans = _stack(
            [
                used["ks4"].select(
                    "person_pid",
                    F.col("academic_year").alias("first_year"),
                    F.col("academic_year").alias("last_year"),
                ),
                used["ks5"].select(
                    "person_pid",
                    (F.col("academic_year") - 1).alias("first_year"),
                    F.col("academic_year").alias("last_year"),
                ),
                used["he"].select(
                    "person_pid",
                    F.col("start_year").alias("first_year"),
                    F.coalesce("graduation_year", "start_year").alias("last_year"),
                ),
            ]
        )
        benefits = used["benefits"].select("person_pid", "out_of_work", "start_date", "end_date")
        pty = persist(outcomes.person_tax_years(emp_distinct, benefits, spans, first_ty, last_ty))
        pty_stats = table_stats(pty, PERSON_TAX_YEAR)
        s["tax years"] = f"{first_ty}-{last_ty}"
        s["person-years"] = pty_stats["rows"]
        s["duplicate employment rows merged"] = duplicates_merged

    with stage(log, "cohort outcomes") as s:
        members = cohorts.cohort_members(person_df, graduated)
        co = persist(cohorts.cohort_outcomes(members, pty, first_ty, last_ty))
        co_stats = table_stats(co, COHORT_OUTCOMES)
        per_cohort = co.groupBy("cohort_type", "years_after").count().collect()
        cohort_rows = {
            f"{r['cohort_type']} +{r['years_after']}": int(r["count"])
            for r in sorted(per_cohort, key=lambda r: (r["cohort_type"], r["years_after"]))
        }
        s["rows"] = co_stats["rows"]

    tables = {PERSON.name: person_df, PERSON_TAX_YEAR.name: pty, COHORT_OUTCOMES.name: co}
    stats = {PERSON.name: person_stats, PERSON_TAX_YEAR.name: pty_stats}
    stats[COHORT_OUTCOMES.name] = co_stats
    for name, st in stats.items():
        if st["nulls"]:
            raise AccountingError(f"{name}: nulls in non-nullable columns {st['nulls']}")

    with stage(log, "write") as s:
        linked = root.uri("linked")
        store.clean_stale(linked)
        if not truth:
            out_run = _free_build_id(store, linked, out_run)
        manifest = {
            "run": out_run,
            "kind": "build",
            "mode": "truth" if truth else "linked",
            "linkage_run": linkage_run,
            "data_root": root.root,
            "tax_years": {"first": first_ty, "last": last_ty},
            "row_accounting": accounting,
            "optouts": optout_report.to_json(),
            "persons": {
                "in_person_map": expected_persons + optout_report.removed_persons,
                "removed_by_optout": optout_report.removed_persons,
                "kept": person_stats["rows"],
            },
            "content": {
                "employment rows merged as exact duplicates": duplicates_merged,
                "ks4 persons whose la_code is not in the reference file (region unknown)": (
                    person_stats["ks4 persons with no region"]
                ),
            },
            "tables": {name: {"rows": st["rows"]} for name, st in stats.items()},
            "cohort_outcomes_rows": cohort_rows,
            "code_version": __version__,
        }
        # linked/truth/ is replaced in place: no pointer names it
        with store.atomic_dir(f"{linked}/{out_run}", overwrite=truth) as tmp:
            for name, df in tables.items():
                df.write.parquet(f"{tmp}/{name}")
                if name == PERSON.name:
                    fault_point("build:after-person")
            manifest["seconds"] = round(time.time() - started, 1)
            store.write_text(f"{tmp}/manifest.json", json.dumps(manifest, indent=2) + "\n")
            fault_point("build:before-rename")
        if not truth:
            fault_point("build:before-pointer")
            store.write_text(f"{linked}/{LATEST}", out_run + "\n")
        s["run"] = out_run
        for name, st in stats.items():
            s[name] = st["rows"]
    return BuildResult(out_run, root.linked(out_run), manifest)


def _free_build_id(store: Any, linked: str, linkage_run: str) -> str:
    """The linkage run's id, or <id>.2, <id>.3, ... when builds of it are there already."""
    build_id, n = linkage_run, 1
    while store.exists(f"{linked}/{build_id}"):
        n += 1
        build_id = f"{linkage_run}.{n}"
    return build_id


def main(argv: list[str] | None = None) -> int:
    """spark-submit entry: the `leo build` command line (same arguments)."""
    from leo.cli import main as leo_main

    args = list(sys.argv[1:] if argv is None else argv)
    return leo_main(["build", *args])


if __name__ == "__main__":
    raise SystemExit(main())
