"""`leo synth` interrupted at each of its fault points (raising, and SIGKILLed there) and by
SIGKILLs at random moments, on a fresh data root and over another run's output with
--overwrite; then the same command again. raw/ and truth/ are each all old or all new at
every interruption, and the rerun's output equals an uninterrupted run's."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from leo.faults import InjectedFault, points
from leo.schema import SOURCES
from tests.faults import (
    SEED,
    Job,
    Snapshot,
    kill_count,
    leftovers,
    run_in_process,
    run_job,
    snapshot,
    state_problems,
)

PERSONS, CHUNK = 6000, 1000  # six chunks: about a second of work
RAW = tuple(f"raw/{s}" for s in SOURCES)
TRUTH = ("truth/records", "truth/persons")
VARIANTS = {"fresh": (), "over older output": ("--overwrite",)}


def synth_job(variant: str) -> Job:
    argv = ("synth", "--persons", str(PERSONS), "--seed", "5", "--chunk-size", str(CHUNK))
    return Job(
        "synth",
        (*argv, "--out", "{data}", *VARIANTS[variant]),
        outputs=RAW + TRUTH,
        units=(RAW, TRUTH),  # each renamed into place as one folder
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    root = tmp_path_factory.mktemp("synth-reference") / "data"
    job = synth_job("fresh")
    assert run_in_process(job, root) == 0
    return snapshot(job, root)


@pytest.fixture(scope="module")
def older(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another run's output (other seed and size), for the --overwrite variant."""
    root = tmp_path_factory.mktemp("synth-older") / "data"
    job = Job("older", ("synth", "--persons", "2500", "--seed", "99", "--out", "{data}"), ())
    assert run_in_process(job, root) == 0
    return root


def start(variant: str, older: Path, tmp_path: Path) -> tuple[Path, Snapshot]:
    root = tmp_path / "data"
    if VARIANTS[variant]:
        shutil.copytree(older, root)
    return root, snapshot(synth_job(variant), root)


def rerun_equals(job: Job, root: Path, reference: Snapshot) -> list[str]:
    problems = []
    if run_in_process(job, root) != 0:
        problems.append("the rerun failed")
    if snapshot(job, root) != reference:
        problems.append("the rerun's outputs differ from an uninterrupted run's")
    if leftovers(job, root):
        problems.append(f"temporary folders left: {leftovers(job, root)}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("mode", ["raise", "kill"])
@pytest.mark.parametrize("point", points("synth"))
def test_interrupted_at_a_fault_point(
    point: str,
    mode: str,
    variant: str,
    reference: Snapshot,
    older: Path,
    tmp_path: Path,
    reliability,  # type: ignore[no-untyped-def]
) -> None:
    fault = point if mode == "raise" else f"{point}=kill"
    row = reliability.row(
        "fault",
        tried=f"leo synth ({variant}) stopped by LEO_FAULT={fault}",
        expected="raw/ and truth/ each all as before or all new; the same command again: "
        "exit 0, output equal to an uninterrupted run's, no temporary folder left",
    )
    job = synth_job(variant)
    root, before = start(variant, older, tmp_path)
    if mode == "raise":
        with pytest.raises(InjectedFault):
            run_in_process(job, root, fault)
        how = "raised"
    else:
        out = run_job(job, root, fault)
        assert out.returncode == -9, out.stderr
        how = "killed (-9)"
    problems = state_problems(job, root, reference, before)
    state = "interrupted state consistent" if not problems else "; ".join(problems)
    problems += rerun_equals(job, root, reference)
    row.observed = f"{how}; {state}; rerun " + ("equal" if not problems else "; ".join(problems))
    assert not problems


@pytest.mark.slow
def test_killed_at_random_moments(
    reference: Snapshot,
    older: Path,
    tmp_path: Path,
    reliability,  # type: ignore[no-untyped-def]
) -> None:
    """A real SIGKILL of the `leo synth` process at moments drawn over an uninterrupted
    run's duration (measured here, in a process of its own)."""
    rng = random.Random(SEED)
    timing = run_job(synth_job("fresh"), tmp_path / "timing")
    assert timing.returncode == 0, timing.stderr
    for i in range(kill_count(4)):
        variant = list(VARIANTS)[i % 2]
        delay = round(rng.uniform(0.05, timing.seconds), 2)
        row = reliability.row(
            "fault",
            tried=f"SIGKILL of leo synth ({variant}) {delay} s in (of {timing.seconds:.1f} s; "
            f"seed {SEED}, kill {i + 1})",
            expected="raw/ and truth/ each all as before or all new; the same command again "
            "gives an uninterrupted run's output",
        )
        job = synth_job(variant)
        root, before = start(variant, older, tmp_path / f"kill-{i}")
        out = run_job(job, root, kill_after=delay)
        how = "killed" if out.killed else f"finished first (exit {out.returncode})"
        problems = state_problems(job, root, reference, before)
        if out.left_behind:
            problems.append(f"{out.left_behind} process(es) left behind")
        problems += rerun_equals(job, root, reference)
        row.observed = f"{how} at {out.seconds:.2f} s; " + (
            "state consistent, rerun equal" if not problems else "; ".join(problems)
        )
        assert not problems, row.observed
