"""What the build reads from raw/ and the content checks that quarantine rows
(spark_jobs/content.py)."""

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leo.layout import resolve_data_root
from leo.schema import IDENTIFIER, SOURCES
from spark_jobs import content

pytestmark = pytest.mark.spark


def _raw(root: Path, source: str, rows: list[dict]) -> None:  # type: ignore[type-arg]
    table = SOURCES[source]
    cols = {c: [r.get(c) for r in rows] for c in table.names}
    out = root / "raw" / source
    out.mkdir(parents=True)
    pq.write_table(pa.table(cols, schema=table.arrow_schema), out / "part-0.parquet")


def _person(rid: str, **kw: object) -> dict:  # type: ignore[type-arg]
    base = {
        "forename": "Ada",
        "surname": "Lovelace",
        "sex": "F",
        "date_of_birth": "1999-02-31",  # impossible day, year and month still usable
        "postcode": "AB1 2CD",
        "nino": "QQ123456C",
    }
    return {**base, **kw} | {"employment_id": rid}


def test_employment_content_checks_and_no_identifier_read(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = {"employer_ref": "120/AB12345", "tax_year": 2015, "pay": 100.0}
    span = {"start_date": date(2015, 5, 1), "end_date": date(2015, 6, 1)}
    rows = [
        _person("E1", **ok, **span),
        _person("E2", **ok, start_date=date(2015, 6, 1), end_date=date(2015, 5, 1)),
        _person("E3", **(ok | {"pay": -5.0}), **span),
        _person("E4", **(ok | {"pay": None}), **span),
        _person("E5", **(ok | {"tax_year": 2017}), **span),  # dates outside its tax year
        _person("E6", **ok, start_date=None, end_date=None),
        _person("E7", **(ok | {"tax_year": None}), **span),
        _person(
            "E8", **(ok | {"pay": -1.0}), start_date=date(2015, 6, 1), end_date=date(2015, 5, 1)
        ),
        _person("  ", **ok, **span, date_of_birth="garbage", sex="X"),
    ]
    _raw(tmp_path, "employments", rows)
    df = content.read_content(spark, resolve_data_root(str(tmp_path)), "employments")
    identifiers = set(SOURCES["employments"].by_role(IDENTIFIER))
    assert identifiers & set(df.columns) == set()  # no name, date of birth, postcode, NINO
    got = {r["record_id"]: r.asDict() for r in df.collect()}
    reasons = {k: v["content_reason"] for k, v in got.items()}
    assert reasons == {
        "E1": None,
        "E2": "end_date before start_date",
        "E3": "negative pay",
        "E4": "pay missing",
        "E5": "employment dates outside its tax_year",
        "E6": "start_date missing",
        "E7": "tax_year missing",
        "E8": "end_date before start_date",  # the first rule that applies
        "  ": None,
    }
    assert (got["E1"]["birth_year"], got["E1"]["birth_month"], got["E1"]["sex"]) == (1999, 2, "F")
    assert got["  "]["blank_id"] is True and got["E1"]["blank_id"] is False
    assert (got["  "]["birth_year"], got["  "]["sex"]) == (None, None)
