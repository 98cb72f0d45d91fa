"""Linkage batch jobs.

    link_tables   any CSV/Parquet inputs + a settings file -> DIR/pairs, DIR/clusters, ...
    link_leo      the five LEO sources (conf/linkage.yaml) -> work/<run>/

Run through `leo link-tables` / `leo link`, or under spark-submit:
    spark-submit spark_jobs/link.py tables --settings S --out DIR INPUT...
    spark-submit spark_jobs/link.py leo --data hdfs://.../leo [--key-file F]
"""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from leo.logs import stage
from linkage.inputs import InputReport
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
    quarantined = allrec.where(F.col("__reason").isNotNull())
    records = allrec.where(F.col("__reason").isNull()).drop("__reason")
    result = link_spark(spark, records, settings)
    return _write_tables_spark(spark, result, quarantined, reports, settings, out)


def raise_input(msg: str) -> None:
    from leo.errors import InputError

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
            {"table": r.table, "rows": r.rows, "quarantined": r.quarantined} for r in reports
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
