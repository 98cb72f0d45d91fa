"""`leo link` on one small data root with every record-level problem planted in every source,
linked once: each problem quarantined with its reason, or its value repaired or set aside,
counted per source in the manifest; the row accounting reconciles. Then the same sources
interrupted (a raising fault point drawn at random, a SIGKILL of the driver at a random
moment) and linked again: the outputs equal the uninterrupted run's."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leo.schema import SOURCES
from linkage.inputs import (
    BAD_ID,
    NO_ID,
    NO_IDENTIFIERS,
    REPLACED_UTF8,
    too_early,
    too_late,
    too_long,
)
from synthetic.config import load_synthetic_config
from synthetic.generator import generate_chunk
from tests.faults import Job, Snapshot, interrupt_and_rerun, run_in_process, snapshot

PERSONS = 40
KEY = "reliability-test-key-" + "k" * 32
IDENTITY = ("forename", "middle_names", "surname", "sex", "date_of_birth", "postcode", "nino")
LONG = 10_000
LIMIT = 200  # conf/linkage.yaml max_value_length
LINK = Job(
    "link",
    ("link", "--data", "{data}"),
    outputs=(
        "record_person",
        "persons",
        "clusters",
        "record_profile",
        "pairs",
        "model.json",
        "summary.json",
        "manifest.json",
    ),
    runs="work",
    pointer="work/LATEST",
    ignore=("run", "seconds", "data_root"),
    inputs=("raw",),
    env={
        "LEO_PSEUDONYMISATION_KEY": KEY,
        "LEO_SPARK_MASTER": "local[2]",
        "LEO_SHUFFLE_PARTITIONS": "4",
        "LEO_SPARK_DRIVER_MEMORY": "1g",
    },
)


def dob_rule(rule: str) -> str:
    from datetime import UTC, date, datetime

    return too_early(date(1900, 1, 1)) if rule == "early" else too_late(datetime.now(UTC).date())


@dataclass(frozen=True)
class Plant:
    """One bad record added to every source: a copy of base row `base` changed by `change`
    (values as bytes where they must be invalid UTF-8)."""

    what: str
    change: Callable[[dict[str, object], str], None]
    quarantined: str | None = None  # the reason, or None: the record is linked
    values: tuple[tuple[str, str], ...] = ()  # (column, rule) counted once per source
    base: int = 0


def _no_id(r: dict[str, object], rid: str) -> None:
    r[rid] = None


def _no_identifiers(r: dict[str, object], rid: str) -> None:
    for c in IDENTITY:
        if c in r:
            r[c] = None


def _bad_utf8_name(r: dict[str, object], rid: str) -> None:
    name = str(r["forename"]).encode()
    r["forename"] = name[:2] + b"\xeb" + name[2:]  # a Latin-1 byte in UTF-8 text


def _long_surname(r: dict[str, object], rid: str) -> None:
    r["surname"] = "X" * LONG


def _future_dob(r: dict[str, object], rid: str) -> None:
    r["date_of_birth"] = "2091-05-04"


def _old_dob(r: dict[str, object], rid: str) -> None:
    r["date_of_birth"] = "1850-01-01"


def _only_a_long_name(r: dict[str, object], rid: str) -> None:
    _no_identifiers(r, rid)
    r["forename"] = "Y" * LONG


def _bad_utf8_id(r: dict[str, object], rid: str) -> None:
    r[rid] = b"\xff\xfe" + str(r[rid]).encode()


PLANTS = [
    Plant("a record with no record id", _no_id, quarantined=NO_ID, base=1),
    Plant("a record with every identifier empty", _no_identifiers, NO_IDENTIFIERS, base=2),
    Plant(
        "a copy of a record whose forename is not valid UTF-8",
        _bad_utf8_name,
        values=(("forename", REPLACED_UTF8),),
        base=3,
    ),
    Plant(
        "a copy of a record with a 10,000-character surname",
        _long_surname,
        values=(("surname", too_long(LIMIT)),),
        base=4,
    ),
    Plant(
        "a copy of a record with a date of birth in the future (2091-05-04)",
        _future_dob,
        values=(("date_of_birth", "late"),),
        base=5,
    ),
    Plant(
        "a copy of a record with a date of birth before 1900 (1850-01-01)",
        _old_dob,
        values=(("date_of_birth", "early"),),
        base=6,
    ),
    Plant(
        "a record whose only identifier is a 10,000-character forename",
        _only_a_long_name,
        NO_IDENTIFIERS,
        values=(("forename", too_long(LIMIT)),),
        base=7,
    ),
    Plant("a record whose record id is not valid UTF-8", _bad_utf8_id, BAD_ID, base=8),
]


def planted_rows(table: pa.Table, source: str) -> pa.Table:
    """The plants as a table of the source's schema; string columns go through binary so
    that they can hold invalid UTF-8, as a real Parquet file can."""
    rid = SOURCES[source].record_id
    assert rid is not None
    base = table.to_pylist()
    rows = []
    for k, plant in enumerate(PLANTS):
        r = dict(base[plant.base])
        r[rid] = f"{r[rid]}-P{k}"
        plant.change(r, rid)
        rows.append(r)
    arrays = []
    for f in table.schema:
        values = [r[f.name] for r in rows]
        if pa.types.is_string(f.type):
            raw = [v if isinstance(v, bytes) or v is None else str(v).encode() for v in values]
            arrays.append(pa.array(raw, pa.binary()).view(pa.string()))
        else:
            arrays.append(pa.array(values, f.type))
    # a real extract marks its columns nullable, whatever the contract says
    return pa.Table.from_arrays(
        arrays, schema=pa.schema([f.with_nullable(True) for f in table.schema])
    )


@dataclass
class Planted:
    root: Path
    run: str
    seconds: float  # the uninterrupted run's wall time, in this process
    reference: Snapshot
    raw_rows: dict[str, int]
    plant_ids: dict[str, list[bytes | None]]  # source -> record id of each plant (bytes)
    base_ids: dict[str, list[str]]  # source -> record id of each plant's base row


@pytest.fixture(scope="module")
def planted(spark, tmp_path_factory: pytest.TempPathFactory) -> Planted:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("planted") / "data"
    tables = generate_chunk(load_synthetic_config(), 11, 0, PERSONS).tables
    raw_rows, plant_ids, base_ids = {}, {}, {}
    for source in SOURCES:
        folder = root / "raw" / source
        folder.mkdir(parents=True)
        base = tables[source]
        assert base.num_rows > max(p.base for p in PLANTS), source
        pq.write_table(base, folder / "part-00000.parquet")
        plants = planted_rows(base, source)
        pq.write_table(plants, folder / "part-00001.parquet")  # bad records beside good ones
        raw_rows[source] = base.num_rows + plants.num_rows
        rid = SOURCES[source].record_id
        assert rid is not None
        plant_ids[source] = plants.column(rid).cast(pa.binary()).to_pylist()
        base_ids[source] = [base.column(rid)[p.base].as_py() for p in PLANTS]
    started = time.monotonic()
    assert run_in_process(LINK, root) == 0
    seconds = time.monotonic() - started
    run = (root / "work" / "LATEST").read_text().strip()
    reference = snapshot(LINK, root / "work" / run)
    return Planted(root, run, seconds, reference, raw_rows, plant_ids, base_ids)


def manifest(p: Planted) -> dict:  # type: ignore[type-arg]
    return json.loads((p.root / "work" / p.run / "manifest.json").read_text())


def record_person(p: Planted) -> list[dict[str, object]]:
    """record_person with record ids as bytes (an id that is not valid UTF-8 stays as it was
    in its source, so the build can match it)."""
    t = pq.read_table(p.root / "work" / p.run / "record_person")
    t = t.set_column(
        t.schema.get_field_index("record_id"), "record_id", t["record_id"].cast(pa.binary())
    )
    return t.to_pylist()


def expected_rule(column: str, rule: str) -> str:
    return dob_rule(rule) if rule in ("early", "late") else rule


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("k", range(len(PLANTS)), ids=[p.what for p in PLANTS])
def test_planted_record(planted: Planted, k: int, reliability) -> None:  # type: ignore[no-untyped-def]
    plant = PLANTS[k]
    outcome = f"quarantined ({plant.quarantined})" if plant.quarantined else "linked"
    counted = "; ".join(f"{c}: {expected_rule(c, r)}" for c, r in plant.values)
    row = reliability.row(
        "input",
        tried=f"in each of the 5 sources, {plant.what}",
        expected=f"{outcome}, counted per source in the manifest"
        + (f" ({counted})" if counted else "")
        + (
            "; linked to its original's person (outside ks4)"
            if plant.base > 2 and not plant.quarantined
            else ""
        ),
    )
    inputs = manifest(planted)["inputs"]
    rp = record_person(planted)
    by_id = {(r["source"], r["record_id"]): r for r in rp}
    notes = []
    same_person = 0
    for source in SOURCES:
        report = inputs[f"raw/{source}"]
        pid = planted.plant_ids[source][k]
        mine = by_id.get((source, pid if pid is not None else b""))
        assert mine is not None, (source, "planted record missing from record_person")
        if plant.quarantined:
            assert mine["status"] == "quarantined" and mine["reason"] == plant.quarantined, mine
            assert mine["person_pid"] is None
            assert report["quarantined"][plant.quarantined] >= 1, report
        else:
            assert mine["status"] in ("linked", "unlinked") and mine["person_pid"], mine
            original = by_id[(source, planted.base_ids[source][k].encode())]
            if source != "ks4":  # one record per pupil: a copy is kept apart unless certain
                assert mine["person_pid"] == original["person_pid"], (source, plant.what)
                same_person += 1
        for column, rule in plant.values:
            assert report["values"][column][expected_rule(column, rule)] >= 1, (source, report)
    counts = {s: inputs[f"raw/{s}"] for s in SOURCES}
    if plant.values:
        c, r = plant.values[0]
        notes.append(
            "counted "
            + ", ".join(f"{s} {counts[s]['values'][c][expected_rule(c, r)]}" for s in SOURCES)
        )
    if plant.quarantined:
        notes.append(
            "quarantined with its reason in all 5 sources; "
            + ", ".join(f"{s} {counts[s]['quarantined'][plant.quarantined]}" for s in SOURCES)
        )
    else:
        notes.append(f"linked in all 5; same person as its original in {same_person} of 4")
    row.observed = "; ".join(notes)


@pytest.mark.spark
@pytest.mark.slow
def test_counts_are_exact_and_rows_reconcile(planted: Planted, reliability) -> None:  # type: ignore[no-untyped-def]
    row = reliability.row(
        "input",
        tried="the data root with every plant in every source: row accounting",
        expected="every raw row in record_person once; linked + unlinked + quarantined = "
        "input rows, per source and in all; the manifest's counts are exactly the plants'",
    )
    m = manifest(planted)
    acc = m["row_accounting"]
    rp = record_person(planted)
    total = sum(planted.raw_rows.values())
    assert acc["input_rows"] == total == len(rp) == acc["accounted"]
    assert acc["linked"] + acc.get("unlinked", 0) + acc["quarantined"] == total
    keys = [(r["source"], r["record_id"]) for r in rp]
    assert len(set(keys)) == len(keys)
    quarantine, values = {}, {}
    for plant in PLANTS:
        if plant.quarantined:
            quarantine[plant.quarantined] = quarantine.get(plant.quarantined, 0) + 1
        for c, r in plant.values:
            rule = expected_rule(c, r)
            values.setdefault(c, {})[rule] = values.get(c, {}).get(rule, 0) + 1
    for source in SOURCES:
        report = m["inputs"][f"raw/{source}"]
        assert report["rows"] == planted.raw_rows[source]
        assert report["quarantined"] == quarantine, source  # nothing else in the base rows
        assert report["values"] == values, source
        mine = [r for r in rp if r["source"] == source]
        assert len(mine) == planted.raw_rows[source]
    assert acc["quarantined"] == 5 * sum(quarantine.values())
    row.observed = (
        f"{total:,} rows in; {acc['linked']:,} linked + {acc.get('unlinked', 0):,} unlinked + "
        f"{acc['quarantined']} quarantined = {acc['accounted']:,}; per source: rows, "
        "quarantine reasons and value counts exactly as planted"
    )


def fresh_copy(planted: Planted, root: Path) -> None:
    """The planted sources and the complete run made from them: an interruption must leave
    that run and work/LATEST as they are, or add another complete run."""
    shutil.copytree(planted.root / "raw", root / "raw")
    shutil.copytree(planted.root / "work", root / "work")


@pytest.mark.spark
@pytest.mark.slow
def test_interrupted_and_run_again(spark, planted: Planted, tmp_path: Path, reliability) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "data"
    fresh_copy(planted, root)
    reference = planted.reference  # the copied run
    interrupt_and_rerun(LINK, root, reference, reference, planted.seconds, reliability)
