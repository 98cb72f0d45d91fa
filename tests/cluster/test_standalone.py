"""The batch jobs on a real Spark standalone cluster (a master and a worker on 127.0.0.1),
submitted with spark-submit and the project shipped as its built wheel, give exactly what
local mode gives for the same seed and key.

The cluster runs with another number of shuffle partitions than the local session, so any
result that depends on how data is partitioned (sampling, ordering, first-value picks) shows
up as a difference.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leo.config import CONF_ENV
from leo.demo import one_way_conf
from leo.layout import resolve_data_root
from linkage.pseudonymise import KEY_ENV, PseudonymisationKey
from tests.cluster.standalone import bare_python, build_wheel, standalone_cluster
from tests.conftest import REPO

PERSONS, SEED = 400, 5
RELEASE = "r-cluster"
KEY = "cluster-test-key-" + "k" * 32


def sorted_table(path: Path, keys: list[str]) -> pa.Table:
    return pq.read_table(path).sort_by([(k, "ascending") for k in keys])


def untimed(value: object) -> object:
    """A manifest part without its timings (the only thing that may differ)."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k != "seconds"}
    return value


@pytest.fixture(scope="module")
def cluster_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synth -> link -> build -> publish chain submitted to a standalone cluster; returns
    its data root."""
    tmp = tmp_path_factory.mktemp("cluster")
    wheel = build_wheel(tmp / "dist", REPO)
    executor_python = bare_python(tmp / "executor-venv")

    # The executors can import the project only from the shipped wheel.
    def imports(modules: str) -> int:
        argv = [executor_python, "-c", f"import {modules}"]
        return subprocess.run(argv, cwd=tmp, capture_output=True, check=False).returncode

    assert imports("leo") != 0
    assert imports("pandas, pyarrow, rapidfuzz, pyspark") == 0

    root = tmp / "data"
    # 400 persons crossed two ways would be nearly all suppressed and slow to protect: as in
    # `leo demo`, one-way tables (the driver runs here, in client mode: LEO_CONF reaches it)
    conf_dir = one_way_conf(tmp / "conf", None)
    conf = {
        "spark.submit.pyFiles": str(wheel),
        "spark.pyspark.python": str(executor_python),
        "spark.pyspark.driver.python": sys.executable,
        "spark.executor.memory": "2g",
        "spark.driver.memory": "2g",
        "spark.driver.host": "127.0.0.1",
        "spark.sql.shuffle.partitions": "7",
        "spark.local.dir": str(tmp / "scratch"),
        "spark.ui.enabled": "false",
    }
    with standalone_cluster(tmp / "spark") as cluster:
        cluster.env[KEY_ENV] = KEY
        cluster.env[CONF_ENV] = conf_dir
        steps = [
            ("synth.py", ["--persons", str(PERSONS), "--seed", str(SEED), "--out", root.as_uri()]),
            ("link.py", ["leo", "--data", root.as_uri()]),
            ("build.py", ["--data", root.as_uri()]),
            ("publish.py", ["--data", root.as_uri(), "--release", RELEASE]),
        ]
        for script, args in steps:
            proc = cluster.submit(REPO / "spark_jobs" / script, *args, conf=conf)
            assert proc.returncode == 0, f"{script}:\n{proc.stdout[-3000:]}\n{proc.stderr[-4000:]}"
            # the work ran on the cluster's executor, not in a local driver
            assert "local[" not in proc.stderr
        app_logs = list((tmp / "spark" / "worker").glob("app-*/*/stderr"))
        assert app_logs, "no executor ran on the worker"
    return root


@pytest.mark.cluster
@pytest.mark.spark
@pytest.mark.slow
def test_cluster_chain_equals_local_mode(spark, cluster_root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from leo.layout import DataRoot
    from spark_jobs.build import build_research_zone
    from spark_jobs.link import link_leo
    from spark_jobs.publish import publish
    from synthetic.config import load_synthetic_config
    from synthetic.generator import TABLES, generate, table_dir

    local = tmp_path / "local"
    generate(local, PERSONS, SEED, load_synthetic_config())
    for name in TABLES:
        cols = pq.read_table(local / table_dir(name)).schema.names
        keys = ["person_id"] if name == "truth/persons" else cols[:2]
        mine = sorted_table(local / table_dir(name), keys)
        theirs = sorted_table(cluster_root / table_dir(name), keys).cast(mine.schema)
        assert theirs.equals(mine), name

    run = link_leo(spark, resolve_data_root(str(local)), PseudonymisationKey(KEY.encode(), "test"))
    cluster_run = (cluster_root / "work" / "LATEST").read_text().strip()
    for table, keys in (
        ("record_person", ["source", "record_id"]),
        ("persons", ["person_pid"]),
        ("clusters", ["source", "profile_key"]),
    ):
        mine = sorted_table(local / "work" / run / table, keys)
        theirs = sorted_table(cluster_root / "work" / cluster_run / table, keys)
        assert theirs.num_rows == mine.num_rows > 0, table
        assert theirs.equals(mine), table

    build_research_zone(spark, resolve_data_root(str(local)))
    assert (cluster_root / "linked" / "LATEST").read_text().strip() == cluster_run
    for table, keys in (
        ("person", ["person_pid"]),
        ("person_tax_year", ["person_pid", "tax_year"]),
        ("cohort_outcomes", ["person_pid", "cohort_type", "cohort", "years_after"]),
    ):
        mine = sorted_table(local / "linked" / run / table, keys)
        theirs = sorted_table(cluster_root / "linked" / cluster_run / table, keys)
        assert theirs.num_rows == mine.num_rows > 0, table
        assert theirs.equals(mine), table

    # the release: every cell (values, statuses, flags, reasons) and the manifest's figures
    publish(spark, DataRoot(str(local)), str(cluster_root.parent / "conf"), release_id=RELEASE)
    for root in (local, cluster_root):
        assert (root / "published" / "CURRENT").read_text().strip() == RELEASE
    mine_cells = pq.read_table(local / "published" / RELEASE / "cells")
    keys = [c for c in mine_cells.schema.names if c not in ("value", "status", "flag", "reason")]
    mine_cells = mine_cells.sort_by([(k, "ascending") for k in keys])
    theirs_cells = sorted_table(cluster_root / "published" / RELEASE / "cells", keys)
    assert theirs_cells.num_rows == mine_cells.num_rows > 0
    assert theirs_cells.equals(mine_cells)
    mine_manifest, theirs_manifest = (
        json.loads((r / "published" / RELEASE / "manifest.json").read_text())
        for r in (local, cluster_root)
    )
    for part in ("suppression", "row_accounting", "protection", "policy"):
        assert untimed(theirs_manifest[part]) == untimed(mine_manifest[part]), part
