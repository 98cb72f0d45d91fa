"""The person table's choices (spark_jobs/person.py) on hand-built records."""

import pytest

from leo.schema import PERSON
from spark_jobs import person
from tests.spark_jobs.frames import HE, KS4, PERSONS, RECORDS, by_key, frame

pytestmark = pytest.mark.spark

HARTLEPOOL, NORTH_EAST = "E06000001", "E12000001"


def test_person_characteristics(spark) -> None:  # type: ignore[no-untyped-def]
    def ks4(pid, rid, year, a8, sex, la=HARTLEPOOL):  # type: ignore[no-untyped-def]
        return (pid, rid, year, la, False, "none", "white", a8, sex)

    ks4_rows = [
        ks4("low", "P1", 2010, 34.9, None),
        ks4("mid", "P2", 2010, 35.0, "F"),
        ks4("mid2", "P3", 2010, 54.9, "F"),
        ks4("high", "P4", 2010, 55.0, "M"),
        # two KS4 records: the earliest year wins, whatever the record ids
        ks4("two", "P9", 2011, 70.0, "M"),
        ks4("two", "P5", 2012, 20.0, "F"),
        ks4("nola", "P6", 2010, 50.0, "F", la="X99"),
    ]
    he_rows = [
        ("high", "H1", "first_degree", "CAH10-01", "1", 2013, 2015),
        ("high", "H2", "postgraduate", "CAH10-01", "1", 2016, 2016),
        ("high", "H3", "first_degree", "CAH11-01", "1", 2010, None),  # did not qualify
    ]
    # sex and birth from all records: "low" has no KS4 sex; M twice beats F once
    others = [
        ("low", "M", 2000, 1),
        ("low", "M", 2000, 1),
        ("low", "F", 2000, 2),
        ("tie", "M", 1999, 12),
        ("tie", "F", 2000, 1),
    ]
    pids = ["low", "mid", "mid2", "high", "two", "nola", "tie", "none"]
    persons = [(p, "ks4", 1, 1.0) for p in pids]
    used = {
        "ks4": frame(spark, KS4, ks4_rows),
        "he": frame(spark, HE, he_rows),
        "employments": frame(spark, RECORDS, others),
    }
    table = person.person_table(frame(spark, PERSONS, persons), person.characteristics(used))
    assert table.columns == PERSON.names
    got = by_key(table, "person_pid")
    assert set(got) == set(pids)  # every kept person, records or not
    band = {p: got[p]["prior_attainment_band"] for p in ("low", "mid", "mid2", "high", "none")}
    assert band == {"low": "low", "mid": "middle", "mid2": "middle", "high": "high", "none": None}
    assert (got["two"]["ks4_year"], got["two"]["attainment8"], got["two"]["sex"]) == (
        2011,
        70.0,
        "M",
    )
    assert got["low"]["sex"] == "M"  # most frequent, as KS4 has none
    assert (got["low"]["birth_year"], got["low"]["birth_month"]) == (2000, 1)
    assert got["tie"]["sex"] == "F"  # a tie: F first
    assert (got["tie"]["birth_year"], got["tie"]["birth_month"]) == (1999, 12)  # the earliest
    assert got["mid"]["region"] == NORTH_EAST
    assert got["nola"]["region"] is None  # not in the reference file
    h = got["high"]
    assert (h["graduation_year"], h["qualification"], h["subject_cah2"]) == (
        2015,
        "first_degree",
        "CAH10-01",
    )
    assert got["none"]["ks4_year"] is None and got["none"]["sources"] == "ks4"
