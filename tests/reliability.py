"""The reliability table's rows: a pytest plugin with which any test records what it tried.

A test takes the `reliability` fixture and records one row per thing it tried:

    def test_token_guessing(reliability):
        row = reliability.row(
            "attack",
            tried="200 guessed tokens from one address",
            expected="401 until the address's limit, then 429; every attempt audited",
        )
        ...                                   # the test's own assertions
        row.observed = f"{n401} x 401, then {n429} x 429; {rows} audit rows"

`area` is one of AREAS: `input` (bad input), `fault` (injected failures, kills), `load`
(sustained traffic) or `attack` (requests meant to get past a control). The outcome is not
the test's to say: it is the test's result (passed, failed, skipped, error), and a row whose
test failed before `observed` was set shows the failure's first line instead.

Rows travel in the test report's `user_properties` (so pytest-xdist carries them to the
controller, and JUnit XML shows them), and the controlling process writes every row of the
run to `$LEO_TEST_ARTIFACTS/reliability.json` (default `test-artifacts/`), rewriting the file
atomically after each test that recorded rows: an interrupted run leaves the rows it got to.
A run that records no rows leaves an earlier run's file alone. `scripts/reliability_table.py`
renders the file as docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

AREAS = ("input", "fault", "load", "attack")
PROPERTY = "reliability"  # the user_properties name rows travel under
FILE_NAME = "reliability.json"
REPO = Path(__file__).resolve().parent.parent


def artifacts_dir() -> Path:
    return Path(os.environ.get("LEO_TEST_ARTIFACTS") or REPO / "test-artifacts")


class Row:
    """One row being recorded; set `observed` once the outcome is known."""

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data  # the dict in user_properties: changes reach the report

    @property
    def observed(self) -> str:
        return self._data["observed"]

    @observed.setter
    def observed(self, text: str) -> None:
        self._data["observed"] = str(text)


class Reliability:
    """The `reliability` fixture: records rows for the current test."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def row(self, area: str, tried: str, expected: str, observed: str = "") -> Row:
        if area not in AREAS:
            raise ValueError(f"reliability area {area!r}: expected one of {AREAS}")
        for name, text in (("tried", tried), ("expected", expected)):
            if not str(text).strip():
                raise ValueError(f"reliability row: '{name}' must say something")
        data = {"area": area, "tried": str(tried), "expected": str(expected)}
        data["observed"] = str(observed)
        self._item.user_properties.append((PROPERTY, data))
        return Row(data)


@pytest.fixture()
def reliability(request: pytest.FixtureRequest) -> Reliability:
    """Record rows of the reliability table (docs/reliability.md) for this test."""
    return Reliability(request.node)


# -- collecting rows in the controlling process ------------------------------------------

_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


@dataclass
class _TestRows:
    rows: list[dict[str, str]]
    outcome: str = "passed"
    failure: str = ""
    duration_s: float = 0.0


@dataclass(eq=False)  # a plugin: pluggy keeps plugins in sets
class Collector:
    path: Path
    started: str = field(default_factory=lambda: _now())
    args: list[str] = field(default_factory=list)
    tests: dict[str, _TestRows] = field(default_factory=dict)
    _context: dict[str, Any] | None = None

    # pytest hooks (the collector is registered as a plugin in the controlling process)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rows = [
            dict(value) for name, value in report.user_properties if name == PROPERTY
        ]  # xdist delivers tuples as lists; both unpack
        if not rows and report.nodeid not in self.tests:
            return
        entry = self.tests.setdefault(report.nodeid, _TestRows(rows))
        if rows:
            entry.rows = rows  # later phases carry the same rows, with `observed` filled in
        entry.duration_s += report.duration
        outcome = report.outcome
        if report.failed and report.when != "call":
            outcome = "error"
        if _RANK[outcome] > _RANK[entry.outcome]:
            entry.outcome = outcome
            if report.failed:
                entry.failure = _first_line(report)
        if report.when == "teardown":
            self.write()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.write()

    def write(self) -> None:
        if not self.tests:
            return
        rows = []
        for nodeid, entry in self.tests.items():
            for data in entry.rows:
                observed = data.get("observed", "")
                if entry.outcome in ("failed", "error") and entry.failure:
                    observed = f"{observed}; " if observed else ""
                    observed += f"test {entry.outcome}: {entry.failure}"
                rows.append(
                    {
                        "area": data["area"],
                        "tried": data["tried"],
                        "expected": data["expected"],
                        "observed": observed,
                        "outcome": entry.outcome,
                        "test": nodeid,
                        "duration_s": round(entry.duration_s, 2),
                    }
                )
        payload = {"run": {**self.context(), "updated": _now()}, "rows": rows}
        # Atomic (a reader never sees half a file), not fsynced: a test artifact.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def context(self) -> dict[str, Any]:
        if self._context is None:
            self._context = {
                "started": self.started,
                "args": self.args,
                "commit": _git("rev-parse", "--short=12", "HEAD"),
                "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
                "python": platform.python_version(),
                "platform": platform.platform(terse=True),
                "cpus": os.cpu_count(),
                "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            }
        return self._context


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _git(*args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr or "")
    line = text.strip().splitlines()[0] if text.strip() else "failed"
    return line[:300]


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller collects and writes
    collector = Collector(artifacts_dir() / FILE_NAME)
    collector.args = [str(a) for a in config.invocation_params.args]
    config.pluginmanager.register(collector, "reliability-collector")
