"""The one way jobs get a SparkSession.

Under spark-submit (a cluster, or a local spark-submit) the session already exists and is
returned as it is: the submitter's settings win. Run from `leo` or Python, a local session is
started with the project's defaults, on a Java found by leo.java (a PyPI runtime if the
machine has none), with Python workers on this interpreter and scratch space in a temporary
folder that is removed at exit.

Environment knobs (all optional):
  LEO_SPARK_MASTER          master URL (default local[*])
  LEO_SPARK_DRIVER_MEMORY   driver memory in local mode (default 8g; the driver is the executor)
  LEO_SHUFFLE_PARTITIONS    spark.sql.shuffle.partitions (default 64, coalesced by AQE)
  LEO_SPARK_LOCAL_DIR       scratch folder for shuffle and spill (default a new temp folder)
  LEO_SPARK_UI              1 to start the web UI (default off)
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING

from leo.java import ensure_java

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def default_conf(master: str) -> dict[str, str]:
    conf = {
        "spark.sql.shuffle.partitions": os.environ.get("LEO_SHUFFLE_PARTITIONS", "64"),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.adaptive.skewJoin.enabled": "true",
        # Without this, AQE is off inside cached plans: a cached join keeps all 64 shuffle
        # partitions, and every one of them starts a Python task (mapInPandas).
        "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.ui.showConsoleProgress": "false",
        "spark.ui.enabled": "true" if os.environ.get("LEO_SPARK_UI") == "1" else "false",
        # The Python workers run pandas/rapidfuzz; keep Arrow batches moderate.
        "spark.sql.execution.arrow.maxRecordsPerBatch": "20000",
    }
    if master.startswith("local"):
        conf["spark.driver.memory"] = os.environ.get("LEO_SPARK_DRIVER_MEMORY", "8g")
    return conf


def _scratch_dir() -> str:
    given = os.environ.get("LEO_SPARK_LOCAL_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        return given
    path = tempfile.mkdtemp(prefix="leo-spark-")
    atexit.register(shutil.rmtree, path, True)
    return path


def spark_session(
    app_name: str = "leo", master: str | None = None, extra_conf: dict[str, str] | None = None
) -> SparkSession:
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    ensure_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = master or os.environ.get("LEO_SPARK_MASTER") or "local[*]"
    conf = default_conf(master)
    conf["spark.local.dir"] = _scratch_dir()
    conf.update(extra_conf or {})
    builder = SparkSession.builder.appName(app_name).master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
