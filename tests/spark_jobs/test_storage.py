"""spark_jobs/storage.py, the Hadoop-FileSystem side of atomic output: a failed write leaves
nothing, a crash's leftovers are hidden and removed by the next run, pointers are replaced
in one rename, and the footer reads of spark_jobs/extracts.py get exact byte ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.spark


@pytest.fixture()
def store(spark):  # type: ignore[no-untyped-def]
    from spark_jobs.storage import HadoopStorage

    return HadoopStorage(spark)


def test_failed_atomic_dir_leaves_nothing_and_keeps_the_old(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "run"
    with store.atomic_dir(target.as_uri()) as tmp:
        store.write_text(f"{tmp}/manifest.json", "old\n")
    with pytest.raises(RuntimeError), store.atomic_dir(target.as_uri(), overwrite=True) as tmp:
        store.write_text(f"{tmp}/manifest.json", "new\n")
        raise RuntimeError("crash mid-write")
    assert (target / "manifest.json").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_crash_leaves_only_hidden_names_that_the_next_run_removes(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".20240101T000000Z-0001.tmp-1a2b3c4d").mkdir()  # a run killed mid-write
    (tmp_path / ".LATEST.tmp-5e6f7a8b").write_text("half")  # a pointer killed mid-write
    (tmp_path / "20231231T000000Z-0009").mkdir()  # a complete run: kept
    assert store.list_names(tmp_path.as_uri()) == ["20231231T000000Z-0009"]
    assert store.clean_stale(tmp_path.as_uri()) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20231231T000000Z-0009"]


def test_pointer_is_replaced_in_one_rename(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uri = (tmp_path / "LATEST").as_uri()
    store.write_text(uri, "r1\n")
    store.write_text(uri, "r2\n")
    assert store.read_pointer(uri) == "r2"
    names = [p.name for p in tmp_path.iterdir()]
    assert "LATEST" in names and not [n for n in names if ".tmp-" in n]  # (.LATEST.crc: Hadoop's)


def test_listing_and_byte_ranges(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.parquet").write_bytes(b"PAR1" + bytes(range(20)) + b"PAR1")
    (tmp_path / "sub").mkdir()
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".hidden").write_text("")
    files = store.list_files(tmp_path.as_uri())
    assert [(name, is_dir) for name, _, is_dir in files] == [("a.parquet", False), ("sub", True)]
    assert files[0][1] == 28
    assert store.read_range((tmp_path / "a.parquet").as_uri(), 24, 4) == b"PAR1"
    assert store.read_range((tmp_path / "a.parquet").as_uri(), 4, 3) == bytes([0, 1, 2])
    assert store.list_files((tmp_path / "missing").as_uri()) == []
