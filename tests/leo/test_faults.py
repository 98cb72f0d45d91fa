"""leo/faults.py: fault points do nothing unless LEO_FAULT names them; a named one raises
(or kills: tests/synthetic/test_generator_faults.py); unknown names fail loudly."""

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
