"""`leo build` end to end on the shared linked synthetic root (tests/pipeline.py), in a private
copy with opt-outs and content faults planted: contracts, no direct identifiers in the
research zone, opt-outs, row accounting, atomic re-runs after a crash (a fault point, and the
harness of tests/faults.py: a random fault point, a SIGKILL of the driver, the rerun), and the
truth build."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leo.faults import ENV, InjectedFault
from leo.layout import TRUTH_RUN, resolve_data_root
from leo.schema import COHORT_OUTCOMES, IDENTIFIER, PERSON, PERSON_TAX_YEAR, RECORD_ID, SOURCES
from tests.faults import Job, PointerWatch, interrupt_and_rerun, output_folder, snapshot
from tests.pipeline import copy_root

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CONTRACTS = {t.name: t for t in (PERSON, PERSON_TAX_YEAR, COHORT_OUTCOMES)}
END_BEFORE_START, NEGATIVE_PAY = 3, 2  # content faults planted in raw/employments


@dataclass
class Built:
    root: Path
    run: str
    manifest: dict[str, Any]
    opted_out: dict[str, str]  # person_pid -> the source whose record named them
    faults: dict[str, list[str]]  # reason -> employment ids made faulty


def _read(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas(date_as_object=False)


def _plant_content_faults(root: Path, avoid: set[str]) -> dict[str, list[str]]:
    """Rewrite raw/employments with end dates before start dates and negative pay in a few
    rows (none of them an opted-out person's)."""
    path = root / "raw" / "employments"
    table = pq.read_table(path)
    df = table.to_pandas()
    ok = df.end_date.notna() & (df.pay > 0) & ~df.employment_id.isin(avoid)
    ok &= df.end_date >= df.start_date
    picked = df[ok].sort_values("employment_id").employment_id.tolist()
    ends, pays = (
        picked[:END_BEFORE_START],
        picked[END_BEFORE_START : END_BEFORE_START + NEGATIVE_PAY],
    )
    hit = df.employment_id.isin(ends)
    df.loc[hit, "end_date"] = df.loc[hit, "start_date"] - timedelta(days=3)
    df.loc[df.employment_id.isin(pays), "pay"] *= -1
    for f in path.iterdir():
        f.unlink()
    pq.write_table(
        pa.Table.from_pandas(df, schema=table.schema, preserve_index=False), path / "part-0.parquet"
    )
    return {"end_date before start_date": ends, "negative pay": pays}


@pytest.fixture(scope="module")
def built(spark, linked_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:  # type: ignore[no-untyped-def]
    from spark_jobs.build import build_research_zone

    root = copy_root(linked_root, tmp_path_factory.mktemp("build") / "data")
    run = (root / "work" / "LATEST").read_text().strip()
    rp = _read(root / "work" / run / "record_person")
    persons = _read(root / "work" / run / "persons")
    # a person with KS4, HE and employment records (so in both cohort types), named by an
    # employment record; and a person named by a KS5 record
    has = persons.sources.str.split(",").map(set)
    full = persons[has.map({"ks4", "he", "employments"}.issubset)].person_pid.sort_values()
    p_emp = full.iloc[0]
    with_ks5 = rp[(rp.source == "ks5") & (rp.person_pid != p_emp)].sort_values("record_id")
    q_ks5 = with_ks5.person_pid.iloc[0]
    emp_record = rp[(rp.person_pid == p_emp) & (rp.source == "employments")].record_id.min()
    ks5_record = with_ks5.record_id.iloc[0]
    (root / "optouts").mkdir()
    (root / "optouts" / "2024-01.csv").write_text(
        "source,record_id\n"
        f"employments,{emp_record}\n"
        f"employments,{emp_record}\n"  # repeated: counts once
        "ks4,P_NO_SUCH_RECORD\n"
        "npd_ks4,P000001\n"  # unknown source
        ",\n"
    )
    (root / "optouts" / "2024-02.csv").write_text(f"record_id,source\n{ks5_record},ks5\n")
    mine = set(rp[rp.person_pid.isin([p_emp, q_ks5])].record_id)
    faults = _plant_content_faults(root, mine)
    result = build_research_zone(spark, resolve_data_root(str(root)))
    return Built(root, result.run, result.manifest, {p_emp: "employments", q_ks5: "ks5"}, faults)


@pytest.fixture(scope="module")
def truth_built(spark, built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The truth build through the spark-submit entry point and the command line, as
    `spark-submit spark_jobs/build.py --data file://... --truth --key-file F` would run it
    (the session is the test run's)."""
    from spark_jobs.build import main

    key_file = tmp_path_factory.mktemp("key") / "leo.key"
    key_file.write_bytes(b"t" * 32)  # TEST_KEY, as a file
    args = ["--data", f"file://{built.root}", "--truth", "--key-file", str(key_file)]
    latest = (built.root / "linked" / "LATEST").read_text()
    assert main(args) == 0
    assert (built.root / "linked" / "LATEST").read_text() == latest  # left alone
    return json.loads((built.root / "linked" / TRUTH_RUN / "manifest.json").read_text())


def _tables(root: Path, run: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, contract in CONTRACTS.items():
        df = _read(root / "linked" / run / name)
        out[name] = df.sort_values(contract.names[:4]).reset_index(drop=True)
    return out


def test_tables_follow_the_contracts(built: Built) -> None:
    out = built.root / "linked" / built.run
    assert (built.root / "linked" / "LATEST").read_text().strip() == built.run
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith((".", "_"))) == [
        "cohort_outcomes",
        "manifest.json",
        "person",
        "person_tax_year",
    ]
    for name, contract in CONTRACTS.items():
        schema = pq.read_table(out / name).schema
        assert schema.names == contract.names, name
        assert [f.type for f in schema] == [c.type for c in contract.columns], name
        assert built.manifest["tables"][name]["rows"] == pq.read_table(out / name).num_rows
    assert json.loads((out / "manifest.json").read_text()) == built.manifest
    co = _read(out / "cohort_outcomes")
    assert set(co.cohort_type) == {"ks4", "graduate"}
    assert set(co.years_after) == {1, 3, 5, 10}
    assert co.tax_year.max() <= built.manifest["tax_years"]["last"] == 2023


# --- no direct identifiers ------------------------------------------------------------------

NINO = re.compile(r"^[A-Z]{2}\d{6}[A-D]?$")
POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$")
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IDENTIFIER_COLUMNS = {"record_id"} | {
    c for t in SOURCES.values() for c in (*t.by_role(IDENTIFIER), *t.by_role(RECORD_ID))
}


def _identifier_values(root: Path) -> set[str]:
    """Every name, date of birth, postcode, NINO and source record id in raw/. Single
    characters are left out: a middle initial identifies no one, and sex codes are letters."""
    values: set[str] = set()
    for source, table in SOURCES.items():
        cols = [*table.by_role(IDENTIFIER), *table.by_role(RECORD_ID)]
        df = pq.read_table(root / "raw" / source, columns=cols).to_pandas()
        for c in cols:
            values |= {str(v) for v in df[c].dropna().unique() if len(str(v)) > 1}
    return values


def _leaks(table: pa.Table, identifiers: set[str]) -> list[str]:
    found = []
    for name in table.schema.names:
        col = table.column(name)
        if name in IDENTIFIER_COLUMNS:
            found.append(f"column {name}")
        if pa.types.is_temporal(col.type):
            found.append(f"{name}: a date column")
        values = {str(v) for v in col.to_pylist() if v is not None}
        if hit := values & identifiers:
            found.append(f"{name}: {len(hit)} raw identifier value(s)")
        if pa.types.is_string(col.type):
            for pattern in (NINO, POSTCODE, FULL_DATE):
                if any(pattern.search(v) for v in values):
                    found.append(f"{name}: values like {pattern.pattern}")
    return found


def test_no_direct_identifier_in_the_research_zone(built: Built, truth_built: dict) -> None:  # type: ignore[type-arg]
    identifiers = _identifier_values(built.root)
    assert len(identifiers) > 1000
    runs = sorted(p.name for p in (built.root / "linked").iterdir() if p.is_dir())
    assert runs == sorted([built.run, TRUTH_RUN])
    scanned = 0
    for run in runs:
        for table in CONTRACTS:
            t = pq.read_table(built.root / "linked" / run / table)
            assert _leaks(t, identifiers) == [], (run, table)
            scanned += t.num_columns
        manifest = (built.root / "linked" / run / "manifest.json").read_text()
        strings = set(re.findall(r'"([^"]*)"', manifest))
        assert strings & identifiers == set(), run
    assert scanned == 2 * sum(len(t.columns) for t in CONTRACTS.values())
    # the scan finds what it looks for
    patterns = (NINO, POSTCODE, FULL_DATE)
    raw_value = next(v for v in sorted(identifiers) if not any(p.search(v) for p in patterns))
    planted = pa.table({"x": [raw_value, "a"], "y": ["SW1A 1AA", "b"], "z": ["ok", "b"]})
    assert [leak.split(":")[0] for leak in _leaks(planted, identifiers)] == ["x", "y"]


# --- opt-outs -------------------------------------------------------------------------------


def test_opted_out_person_contributes_to_no_row(built: Built) -> None:
    run_dir = built.root / "linked" / built.run
    persons = _read(built.root / "work" / built.run / "persons").set_index("person_pid")
    rp = _read(built.root / "work" / built.run / "record_person")
    for pid in built.opted_out:
        assert "ks4" in persons.loc[pid, "sources"]  # would have been in a KS4 cohort
    for name in CONTRACTS:
        df = _read(run_dir / name)
        for col in df.columns:
            assert not df[col].astype(str).isin(list(built.opted_out)).any(), (name, col)
    opt = built.manifest["optouts"]
    assert opt["removed_persons"] == 2
    assert opt["matched_records"] == 2
    removed = int(rp.person_pid.isin(list(built.opted_out)).sum())  # all their records
    assert opt["removed_records"] == removed == built.manifest["row_accounting"]["opted_out"]
    assert opt["not_applied"] == {
        "blank_field": 1,
        "unknown_source": 1,
        "unknown_record": 1,
        "repeated_line": 1,
    }
    assert [f["lines"] for f in opt["files"]] == [5, 1]
    by_source = built.manifest["row_accounting"]["by_source"]
    expected = rp[rp.person_pid.isin(list(built.opted_out))].source.value_counts()
    assert {s: by_source[s]["opted_out"] for s in expected.index} == expected.to_dict()
    kept = built.manifest["persons"]
    assert kept["kept"] == kept["in_person_map"] - 2 == len(persons) - 2


# --- row accounting -------------------------------------------------------------------------


def test_every_raw_row_is_accounted_for(built: Built, reliability) -> None:  # type: ignore[no-untyped-def]
    row = reliability.row(
        "input",
        tried=f"{END_BEFORE_START} employment rows ending before they start, {NEGATIVE_PAY} "
        "with negative pay (leo build)",
        expected="each quarantined with its reason and counted; every raw row accounted for",
    )
    acc = built.manifest["row_accounting"]
    assert acc["reconciled"] is True
    raw = {s: pq.read_table(built.root / "raw" / s).num_rows for s in SOURCES}
    assert acc["input_rows"] == sum(raw.values()) == acc["accounted"]
    for source, n in raw.items():
        entry = acc["by_source"][source]
        parts = entry["linked"] + entry["unlinked"] + entry["opted_out"] + entry["quarantined"]
        assert entry["input_rows"] == n == parts == entry["accounted"], source
        assert sum(entry["reasons"].values()) == entry["quarantined"], source
    # the planted faults, and any the generator made, counted independently here
    emp = _read(built.root / "raw" / "employments")
    rp = _read(built.root / "work" / built.run / "record_person")
    out = set(rp[rp.person_pid.isin(list(built.opted_out))].record_id)
    emp = emp[~emp.employment_id.isin(out)]
    end_first = emp.end_date < emp.start_date
    reasons = acc["by_source"]["employments"]["reasons"]
    assert reasons["content: end_date before start_date"] == int(end_first.sum())
    assert reasons["content: negative pay"] == int(((emp.pay < 0) & ~end_first).sum())
    assert set(built.faults["end_date before start_date"]) <= set(emp[end_first].employment_id)
    assert len(built.faults["negative pay"]) == NEGATIVE_PAY
    row.observed = (
        f"{reasons['content: end_date before start_date']} end-before-start and "
        f"{reasons['content: negative pay']} negative-pay rows quarantined; "
        f"{acc['accounted']:,} of {acc['input_rows']:,} rows accounted for"
    )


def test_build_fails_loudly_when_the_map_and_raw_disagree(  # type: ignore[no-untyped-def]
    spark, built: Built, tmp_path: Path, reliability
) -> None:
    from spark_jobs.build import AccountingError, build_research_zone

    row = reliability.row(
        "input",
        tried="raw/ks5 lost two records after the linkage run (leo build)",
        expected="AccountingError naming the source and counts; nothing written",
    )

    root = tmp_path / "data"
    for part in ("raw", "work"):
        copy_root(built.root / part, root / part)
    ks5 = root / "raw" / "ks5"
    table = pq.read_table(ks5)
    for f in ks5.iterdir():
        f.unlink()
    pq.write_table(table.slice(2), ks5 / "part-0.parquet")  # two records gone since linkage
    with pytest.raises(AccountingError, match=r"ks5: the linkage run maps \d+ records") as err:
        build_research_zone(spark, resolve_data_root(str(root)))
    assert not (root / "linked").exists() or not any((root / "linked").iterdir())
    row.observed = str(err.value).split("): ", 1)[-1] + "; nothing written"


# --- crash and re-run -----------------------------------------------------------------------


BUILD = Job(
    "build",
    ("build", "--data", "{data}"),
    outputs=(*CONTRACTS, "manifest.json"),
    runs="linked",
    pointer="linked/LATEST",
    ignore=("run", "seconds", "data_root"),
    env={
        "LEO_SPARK_MASTER": "local[2]",
        "LEO_SHUFFLE_PARTITIONS": "4",
        "LEO_SPARK_DRIVER_MEMORY": "1g",
    },
)


def test_crash_part_way_then_rerun_gives_the_same_tables(  # type: ignore[no-untyped-def]
    spark, built: Built, monkeypatch: pytest.MonkeyPatch, reliability
) -> None:
    from spark_jobs.build import build_research_zone

    row = reliability.row(
        "fault",
        tried="leo build fails with person written, the other tables not (build:after-person); "
        "a killed build's temporary directory is left behind",
        expected="linked/LATEST and the earlier build untouched; the re-run cleans up and "
        "writes the same tables beside it, never replacing a folder LATEST may name",
    )

    root = resolve_data_root(str(built.root))
    linked = built.root / "linked"
    before = _tables(built.root, built.run)
    latest = (linked / "LATEST").read_text()
    inode = (linked / built.run).stat().st_ino

    spark.catalog.clearCache()
    monkeypatch.setenv(ENV, "build:after-person")
    with pytest.raises(InjectedFault, match="build:after-person"):
        build_research_zone(spark, root)
    monkeypatch.delenv(ENV)
    # a failed build leaves nothing cached in the session (it did: a session running more
    # jobs after failures ran out of memory)
    assert spark._jsparkSession.sharedState().cacheManager().isEmpty()
    assert (linked / "LATEST").read_text() == latest
    assert [p.name for p in linked.iterdir() if ".tmp-" in p.name] == []  # cleaned up
    for name, df in _tables(built.root, built.run).items():  # the earlier run is untouched
        pd.testing.assert_frame_equal(df, before[name])

    # a process killed mid-write leaves its hidden temporary directory behind
    stale = linked / f".{built.run}.tmp-deadbeef"
    (stale / "person").mkdir(parents=True)
    (stale / "person" / "part-0.parquet").write_bytes(b"half a file")
    with PointerWatch(BUILD, built.root, interval=0.005) as watch:
        again = build_research_zone(spark, root)
    assert not stale.exists()
    # a rebuild of the same linkage run goes beside the build LATEST named: replacing that
    # folder (two renames) left LATEST naming nothing in between
    assert again.run == f"{built.run}.2"
    assert (linked / built.run).stat().st_ino == inode
    assert (linked / "LATEST").read_text().strip() == again.run
    assert watch.problems == [] and watch.seen[-1] == again.run
    for run in (built.run, again.run):
        for name, df in _tables(built.root, run).items():
            pd.testing.assert_frame_equal(df, before[name])
    assert again.manifest["row_accounting"] == built.manifest["row_accounting"]
    assert again.manifest["linkage_run"] == built.run
    rows = sum(len(df) for df in before.values())
    row.observed = (
        f"LATEST and the build unchanged; re-run {again.run} equal on all {rows:,} rows of 3 "
        "tables, the earlier build still in place"
    )


def test_interrupted_and_run_again(  # type: ignore[no-untyped-def]
    spark, built: Built, tmp_path: Path, reliability
) -> None:
    """The harness of tests/faults.py on `leo build`: a fault point drawn at random, then a
    SIGKILL of a `leo build` driver at a random moment, then the same command to the end."""
    root = copy_root(built.root, tmp_path / "data")
    shutil.rmtree(root / "linked" / TRUTH_RUN, ignore_errors=True)  # not a build LATEST names
    linkage_run = (root / "work" / "LATEST").read_text().strip()
    job = replace(BUILD, inputs=("raw", f"work/{linkage_run}"))
    reference = snapshot(job, output_folder(job, root))  # an uninterrupted build
    assert all(reference.values())
    seconds = float(built.manifest["seconds"])
    interrupt_and_rerun(job, root, reference, reference, seconds, reliability)


# --- truth ----------------------------------------------------------------------------------


def test_truth_build_is_separate_and_close(built: Built, truth_built: dict) -> None:  # type: ignore[type-arg]
    assert truth_built["mode"] == "truth" and truth_built["run"] == TRUTH_RUN
    truth = _read(built.root / "linked" / TRUTH_RUN / "person")
    true_persons = _read(built.root / "truth" / "persons")
    # every true person with a record, less those whose records were opted out
    assert len(truth) == truth_built["persons"]["kept"] <= len(true_persons)
    assert truth.min_match_probability.eq(1.0).all()
    assert truth_built["optouts"]["removed_persons"] == 2
    assert (
        truth_built["row_accounting"]["input_rows"]
        == built.manifest["row_accounting"]["input_rows"]
    )
    linked_co = _read(built.root / "linked" / built.run / "cohort_outcomes")
    truth_co = _read(built.root / "linked" / TRUTH_RUN / "cohort_outcomes")
    sizes = linked_co.groupby("cohort_type").size() / truth_co.groupby("cohort_type").size()
    assert sizes.between(0.97, 1.03).all(), sizes
