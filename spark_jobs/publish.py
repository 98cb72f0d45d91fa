"""The publish job: research zone -> a disclosure-controlled release (design section 7).

    linked/<run>/cohort_outcomes  --grouping sets (Spark)-->  cube (driver)
      --primary rules--> --secondary suppression (attack-driven)--> cells
      --write into a hidden temporary release--> --audit (refuse on failure)-->
      --manifest--> --rename into published/<release_id>--> --switch published/CURRENT

Run through `leo publish --data D [--run RUN]`, or under spark-submit:
    spark-submit spark_jobs/publish.py --data hdfs://.../leo [--run RUN]

A crash anywhere leaves CURRENT naming the previous release (or nothing): the new release
becomes visible by one rename, and CURRENT is switched after it, by one rename too.
Fault points for the crash tests: publish:after-cells, :after-audit, :before-rename,
:before-current (leo/faults.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from disclosure.cube import KEY_COLUMNS, KEY_MODULUS, complete, counted, earnings_columns
from disclosure.policy import grouping_sets
from leo import __version__
from leo.errors import ConfigError, InputError, LeoError
from leo.faults import fault_point
from leo.layout import DataRoot, new_run_id
from leo.logs import stage
from leo.schema import COHORT_OUTCOMES, release_cells_table

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import pandas as pd
    from pyspark.sql import Column, DataFrame, SparkSession

    from disclosure.policy import Policy
    from leo.catalogue import Catalogue, Measure

log = logging.getLogger("spark_jobs.publish")

COHORT_TYPES = ("ks4", "graduate")


class ReleaseRefused(LeoError):
    """The audit failed: nothing was published."""


def _measure_condition(m: Measure) -> Column:
    from pyspark.sql import functions as F

    if m.kind == "share":
        return F.col("activity").isin(m.activity)
    if m.column is None:
        return F.lit(True)
    return F.col(m.column)


def record_key(salt: str) -> Column:
    """The first 32 bits of SHA-256(salt + person pseudonym), as a long (disclosure/cube.py
    computes the same in Python)."""
    from pyspark.sql import functions as F

    digest = F.sha2(F.concat(F.lit(salt), F.col("person_pid")), 256)
    return F.conv(F.substring(digest, 1, 8), 16, 10).cast("long")


def aggregate(
    outcomes: DataFrame, catalogue: Catalogue, policy: Policy, cohort_types: tuple[str, ...]
) -> pd.DataFrame:
    """The cube (disclosure/cube.py): per cohort type, one grouping-sets pass over (cohort,
    years after) x every combination of up to max_dimensions of its dimensions."""
    import pandas as pd
    from pyspark.sql import functions as F

    salt = policy.differencing.cell_key.record_key_salt
    aggs, renames = [], {}
    for i, m in enumerate(counted(catalogue)):
        cond = _measure_condition(m)
        aggs.append(F.sum(F.when(cond, 1).otherwise(0)).cast("long").alias(f"n{i}"))
        aggs.append(
            F.pmod(F.sum(F.when(cond, F.col("__rk")).otherwise(0)), F.lit(KEY_MODULUS))
            .cast("long")
            .alias(f"k{i}")
        )
        renames[f"n{i}"], renames[f"k{i}"] = f"n:{m.id}", f"key:{m.id}"
    for j, c in enumerate(earnings_columns(catalogue)):
        aggs.append(F.count(c).cast("long").alias(f"c{j}"))
        aggs.append(F.coalesce(F.sum(c), F.lit(0.0)).alias(f"s{j}"))
        aggs.append(F.sort_array(F.collect_list(c)).alias(f"a{j}"))
        renames[f"c{j}"], renames[f"s{j}"] = f"contributors:{c}", f"sum:{c}"
    frames = []
    all_dims = [d.id for d in catalogue.dimensions]
    for ct in cohort_types:
        dims = [d for d in catalogue.dimensions_for(ct)]
        df = outcomes.where(F.col("cohort_type") == ct).select(
            "cohort",
            "years_after",
            *(F.col(d.column).alias(d.id) for d in dims),
            *(F.col(c) for c in _used_columns(catalogue)),
            record_key(salt).alias("__rk"),
        )
        ids = [d.id for d in dims]
        sets = [["cohort", "years_after", *combo] for combo in grouping_sets(policy, ids)]
        g = df.groupingSets(sets, "cohort", "years_after", *ids).agg(*aggs)
        arrays = {f"a{j}" for j in range(len(earnings_columns(catalogue)))}
        post = [F.col(c) for c in g.columns if c not in arrays]
        for j, c in enumerate(earnings_columns(catalogue)):
            arr, size = F.col(f"a{j}"), F.size(F.col(f"a{j}"))
            post.append(F.when(size >= 1, F.element_at(arr, -1)).otherwise(0.0).alias(f"t1{j}"))
            post.append(F.when(size >= 2, F.element_at(arr, -2)).otherwise(0.0).alias(f"t2{j}"))
            renames[f"t1{j}"], renames[f"t2{j}"] = f"top1:{c}", f"top2:{c}"
            for m in catalogue.measures:
                if m.column != c or m.kind not in ("quantile", "mean"):
                    continue
                name = f"q{catalogue.measures.index(m)}"
                renames[name] = f"stat:{m.id}"
                if m.kind == "mean":
                    post.append(F.when(size > 0, F.col(f"s{j}") / size).alias(name))
                    continue
                # linear interpolation between order statistics (numpy's default)
                pos = F.lit(m.quantile) * (size - 1)
                low = F.floor(pos).cast("int")
                frac = pos - low
                a = F.element_at(arr, low + 1)
                b = F.element_at(arr, F.least(low + 2, size))
                post.append(F.when(size >= 1, a + frac * (b - a)).alias(name))
        pdf = g.select(*post).toPandas().rename(columns=renames)
        pdf.insert(0, "cohort_type", ct)
        for d in all_dims:
            if d not in pdf.columns:
                pdf[d] = None
        frames.append(pdf)
    cube = pd.concat(frames, ignore_index=True)
    cube["years_after"] = cube["years_after"].astype("int8")
    ordered = KEY_COLUMNS + all_dims
    return cube[ordered + [c for c in cube.columns if c not in ordered]]


def _used_columns(catalogue: Catalogue) -> list[str]:
    cols = {"activity"} | {m.column for m in catalogue.measures if m.column}
    return sorted(c for c in cols if c)


def _check_outcomes(df: DataFrame, where: str) -> None:
    """The research-zone contract: every column, of a compatible type; no null dimension."""
    from pyspark.sql import functions as F

    have = dict(df.dtypes)
    missing = [c for c in COHORT_OUTCOMES.names if c not in have]
    if missing:
        raise InputError(f"{where}: missing column(s) {missing} (contract: leo/schema.py)")
    spark_types = {"string": {"string"}, "bool": {"boolean"}, "double": {"double", "float"}}
    for col in COHORT_OUTCOMES.columns:
        want = spark_types.get(str(col.type), {"tinyint", "smallint", "int", "bigint"})
        if have[col.name] not in want:
            raise InputError(
                f"{where}: column '{col.name}' has type {have[col.name]}, expected {col.type}"
            )
    required = [c.name for c in COHORT_OUTCOMES.columns if not c.nullable]
    nulls = df.select(*(F.sum(F.col(c).isNull().cast("long")).alias(c) for c in required))
    row = nulls.collect()[0].asDict()
    bad = {c: int(v) for c, v in row.items() if v}
    if bad:
        raise InputError(f"{where}: null values in non-nullable column(s) {bad}")


def _fingerprint(spark: SparkSession, df: DataFrame, uri: str) -> dict[str, Any]:
    """Row count, an order-independent content checksum, and the files with their sizes."""
    from pyspark.sql import functions as F

    row = df.select(
        F.count("*").alias("rows"),
        F.sum(F.xxhash64(*COHORT_OUTCOMES.names).cast("decimal(38,0)")).alias("h"),
    ).collect()[0]
    jvm = spark._jvm  # type: ignore[attr-defined]
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    files = []
    it = fs.listFiles(path, True)
    while it.hasNext():
        st = it.next()
        name = str(st.getPath().toString())[len(uri) :].lstrip("/")
        if not name.split("/")[-1].startswith((".", "_")):
            files.append({"file": name, "bytes": int(st.getLen())})
    return {
        "uri": uri,
        "rows": int(row["rows"]),
        "content_xxhash64_sum": str(row["h"] if row["h"] is not None else 0),
        "files": sorted(files, key=lambda f: f["file"]),
    }


def _linkage_quality(store: Any, root: DataRoot, run: str, df: DataFrame) -> dict[str, Any]:
    """The build's and the linkage run's manifests (what is there), and the linkage figures
    of the cohort outcomes themselves (overall shares only: large aggregates)."""
    from pyspark.sql import functions as F

    out: dict[str, Any] = {"linked_run": run}
    build = _read_json(store, root.uri("linked", run, "manifest.json"))
    if build:
        if isinstance(build.get("linkage_quality"), dict):
            out["build"] = build["linkage_quality"]
        link_run = build.get("linkage_run") or (build.get("inputs") or {}).get("linkage_run")
        if isinstance(link_run, str):
            out["linkage_run"] = link_run
            link = _read_json(store, root.uri("work", link_run, "manifest.json"))
            if link:
                out["linkage"] = {
                    k: link[k] for k in ("persons", "profiles", "threshold") if k in link
                }
            evaluation = _read_json(store, root.uri("work", link_run, "evaluation.json"))
            if evaluation:
                out["evaluation"] = {
                    k: v for k, v in evaluation.items() if isinstance(v, int | float | dict)
                }
    rows = (
        df.groupBy("cohort_type")
        .agg(
            F.avg(F.col("linked").cast("double")).alias("linked_share"),
            F.avg((F.col("min_match_probability") < 0.9).cast("double")).alias("weak_share"),
        )
        .collect()
    )
    out["cohort_outcomes"] = {
        r["cohort_type"]: {
            "linked_share": round(float(r["linked_share"]), 4),
            "share_min_match_probability_under_0_9": round(float(r["weak_share"]), 4),
        }
        for r in rows
    }
    return out


def _read_json(store: Any, uri: str) -> dict[str, Any] | None:
    if not store.exists(uri):
        return None
    try:
        data = json.loads(store.read_text(uri))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def resolve_run(store: Any, root: DataRoot, run: str | None) -> str:
    if run:
        return run
    latest = store.read_pointer(root.uri("linked", "LATEST"))
    if not latest:
        raise InputError(
            f"{root.linked('LATEST')}: no build yet (run `leo build`, or pass --run RUN)"
        )
    return latest


def release_dimensions(catalogue: Catalogue) -> list[str]:
    return [d.id for d in catalogue.dimensions]


def write_cells(spark: SparkSession, cells: pd.DataFrame, dims: list[str], uri: str) -> None:
    """Exactly release_cells_table(all catalogue dimensions), one Parquet file."""
    import pyarrow as pa

    contract = release_cells_table(dims)
    table = pa.Table.from_pandas(
        cells[contract.names], schema=contract.arrow_schema, preserve_index=False
    )
    sdf = spark.createDataFrame(table.to_pandas(), schema=_spark_schema(contract))
    sdf.coalesce(1).write.parquet(uri)


def _spark_schema(contract: Any) -> Any:
    from pyspark.sql import types as T

    kinds = {"string": T.StringType(), "int8": T.ByteType(), "double": T.DoubleType()}
    return T.StructType(
        [T.StructField(c.name, kinds[str(c.type)], c.nullable) for c in contract.columns]
    )


def read_cells_spark(spark: SparkSession, uri: str, dims: list[str]) -> pd.DataFrame:
    contract = release_cells_table(dims)
    return spark.read.parquet(uri).select(*contract.names).toPandas()


def publish(
    spark: SparkSession,
    root: DataRoot,
    conf_dir: str | None = None,
    run: str | None = None,
    release_id: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Publish a release from linked/<run> (default linked/LATEST); returns its id and its
    manifest. Raises ReleaseRefused, with nothing published, when the audit fails."""
    from disclosure.audit import audit, suppression_statistics
    from disclosure.policy import load_policy
    from disclosure.protect import protect
    from disclosure.rules import apply_rules
    from leo.catalogue import load_catalogue
    from leo.config import conf_path
    from spark_jobs.storage import HadoopStorage

    started = time.time()
    timings: dict[str, float] = {}
    policy = load_policy(conf_dir)
    catalogue = load_catalogue(conf_dir)
    unknown = set(policy.uncrossed_dimensions) - set(catalogue.dimension_by_id)
    if unknown:
        raise ConfigError(
            f"{conf_path('disclosure.yaml', conf_dir)}: key 'uncrossed_dimensions': unknown "
            f"dimension(s) {sorted(unknown)} (catalogue has {sorted(catalogue.dimension_by_id)})"
        )
    dims = release_dimensions(catalogue)
    store = HadoopStorage(spark)
    run = resolve_run(store, root, run)
    release_id = release_id or new_run_id("r")

    def timed(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 2)

    with stage(log, "read cohort outcomes") as s:
        t0 = time.perf_counter()
        uri = root.uri("linked", run, "cohort_outcomes")
        if not store.exists(uri) or not store.list_names(uri):
            raise InputError(f"{root.linked(run)}/cohort_outcomes: no table (run `leo build`)")
        df = spark.read.parquet(uri)
        _check_outcomes(df, f"linked/{run}/cohort_outcomes")
        fingerprint = _fingerprint(spark, df, uri)
        s["rows"] = fingerprint["rows"]
        timed("read", t0)

    with stage(log, "aggregate (grouping sets)") as s:
        t0 = time.perf_counter()
        cube = aggregate(df, catalogue, policy, COHORT_TYPES)
        s["groups with people"] = len(cube)
        cube = complete(cube, catalogue, policy)
        s["groups"] = len(cube)
        timed("aggregate", t0)

    with stage(log, "primary rules") as s:
        t0 = time.perf_counter()
        cells = apply_rules(cube, catalogue, policy, dims)
        s["cells"] = len(cells)
        s["suppressed"] = int((cells["status"] == "suppressed").sum())
        timed("primary_rules", t0)

    with stage(log, "secondary suppression") as s:
        t0 = time.perf_counter()
        cells, protection = protect(cells, catalogue, policy, dims)
        s["added"] = protection["secondary_suppressions"]
        timed("secondary_suppression", t0)

    accounting = _row_accounting(cube, cells, fingerprint["rows"], catalogue)
    stats = suppression_statistics(cells, catalogue)
    published = root.uri("published")
    store.clean_stale(published)
    target = f"{published}/{release_id}"
    with store.atomic_dir(target) as tmp:
        with stage(log, "write cells") as s:
            t0 = time.perf_counter()
            write_cells(spark, cells, dims, f"{tmp}/cells")
            s["cells"] = len(cells)
            timed("write_cells", t0)
        fault_point("publish:after-cells")

        with stage(log, "audit") as s:
            t0 = time.perf_counter()
            written = read_cells_spark(spark, f"{tmp}/cells", dims)
            report = audit(written, catalogue, policy, dims, cube=cube)
            s["passed"] = str(report.passed)
            s["linear programmes"] = report.attack.get("linear_programmes", 0)
            timed("audit", t0)
        if not report.passed:
            raise ReleaseRefused(
                f"release {release_id} refused, nothing published:\n{report.summary()}"
            )
        fault_point("publish:after-audit")

        manifest = {
            "release_id": release_id,
            "kind": "release",
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "code_version": __version__,
            "inputs": {"linked_run": run, "cohort_outcomes": fingerprint},
            "config": {
                "disclosure_sha256": policy.sha256,
                "catalogue_sha256": config_sha256(conf_path("catalogue.yaml", conf_dir)),
            },
            "linkage_quality": _linkage_quality(store, root, run, df),
            "policy": policy.model_dump(mode="json"),
            "row_accounting": accounting,
            "suppression": stats,
            "protection": protection,
            "audit": report.as_dict(),
            "seconds": {**timings, "total": round(time.time() - started, 1)},
        }
        store.write_text(f"{tmp}/manifest.json", json.dumps(manifest, indent=2) + "\n")
        fault_point("publish:before-rename")
    fault_point("publish:before-current")
    store.write_text(root.uri("published", "CURRENT"), release_id + "\n")
    log.info("release %s published and CURRENT", release_id)
    return release_id, manifest


def config_sha256(path: Traversable) -> str:
    """A config file's checksum; read as a Traversable, since under spark-submit the packaged
    conf/ is inside the shipped zip (open() on it failed after the audit, nothing published)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _row_accounting(
    cube: pd.DataFrame, cells: pd.DataFrame, input_rows: int, catalogue: Catalogue
) -> dict[str, Any]:
    """Every input row is in exactly one total cell of its (cohort type, cohort, years
    after); every cube row gives one cell per measure."""
    dims = [d.id for d in catalogue.dimensions]
    totals = cube[cube[dims].isna().all(axis=1)]
    aggregated = int(totals[f"n:{catalogue.population.id}"].sum())
    if aggregated != input_rows:
        raise LeoError(f"row accounting: {aggregated:,} rows aggregated, {input_rows:,} read")
    by_status = cells["status"].value_counts().to_dict()
    return {
        "input_rows": input_rows,
        "rows_in_total_cells": aggregated,
        "cube_rows": len(cube),
        "measures": len(catalogue.measures),
        "cells": len(cells),
        "cells_by_status": {str(k): int(v) for k, v in sorted(by_status.items())},
        "slices": int(totals.shape[0]),
    }


def main(argv: list[str] | None = None) -> int:
    """spark-submit entry: the `leo publish` command line (same arguments), or
    `audit-release ...` for the audit alone."""
    from leo.cli import main as leo_main

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("publish", "audit-release"):
        args = ["publish", *args]
    return leo_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
