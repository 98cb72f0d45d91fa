"""A real Spark standalone cluster on 127.0.0.1 for the cluster test: a master and one worker
started with `spark-class` from the pyspark install (as the README's "Running on a cluster"
section does by hand), jobs submitted with `spark-submit`.

Executors run on a Python that can import the project's dependencies but NOT the project
itself (the test venv has it installed in editable mode): a bare venv whose only site entry is
a `.pth` line naming the test venv's site-packages (a `.pth` line adds a folder to sys.path
without running the `.pth` files inside it, so the editable install's hook is not loaded).
The project reaches the executors only as the wheel given to `--py-files`, as on a real
cluster.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyspark

from leo.java import find_java

SPARK_BIN = Path(pyspark.__file__).parent / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bare_python(folder: Path) -> Path:
    """A venv without the project: dependencies through a .pth line, nothing else."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    Path(site, "leo_test_dependencies.pth").write_text(deps + "\n")
    return python


def build_wheel(out: Path, repo: Path) -> Path:
    """The project's wheel, copied under a .zip name: PySpark puts only .zip, .egg and .jar
    files of --py-files on the executors' path, and a pure-Python wheel is a zip."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(repo)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("leo_platform-*.whl")
    shipped = out / "leo_platform.zip"
    shutil.copyfile(wheel, shipped)
    return shipped


@dataclass
class Cluster:
    master_url: str
    env: dict[str, str]
    logs: Path

    def submit(
        self, script: Path, *args: str, conf: dict[str, str], timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(SPARK_BIN / "spark-submit"), "--master", self.master_url]
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        return subprocess.run(
            [*argv, str(script), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise RuntimeError(f"'{text}' not in {log} after {seconds} s:\n{log.read_text()[-3000:]}")


@contextmanager
def standalone_cluster(work: Path, cores: int = 2, memory: str = "3g") -> Iterator[Cluster]:
    java = find_java()
    # Nothing but the shipped wheel may put the project on the executors' path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        JAVA_HOME=str(java.home),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOG_DIR=str(work / "logs"),
        SPARK_WORKER_DIR=str(work / "worker"),
        SPARK_NO_DAEMONIZE="1",
    )
    (work / "logs").mkdir(parents=True, exist_ok=True)
    port, ui = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    master_log, worker_log = work / "logs" / "master.log", work / "logs" / "worker.log"
    spark_class = str(SPARK_BIN / "spark-class")
    procs: list[subprocess.Popen[bytes]] = []

    def start(log: Path, *argv: str) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            procs.append(
                subprocess.Popen(
                    [spark_class, *argv], stdout=out, stderr=subprocess.STDOUT, env=env
                )
            )
        return procs[-1]

    try:
        master = start(
            master_log,
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)),
        )
        _wait_for(master_log, "I have been elected leader", master, 120)
        worker = start(
            worker_log,
            "org.apache.spark.deploy.worker.Worker",
            url,
            *("--host", "127.0.0.1", "--cores", str(cores), "--memory", memory),
            *("--work-dir", str(work / "worker"), "--webui-port", str(free_port())),
        )
        _wait_for(worker_log, "Successfully registered with master", worker, 120)
        yield Cluster(master_url=url, env=env, logs=work / "logs")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
