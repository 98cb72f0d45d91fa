"""Fault injection for the batch jobs: interrupt a job (a fault point of leo/faults.py that
raises or kills, or a real SIGKILL of the driver after a random delay), check what a reader
would see, then run the job again and compare its outputs with an uninterrupted run's.

A job is described, not coded (`Job`): its `leo` arguments, the outputs to compare, where
its runs and their pointer live, and the inputs it must not touch. The invariants:
- a job with runs (work/<run>/ + work/LATEST): every visible run folder is complete (holds
  its manifest) and its outputs equal the uninterrupted run's; the pointer is absent or
  names such a run, also at every moment while the job runs (`PointerWatch`);
- a job without runs (`leo synth`: raw/ and truth/): each unit of outputs renamed into place
  together is either as it was before or equal to the uninterrupted run's, never a mixture;
- the inputs are unchanged; the driver leaves no process behind.

The Jobs: `leo synth` (tests/synthetic/test_generator_faults.py), `leo link`
(tests/linkage/test_link_leo_reliability.py), `leo build` (tests/spark_jobs/test_build.py)
and `leo publish` (tests/spark_jobs/test_publish.py), the last with `ApiWatch`, an API server
started on the data root and asked, all the time the job runs, which release it serves: every
answer must be a 200 from a complete release, the previous one until the new one is
complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leo.faults import ENV, InjectedFault, points
from tests.conftest import REPO, leo_env


@dataclass(frozen=True)
class Job:
    name: str
    argv: tuple[str, ...]  # `leo` arguments; "{data}" stands for the data root
    outputs: tuple[str, ...]  # Parquet folders and JSON files, relative to the output folder
    runs: str | None = None  # folder of run folders, e.g. "work"
    pointer: str | None = None  # file naming the current run, e.g. "work/LATEST"
    units: tuple[tuple[str, ...], ...] = ()  # without runs: outputs renamed in together
    complete: str = "manifest.json"  # a run folder holding this file is complete
    ignore: tuple[str, ...] = ()  # JSON keys that differ between equal runs ("a.b": nested)
    inputs: tuple[str, ...] = ()  # folders of Parquet tables the job reads, never writes
    env: dict[str, str] = field(default_factory=dict)

    def args(self, root: Path) -> list[str]:
        return [a.replace("{data}", str(root)) for a in self.argv]


Snapshot = dict[str, str | None]  # output -> digest of its content, None when absent


def digest(path: Path, ignore: tuple[str, ...] = ()) -> str | None:
    """A digest of a table's rows (whatever their order and file split) or of a JSON file
    without its `ignore` keys (dotted for nested ones: "audit.seconds"); None when absent."""
    if not path.exists():
        return None
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ignore:
            *parents, last = key.split(".")
            node = data
            for name in parents:
                node = node.get(name) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(last, None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    table = pq.read_table(path).replace_schema_metadata(None)
    table = table.sort_by([(n, "ascending") for n in table.column_names]).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def read_pointer(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def output_folder(job: Job, root: Path) -> Path | None:
    """Where the outputs are: the run the pointer names, or the data root."""
    if job.pointer is None:
        return root
    run = read_pointer(root / job.pointer)
    return root / job.runs / run if run and job.runs else None


def snapshot(job: Job, folder: Path | None) -> Snapshot:
    return {o: digest(folder / o, job.ignore) if folder else None for o in job.outputs}


def inputs_digest(job: Job, root: Path) -> Snapshot:
    out: Snapshot = {}
    for name in job.inputs:
        base = root / name
        for table in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []:
            if not table.name.startswith((".", "_")):
                out[f"{name}/{table.name}"] = digest(table)
    return out


def state_problems(job: Job, root: Path, reference: Snapshot, before: Snapshot) -> list[str]:
    """What a reader could see that it must not: empty when the invariants hold. `before` is
    the outputs before the interrupted run (all None for a fresh data root)."""
    problems = []
    if job.runs is not None:
        runs = root / job.runs
        pointer_file = Path(job.pointer).name if job.pointer else None
        for entry in sorted(runs.iterdir()) if runs.is_dir() else []:
            if entry.name.startswith((".", "_")) or entry.name == pointer_file:
                continue  # hidden: a temporary folder no reader looks at
            if not (entry / job.complete).is_file():
                problems.append(f"{job.runs}/{entry.name} is visible but incomplete")
                continue
            got = snapshot(job, entry)
            if got not in (reference, before):
                problems.append(f"{job.runs}/{entry.name} differs from the uninterrupted run")
        if job.pointer is not None:
            run = read_pointer(root / job.pointer)
            if run is not None and not (runs / run / job.complete).is_file():
                problems.append(f"{job.pointer} names {run!r}, not a complete run")
    for unit in job.units:
        got = {o: digest(root / o, job.ignore) for o in unit}
        if got not in ({o: reference[o] for o in unit}, {o: before[o] for o in unit}):
            mixed = [o for o in unit if got[o] not in (reference[o], before[o])]
            problems.append(
                f"outputs {', '.join(unit)} are neither all as before nor all new"
                + (f" ({', '.join(mixed)} unlike both)" if mixed else " (a mixture)")
            )
    return problems


def leftovers(job: Job, root: Path) -> list[str]:
    """Hidden temporary folders left under the data root or the runs folder."""
    found = []
    for folder in {root, root / job.runs} if job.runs else {root}:
        if folder.is_dir():
            found += [p.name for p in folder.iterdir() if ".tmp-" in p.name]
    return sorted(found)


class PointerWatch:
    """While a job runs, polls its pointer; every value seen must name a complete run at the
    moment it is seen (a pointer written before its run is complete fails here)."""

    def __init__(self, job: Job, root: Path, interval: float = 0.02) -> None:
        self.job, self.root, self.interval = job, root, interval
        self.seen: list[str] = []
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        assert self.job.pointer and self.job.runs
        while not self._stop.is_set():
            run = read_pointer(self.root / self.job.pointer)
            if run is not None and (not self.seen or self.seen[-1] != run):
                self.seen.append(run)
                if not (self.root / self.job.runs / run / self.job.complete).is_file():
                    self.problems.append(f"{self.job.pointer} named incomplete run {run!r}")
            self._stop.wait(self.interval)

    def __enter__(self) -> PointerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class ApiWatch:
    """`leo serve` on the data root (its own process), asked GET /healthz every `interval`
    while a job runs: every answer must be a 200 naming a complete release (its folder holds
    manifest.json). The data root needs a release and an access database before."""

    def __init__(self, root: Path, conf: Path, interval: float = 0.05) -> None:
        self.root, self.conf, self.interval = root, conf, interval
        self.seen: list[str] = []  # releases answered from, in order, without repeats
        self.answers = 0
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._server: contextlib.ExitStack | None = None
        self.url = ""

    def _watch(self) -> None:
        import httpx

        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    r = client.get(f"{self.url}/healthz")
                    release = r.json().get("release") if r.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as exc:
                    self.problems.append(f"no answer: {type(exc).__name__}")
                    release = None
                else:
                    self.answers += 1
                    if r.status_code != 200:
                        self.problems.append(f"status {r.status_code}")
                if release is not None and (not self.seen or self.seen[-1] != release):
                    self.seen.append(release)
                    if not (self.root / "published" / release / "manifest.json").is_file():
                        self.problems.append(f"answered from incomplete release {release!r}")
                self._stop.wait(self.interval)

    def __enter__(self) -> ApiWatch:
        from tests.security.load import leo_serve

        self._server = contextlib.ExitStack()
        self.url, _ = self._server.enter_context(leo_serve(self.root, self.conf))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._server is not None:
            self._server.close()


@dataclass
class Outcome:
    returncode: int | None
    killed: bool  # by the harness's SIGKILL (a kill fault point shows as returncode -9)
    seconds: float
    stderr: str
    left_behind: int = 0  # processes of the job still alive after the driver died


def run_job(
    job: Job,
    root: Path,
    fault: str | None = None,
    kill_after: float | None = None,
    timeout: float = 900,
) -> Outcome:
    """`leo ARGS` in its own process group; with `kill_after`, SIGKILL the driver (only the
    driver, as a crash would) that many seconds in. Its children (Spark's JVM, Python
    workers) must then exit by themselves; any still there after 60 s is counted and
    killed."""
    env = leo_env(**job.env)
    env.pop(ENV, None)
    if fault:
        env[ENV] = fault
    with tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "leo", *job.args(root)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        killed = False
        try:
            proc.wait(timeout=kill_after if kill_after is not None else timeout)
        except subprocess.TimeoutExpired:
            if kill_after is None:
                raise
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            proc.wait(timeout=60)
        seconds = time.monotonic() - started
        left = _reap_group(proc.pid)
        err.seek(0)
        return Outcome(proc.returncode, killed, seconds, err.read(), left)


def _reap_group(pgid: int, wait: float = 60) -> int:
    """Wait for the process group to empty; kill what remains. Returns how many remained."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _group_members(pgid):
            return 0
        time.sleep(0.2)
    left = _group_members(pgid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return len(left)


def _group_members(pgid: int) -> list[int]:
    import psutil

    members = []
    for p in psutil.process_iter(["pid", "status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(p.pid)
    return members


@contextlib.contextmanager
def job_env(job: Job, fault: str | None) -> Iterator[None]:
    """The job's environment and LEO_FAULT, for a run in this process."""
    wanted = {**job.env, ENV: fault}
    old = {k: os.environ.get(k) for k in wanted}
    for k, v in wanted.items():
        os.environ.pop(k, None)
        if v is not None:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v


def run_in_process(job: Job, root: Path, fault: str | None = None) -> int:
    """The job through `leo.cli.main` in this process (a Spark job reuses the test run's
    session): no kills here, only raising fault points."""
    from leo.cli import main

    with job_env(job, fault):
        return main(job.args(root))


# The random moments of the SIGKILL tests come from one seeded generator, shown in each row:
# a failure is reproduced with the same seed. A longer run by hand: LEO_FAULT_KILLS=20 and
# a few seeds.
SEED = int(os.environ.get("LEO_FAULT_SEED", "20261201"))


def kill_count(default: int) -> int:
    return int(os.environ.get("LEO_FAULT_KILLS", str(default)))


def interrupt_and_rerun(
    job: Job,
    root: Path,
    reference: Snapshot,
    before: Snapshot,
    seconds: float,
    reliability: Any,
    api: ApiWatch | None = None,
) -> None:
    """The three steps for a job with runs and a pointer, one reliability row each: a fault
    point of the job drawn at random raises (in this process: a Spark job reuses the test
    run's session), a `leo` driver is SIGKILLed at a random moment, and the same command runs
    to the end (in its own process, as an operator would run it). `reference` is an
    uninterrupted run's outputs, `before` the outputs the pointer named before (the same as
    `reference` when it named such a run); `seconds` the uninterrupted run's time in this
    process. With `api` (started by the caller) the API must answer from the release the
    pointer named before until the rerun, then from the new one.
    Fails the test on the first step with a problem."""
    assert job.pointer and job.runs
    rng = random.Random(SEED)
    inputs = inputs_digest(job, root)
    first = read_pointer(root / job.pointer)
    served = f"; the API answers 200 from {first} only" if api else ""

    def check(what: str, watch: PointerWatch, rerun: bool = False) -> list[str]:
        problems = state_problems(job, root, reference, before) + watch.problems
        if inputs_digest(job, root) != inputs:
            problems.append(f"{', '.join(job.inputs)} changed")
        if api is not None:
            problems += api.problems
            if api.seen[:1] != [first] or len(api.seen) > (2 if rerun else 1):
                problems.append(f"the API answered from {api.seen}")
        return [f"{what}: {p}" for p in problems]

    def api_answers() -> str:
        return f"; {api.answers} API answers, every one 200, from {first}" if api else ""

    point = rng.choice(points(job.name))
    row = reliability.row(
        "fault",
        tried=f"leo {job.name} stopped by LEO_FAULT={point} (drawn with seed {SEED})"
        + (", leo serve answering all along" if api else ""),
        expected=f"no incomplete {job.runs}/<run>/ visible, {job.pointer} names a complete "
        f"run throughout, {', '.join(job.inputs)} unchanged{served}",
    )
    with PointerWatch(job, root) as watch, pytest.raises(InjectedFault):
        run_in_process(job, root, point)
    problems = check("after the fault", watch)
    row.observed = "raised; " + (
        "; ".join(problems) or "state consistent, pointer always complete" + api_answers()
    )
    assert not problems

    delay = round(rng.uniform(3, seconds + 15), 1)  # + the JVM's start
    row = reliability.row(
        "fault",
        tried=f"SIGKILL of the leo {job.name} driver {delay} s in (uninterrupted: "
        f"{seconds:.0f} s in-process; seed {SEED})",
        expected="the same, and Spark's JVM and workers exit with the driver",
    )
    with PointerWatch(job, root) as watch:
        out = run_job(job, root, kill_after=delay)
    problems = check("after the kill", watch)
    if out.left_behind:
        problems.append(f"{out.left_behind} process(es) of the job left behind")
    if not out.killed and out.returncode != 0:
        problems.append(f"finished first, exit {out.returncode}")
    how = f"killed at {out.seconds:.1f} s" if out.killed else "finished first (exit 0)"
    row.observed = (
        how
        + "; "
        + ("; ".join(problems) or "state consistent, nothing left running" + api_answers())
    )
    assert not problems, out.stderr[-3000:]

    row = reliability.row(
        "fault",
        tried=f"leo {job.name} run again after the fault and the kill",
        expected=f"exit 0; {job.pointer} names a new complete run whose outputs equal the "
        "uninterrupted run's; temporary folders removed"
        + ("; the API switches to it" if api else ""),
    )
    last = read_pointer(root / job.pointer)
    # the rerun is the command again, in its own process: in the test run's long-lived
    # session a rerun of `leo link` once failed reading Parquet (Py4JJavaError) after many
    # other tests, never on its own; the session's state is not what is under test here
    with PointerWatch(job, root) as watch:
        rerun = run_job(job, root)
    code = rerun.returncode
    new = read_pointer(root / job.pointer)
    deadline = time.monotonic() + 30
    while api is not None and api.seen[-1] != new and time.monotonic() < deadline:
        time.sleep(0.1)
    problems = check("after the rerun", watch, rerun=True)
    if code != 0:
        problems.append(f"exit {code}: {rerun.stderr[-2000:]}")
    if new in (first, last):
        problems.append(f"{job.pointer} did not move from {new}")
    if api is not None and api.seen[-1] != new:
        problems.append(f"the API did not switch to {new}: {api.seen}")
    got = snapshot(job, output_folder(job, root))
    differ = [o for o in job.outputs if got[o] != reference[o]]
    if differ:
        problems.append(f"differs from the uninterrupted run: {', '.join(differ)}")
    if leftovers(job, root):
        problems.append(f"left: {leftovers(job, root)}")
    switched = f"; the API answered from {' then '.join(api.seen)}" if api else ""
    row.observed = "; ".join(problems) or (
        f"exit 0; {len(job.outputs)} outputs equal the uninterrupted run's; nothing left "
        f"over{switched}"
    )
    assert not problems
