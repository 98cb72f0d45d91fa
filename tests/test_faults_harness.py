"""tests/faults.py's checks can fail: states a crash could leave are each reported."""

import json
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.faults import ApiWatch, Job, PointerWatch, digest, snapshot, state_problems

RUNS = Job("j", ("x",), outputs=("t", "manifest.json"), runs="work", pointer="work/LATEST")
UNITS = Job("s", ("x",), outputs=("raw/a", "truth/b"), units=(("raw/a",), ("truth/b",)))


def table(folder: Path, values: list[int]) -> None:
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"v": values}), folder / "part-0.parquet")


def run(root: Path, name: str, values: list[int], complete: bool = True) -> None:
    table(root / "work" / name / "t", values)
    if complete:
        (root / "work" / name / "manifest.json").write_text(json.dumps({"run": name, "n": 1}))


def test_table_digest_ignores_row_order_and_files(tmp_path: Path) -> None:
    table(tmp_path / "a", [1, 2, 3])
    (tmp_path / "b").mkdir()
    pq.write_table(pa.table({"v": [3]}), tmp_path / "b" / "p0.parquet")
    pq.write_table(pa.table({"v": [2, 1]}), tmp_path / "b" / "p1.parquet")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "missing") is None


def test_json_digest_ignores_named_keys_also_nested(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"id": "r1", "n": 1, "audit": {"seconds": 1.5, "passed": True}}))
    b.write_text(json.dumps({"id": "r2", "n": 1, "audit": {"seconds": 9.0, "passed": True}}))
    assert digest(a) != digest(b)
    assert digest(a, ("id",)) != digest(b, ("id",))
    assert digest(a, ("id", "audit.seconds")) == digest(b, ("id", "audit.seconds"))
    assert digest(a, ("id", "audit.seconds", "no.such.key", "n.x")) == digest(
        b, ("id", "audit.seconds", "no.such.key", "n.x")
    )
    b.write_text(json.dumps({"id": "r2", "n": 1, "audit": {"seconds": 9.0, "passed": False}}))
    assert digest(a, ("id", "audit.seconds")) != digest(b, ("id", "audit.seconds"))


def test_run_states(tmp_path: Path) -> None:
    ref_root = tmp_path / "ref"
    run(ref_root, "r0", [1, 2])
    job = Job(**{**RUNS.__dict__, "ignore": ("run",)})
    reference = snapshot(job, ref_root / "work/r0")
    before = dict.fromkeys(job.outputs)
    root = tmp_path / "d"
    (root / "work").mkdir(parents=True)
    assert state_problems(job, root, reference, before) == []
    run(root, "r1", [2, 1])
    (root / "work" / ".r2.tmp-1234").mkdir()  # hidden: fine
    (root / "work" / "LATEST").write_text("r1\n")
    assert state_problems(job, root, reference, before) == []
    run(root, "r3", [1, 2], complete=False)
    run(root, "r4", [9])
    (root / "work" / "LATEST").write_text("r5\n")
    assert state_problems(job, root, reference, before) == [
        "work/r3 is visible but incomplete",
        "work/r4 differs from the uninterrupted run",
        "work/LATEST names 'r5', not a complete run",
    ]


def test_unit_states(tmp_path: Path) -> None:
    new, old = tmp_path / "new", tmp_path / "old"
    for root, v in ((new, 1), (old, 2)):
        table(root / "raw/a", [v])
        table(root / "truth/b", [v])
    reference, before = snapshot(UNITS, new), snapshot(UNITS, old)
    assert state_problems(UNITS, old, reference, before) == []
    assert state_problems(UNITS, new, reference, before) == []
    two = Job("s", ("x",), outputs=UNITS.outputs, units=(UNITS.outputs,))
    mixed = tmp_path / "mixed"
    table(mixed / "raw/a", [1])
    table(mixed / "truth/b", [2])
    assert state_problems(two, mixed, reference, before) == [
        "outputs raw/a, truth/b are neither all as before nor all new (a mixture)"
    ]


def test_pointer_watch_sees_a_pointer_to_an_incomplete_run(tmp_path: Path) -> None:
    run(tmp_path, "r1", [1], complete=False)
    with PointerWatch(RUNS, tmp_path, interval=0.005) as watch:
        (tmp_path / "work" / "LATEST").write_text("r1\n")
        time.sleep(0.1)
    assert watch.seen == ["r1"] and watch.problems == ["work/LATEST named incomplete run 'r1'"]


@pytest.mark.slow
def test_api_watch_follows_releases_and_sees_the_server_go(tmp_path: Path) -> None:
    """What `leo publish`'s fault tests will use: the API keeps answering from a complete
    release while the pointer moves, and a server that stops answering is a problem."""
    from api.access import AccessDB
    from tests.api.releases import small_release_cells, write_release

    write_release(tmp_path, "r1", small_release_cells())
    AccessDB(tmp_path / "access" / "access.db").add_analyst("a.b", "A", "O", date(2099, 1, 1))
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "api.yaml").write_text("release_poll_seconds: 0.1\n")
    with ApiWatch(tmp_path, conf) as watch:
        time.sleep(1)
        write_release(tmp_path, "r2", small_release_cells())
        time.sleep(2)
        # a partial release made current: the server keeps serving r2 (the watch agrees),
        # PointerWatch on published/CURRENT would flag the pointer itself
        (tmp_path / "published" / "r3" / "cells").mkdir(parents=True)
        (tmp_path / "published" / "CURRENT").write_text("r3\n")
        time.sleep(1)
    assert watch.seen == ["r1", "r2"] and watch.problems == [] and watch.answers > 10
    published = Job("p", ("x",), (), runs="published", pointer="published/CURRENT")
    assert state_problems(published, tmp_path, {}, {}) == [
        "published/r3 is visible but incomplete",
        "published/CURRENT names 'r3', not a complete run",
    ]

    gone = ApiWatch(tmp_path, conf)
    (tmp_path / "published" / "CURRENT").write_text("r2\n")
    with gone:
        assert gone._server is not None
        gone._server.close()  # the server stops while the watch still asks
        time.sleep(1)
    assert any(p.startswith("no answer") for p in gone.problems)
