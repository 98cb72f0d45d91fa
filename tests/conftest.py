"""Shared fixtures: the test run's one Spark session, a subprocess runner for `leo`, an
ordering hook that runs fast tests first (then Spark, slow, browser and cluster tests), and
the `reliability` fixture with which a test records a row of docs/reliability.md
(tests/reliability.py)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.reliability"]

# Order of the suite: cheap feedback first.
_PHASES = ("spark", "slow", "browser", "cluster")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def phase(item: pytest.Item) -> int:
        marks = {m.name for m in item.iter_markers()}
        return max([_PHASES.index(m) + 1 for m in marks if m in _PHASES], default=0)

    items.sort(key=phase)  # stable: keeps file order within a phase


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One local[2] session for the whole run, with few shuffle partitions and scratch space
    in the run's temporary folder."""
    os.environ.setdefault("LEO_SPARK_LOCAL_DIR", str(tmp_path_factory.mktemp("spark-scratch")))
    from spark_jobs.session import spark_session

    session = spark_session(
        "leo-tests",
        master="local[2]",
        extra_conf={
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
            "spark.driver.memory": "4g",
            "spark.ui.enabled": "false",
            # one session serves hundreds of jobs: keep the status store's history short
            "spark.sql.ui.retainedExecutions": "50",
            "spark.ui.retainedJobs": "100",
            "spark.ui.retainedStages": "100",
        },
    )
    yield session
    session.stop()


@pytest.fixture(autouse=True, scope="module")
def _release_spark_cache() -> Iterator[None]:
    """After each module, drop what it left cached in the shared session (the jobs free
    their own frames, tests and fixtures may not): in one long CI run the driver's old
    generation was 94% full after 1,092 full GCs (1,480 s), held by live query plans, and
    later tests failed reading Parquet (Py4JJavaError) or in fixtures. Spark is not
    imported if no test used it."""
    yield
    sql = sys.modules.get("pyspark.sql")
    if sql is not None:
        active = sql.SparkSession.getActiveSession()
        if active is not None:
            active.catalog.clearCache()
            gc.collect()  # the module's DataFrames, so py4j releases their JVM plans


@pytest.fixture(scope="session")
def linked_root(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A synthetic data root linked once per test run (tests/pipeline.py): read-only, copy it
    with tests.pipeline.copy_root before writing."""
    from tests.pipeline import make_linked_root

    return make_linked_root(spark, tmp_path_factory.mktemp("linked-root"))


def leo_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_leo(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `python -m leo ARGS` in a fresh process, as a user would from a shell."""
    proc = subprocess.run(
        [sys.executable, "-m", "leo", *args],
        capture_output=True,
        text=True,
        env=env or leo_env(),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"leo {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def persisted_rdds(spark: object) -> int:
    """How many RDDs the session holds cached: a job that frees what it cached leaves this as
    it found it."""
    return int(spark.sparkContext._jsc.getPersistentRDDs().size())  # type: ignore[attr-defined]
