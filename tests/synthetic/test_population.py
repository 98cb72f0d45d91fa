"""Distributions of the synthetic population against the bands of references.md.

Each test states its band. The sample is 30,000 persons (tests/synthetic/conftest.py), so a
share near 0.4 of ~27,000 pupils has a standard error near 0.003: the bands are about the
model, not sampling noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.synthetic.conftest import PERSONS, Sample
from tests.synthetic.outcomes import graduates, person_years, studying


@pytest.fixture(scope="module")
def pupils(sample: Sample) -> pd.DataFrame:
    ks4 = sample.frame("ks4").drop_duplicates("person_id")
    truth = sample.tables["truth/persons"].to_pandas().set_index("person_id")
    ks4["region"] = truth.loc[ks4.person_id, "region"].to_numpy()
    ks4["band"] = pd.cut(ks4.attainment8, [-1, 35, 55, 91], labels=["low", "middle", "high"])
    return ks4


@pytest.fixture(scope="module")
def he(sample: Sample) -> pd.DataFrame:
    return sample.frame("he")


@pytest.fixture(scope="module")
def years(sample: Sample) -> pd.DataFrame:
    return person_years(sample.frame("employments")).set_index(["person_id", "tax_year"])


def test_people_without_ks4_record_are_a_modest_share(sample: Sample, pupils: pd.DataFrame) -> None:
    share = 1 - len(pupils) / PERSONS
    assert 0.06 <= share <= 0.10, share  # config non_ks4_share 0.08
    emp = sample.frame("employments")
    outside = ~emp.person_id.isin(pupils.person_id)
    assert 0.04 <= outside.mean() <= 0.15, outside.mean()
    assert (~sample.frame("he").person_id.isin(pupils.person_id)).sum() > 50  # studied abroad


def test_fsm_share_varies_by_region_within_14_to_25_percent(
    sample: Sample, pupils: pd.DataFrame
) -> None:
    assert 0.14 <= pupils.fsm_eligible.mean() <= 0.25
    by_region = pupils.groupby("region").fsm_eligible.mean()
    configured = sample.cfg.population.fsm_share_by_region
    for region, share in by_region.items():
        assert abs(share - configured[region]) < 0.035, (region, share)
    assert by_region["E12000001"] > by_region["E12000008"] + 0.05  # North East > South East
    assert by_region["E12000007"] > by_region["E12000008"] + 0.05  # London > South East


def test_attainment8_mean_46_to_51_lower_for_fsm_and_varying_by_region(
    pupils: pd.DataFrame,
) -> None:
    a8 = pupils.attainment8
    assert a8.between(0, 90).all()
    assert 46 <= a8.mean() <= 51
    gap = a8[~pupils.fsm_eligible].mean() - a8[pupils.fsm_eligible].mean()
    assert 10 <= gap <= 20, gap  # the disadvantage gap is about 13-16 points
    by_region = pupils.groupby("region").attainment8.mean()
    assert by_region["E12000007"] - by_region["E12000001"] >= 2  # London above the North East
    sen = pupils.groupby("sen_provision").attainment8.mean()
    assert sen["ehcp"] < sen["sen_support"] < sen["none"]
    assert 0.5 <= pupils.eng_maths_grade4.mean() <= 0.75


def test_sen_and_ethnicity_shares(pupils: pd.DataFrame) -> None:
    sen = pupils.sen_provision.value_counts(normalize=True)
    assert 0.10 <= sen["sen_support"] <= 0.15
    assert 0.02 <= sen["ehcp"] <= 0.045
    eth = pupils.ethnicity_major.value_counts(normalize=True)
    assert set(eth.index) == {"white", "mixed", "asian", "black", "other", "unclassified"}
    assert 0.70 <= eth["white"] <= 0.85
    london = pupils[pupils.region == "E12000007"].ethnicity_major.eq("white").mean()
    assert london < 0.6


def test_ks5_for_a_majority_and_he_entry_near_40_percent_rising_with_attainment(
    sample: Sample, pupils: pd.DataFrame, he: pd.DataFrame
) -> None:
    ks5 = pupils.person_id.isin(sample.frame("ks5").person_id)
    assert 0.6 <= ks5.mean() <= 0.8
    entered = pupils.person_id.isin(he[he.qualification != "postgraduate"].person_id)
    by_cohort = entered.groupby(pupils.academic_year).mean()
    assert by_cohort.between(0.35, 0.45).all(), by_cohort
    by_band = entered.groupby(pupils.band, observed=True).mean()
    assert by_band["low"] < 0.1 < by_band["middle"] < by_band["high"]
    assert entered[pupils.fsm_eligible].mean() < entered[~pupils.fsm_eligible].mean() - 0.1


def test_he_subjects_providers_qualifications_and_non_completion(he: pd.DataFrame) -> None:
    assert he.subject_cah2.str.fullmatch(r"CAH\d{2}-\d{2}").all()
    assert 30 <= he.subject_cah2.nunique() <= 35
    assert 30 <= he.provider_id.nunique() <= 60
    assert set(he.qualification) == {"first_degree", "other_undergraduate", "postgraduate"}
    ug = he[he.qualification != "postgraduate"]
    finished = ug[ug.start_year <= 2016]  # long enough ago to have qualified
    non_completion = finished.graduation_year.isna().mean()
    assert 0.05 <= non_completion <= 0.2, non_completion
    done = he.graduation_year.notna()
    assert (he.graduation_year[done] >= he.start_year[done]).all()
    fd = he[(he.qualification == "first_degree") & done]
    classes = fd.classification.value_counts(normalize=True)
    assert 0.35 <= classes["upper_second"] <= 0.6
    assert he.classification[he.qualification == "postgraduate"].isna().all()


@pytest.mark.parametrize(("yag", "median"), [(1, 21_000), (3, 25_000), (5, 29_000), (10, 33_000)])
def test_graduate_median_earnings_by_years_after_graduation(
    he: pd.DataFrame, pupils: pd.DataFrame, years: pd.DataFrame, yag: int, median: int
) -> None:
    g = graduates(he)
    g = g[g.person_id.isin(pupils.person_id)]
    ty = g.graduation_year + 1 + yag
    rows = years.reindex(pd.MultiIndex.from_arrays([g.person_id, ty])[ty <= 2023])
    earnings = rows.annualised[rows.sustained.eq(True)]
    assert len(earnings) > 300
    assert abs(earnings.median() / median - 1) < 0.12, earnings.median()


def test_graduates_in_sustained_employment_or_study_85_to_90_percent_at_5_yag(
    sample: Sample, he: pd.DataFrame, pupils: pd.DataFrame, years: pd.DataFrame
) -> None:
    g = graduates(he)
    g = g[g.person_id.isin(pupils.person_id)]
    g = g[g.graduation_year + 6 <= 2023]
    ty = g.graduation_year + 6
    sustained = years.sustained.reindex(pd.MultiIndex.from_arrays([g.person_id, ty]))
    sustained = sustained.eq(True).to_numpy()
    study = studying(he, sample.frame("ks5"))
    in_study = np.array([(p, t) in study for p, t in zip(g.person_id, ty, strict=True)])
    share = (sustained | in_study).mean()
    assert 0.84 <= share <= 0.92, share


def test_earnings_vary_by_sex_subject_and_attainment(
    he: pd.DataFrame, pupils: pd.DataFrame, years: pd.DataFrame
) -> None:
    g = graduates(he).merge(pupils[["person_id", "sex", "attainment8"]], on="person_id")
    g = g[g.graduation_year + 6 <= 2023]
    rows = years.reindex(pd.MultiIndex.from_arrays([g.person_id, g.graduation_year + 6]))
    g["earnings"] = np.where(rows.sustained.eq(True), rows.annualised, np.nan)
    by_sex = g.groupby("sex").earnings.median()
    assert by_sex["M"] > by_sex["F"] * 1.03
    by_subject = g.groupby("subject_cah2").earnings.median()
    assert by_subject["CAH15-02"] > by_subject["CAH25-01"] * 1.25  # economics > creative arts
    high = g[g.attainment8 >= 60].earnings.median()
    low = g[g.attainment8 < 45].earnings.median()
    assert high > low


def test_earnings_log_normal_and_rising_with_age(pupils: pd.DataFrame, years: pd.DataFrame) -> None:
    y = years[years.sustained].reset_index()
    y = y.merge(pupils[["person_id", "academic_year"]], on="person_id")
    age = y.tax_year - y.academic_year + 16
    log_pay = np.log(y.annualised[age >= 25])
    skew = ((log_pay - log_pay.mean()) ** 3).mean() / log_pay.std() ** 3
    assert abs(skew) < 0.6, skew  # roughly symmetric on the log scale
    assert y.annualised.mean() > y.annualised.median()  # right-skewed in pounds
    medians = y.annualised.groupby(pd.cut(age, [17, 21, 25, 30, 40]), observed=True).median()
    assert medians.is_monotonic_increasing, medians


def test_out_of_work_benefits_more_common_after_fsm_and_low_attainment(
    sample: Sample, pupils: pd.DataFrame
) -> None:
    ben = sample.frame("benefits")
    oow_types = {"JSA", "ESA", "IS", "UC"}
    assert (
        ben.out_of_work[ben.out_of_work]
        .index.isin(ben.index[ben.benefit_type.isin(oow_types)])
        .all()
    )
    assert set(ben.benefit_type) <= {"JSA", "ESA", "IS", "UC", "PIP", "DLA", "CA", "HB"}
    assert not ben.out_of_work[ben.benefit_type.isin({"PIP", "DLA", "CA", "HB"})].any()
    oow = ben[ben.out_of_work]
    start = pd.to_datetime(oow.start_date)
    end = pd.to_datetime(oow.end_date).fillna(pd.Timestamp("2100-01-01"))
    in_year = []
    for cohort, group in pupils.groupby("academic_year"):
        ty = cohort + 8  # the tax year pupils turn 24
        lo, hi = pd.Timestamp(f"{ty}-04-06"), pd.Timestamp(f"{ty + 1}-04-05")
        claimants = set(oow.person_id[(start <= hi) & (end >= lo)])
        in_year.append(group.assign(claim=group.person_id.isin(claimants)))
    rates = pd.concat(in_year)
    assert 0.04 <= rates.claim.mean() <= 0.12, rates.claim.mean()
    fsm = rates.groupby("fsm_eligible").claim.mean()
    assert fsm[True] >= 1.8 * fsm[False], fsm
    band = rates.groupby("band", observed=True).claim.mean()
    assert band["low"] > band["middle"] > band["high"], band


def test_emigration_share_and_no_activity_after_it(sample: Sample) -> None:
    persons = sample.tables["truth/persons"].to_pandas()
    pupils = persons[persons.ks4_academic_year.notna()]
    assert 0.03 <= pupils.emigrated_tax_year.notna().mean() <= 0.08
    left = persons.dropna(subset=["emigrated_tax_year"]).set_index("person_id")
    emp = sample.frame("employments")
    emp = emp[emp.person_id.isin(left.index)]
    assert (emp.tax_year < left.emigrated_tax_year.loc[emp.person_id].to_numpy()).all()
    ben = sample.frame("benefits")
    ben = ben[ben.person_id.isin(left.index)]
    gone = pd.to_datetime(
        left.emigrated_tax_year.loc[ben.person_id].astype(int).astype(str) + "-04-06"
    )
    assert (pd.to_datetime(ben.start_date).to_numpy() < gone.to_numpy()).all()
    assert ben.end_date.notna().all()  # spells end when the person leaves


def test_nino_for_most_but_not_all_and_issued_near_age_16(sample: Sample) -> None:
    persons = sample.debug["persons"].to_pandas()
    has = persons.nino.notna()
    assert 0.95 <= has.mean() <= 0.99  # no_nino_share 0.03
    assert persons.nino[has].str.fullmatch(r"[A-Z]{2}\d{6}[A-D]").all()
    assert persons.nino[has].is_unique
    emp = sample.flags("employments").merge(
        sample.frame("employments")[["tax_year"]], left_index=True, right_index=True
    )
    pupils = persons[persons.kind == 0].set_index("person_id")
    emp = emp[emp.person_id.isin(pupils.index)]
    dob_year = pupils.date_of_birth.str[:4].astype(int).loc[emp.person_id].to_numpy()
    young = emp.tax_year.to_numpy() - dob_year <= 14
    assert emp.true_nino[young].isna().all()


def test_employment_spells_one_row_per_tax_year_with_gaps_and_concurrent_jobs(
    sample: Sample,
) -> None:
    emp = sample.frame("employments")
    flags = sample.flags("employments")
    emp["unit"] = flags.unit.to_numpy()
    emp["duplicate"] = flags.duplicate.to_numpy()
    original = emp[~emp.duplicate]
    assert not original.duplicated(["unit", "tax_year"]).any()
    assert (emp.pay > 0).all()
    assert emp.tax_year.between(2005, 2023).all()
    start = pd.to_datetime(emp.start_date)
    ty_end = pd.to_datetime((emp.tax_year + 1).astype(str) + "-04-05")
    assert (start <= ty_end).all()
    open_ended = original[original.end_date.isna()]
    assert (open_ended.groupby("unit").tax_year.max() == 2023).all()
    per_year = original.groupby(["person_id", "tax_year"]).size()
    assert 0.05 <= (per_year > 1).mean() <= 0.4  # job changes and second jobs
    first_years = original.groupby("person_id").tax_year.agg(["min", "max", "nunique"])
    gaps = first_years["max"] - first_years["min"] + 1 > first_years["nunique"]
    assert gaps.mean() > 0.05  # some people have whole tax years without PAYE


def test_postcodes_uk_shaped_near_school_and_people_move(sample: Sample) -> None:
    shape = r"[A-Z]{1,2}\d{1,2} \d[A-Z]{2}"
    for source in ("ks4", "ks5", "he", "employments", "benefits"):
        pcs = sample.tables[source].column("postcode").drop_null().to_pandas()
        assert pcs.str.upper().str.fullmatch(shape).all(), source
    from synthetic.geography import geography

    geo = geography()
    area = dict(zip(geo.la_codes, geo.la_area, strict=True))
    ks4 = sample.frame("ks4")
    flags = sample.flags("ks4")
    pc_area = flags.true_postcode.str.extract(r"^([A-Z]+)")[0]
    near = (pc_area == ks4.la_code.map(area)).mean()
    assert near >= 0.85, near
    emp = sample.flags("employments")
    moved = emp.groupby("person_id").true_postcode.nunique() > 1
    assert moved.mean() > 0.3
