"""The per-person, per-tax-year definitions (spark_jobs/outcomes.py) on hand-built rows.
Tax year 2015 is 6 April 2015 to 5 April 2016: 366 days (29 February 2016)."""

import pytest

from spark_jobs import outcomes
from tests.spark_jobs.frames import BENEFITS, EMPLOYMENTS, SPANS, by_key, d, frame

pytestmark = pytest.mark.spark


def _years(spark, rows):  # type: ignore[no-untyped-def]
    return by_key(
        outcomes.employment_years(frame(spark, EMPLOYMENTS, rows)), "person_pid", "tax_year"
    )


def test_exactly_five_of_six_months_is_sustained_and_four_is_not(spark) -> None:  # type: ignore[no-untyped-def]
    got = _years(
        spark,
        [
            ("five", "E1", 2015, d("2015-11-01"), d("2016-03-31"), 10000.0),  # Nov-Mar
            ("four", "E1", 2015, d("2015-12-01"), d("2016-03-31"), 8000.0),  # Dec-Mar
        ],
    )
    five, four = got[("five", 2015)], got[("four", 2015)]
    assert five["employed_months_oct_mar"] == 5 and five["sustained_employment"] is True
    assert five["employed_days"] == 30 + 31 + 31 + 29 + 31
    assert five["annualised_earnings"] == pytest.approx(10000 / 152 * 365)
    assert four["employed_months_oct_mar"] == 4 and four["sustained_employment"] is False
    assert four["employed_days"] == 122
    assert four["annualised_earnings"] is None  # only for the sustained employed


def test_one_day_in_a_month_counts_for_that_month(spark) -> None:  # type: ignore[no-untyped-def]
    days = ["2015-10-01", "2015-11-30", "2016-01-31", "2016-02-29", "2016-03-01"]
    rows = [("p", f"E{i}", 2015, d(x), d(x), 50.0) for i, x in enumerate(days)]
    got = _years(spark, rows)[("p", 2015)]
    assert got["employed_months_oct_mar"] == 5  # Oct, Nov, Jan, Feb, Mar; no December
    assert got["sustained_employment"] is True
    assert got["employed_days"] == 5
    assert got["paye_earnings"] == pytest.approx(250.0)
    assert got["annualised_earnings"] == pytest.approx(250 / 5 * 365)
    # without the 30 November day: four months
    assert (
        _years(spark, [r for r in rows if r[3] != d("2015-11-30")])[("p", 2015)][
            "sustained_employment"
        ]
        is False
    )


def test_spell_crossing_tax_years_is_cut_at_each_boundary(spark) -> None:  # type: ignore[no-untyped-def]
    start, end = d("2015-01-01"), d("2016-06-30")
    got = _years(
        spark,
        [
            ("p", "E1", 2014, start, end, 2000.0),
            ("p", "E1", 2015, start, end, 24000.0),
            ("p", "E1", 2016, start, end, 6000.0),
            ("open", "E2", 2016, d("2016-09-01"), None, 9000.0),  # continuing
        ],
    )
    y14, y15, y16 = got[("p", 2014)], got[("p", 2015)], got[("p", 2016)]
    assert (y14["employed_days"], y14["employed_months_oct_mar"]) == (31 + 28 + 31 + 5, 3)
    assert y14["sustained_employment"] is False
    assert (y15["employed_days"], y15["employed_months_oct_mar"]) == (366, 6)
    assert y15["annualised_earnings"] == pytest.approx(24000 / 366 * 365)
    assert (y16["employed_days"], y16["employed_months_oct_mar"]) == (25 + 31 + 30, 0)
    opened = got[("open", 2016)]  # 1 September 2016 to 5 April 2017
    assert opened["employed_days"] == 30 + 31 + 30 + 31 + 31 + 28 + 31 + 5
    assert opened["sustained_employment"] is True


def test_two_concurrent_jobs_days_once_earnings_summed(spark) -> None:  # type: ignore[no-untyped-def]
    got = _years(
        spark,
        [
            ("two", "E1", 2015, d("2015-04-06"), None, 20000.0),
            ("two", "E2", 2015, d("2015-10-01"), d("2015-12-31"), 3000.0),  # second job
            ("overlap", "E1", 2015, d("2015-06-01"), d("2015-09-30"), 4000.0),
            ("overlap", "E2", 2015, d("2015-09-01"), d("2015-12-31"), 4000.0),
            ("adjacent", "E1", 2015, d("2015-04-06"), d("2015-09-30"), 9000.0),
            ("adjacent", "E2", 2015, d("2015-10-01"), d("2016-04-05"), 9000.0),
        ],
    )
    two = got[("two", 2015)]
    assert two["employed_days"] == 366  # not 366 + 92
    assert two["paye_earnings"] == pytest.approx(23000.0)
    assert two["annualised_earnings"] == pytest.approx(23000 / 366 * 365)
    overlap = got[("overlap", 2015)]  # union 1 June to 31 December
    assert overlap["employed_days"] == 30 + 31 + 31 + 30 + 31 + 30 + 31
    assert overlap["employed_months_oct_mar"] == 3
    assert got[("adjacent", 2015)]["employed_days"] == 366


def test_out_of_work_benefit_days(spark) -> None:  # type: ignore[no-untyped-def]
    rows = [
        ("jsa", True, d("2015-11-10"), d("2015-11-20")),
        ("jsa", False, d("2015-01-01"), None),  # PIP: not an out-of-work benefit
        ("two", True, d("2016-05-01"), d("2016-05-31")),
        ("two", True, d("2016-05-15"), d("2016-06-14")),  # overlaps: days once
        ("open", True, d("2016-03-01"), None),  # open at the extract: to the end of the data
        ("pip", False, d("2015-05-01"), d("2015-06-01")),
    ]
    got = by_key(
        outcomes.benefit_years(frame(spark, BENEFITS, rows), 2015, 2017), "person_pid", "tax_year"
    )
    days = {k: v["out_of_work_benefit_days"] for k, v in got.items()}
    assert days == {
        ("jsa", 2015): 11,
        ("two", 2016): 31 + 14,
        ("open", 2015): 31 + 5,
        ("open", 2016): 365,
        ("open", 2017): 365,
    }


def test_education_years_cover_spans(spark) -> None:  # type: ignore[no-untyped-def]
    spans = [("ks5", 2015, 2016), ("he", 2017, 2019), ("left", 2018, 2018), ("dup", 2015, 2016)]
    spans += [("dup", 2016, 2016)]
    got = outcomes.education_years(frame(spark, SPANS, spans)).collect()
    pairs = sorted((r["person_pid"], r["tax_year"]) for r in got)
    assert pairs == [
        ("dup", 2015),
        ("dup", 2016),
        ("he", 2017),
        ("he", 2018),
        ("he", 2019),
        ("ks5", 2015),
        ("ks5", 2016),
        ("left", 2018),
    ]


def test_activity_categories_and_benefit_with_employment_in_one_month(spark) -> None:  # type: ignore[no-untyped-def]
    year = (d("2015-04-06"), None, 20000.0)
    dec_to_mar = (d("2015-12-01"), d("2016-03-31"), 5000.0)
    emp = [
        ("emp_study", "E1", 2015, *year),
        ("emp_only", "E1", 2015, *year),
        ("study", "E1", 2015, *dec_to_mar),
        ("nsd", "E1", 2015, *dec_to_mar),
        ("both", "E1", 2015, *year),
    ]
    ben = [
        ("both", True, d("2015-11-10"), d("2015-11-20")),  # JSA in a month of employment
        ("ben_only", True, d("2015-07-01"), d("2015-07-31")),
        ("pip_only", False, d("2015-07-01"), None),
    ]
    spans = [("emp_study", 2015, 2015), ("study", 2015, 2015)]
    got = by_key(
        outcomes.person_tax_years(
            frame(spark, EMPLOYMENTS, emp),
            frame(spark, BENEFITS, ben),
            frame(spark, SPANS, spans),
            2015,
            2015,
        ),
        "person_pid",
    )
    activity = {k: v["activity"] for k, v in got.items()}
    assert activity == {
        "emp_study": "employment_and_study",
        "emp_only": "employment_only",
        "study": "study_only",
        "nsd": "no_sustained_destination",
        "ben_only": "no_sustained_destination",
        "both": "employment_only",
    }  # pip_only has no row: activity not captured
    both = got["both"]
    assert both["sustained_employment"] is True
    assert both["out_of_work_benefit_days"] == 11
    assert both["employed_days"] == 366
    assert got["ben_only"]["employed_days"] == 0 and got["ben_only"]["paye_earnings"] == 0.0
