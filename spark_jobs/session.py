"""The one way jobs get a SparkSession.

Under spark-submit (a cluster, or a local spark-submit) the JVM is already running with the
submitter's master and settings, and those win: the session is made on them, and only the
SQL settings the submitter left unset get the project's defaults (UTC, Arrow, AQE, ...).
Run from `leo` or Python, a local session is started with the project's defaults, on a Java
found by leo.java (a PyPI runtime if the machine has none), with Python workers on this
interpreter and scratch space in a temporary folder that is removed at exit.

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
import zipfile
from pathlib import Path
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
    if under_spark_submit():
        return _submitted_session(app_name)
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
    ship_project(spark)
    return spark


def under_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands its gateway to Python in these variables."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _submitted_session(app_name: str) -> SparkSession:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName(app_name).getOrCreate()
    given = spark.sparkContext.getConf()
    for key, value in default_conf(spark.sparkContext.master).items():
        # Only runtime SQL settings can change now; the rest (memory, UI) are the submitter's.
        if key.startswith("spark.sql.") and not given.contains(key):
            spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("WARN")
    ship_project(spark)
    return spark


# What executors import: everything but the API (which never runs inside Spark).
SHIPPED_PACKAGES = ("leo", "conf", "synthetic", "linkage", "spark_jobs")


def ship_project(spark: SparkSession) -> None:
    """Give executors on other machines the project's packages, as a zip through addPyFile,
    unless the master is local (executors share this interpreter) or the submitter shipped
    them already (`spark-submit --py-files leo_platform-*.whl`). The zip is made from where
    this process imports the packages, a checkout or an installed wheel alike."""
    import leo

    if spark.sparkContext.master.startswith("local"):
        return
    if spark.sparkContext.getConf().get("spark.submit.pyFiles", ""):
        return
    home = Path(leo.__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp(prefix="leo-pyfiles-"))
    atexit.register(shutil.rmtree, folder, True)
    archive = folder / "leo_project.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for package in SHIPPED_PACKAGES:
            for f in sorted((home / package).rglob("*")):
                if f.is_file() and "__pycache__" not in f.parts:
                    z.write(f, f.relative_to(home).as_posix())
    spark.sparkContext.addPyFile(str(archive))
