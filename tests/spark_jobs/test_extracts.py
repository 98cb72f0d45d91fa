"""Bad source extracts as `leo link` reads them (spark_jobs/link.py read_source: the file
checks of spark_jobs/extracts.py, then the record checks of linkage/inputs.py), for every
source: each is an error naming the file or table, the column and the count, raised before
any heavy work. Through the command line, a few of them again: exit 2, the message, and
nothing written (no work/<run>/, work/LATEST unchanged)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from leo.errors import InputError
from leo.layout import DataRoot
from leo.schema import SOURCES
from spark_jobs.extracts import LocalFiles, check_extract
from synthetic.config import load_synthetic_config
from synthetic.generator import generate_chunk
from tests.conftest import leo_env, run_leo

PART = "part-00000.parquet"
KEY = "r" * 48


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    """A small, valid extract of every source (the generator's, 30 persons)."""
    return generate_chunk(load_synthetic_config(), 5, 0, 30).tables


def set_column(t: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return t.set_column(t.schema.get_field_index(name), name, values)


def record_id(source: str) -> str:
    rid = SOURCES[source].record_id
    assert rid is not None
    return rid


# Each case writes raw/<source>/ from a valid table; `expected` is the error, with {s} the
# source, {rid} its record id column and {rows} its row count.
@dataclass(frozen=True)
class Case:
    write: Callable[[Path, pa.Table, str], None]
    expected: str
    spark_job: bool = False  # found by the record checks (one Spark pass), not the footers


def _write(folder: Path, t: pa.Table, name: str = PART) -> None:
    pq.write_table(t, folder / name)


def _missing(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, t.drop_columns(["date_of_birth"]))


def _extra(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, t.append_column("home_address", pa.array(["1 High St"] * t.num_rows)))


def _wrong_type(folder: Path, t: pa.Table, s: str) -> None:
    digits = pc.cast(pc.replace_substring(t.column("date_of_birth"), "-", ""), pa.int32())
    _write(folder, set_column(t, "date_of_birth", digits))


def _binary(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, set_column(t, "forename", pc.cast(t.column("forename"), pa.binary())))


def _corrupt(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, t)
    (folder / "part-00001.parquet").write_bytes(b"\x89PNG not a table at all" * 40)


def _truncated(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, t)
    data = (folder / PART).read_bytes()
    (folder / PART).write_bytes(data[: len(data) // 2])


def _empty_file(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, t)
    (folder / "part-00001.parquet").write_bytes(b"")


def _no_rows(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, t.slice(0, 0))


def _folder(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, t)
    (folder / "2024").mkdir()


def _pages(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, t)
    data = bytearray((folder / PART).read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    for i in range(8, len(data) - 8 - footer):  # the data pages; the footer stays sound
        data[i] = (data[i] * 7 + 13) % 256
    (folder / PART).write_bytes(bytes(data))


def _null_identifier(folder: Path, t: pa.Table, s: str) -> None:
    _write(folder, set_column(t, "surname", pa.nulls(t.num_rows, pa.string())))


def _duplicate_ids(folder: Path, t: pa.Table, s: str) -> None:
    ids = t.column(record_id(s)).to_pylist()
    _write(folder, set_column(t, record_id(s), pa.array([ids[0], *ids[:-1]])))


CASES = {
    "a missing column (date_of_birth)": Case(
        _missing,
        r"raw/{s}/part-00000.parquet: missing column\(s\) date_of_birth of the {s} contract",
    ),
    "an extra column (home_address)": Case(
        _extra, r"raw/{s}/part-00000.parquet: column\(s\) home_address not in the {s} contract"
    ),
    "date_of_birth as int32 (wrong type)": Case(
        _wrong_type,
        r"raw/{s}/part-00000.parquet: column 'date_of_birth' has type int32; the {s} contract "
        r"\(leo/schema.py\) says string",
    ),
    "forename written as binary": Case(
        _binary, r"raw/{s}/part-00000.parquet: column 'forename' has type binary"
    ),
    "a corrupt Parquet file (other bytes)": Case(
        _corrupt, r"raw/{s}/part-00001.parquet: not a Parquet file \(no Parquet marker"
    ),
    "a truncated Parquet file (half of it)": Case(
        _truncated, r"raw/{s}/part-00000.parquet: not a Parquet file \(no Parquet marker"
    ),
    "an empty file (0 bytes) beside a good one": Case(
        _empty_file, r"raw/{s}/part-00001.parquet: not a Parquet file \(an empty file\)"
    ),
    "a Parquet file with no rows": Case(_no_rows, r"raw/{s}: no rows \(1 file\(s\), all empty\)"),
    "a folder inside the extract": Case(_folder, r"raw/{s}/2024: a folder"),
    "corrupt data pages behind a sound footer": Case(
        _pages, r"raw/{s}/part-00000.parquet: cannot read its rows \(", spark_job=True
    ),
    "surname null in every row": Case(
        _null_identifier,
        r"input raw/{s}: column 'surname' is empty in all {rows:,} rows",
        spark_job=True,
    ),
    "two rows with the same record id": Case(
        _duplicate_ids,
        r"input raw/{s}: column '{rid}' has 1 value\(s\) held by more than one row",
        spark_job=True,
    ),
}


@pytest.mark.spark
@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("case", list(CASES))
def test_bad_extract_is_an_error_naming_it(  # type: ignore[no-untyped-def]
    spark, tables: dict[str, pa.Table], tmp_path: Path, case: str, source: str, reliability
) -> None:
    from spark_jobs.link import load_linkage_conf, read_source

    c = CASES[case]
    t = tables[source]
    expected = c.expected.format(s=source, rid=record_id(source), rows=t.num_rows)
    row = reliability.row(
        "input",
        tried=f"raw/{source}: {case}",
        expected="an error naming the "
        + ("table, column and count" if c.spark_job else "file and column")
        + (", after one pass over the records" if c.spark_job else ", before Spark reads a row"),
    )
    folder = tmp_path / "raw" / source
    folder.mkdir(parents=True)
    c.write(folder, t, source)
    with pytest.raises(InputError) as exc:
        read_source(spark, DataRoot(str(tmp_path)), source, load_linkage_conf())
    row.observed = str(exc.value)[:240]
    assert exc.match(expected)


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("case", [c for c in CASES if not CASES[c].spark_job])
def test_local_check_gives_the_same_error_without_spark(
    tables: dict[str, pa.Table], tmp_path: Path, case: str, source: str
) -> None:
    """What `leo link` checks on a local data root before it starts Spark."""
    c = CASES[case]
    folder = tmp_path / "raw" / source
    folder.mkdir(parents=True)
    c.write(folder, tables[source], source)
    with pytest.raises(InputError) as exc:
        check_extract(LocalFiles(), DataRoot(str(tmp_path)), source)
    assert exc.match(c.expected.format(s=source, rid=record_id(source), rows=0))


def write_sources(root: Path, tables: dict[str, pa.Table]) -> None:
    for s in SOURCES:
        (root / "raw" / s).mkdir(parents=True)
        _write(root / "raw" / s, tables[s])


def previous_run(root: Path) -> dict[str, str]:
    """A stand-in for an earlier complete run: what must be there, unchanged, after."""
    run = root / "work" / "20240101T000000Z-0001"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text('{"run": "20240101T000000Z-0001"}\n')
    (root / "work" / "LATEST").write_text("20240101T000000Z-0001\n")
    return work_files(root)


def work_files(root: Path) -> dict[str, str]:
    work = root / "work"
    return {str(p.relative_to(root)): p.read_text() for p in work.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize(
    "source, case",
    [
        ("he", "a missing column (date_of_birth)"),
        ("employments", "two rows with the same record id"),
    ],
)
def test_leo_link_exits_2_and_writes_nothing(  # type: ignore[no-untyped-def]
    tables: dict[str, pa.Table], tmp_path: Path, source: str, case: str, reliability
) -> None:
    c = CASES[case]
    expected = c.expected.format(s=source, rid=record_id(source), rows=tables[source].num_rows)
    row = reliability.row(
        "input",
        tried=f"`leo link` on a data root whose raw/{source} has {case}",
        expected="exit 2, one line naming it; no work/<run>/, work/LATEST unchanged",
    )
    write_sources(tmp_path, tables)
    folder = tmp_path / "raw" / source
    for f in folder.iterdir():
        f.unlink()
    c.write(folder, tables[source], source)
    before = previous_run(tmp_path)
    key = tmp_path / "leo.key"
    key.write_text(KEY)
    env = leo_env(LEO_SPARK_MASTER="local[1]", LEO_SHUFFLE_PARTITIONS="2")
    proc = run_leo("link", "--data", str(tmp_path), "--key-file", str(key), env=env)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("leo: error:")]
    after = work_files(tmp_path)
    row.observed = f"exit {proc.returncode}: {errors[0] if errors else proc.stderr[-300:]}"
    row.observed += "; work/ unchanged" if after == before else "; work/ CHANGED"
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(errors) == 1 and re.search(expected, errors[0])
    assert after == before
    names = sorted(p.name for p in (tmp_path / "work").iterdir())
    assert names == ["20240101T000000Z-0001", "LATEST"]  # nothing hidden either
    assert "Traceback" not in proc.stderr
