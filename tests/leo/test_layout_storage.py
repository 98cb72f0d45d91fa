from pathlib import Path

import pytest

from leo.layout import DataRoot, normalise_root, resolve_data_root
from leo.schema import academic_year_label, parse_academic_year_label, tax_year_label
from leo.storage import atomic_dir, read_pointer, write_text_atomic


def test_data_root_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LEO_DATA", raising=False)
    assert resolve_data_root(None).root.endswith("/data")
    monkeypatch.setenv("LEO_DATA", str(tmp_path))
    assert resolve_data_root(None).root == str(tmp_path)
    assert resolve_data_root("hdfs://nn:8020/leo/").root == "hdfs://nn:8020/leo"
    assert normalise_root("file:///x/y") == "/x/y"


def test_uris_for_spark() -> None:
    assert DataRoot("/d").uri("raw", "ks4") == "file:///d/raw/ks4"
    assert DataRoot("s3a://b/d").uri("raw") == "s3a://b/d/raw"


def test_year_labels() -> None:
    assert academic_year_label(2014) == "2014/15"
    assert academic_year_label(1999) == "1999/00"
    assert tax_year_label(2021) == "2021-22"
    assert parse_academic_year_label("2019/20") == 2019
    with pytest.raises(ValueError, match="2019/21"):
        parse_academic_year_label("2019/21")


def test_atomic_dir_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "half.parquet").write_text("x")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(FileExistsError, match="--overwrite"), atomic_dir(target):
        pass
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_pointer_files(tmp_path: Path) -> None:
    assert read_pointer(tmp_path / "CURRENT") is None
    write_text_atomic(tmp_path / "CURRENT", "r1\n")
    write_text_atomic(tmp_path / "CURRENT", "r2\n")
    assert read_pointer(tmp_path / "CURRENT") == "r2"
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT"]
