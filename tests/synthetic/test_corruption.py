"""Identity corruption: the primitives do what they say, the generator applies each kind at
the configured rate (within sampling error), and a flagged record differs from the truth in
exactly the flagged way while an unflagged one does not differ at all."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from rapidfuzz.distance import OSA

from synthetic import corruption as cor
from synthetic.names import read_data_csv
from synthetic.sources import SOURCE_NAMES
from tests.synthetic.conftest import Sample

NAMES = np.array(["Smith", "O'Brien", "McDonald", "Li", "Anne Marie", "Zoë", "Ng", "Jo"] * 500)


def valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def test_keyboard_typos_are_one_edit_mostly_substitutions_rarely_first_letter() -> None:
    rng = np.random.default_rng(1)
    values = NAMES.astype(object)
    out = cor.keyboard_typos(values, rng.random((len(values), 4)))
    distances = [OSA.distance(a, b) for a, b in zip(values, out, strict=True)]
    assert set(distances) == {1}
    same_length = np.array([len(a) == len(b) for a, b in zip(values, out, strict=True)])
    assert same_length.mean() > 0.7  # substitutions (and swaps) dominate
    first = np.array([a[0] != b[0] for a, b in zip(values, out, strict=True)])
    assert 0.01 < first.mean() < 0.12
    # A substituted lower-case letter is a neighbouring QWERTY key.
    for a, b in zip(values, out, strict=True):
        if len(a) == len(b):
            diff = [i for i in range(len(a)) if a[i] != b[i]]
            if len(diff) == 1 and a[diff[0]] in "qwertyuiopasdfghjklzxcvbnm":
                near = cor.NEIGHBOURS[ord(a[diff[0]]), : cor.NEIGHBOUR_COUNT[ord(a[diff[0]])]]
                assert ord(b[diff[0]]) in near, (a, b)


def test_day_month_swap_only_where_visible_and_plausible() -> None:
    digits = cor.date_digits(
        np.array([2001, 2001, 1999]), np.array([2, 3, 5]), np.array([11, 3, 25])
    )
    eligible = cor.day_month_swappable(digits)
    assert eligible.tolist() == [True, False, False]  # equal day and month; day 25
    cor.swap_day_month(digits, eligible)
    assert cor.date_text(digits).to_pylist() == ["2001-11-02", "2001-03-03", "1999-05-25"]


def test_digit_typos_change_one_digit_and_can_make_impossible_dates() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    y = rng.integers(1985, 2000, n)
    m = rng.integers(1, 13, n)
    d = rng.integers(1, 29, n)
    before = cor.date_text(cor.date_digits(y, m, d)).to_pylist()
    digits = cor.date_digits(y, m, d)
    cor.digit_typos(digits, np.ones(n, dtype=bool), rng.random((n, 2)))
    after = cor.date_text(digits).to_pylist()
    assert all(
        sum(a != b for a, b in zip(x, z, strict=True)) == 1
        for x, z in zip(before, after, strict=True)
    )
    assert all(x[:2] == z[:2] for x, z in zip(before, after, strict=True))  # century kept
    assert any(not valid_date(z) for z in after)  # e.g. month 13 or 2001-02-31
    assert np.mean([valid_date(z) for z in after]) > 0.5


def test_nino_typos_keep_the_format() -> None:
    rng = np.random.default_rng(3)
    values = np.array(["AB123456C", "JT908172D"] * 200, dtype=object)
    out = cor.nino_typos(values, rng.random((len(values), 3)))
    for a, b in zip(values, out, strict=True):
        assert a[:2] == b[:2] and a[-1] == b[-1] and b[2:8].isdigit()
        assert 1 <= sum(x != y for x, y in zip(a, b, strict=True)) <= 2


def test_double_barrel_variants_and_initials() -> None:
    out = cor.double_barrel_variants(
        np.array(["Smith-Jones"] * 300, dtype=object), np.linspace(0, 0.999, 300)
    )
    assert set(out) == {"Smith Jones", "Smith", "Jones"}
    assert cor.initials(np.array(["Anne Marie", "Jo"], dtype=object)).tolist() == ["A", "J"]


def units(sample: Sample, source: str) -> pd.DataFrame:
    """One row per record (per employment for `employments`) with its flags."""
    return sample.flags(source).drop_duplicates("unit")


def assert_rate(flagged: pd.Series, eligible: pd.Series, rate: float, what: str) -> None:
    n = int(eligible.sum())
    k = int((flagged & eligible).sum())
    assert not (flagged & ~eligible).any(), f"{what}: applied to ineligible records"
    sd = math.sqrt(max(n * rate * (1 - rate), 1e-9))
    assert abs(k - n * rate) <= 4.5 * sd + 2, f"{what}: {k}/{n} vs rate {rate}"


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_corruption_rates_match_the_config(sample: Sample, source: str) -> None:
    c = sample.cfg.corruption.for_source(source)
    u = units(sample, source)
    everyone = pd.Series(True, index=u.index)
    original = ~u.duplicate
    assert_rate(u.forename_nickname, u.nickname_eligible, c.forename.nickname, "nickname")
    assert_rate(u.forename_typo, everyone, c.forename.typo, "forename typo")
    assert_rate(u.middle_missing, u.middle_eligible, c.middle_names.missing, "middle missing")
    assert_rate(u.surname_typo, everyone, c.surname.typo, "surname typo")
    assert_rate(
        u.surname_double_barrel_variant,
        u.double_barrel_eligible,
        c.surname.double_barrel_variant,
        "double barrel",
    )
    assert_rate(u.name_order_swap, everyone, c.name_order_swap, "name order swap")
    assert_rate(u.dob_day_month_swap, u.dob_swap_eligible, c.date_of_birth.day_month_swap, "swap")
    assert_rate(u.dob_digit_typo, everyone, c.date_of_birth.digit_typo, "dob digit typo")
    assert_rate(u.sex_missing, everyone, c.sex.missing, "sex missing")
    if source in ("employments", "benefits"):
        assert_rate(u.nino_missing, u.nino_eligible, c.nino.missing, "nino missing")
    # Duplicates: a share of the original records has a second copy.
    n, k = int(original.sum()), int(u.duplicate.sum())
    assert abs(k - n * c.duplicate) <= 4.5 * math.sqrt(n * c.duplicate) + 2, (k, n)
    # Postcodes are corrupted per row.
    rows = sample.flags(source)
    assert_rate(
        rows.postcode_missing, pd.Series(True, index=rows.index), c.postcode.missing, "pc missing"
    )
    assert_rate(rows.postcode_stale, rows.stale_eligible, c.postcode.stale, "stale postcode")


def _fold(s: pd.Series) -> pd.Series:
    return s.str.upper()


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_recorded_values_differ_from_truth_exactly_as_flagged(sample: Sample, source: str) -> None:
    rec = sample.frame(source)
    f = sample.flags(source)
    upper = sample.cfg.corruption.for_source(source).name_case == "upper"
    if upper:
        assert (rec.surname.dropna() == rec.surname.dropna().str.upper()).all()
    else:
        assert (rec.surname != rec.surname.str.upper()).mean() > 0.9

    # Forename: untouched unless nickname, typo or name-order swap.
    clean = ~(f.forename_nickname | f.forename_typo | f.name_order_swap)
    assert (_fold(rec.forename[clean]) == _fold(f.true_forename[clean])).all()
    typo = f.forename_typo & ~f.forename_nickname & ~f.name_order_swap
    dist = [
        OSA.distance(a, b)
        for a, b in zip(_fold(rec.forename[typo]), _fold(f.true_forename[typo]), strict=True)
    ]
    assert set(dist) <= {1}
    nick_table = {
        (r["name"].upper(), r["nickname"].upper()) for r in read_data_csv("nicknames.csv")
    }
    nick = f.forename_nickname & ~f.forename_typo & ~f.name_order_swap
    pairs = set(zip(_fold(f.true_forename[nick]), _fold(rec.forename[nick]), strict=True))
    assert pairs <= nick_table
    assert len(pairs) > 0

    # Middle names: dropped, cut to an initial, mistyped, or as they are.
    assert rec.middle_names[f.middle_missing].isna().all()
    assert (rec.middle_names[f.middle_initial].str.len() == 1).all()
    clean = ~(f.middle_missing | f.middle_initial | f.middle_typo)
    both = (
        rec.middle_names[clean].fillna("") == f.true_middle_names[clean].fillna("").str.upper()
        if upper
        else rec.middle_names[clean].fillna("") == f.true_middle_names[clean].fillna("")
    )
    assert both.all()

    # Surname: untouched (at the record's date) unless typo, double-barrel variant or swap.
    clean = ~(f.surname_typo | f.surname_double_barrel_variant | f.name_order_swap)
    assert (_fold(rec.surname[clean]) == _fold(f.true_surname[clean])).all()
    swapped = f.name_order_swap & ~f.forename_typo & ~f.forename_nickname
    assert (_fold(rec.surname[swapped]) == _fold(f.true_forename[swapped])).all()

    # Date of birth.
    clean = ~(f.dob_day_month_swap | f.dob_digit_typo)
    assert (rec.date_of_birth[clean] == f.true_date_of_birth[clean]).all()
    swap_only = f.dob_day_month_swap & ~f.dob_digit_typo
    t = f.true_date_of_birth[swap_only]
    assert (rec.date_of_birth[swap_only] == t.str[:5] + t.str[8:10] + "-" + t.str[5:7]).all()
    digit_only = f.dob_digit_typo & ~f.dob_day_month_swap
    changed = [
        sum(a != b for a, b in zip(x, y, strict=True))
        for x, y in zip(
            rec.date_of_birth[digit_only], f.true_date_of_birth[digit_only], strict=True
        )
    ]
    assert set(changed) <= {1}

    # Sex, postcode.
    assert rec.sex[f.sex_missing].isna().all()
    assert (rec.sex[~f.sex_missing] == f.true_sex[~f.sex_missing]).all()
    assert rec.postcode[f.postcode_missing].isna().all()
    present = ~f.postcode_missing
    assert (
        rec.postcode[present & ~f.postcode_stale] == f.true_postcode[present & ~f.postcode_stale]
    ).all()
    stale = present & f.postcode_stale
    if stale.any():  # an older address (rarely the same postcode again)
        assert (rec.postcode[stale] != f.true_postcode[stale]).mean() > 0.95

    if "nino" in rec:
        issued = f.true_nino.notna()
        assert rec.nino[~issued].isna().all()  # no NINO before it was issued
        assert rec.nino[f.nino_missing].isna().all()
        ok = issued & ~f.nino_missing & ~f.nino_typo
        assert (rec.nino[ok] == f.true_nino[ok]).all()
        bad = issued & f.nino_typo
        assert (rec.nino[bad] != f.true_nino[bad]).all()
        assert rec.nino.dropna().str.fullmatch(r"[A-Z]{2}\d{6}[A-D]").all()


def test_impossible_dates_of_birth_occur(sample: Sample) -> None:
    dobs = pd.concat([sample.frame(s).date_of_birth for s in SOURCE_NAMES])
    assert dobs.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    invalid = ~dobs.map(valid_date)
    assert 0 < invalid.mean() < 0.005


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_default_corruption_leaves_enough_agreeing_evidence(sample: Sample, source: str) -> None:
    """Realistic rather than brutal: a record rarely has its forename, surname and date of
    birth all wrong at once, so a true match keeps agreeing evidence."""
    rec = sample.frame(source)
    f = sample.flags(source)
    wrong_fore = _fold(rec.forename) != _fold(f.true_forename)
    wrong_sur = _fold(rec.surname) != _fold(f.true_surname)
    wrong_dob = rec.date_of_birth != f.true_date_of_birth
    assert (wrong_fore & wrong_sur & wrong_dob).mean() < 0.001
    assert (wrong_fore | wrong_sur | wrong_dob).mean() < 0.12
