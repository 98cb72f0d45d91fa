"""leo/faults.py: fault points do nothing unless LEO_FAULT names them; a named one raises
(or kills: tests/synthetic/test_generator_faults.py); unknown names fail loudly."""

import re
from pathlib import Path

import pytest

from leo.faults import ENV, POINTS, InjectedFault, fault_point, points


def test_unset_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    for name in POINTS:
        fault_point(name)


def test_named_point_raises_and_others_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "link:mid-write, synth:mid-swap")
    fault_point("link:after-read")
    with pytest.raises(InjectedFault, match="link:mid-write"):
        fault_point("link:mid-write")
    with pytest.raises(InjectedFault, match="synth:mid-swap"):
        fault_point("synth:mid-swap")


def test_unregistered_point_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(KeyError, match="not registered"):
        fault_point("link:after-lunch")


def test_points_per_job() -> None:
    assert points("synth")[0] == "synth:after-chunk"
    assert all(p.startswith("link:") for p in points("link")) and len(points("link")) == 5
    assert points("build") == [
        "build:after-accounting",
        "build:after-person",
        "build:before-rename",
        "build:before-pointer",
    ]


def test_every_registered_point_is_called_by_a_job() -> None:
    """A point no job calls would make a test that tries each of a job's points test
    nothing there."""
    repo = Path(__file__).resolve().parents[2]
    called: set[str] = set()
    for package in ("leo", "spark_jobs", "synthetic", "linkage"):
        for path in (repo / package).rglob("*.py"):
            if path.name == "faults.py":
                continue  # its docstring names a point as an example
            called |= set(re.findall(r'fault_point\("([a-z]+:[a-z-]+)"\)', path.read_text()))
    assert sorted(set(POINTS) - called) == []
    assert called <= set(POINTS)
