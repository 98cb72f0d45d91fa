"""Reading and matching opt-out files (spark_jobs/optouts.py). That an opted-out person
reaches no table is shown end to end in test_build.py."""

from pathlib import Path

import pytest

from leo.errors import InputError
from leo.layout import resolve_data_root
from spark_jobs.optouts import match_optouts, read_optouts

pytestmark = pytest.mark.spark


def _write(root: Path, name: str, text: str) -> None:
    (root / "optouts").mkdir(exist_ok=True)
    (root / "optouts" / name).write_text(text)


def test_lines_matched_and_the_rest_counted(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write(
        tmp_path,
        "a.csv",
        "source,record_id,received\n"
        "employments, E1 ,2024-01-02\n"  # trimmed
        "employments,E1,2024-02-01\n"  # the same record again
        "ks4,P404,\n"  # no such record
        "npd,P1,\n"  # no such source
        ",P1,\n",  # blank source
    )
    _write(tmp_path, "b.csv", "record_id,source\nP1,ks4\n")  # columns in any order
    _write(tmp_path, "empty.csv", "")
    _write(tmp_path, "notes.txt", "not read\n")
    lines, report = read_optouts(spark, resolve_data_root(str(tmp_path)))
    records = spark.createDataFrame(
        [("employments", "E1"), ("employments", "E2"), ("ks4", "P1")],
        "source string, record_id string",
    )
    matched = sorted(tuple(r) for r in match_optouts(lines, records, report).collect())
    assert matched == [("employments", "E1"), ("ks4", "P1")]
    assert [f["file"] for f in report.files] == [
        "optouts/a.csv",
        "optouts/b.csv",
        "optouts/empty.csv",
    ]
    assert report.lines == 6
    assert (report.matched_records, report.repeated) == (2, 1)
    assert (report.unknown_record, report.unknown_source, report.blank) == (1, 1, 1)
    assert all(len(f["sha256"]) == 64 for f in report.files)


def test_file_without_the_columns_is_an_error_naming_it(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path, "bad.csv", "src,id\nks4,P1\n")
    with pytest.raises(InputError, match=r"optouts/bad.csv: missing column\(s\) source, record_id"):
        read_optouts(spark, resolve_data_root(str(tmp_path)))


def test_no_optouts_folder_means_none(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines, report = read_optouts(spark, resolve_data_root(str(tmp_path)))
    assert lines.count() == 0 and report.files == [] and report.lines == 0
