"""The release store: contract checks, the lean index, and hot swap without mixing."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.store import LRU, ReleaseStore, load_release
from api.tables import Filter, Scope, build_table
from leo.catalogue import load_catalogue
from leo.errors import InputError
from leo.layout import DataRoot
from tests.api.conftest import Client, make_env, serve
from tests.api.releases import set_current, small_release_cells, write_release

CATALOGUE = load_catalogue()


def test_index_finds_each_grouping_set(tmp_path: Path) -> None:
    write_release(tmp_path, "r1", small_release_cells())
    release = load_release(DataRoot(str(tmp_path)), "r1", CATALOGUE)
    assert release.dimensions == ("sex", "region", "fsm", "subject_cah2")
    assert release.n_cells == len(small_release_cells())
    assert release.max_group_dims == 2
    mask = release.mask(("region", "sex"))
    cells = release.cells("ks4", "2014/15", 3, mask)
    assert len(cells) == 8  # 2 sexes x 2 regions x (count, earnings)
    assert {c[0] for c in cells} == {
        ("F", "E12000001"),
        ("M", "E12000001"),
        ("F", "E12000007"),
        ("M", "E12000007"),
    }
    assert release.cells("ks4", "2014/15", 3, release.mask(("fsm", "sex"))) == []
    assert [(c.cohort_type, c.cohort, c.years_after) for c in release.cohorts] == [
        ("graduate", "2016/17", (1,)),
        ("ks4", "2014/15", (1, 3)),
    ]


def test_suppressed_values_never_leave_even_if_the_file_has_them(tmp_path: Path) -> None:
    cells = small_release_cells()
    leaky = [dict(c, value=123.0) if c["status"] == "suppressed" else c for c in cells]
    write_release(tmp_path, "r1", leaky)
    release = load_release(DataRoot(str(tmp_path)), "r1", CATALOGUE)
    values = release._cells.filter(pa.compute.equal(release._cells["status"], "suppressed"))
    assert values["value"].null_count == values.num_rows == release.n_suppressed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["status"]), "missing column(s) ['status']"),
        (
            lambda t: t.append_column("nino", pa.array(["x"] * t.num_rows)),
            "not catalogue dimensions",
        ),
        (
            lambda t: t.set_column(
                t.schema.get_field_index("status"), "status", pa.array(["weird"] * t.num_rows)
            ),
            "unknown values ['weird']",
        ),
        (
            lambda t: t.set_column(
                t.schema.get_field_index("measure"), "measure", pa.nulls(t.num_rows, pa.string())
            ),
            "'measure' has",
        ),
    ],
)
def test_contract_violations_are_named(tmp_path: Path, change: Any, message: str) -> None:
    rdir = write_release(tmp_path, "r1", small_release_cells())
    part = rdir / "cells" / "part-0.parquet"
    pq.write_table(change(pq.read_table(part)), part)
    with pytest.raises(InputError) as exc:
        load_release(DataRoot(str(tmp_path)), "r1", CATALOGUE)
    assert message in str(exc.value)
    assert str(rdir / "cells") in str(exc.value)


def test_bad_pointer_and_missing_manifest(tmp_path: Path) -> None:
    write_release(tmp_path, "r1", small_release_cells())
    store = ReleaseStore(DataRoot(str(tmp_path)), CATALOGUE)
    assert store.refresh() and store.current().id == "r1"
    set_current(tmp_path, "../../etc")
    assert not store.refresh()  # logged and skipped
    assert store.current().id == "r1"
    (tmp_path / "published" / "r2" / "cells").mkdir(parents=True)
    set_current(tmp_path, "r2")
    assert not store.refresh()
    assert store.current().id == "r1"


def test_hot_swap_under_load_never_mixes_releases(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    write_release(env.root, "r2", small_release_cells(earnings_shift=1000.0), make_current=False)
    write_release(env.root, "r3-broken", small_release_cells(), make_current=False)
    (env.root / "published" / "r3-broken" / "manifest.json").unlink()
    expected = {"r1": 16000.0, "r2": 17000.0}  # national median 1 year after
    query = """query { release { id }
      project(id: "p-active") { table(cohort: {type: KS4, cohort: "2014/15", yearsAfter: [1]},
        measures: ["earnings_median"]) { release rows { cells { value } } } } }"""
    queries = [query, query.replace("query {", "query Again {")]  # two cache entries
    seen: list[tuple[str, str, float]] = []
    failures: list[str] = []
    stop = threading.Event()

    unlimited = {"requests_per_minute": 10**7, "cost_per_minute": 10**9}
    with serve(env, release_poll_seconds=0.02, rate_limits=unlimited) as s:

        def hammer(i: int) -> None:
            c = Client(s.url)
            while not stop.is_set():
                body = c.gql(queries[i % 2], token=env.tokens["alice"])
                if "errors" in body:
                    failures.append(str(body["errors"]))
                    continue
                table = body["data"]["project"]["table"]
                seen.append(
                    (
                        body["data"]["release"]["id"],
                        table["release"],
                        table["rows"][0]["cells"][0]["value"],
                    )
                )
            c.http.close()

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for release_id in ("r2", "r1", "r3-broken", "r2", "r1", "r2"):
            set_current(env.root, release_id)
            time.sleep(0.3)
        health = Client(s.url).http.get("/healthz").json()
        stop.set()
        for t in threads:
            t.join()

    assert not failures
    assert health["release"] == "r2"
    assert {r for r, _, _ in seen} == {"r1", "r2"}  # both served, the broken one never
    for root_id, table_id, value in seen:
        assert root_id == table_id
        assert value == expected[root_id]
    assert len(seen) > 50


def test_lru_is_bounded_by_weight_as_well_as_entries() -> None:
    lru = LRU(10, max_weight=100)
    for i in range(5):
        lru.put(i, f"v{i}", weight=30)
    assert [k for k in range(5) if lru.get(k) is not None] == [2, 3, 4]  # 3 x 30 <= 100
    assert lru.weight == 90
    lru.put(3, "again", weight=5)  # replacing an entry replaces its weight
    assert lru.weight == 65 and lru.get(3) == "again"
    lru.put("huge", "x", weight=101)  # heavier than the whole budget: not kept
    assert lru.get("huge") is None and lru.weight == 65
    counted = LRU(2)
    for i in range(3):
        counted.put(i, i + 1)
    assert len(counted) == 2 and counted.get(0) is None


def test_table_memo_is_bounded_by_cells(tmp_path: Path) -> None:
    """Regression: the memo held 2,000 tables whatever their size; a filter with made-up
    values makes a new entry each time, so its size is now bounded in cells too."""
    write_release(tmp_path, "r1", small_release_cells())
    release = load_release(DataRoot(str(tmp_path)), "r1", CATALOGUE, memo_cells=100)
    scope = Scope("p", frozenset({"sex", "region"}), frozenset({"cohort_count"}))
    for i in range(50):
        build_table(
            release,
            CATALOGUE,
            scope,
            cohort_type="ks4",
            cohort="2014/15",
            years_after=None,
            measures=["cohort_count"],
            by=["sex", "region"],
            where=[Filter("sex", ("F", "M", f"made-up-{i}"))],
        )
    assert release.memo.weight <= 100
    assert len(release.memo) < 50
