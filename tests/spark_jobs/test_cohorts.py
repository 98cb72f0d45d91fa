"""Cohorts, years after and cohort_outcomes (spark_jobs/cohorts.py), from hand-built source
rows through the person and person-tax-year functions, as the build chains them.

One small cast of people, each an edge case, goes through the chain once (module fixture);
each test looks at its own people."""

from typing import Any

import pytest

from leo.schema import COHORT_OUTCOMES
from spark_jobs import cohorts, outcomes, person
from tests.spark_jobs.frames import (
    BENEFITS,
    EMPLOYMENTS,
    HE,
    KS4,
    PERSONS,
    RECORDS,
    SPANS,
    by_key,
    d,
    frame,
)

HARTLEPOOL, NORTH_EAST = "E06000001", "E12000001"
FIRST_TAX_YEAR, LAST_TAX_YEAR = 2005, 2023


def _job(pid: str, tax_year: int, pay: float = 20000.0) -> tuple[Any, ...]:
    start, end = d(f"{tax_year}-04-06"), d(f"{tax_year + 1}-04-05")
    return (pid, "E1", tax_year, start, end, pay)


def _ks4(pid: str, year: int, a8: float = 50.0, fsm: bool = False) -> tuple[Any, ...]:
    return (pid, f"P-{pid}", year, HARTLEPOOL, fsm, "none", "white", a8, "M")


KS4_ROWS = [
    _ks4("emigrant", 2010, a8=30.0, fsm=True),
    _ks4("late", 2014, a8=60.0),
    _ks4("alone", 2010),
    _ks4("ks5", 2010),
    _ks4("emp", 2010),
]
HE_ROWS = [
    ("grad", "H1", "first_degree", "CAH10-01", "10007788", 2013, 2015),
    ("recent", "H2", "first_degree", "CAH10-01", "1", 2017, 2019),
]
# the emigrant works 2012-13 to 2014-15, then lives abroad: no record after
EMP_ROWS = [_job("emigrant", ty) for ty in (2012, 2013, 2014)]
EMP_ROWS += [_job("grad", 2017, 25000.0)]  # 1 year after graduating in 2015/16
PERSON_ROWS = [
    ("emigrant", "employments,ks4", 4, 0.97),
    ("grad", "employments,he", 2, 0.99),  # no KS4 record
    ("late", "ks4", 1, 1.0),
    ("recent", "he", 1, 1.0),
    ("alone", "ks4", 1, 1.0),
    ("ks5", "ks4,ks5", 2, 0.95),
    ("emp", "employments,ks4", 3, 0.9),
]


@pytest.fixture(scope="module")
def rows(spark) -> dict[Any, dict[str, Any]]:  # type: ignore[no-untyped-def]
    he_df = frame(spark, HE, HE_ROWS)
    used = {
        "ks4": frame(spark, KS4, KS4_ROWS),
        "he": he_df,
        "employments": frame(spark, RECORDS, [(p, "F", 1998, 3) for p, *_ in PERSON_ROWS]),
    }
    people = person.person_table(frame(spark, PERSONS, PERSON_ROWS), person.characteristics(used))
    spans = [(r[0], r[2], r[2]) for r in KS4_ROWS] + [(r[0], r[5], r[6]) for r in HE_ROWS]
    pty = outcomes.person_tax_years(
        frame(spark, EMPLOYMENTS, EMP_ROWS),
        frame(spark, BENEFITS, []),
        frame(spark, SPANS, spans),
        FIRST_TAX_YEAR,
        LAST_TAX_YEAR,
    )
    members = cohorts.cohort_members(people, cohorts.graduations(he_df))
    co = cohorts.cohort_outcomes(members, pty, FIRST_TAX_YEAR, LAST_TAX_YEAR)
    assert co.columns == COHORT_OUTCOMES.names
    return by_key(co, "person_pid", "cohort_type", "years_after")


def _of(rows: dict[Any, dict[str, Any]], pid: str) -> dict[Any, dict[str, Any]]:
    return {(k[1], k[2]): v for k, v in rows.items() if k[0] == pid}


def test_years_after_rule() -> None:
    assert cohorts.years_after_tax_year(2019, 1) == 2021  # 2019/20 graduates: 2021-22
    assert cohorts.years_after_tax_year(2014, 10) == 2025


@pytest.mark.spark
def test_emigrant_activity_not_captured_once_abroad(rows) -> None:  # type: ignore[no-untyped-def]
    em = {k[1]: v for k, v in _of(rows, "emigrant").items()}
    assert {k: v["tax_year"] for k, v in em.items()} == {1: 2012, 3: 2014, 5: 2016, 10: 2021}
    assert em[1]["activity"] == em[3]["activity"] == "employment_only"
    for k in (5, 10):
        assert em[k]["activity"] == "not_captured"
        assert em[k]["sustained_employment"] is False
        assert em[k]["annualised_earnings"] is None
        assert em[k]["linked"] is True  # linked, just no activity in the year
    assert em[1]["cohort"] == "2010/11"
    dims = (em[1]["fsm"], em[1]["region"], em[1]["prior_attainment_band"], em[1]["sex"])
    assert dims == ("fsm", NORTH_EAST, "low", "M")
    assert em[1]["subject_cah2"] == "n/a"
    assert em[1]["min_match_probability"] == pytest.approx(0.97)


@pytest.mark.spark
def test_graduate_without_ks4_record(rows) -> None:  # type: ignore[no-untyped-def]
    grad = _of(rows, "grad")
    assert {k[0] for k in grad} == {"graduate"}  # in no KS4 cohort
    g1 = grad[("graduate", 1)]
    assert (g1["cohort"], g1["tax_year"]) == ("2015/16", 2017)
    assert g1["activity"] == "employment_only"
    assert g1["annualised_earnings"] == pytest.approx(25000.0)  # a whole year employed
    for dim in ("ethnicity_major", "fsm", "sen", "prior_attainment_band", "region"):
        assert g1[dim] == "unknown", dim
    assert g1["sex"] == "F"  # from the person's other records
    assert (g1["subject_cah2"], g1["provider_id"], g1["qualification"]) == (
        "CAH10-01",
        "10007788",
        "first_degree",
    )
    assert grad[("graduate", 3)]["activity"] == "not_captured"


@pytest.mark.spark
def test_years_after_only_within_the_data(rows) -> None:  # type: ignore[no-untyped-def]
    # KS4 2014/15: +1 2016, +3 2018, +5 2020, +10 2025 (beyond 2023-24: left out)
    late = _of(rows, "late")
    assert {k[1]: v["tax_year"] for k, v in late.items()} == {1: 2016, 3: 2018, 5: 2020}
    # graduates 2019/20: +1 2021-22, +3 2023-24; +5 2025 left out
    recent = _of(rows, "recent")
    assert {k[1]: v["tax_year"] for k, v in recent.items()} == {1: 2021, 3: 2023}


@pytest.mark.spark
def test_linked_needs_a_record_beyond_the_cohort_source(rows) -> None:  # type: ignore[no-untyped-def]
    linked = {
        pid: _of(rows, pid)[(ct, 1)]["linked"]
        for pid, ct in [
            ("alone", "ks4"),
            ("ks5", "ks4"),
            ("emp", "ks4"),
            ("recent", "graduate"),
            ("grad", "graduate"),
        ]
    }
    assert linked == {"alone": False, "ks5": True, "emp": True, "recent": False, "grad": True}


@pytest.mark.spark
def test_graduations_one_per_person_and_year_highest_aim(spark) -> None:  # type: ignore[no-untyped-def]
    he = [
        ("a", "H1", "first_degree", "CAH10-01", "1", 2012, 2014),
        ("a", "H2", "postgraduate", "CAH10-01", "2", 2015, 2015),  # a master's next year
        ("b", "H3", "other_undergraduate", "CAH02-01", "1", 2013, 2014),
        ("b", "H4", "postgraduate", "CAH03-01", "3", 2014, 2014),  # two in one year
        ("b", "H5", "first_degree", "CAH04-01", "1", 2011, None),  # no qualification
        ("c", "H6", "first_degree", "CAH10-01", "1", 2012, 2014),
        ("c", "H7", "first_degree", "CAH10-01", "1", 2012, 2014),  # a duplicate record
    ]
    graduated = cohorts.graduations(frame(spark, HE, he))
    got = sorted(
        (r["person_pid"], r["graduation_year"], r["qualification"]) for r in graduated.collect()
    )
    assert got == [
        ("a", 2014, "first_degree"),
        ("a", 2015, "postgraduate"),
        ("b", 2014, "postgraduate"),
        ("c", 2014, "first_degree"),
    ]
