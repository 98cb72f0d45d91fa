"""Linkage batch jobs.

    link_tables   any CSV/Parquet inputs + a settings file -> DIR/pairs, DIR/clusters, ...
    link_leo      the five LEO sources (conf/linkage.yaml) -> work/<run>/

Run through `leo link-tables` / `leo link`, or under spark-submit:
    spark-submit spark_jobs/link.py tables --settings S --out DIR INPUT...
    spark-submit spark_jobs/link.py leo --data hdfs://.../leo [--key-file F]
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from pydantic import model_validator

from leo import __version__
from leo.config import StrictModel
from leo.errors import InputError
from leo.layout import DataRoot
from leo.logs import stage
from linkage.inputs import InputReport
from linkage.pseudonymise import PseudonymisationKey
from linkage.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from linkage.linker import LinkResult

log = logging.getLogger("spark_jobs.link")


def _with_source(df: DataFrame, name: str, settings: Settings) -> DataFrame:
    from pyspark.sql import functions as F

    src = settings.source_column
    if src and src in df.columns:
        return df.withColumn("__src", F.coalesce(F.col(src).cast("string"), F.lit(name)))
    return df.withColumn("__src", F.lit(name))


def link_tables(
    spark: SparkSession | None,
    inputs: list[str],
    settings: Settings,
    out: str,
    engine: str = "spark",
) -> dict[str, Any]:
    """Link the inputs; write pairs, clusters, model.json and summary.json under `out`."""
    from linkage import io

    parsed = [io.parse_input(i) for i in inputs]
    names = [p.name for p in parsed]
    if len(set(names)) != len(names):
        raise_input(f"inputs must have distinct names (got {', '.join(names)}); use NAME=PATH")
    if settings.link_type == "link_only" and len(parsed) < 2 and not settings.source_column:
        raise_input("link_only needs two or more inputs (or a source column)")
    if engine == "local":
        return _link_tables_local(parsed, settings, out)
    assert spark is not None
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from linkage.inputs import check_spark
    from linkage.linker import link_spark

    reports: list[InputReport] = []
    frames = []
    with stage(log, "read and check inputs") as s:
        for inp in parsed:
            df, rep = check_spark(inp.name, io.read_spark(spark, inp), settings)
            reports.append(rep)
            df = _with_source(df, inp.name, settings)
            frames.append(
                df.select(
                    "__src",
                    F.col(settings.unique_id_column).alias("__uid"),
                    "__reason",
                    *settings.input_columns(),
                )
            )
        allrec = frames[0]
        for f in frames[1:]:
            allrec = allrec.unionByName(f)
        s["rows"] = sum(r.rows for r in reports)
        s["quarantined"] = sum(sum(r.quarantined.values()) for r in reports)
    # the checked inputs are read again for the record ids and the quarantine when writing:
    # cached, so the files are not parsed and checked once more each time
    allrec = allrec.persist(StorageLevel.MEMORY_AND_DISK)
    quarantined = allrec.where(F.col("__reason").isNotNull())
    records = allrec.where(F.col("__reason").isNull()).drop("__reason")
    try:
        result = link_spark(spark, records, settings)
        try:
            return _write_tables_spark(spark, result, quarantined, reports, settings, out)
        finally:
            result.release()
    finally:
        allrec.unpersist()


def raise_input(msg: str) -> None:
    raise InputError(msg)


def _named_pairs_spark(result: LinkResult, settings: Settings) -> DataFrame:
    from pyspark.sql import functions as F

    uid, src = settings.unique_id_column, settings.source_column or "source"
    ids = result.ids
    p = result.pairs
    for side in ("l", "r"):
        p = p.join(
            ids.select(
                F.col("__id").alias(f"__id_{side}"),
                F.col("__src").alias(f"{src}_{side}"),
                F.col("__uid").alias(f"{uid}_{side}"),
            ),
            f"__id_{side}",
        )
    cols = [f"{uid}_l", f"{uid}_r"]
    if settings.link_type != "dedupe_only":
        cols = [f"{src}_l", f"{uid}_l", f"{src}_r", f"{uid}_r"]
    return p.select(*cols, "match_weight", "match_probability")


def _named_clusters_spark(result: LinkResult, settings: Settings) -> DataFrame:
    from pyspark.sql import functions as F

    uid, src = settings.unique_id_column, settings.source_column or "source"
    ids = result.ids
    rep = ids.select(
        F.col("__id").alias("__cluster"),
        F.col("__src").alias("__rsrc"),
        F.col("__uid").alias("__ruid"),
    )
    c = result.clusters.join(ids, "__id").join(rep, "__cluster")
    if settings.link_type == "dedupe_only":
        return c.select(F.col("__uid").alias(uid), F.col("__ruid").alias("cluster_id"))
    return c.select(
        F.col("__src").alias(src),
        F.col("__uid").alias(uid),
        F.concat_ws(":", "__rsrc", "__ruid").alias("cluster_id"),
    )


def _summary(result: LinkResult, reports: list[InputReport], settings: Settings) -> dict[str, Any]:
    hist = result.histogram
    return {
        "settings": json.loads(settings.model_dump_json()),
        "inputs": [
            {"table": r.table, "rows": r.rows, "quarantined": r.quarantined, "values": r.values}
            for r in reports
        ],
        **result.summary(),
        "match_weight_histogram": {
            "bin_width": 0.5,
            "bins": [float(b) for b in hist["bin"]],
            "pairs": [int(n) for n in hist["pairs"]],
        },
    }


def _write_tables_spark(
    spark: SparkSession,
    result: LinkResult,
    quarantined: DataFrame,
    reports: list[InputReport],
    settings: Settings,
    out: str,
) -> dict[str, Any]:
    from pyspark.sql import functions as F

    from spark_jobs.storage import HadoopStorage

    store = HadoopStorage(spark)
    out = _uri(out)
    with stage(log, "write") as s:
        store.clean_stale(out)
        pairs = _named_pairs_spark(result, settings)
        with store.atomic_dir(f"{out}/pairs", overwrite=True) as tmp:
            pairs.write.parquet(tmp)
        with store.atomic_dir(f"{out}/clusters", overwrite=True) as tmp:
            _named_clusters_spark(result, settings).write.parquet(tmp)
        with store.atomic_dir(f"{out}/quarantined", overwrite=True) as tmp:
            quarantined.select(
                F.col("__src").alias("source"),
                F.col("__uid").alias(settings.unique_id_column),
                F.col("__reason").alias("reason"),
            ).coalesce(1).write.parquet(tmp)
        store.write_text(f"{out}/model.json", result.model.to_json() + "\n")
        summary = _summary(result, reports, settings)
        store.write_text(f"{out}/summary.json", json.dumps(summary, indent=2) + "\n")
        s["pairs"] = result.counts["links"]
        s["clusters"] = result.counts["clusters"]
    return summary


def _uri(path: str) -> str:
    from leo.layout import is_uri, normalise_root

    p = normalise_root(path)
    return p if is_uri(p) else "file://" + p


def _link_tables_local(parsed: list[Any], settings: Settings, out: str) -> dict[str, Any]:
    from pathlib import Path

    import pandas as pd

    from leo.storage import atomic_dir, write_text_atomic
    from linkage import io
    from linkage.inputs import check_pandas
    from linkage.linker import link_local

    reports, frames = [], []
    for inp in parsed:
        df, rep = check_pandas(inp.name, io.read_pandas(inp), settings)
        reports.append(rep)
        src = settings.source_column
        source = df[src].fillna(inp.name).astype(str) if src and src in df.columns else inp.name
        frames.append(
            pd.DataFrame(
                {
                    "__src": source,
                    "__uid": df[settings.unique_id_column],
                    "__reason": df["__reason"],
                    **{c: df[c] for c in settings.input_columns()},
                }
            )
        )
    allrec = pd.concat(frames, ignore_index=True)
    quarantined = allrec[allrec["__reason"].notna()]
    result = link_local(allrec[allrec["__reason"].isna()].drop(columns="__reason"), settings)
    uid, srcname = settings.unique_id_column, settings.source_column or "source"
    ids = result.ids.set_index("__id")
    p = result.pairs
    pairs = pd.DataFrame(index=p.index)
    for side in ("l", "r"):
        if settings.link_type != "dedupe_only":
            pairs[f"{srcname}_{side}"] = ids.loc[p[f"__id_{side}"], "__src"].to_numpy()
        pairs[f"{uid}_{side}"] = ids.loc[p[f"__id_{side}"], "__uid"].to_numpy()
    pairs["match_weight"] = p["match_weight"]
    pairs["match_probability"] = p["match_probability"]
    c = result.clusters
    rep_src = ids.loc[c["__cluster"], "__src"].to_numpy()
    rep_uid = ids.loc[c["__cluster"], "__uid"].to_numpy()
    clusters = pd.DataFrame({uid: ids.loc[c["__id"], "__uid"].to_numpy()})
    if settings.link_type == "dedupe_only":
        clusters["cluster_id"] = rep_uid
    else:
        clusters.insert(0, srcname, ids.loc[c["__id"], "__src"].to_numpy())
        clusters["cluster_id"] = [f"{a}:{b}" for a, b in zip(rep_src, rep_uid, strict=True)]
    outp = Path(out)
    for name, frame in (
        ("pairs", pairs),
        ("clusters", clusters),
        (
            "quarantined",
            quarantined[["__src", "__uid", "__reason"]].set_axis(["source", uid, "reason"], axis=1),
        ),
    ):
        with atomic_dir(outp / name, overwrite=True) as tmp:
            frame.to_parquet(tmp / "part-00000.parquet", index=False)
    write_text_atomic(outp / "model.json", result.model.to_json() + "\n")
    summary = _summary(result, reports, settings)
    write_text_atomic(outp / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


# --- LEO -----------------------------------------------------------------------------------


class LeoLinkageConf(StrictModel):
    """conf/linkage.yaml: which sources, which identity columns, and the engine settings."""

    sources: list[str]
    identity_columns: list[str]
    settings: Settings

    @model_validator(mode="after")
    def _known(self) -> LeoLinkageConf:
        from leo.schema import SOURCES

        unknown = [s for s in self.sources if s not in SOURCES]
        if unknown:
            raise ValueError(f"sources: unknown {', '.join(unknown)}; known: {', '.join(SOURCES)}")
        missing = [c for c in self.settings.input_columns() if c not in self.identity_columns]
        if missing:
            raise ValueError(
                f"settings compare or block on {', '.join(missing)}, not in identity_columns"
            )
        if self.settings.unique_id_column != PROFILE_KEY or self.settings.source_column != "source":
            raise ValueError(
                f"settings: unique_id_column must be {PROFILE_KEY} and source_column source"
            )
        return self


PROFILE_KEY = "profile_key"
STATUS_LINKED, STATUS_UNLINKED, STATUS_QUARANTINED = "linked", "unlinked", "quarantined"


def _hmac_column(
    df: DataFrame, key: PseudonymisationKey, prefix: str, cols: list[str], out: str
) -> DataFrame:
    """Add `out` = HMAC(key, prefix, *cols) computed in Python workers (the key travels in the
    function's closure, never in a query plan or a log)."""
    schema = ", ".join([*(f"`{n}` {t}" for n, t in df.dtypes), f"`{out}` string"])

    def fn(batches: Any) -> Any:
        for pdf in batches:
            parts = [pdf[c].astype(str) for c in cols]
            pdf[out] = [key.digest(prefix, *vals) for vals in zip(*parts, strict=True)]
            yield pdf

    return df.mapInPandas(fn, schema)


def read_source(
    spark: SparkSession, root: DataRoot, source: str, conf: LeoLinkageConf
) -> tuple[DataFrame, InputReport]:
    """One source's records as (source, record_id, identity columns..., __reason), after the
    file checks (spark_jobs/extracts.py) and the record checks (linkage/inputs.py)."""
    from pyspark.sql import functions as F

    from leo.schema import SOURCES
    from linkage.inputs import check_spark
    from spark_jobs.extracts import read_extract, spark_read_failure

    table = SOURCES[source]
    df, extract = read_extract(spark, root, source)
    own = [c for c in conf.identity_columns if c in table.names]
    assert table.record_id is not None
    try:
        df, rep = check_spark(extract.label, df, conf.settings, uid=table.record_id, columns=own)
    except Exception as exc:
        failure = spark_read_failure(exc, extract.label)
        if failure is None:
            raise
        raise failure from None
    if rep.rows != extract.rows:
        raise InputError(
            f"{extract.label}: Spark read {rep.rows:,} rows, its files' footers hold "
            f"{extract.rows:,} (are spark.sql.files.ignoreCorruptFiles or ignoreMissingFiles set?)"
        )
    cols = [
        F.col(c) if c in own else F.lit(None).cast("string").alias(c) for c in conf.identity_columns
    ]
    return df.select(
        F.lit(source).alias("source"),
        F.col(table.record_id).cast("string").alias("record_id"),
        *cols,
        "__reason",
    ), rep


def read_sources(
    spark: SparkSession, root: DataRoot, conf: LeoLinkageConf
) -> tuple[DataFrame, list[InputReport]]:
    """All source records as (source, record_id, identity columns..., __reason)."""
    frames, reports = [], []
    for source in conf.sources:
        df, rep = read_source(spark, root, source, conf)
        frames.append(df)
        reports.append(rep)
    events = frames[0]
    for f in frames[1:]:
        events = events.unionByName(f)
    return events, reports


def load_linkage_conf(conf_dir: str | None = None) -> LeoLinkageConf:
    from leo.config import load_conf

    return load_conf(LeoLinkageConf, "linkage.yaml", conf_dir)


def link_leo(
    spark: SparkSession,
    root: DataRoot,
    key: PseudonymisationKey,
    conf_dir: str | None = None,
    conf: LeoLinkageConf | None = None,
) -> str:
    """Link the LEO sources into work/<run>/ and point work/LATEST at it; returns the run id.
    `conf` (else conf/linkage.yaml from `conf_dir`) is loaded by the CLI before Spark starts,
    so a bad file fails in a second."""
    conf = conf or load_linkage_conf(conf_dir)
    # frames cached on the way, freed however the run ends: a long-lived driver (the test
    # session) would otherwise keep every run's blocks and plans
    cached: list[DataFrame] = []
    try:
        return _link_leo(spark, root, key, conf, cached)
    finally:
        for df in cached:
            df.unpersist()


def _link_leo(
    spark: SparkSession,
    root: DataRoot,
    key: PseudonymisationKey,
    conf: LeoLinkageConf,
    cached: list[DataFrame],
) -> str:
    import time

    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from leo.faults import fault_point
    from leo.layout import new_run_id
    from linkage.linker import link_spark
    from spark_jobs.storage import HadoopStorage

    started = time.time()
    settings = conf.settings
    store = HadoopStorage(spark)
    run = new_run_id()
    idents = conf.identity_columns
    with stage(log, "read and check sources") as s:
        events, reports = read_sources(spark, root, conf)
        # one key per distinct identity tuple (nulls and empty strings kept apart)
        events = events.withColumn("__phash", F.sha2(F.to_json(F.struct(*idents)), 256))
        events = events.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(events)
        s["records"] = sum(r.rows for r in reports)
        s["quarantined"] = sum(sum(r.quarantined.values()) for r in reports)
        s["values set aside or repaired"] = sum(
            n for r in reports for rules in r.values.values() for n in rules.values()
        )
    fault_point("link:after-read")

    with stage(log, "identity profiles") as s:
        ok = events.where(F.col("__reason").isNull())
        profiles = ok.groupBy("source", "__phash").agg(
            F.min("record_id").alias("__rep"),
            F.count("*").alias("__events"),
            *[F.first(c, ignorenulls=False).alias(c) for c in idents],
        )
        profiles = _hmac_column(profiles, key, "profile", ["source", "__rep"], PROFILE_KEY)
        profiles = profiles.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(profiles)
        s["profiles"] = profiles.count()
    fault_point("link:after-profiles")

    records = profiles.select(
        F.col("source").alias("__src"), F.col(PROFILE_KEY).alias("__uid"), *idents
    )
    result = link_spark(spark, records, settings)
    cached.extend(result.cached)
    fault_point("link:after-linkage")

    with stage(log, "persons") as s:
        ids = result.ids  # __id, __src, __uid (= profile_key)
        cl = result.clusters.join(ids, "__id")
        reps = cl.groupBy("__cluster").agg(F.min("__uid").alias("__rep_key"))
        reps = _hmac_column(reps, key, "person", ["__rep_key"], "person_pid").drop("__rep_key")
        profile_person = (
            cl.join(reps, "__cluster")
            .select(
                F.col("__src").alias("source"),
                F.col("__uid").alias(PROFILE_KEY),
                "person_pid",
                "__id",
                "__cluster",
            )
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        cached.append(profile_person)
        links = result.pairs.where(
            F.col("match_probability") >= settings.threshold.match_probability
        )
        inside = (
            links.join(
                profile_person.select(
                    F.col("__id").alias("__id_l"), F.col("__cluster").alias("__c_l")
                ),
                "__id_l",
            )
            .join(
                profile_person.select(
                    F.col("__id").alias("__id_r"), F.col("__cluster").alias("__c_r")
                ),
                "__id_r",
            )
            .where(F.col("__c_l") == F.col("__c_r"))
        )
        weakest = inside.groupBy(F.col("__c_l").alias("__cluster")).agg(
            F.min("match_probability").alias("__minp")
        )
        record_profile = (
            events.where(F.col("__reason").isNull())
            .join(profiles.select("source", "__phash", PROFILE_KEY), ["source", "__phash"])
            .select("source", "record_id", PROFILE_KEY)
        )
        rp = record_profile.join(
            profile_person.select(PROFILE_KEY, "person_pid", "__cluster"), PROFILE_KEY
        )
        per_person = rp.groupBy("person_pid", "__cluster").agg(
            F.concat_ws(",", F.array_sort(F.collect_set("source"))).alias("sources"),
            F.count("*").alias("n_records"),
            F.countDistinct(PROFILE_KEY).alias("__profiles"),
        )
        linked = (F.size(F.split("sources", ",")) > 1) | (F.col("__profiles") > 1)
        persons = (
            per_person.join(weakest, "__cluster", "left")
            .select(
                "person_pid",
                "sources",
                F.col("n_records").cast("long").alias("n_records"),
                F.coalesce(F.col("__minp"), F.lit(1.0)).alias("min_match_probability"),
                linked.alias("__linked"),
            )
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        cached.append(persons)
        linked_rp = rp.join(persons.select("person_pid", "__linked"), "person_pid").select(
            "source",
            "record_id",
            "person_pid",
            F.when(F.col("__linked"), F.lit(STATUS_LINKED))
            .otherwise(F.lit(STATUS_UNLINKED))
            .alias("status"),
            F.lit(None).cast("string").alias("reason"),
        )
        quarantined = events.where(F.col("__reason").isNotNull()).select(
            "source",
            F.coalesce(F.col("record_id"), F.lit("")).alias("record_id"),
            F.lit(None).cast("string").alias("person_pid"),
            F.lit(STATUS_QUARANTINED).alias("status"),
            F.col("__reason").alias("reason"),
        )
        record_person = linked_rp.unionByName(quarantined)
        status_counts = {
            r["status"]: int(r["count"]) for r in record_person.groupBy("status").count().collect()
        }
        n_persons = persons.count()
        s["persons"] = n_persons
        for k, v in sorted(status_counts.items()):
            s[f"records {k}"] = v

    with stage(log, "write run") as s:
        from leo.schema import LINKED_PERSONS, RECORD_PERSON

        work = root.uri("work")
        store.clean_stale(work)
        target = f"{work}/{run}"
        summary = _summary(result, reports, settings)
        with store.atomic_dir(target) as tmp:
            _write_contract(record_person, RECORD_PERSON, f"{tmp}/record_person")
            fault_point("link:mid-write")
            _write_contract(persons.drop("__linked"), LINKED_PERSONS, f"{tmp}/persons")
            record_profile.write.parquet(f"{tmp}/record_profile")
            profile_person.select("source", PROFILE_KEY, "person_pid").write.parquet(
                f"{tmp}/clusters"
            )
            pk = ids.select("__id", "__src", "__uid")
            pairs = result.pairs
            for side in ("l", "r"):
                pairs = pairs.join(
                    pk.select(
                        F.col("__id").alias(f"__id_{side}"),
                        F.col("__src").alias(f"source_{side}"),
                        F.col("__uid").alias(f"{PROFILE_KEY}_{side}"),
                    ),
                    f"__id_{side}",
                )
            pairs.select(
                "source_l",
                f"{PROFILE_KEY}_l",
                "source_r",
                f"{PROFILE_KEY}_r",
                "match_weight",
                "match_probability",
            ).write.parquet(f"{tmp}/pairs")
            store.write_text(f"{tmp}/model.json", result.model.to_json() + "\n")
            store.write_text(f"{tmp}/summary.json", json.dumps(summary, indent=2) + "\n")
            total_in = sum(r.rows for r in reports)
            accounted = sum(status_counts.values())
            manifest = {
                "run": run,
                "kind": "linkage",
                "data_root": root.root,
                "inputs": {
                    r.table: {"rows": r.rows, "quarantined": r.quarantined, "values": r.values}
                    for r in reports
                },
                "row_accounting": {"input_rows": total_in, **status_counts, "accounted": accounted},
                "profiles": int(result.counts["records"]),
                "persons": n_persons,
                "threshold": settings.threshold.match_probability,
                "settings_sha256": hashlib.sha256(settings.model_dump_json().encode()).hexdigest(),
                "code_version": __version__,
                "seconds": round(time.time() - started, 1),
                "key_origin": key.origin,
            }
            if accounted != total_in:
                raise RuntimeError(f"row accounting: {accounted} records out, {total_in} in")
            store.write_text(f"{tmp}/manifest.json", json.dumps(manifest, indent=2) + "\n")
        fault_point("link:before-pointer")
        store.write_text(f"{work}/LATEST", run + "\n")
        s["run"] = run
    return run


def _write_contract(df: DataFrame, table: Any, uri: str) -> None:
    """Write with exactly the contract's columns, types and order (leo/schema.py)."""
    from spark_jobs.contract import conform

    conform(df, table).write.parquet(uri)


def main(argv: list[str] | None = None) -> int:
    """spark-submit entry: delegates to the `leo` command line (same arguments)."""
    from leo.cli import main as leo_main

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "tables":
        args[0] = "link-tables"
    elif args and args[0] == "leo":
        args[0] = "link"
    return leo_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
