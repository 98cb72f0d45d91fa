"""Employment and benefit spells, and pay per tax year, for one chunk's people.

Mechanics (choices of ours; the outcome bands they must produce are tested):

- Employability `eta` = 0.5 ability + 0.3 ses + noise. A main career starts when full-time
  education ends (after a gap, longer for low eta), then alternates jobs and gaps: job
  lengths are exponential with a mean rising with age (0.8 years under 20 to 4.5 years from
  30) and with eta; gaps have mean `mean_gap_years` scaled down by eta, and much longer for a
  `detached_share` of people (self-employed, carers: rarely in PAYE). Older workers and
  parents are already mid-career when the data starts; immigrants start on arrival.
- Students often hold part-time jobs while studying; some people hold a second job alongside
  the main one (concurrent employments).
- Nothing happens once a person emigrates (6 April of `emigrated_tax_year`); spells running
  at the end of the data (5 April after `last_tax_year`) have no end date.
- Pay: a full-time annual rate per job and tax year, log-normal around a median curve by
  years after graduation (graduates) or by age (others), in `reference_year` prices, grown by
  `nominal_growth` a year, with person and job terms, a subject premium for graduates, a
  small attainment effect, and a sex gap widening with age; part-time and student jobs earn a
  fraction. A row's pay is the rate times the share of the tax year the job covered.
- Benefits: a gap of a month or more between jobs brings an out-of-work claim with a
  probability rising with FSM, low attainment and the gap's length, falling for graduates;
  the claim type follows the date (JSA, ESA for sickness from October 2008, IS, and UC as it
  rolls out from 2016). Alongside: housing benefit with some pre-UC claims, disability
  benefits (DLA, then PIP from April 2013; more with SEN), Carer's Allowance, and in-work UC
  with some low-paid jobs: these are not out-of-work benefits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic import calendar as cal
from synthetic.config import SyntheticConfig
from synthetic.population import (
    IMMIGRANT,
    KS4,
    OLDER_WORKER,
    PARENT,
    People,
    higher_education_tables,
)

BENEFIT_TYPES = ("JSA", "ESA", "IS", "UC", "PIP", "DLA", "CA", "HB")
JSA, ESA, IS, UC, PIP, DLA, CA, HB = range(len(BENEFIT_TYPES))
ESA_START = cal.ymd(2008, 10, 27)
PIP_START = cal.ymd(2013, 4, 8)
MAIN, STUDENT_JOB, SECOND_JOB = range(3)


@dataclass
class Spells:
    """Employment spells: one row per employment."""

    person: np.ndarray
    start: np.ndarray
    end: np.ndarray  # cal.NEVER: continuing at the end of the data
    kind: np.ndarray
    hours: np.ndarray  # fraction of full time
    pay_term: np.ndarray  # the job's log-pay term
    employer: np.ndarray


@dataclass
class PayRows:
    """One row per employment per tax year."""

    spell: np.ndarray
    tax_year: np.ndarray
    pay: np.ndarray


@dataclass
class BenefitSpells:
    person: np.ndarray
    benefit: np.ndarray
    out_of_work: np.ndarray
    start: np.ndarray
    end: np.ndarray  # cal.NEVER: open


@dataclass
class Careers:
    spells: Spells
    pay: PayRows
    benefits: BenefitSpells


def _exp_days(rng: np.random.Generator, mean_years: np.ndarray | float, n: int) -> np.ndarray:
    return np.maximum(1, np.round(rng.exponential(1.0, n) * mean_years * cal.DAYS_PER_YEAR)).astype(
        np.int64
    )


def _stream(
    rng: np.random.Generator,
    person: np.ndarray,
    first_start: np.ndarray,
    until: np.ndarray,
    slots: int,
    mean_duration,
    mean_gap: np.ndarray,
    dob: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Alternate jobs and gaps from `first_start` for each person in `person`, keeping jobs
    that start before `until` (cut there). Returns (person, start, end, gaps) where gaps are
    the (start, end) days between consecutive jobs, per slot. One vectorised step per slot."""
    k = len(person)
    t = first_start.copy()
    starts, ends, owners, gaps = [], [], [], []
    prev_end = np.full(k, -1, dtype=np.int64)
    for _ in range(slots):
        alive = t < until
        if not alive.any():
            break
        dur = _exp_days(rng, mean_duration(cal.age_at(dob, t)), k)
        end = np.minimum(t + np.maximum(dur, 7), until)
        owners.append(person[alive])
        starts.append(t[alive])
        ends.append(end[alive])
        has_prev = alive & (prev_end >= 0)
        gaps.append(np.stack([person[has_prev], prev_end[has_prev], t[has_prev]]))
        prev_end = np.where(alive, end, prev_end)
        t = end + _exp_days(rng, mean_gap, k)
    # The open gap after the last job, up to `until`.
    tail = (prev_end >= 0) & (prev_end < until)
    gaps.append(np.stack([person[tail], prev_end[tail], until[tail]]))
    cat = np.concatenate
    return (
        cat(owners or [np.zeros(0, np.int64)]),
        cat(starts or [np.zeros(0, np.int64)]),
        cat(ends or [np.zeros(0, np.int64)]),
        gaps,
    )


def _main_duration(age: np.ndarray) -> np.ndarray:
    return np.interp(age, [16, 20, 25, 30], [0.8, 1.5, 3.0, 4.5])


def simulate_careers(cfg: SyntheticConfig, p: People, rng: np.random.Generator) -> Careers:
    lm = cfg.labour_market
    co = cfg.cohorts
    n = p.n
    first_day = cal.tax_year_start(co.first_tax_year)
    data_end = cal.tax_year_start(co.last_tax_year + 1)  # exclusive
    until = np.minimum(data_end, p.emigration_date)
    eta = 0.5 * p.ability + 0.3 * p.ses + 0.7 * rng.standard_normal(n)
    detached = rng.random(n) < lm.detached_share
    graduate = p.graduation_date < cal.NEVER

    # Main careers.
    gap0 = np.where(graduate, 0.25, 0.5) * np.exp(-0.5 * eta)
    entry = p.education_end + _exp_days(rng, gap0, n)
    settled = (p.kind == PARENT) | (p.kind == OLDER_WORKER)
    entry = np.where(settled, first_day - rng.integers(0, 5 * 365, n), entry)
    entry = np.where(p.kind == IMMIGRANT, p.arrival + _exp_days(rng, 0.3, n), entry)
    entry = np.maximum(entry, cal.add_years(p.dob, 16.0))
    # Graduates change jobs with shorter gaps and stay longer (a choice of ours that brings
    # sustained employment near LEO's figures).
    mean_gap = (
        lm.mean_gap_years
        * np.exp(-0.5 * eta)
        * np.where(detached, 10.0, 1.0)
        * np.where(graduate, 0.6, 1.0)
    )
    boost = np.exp(0.35 * eta) * np.where(graduate, 1.3, 1.0)
    people = np.arange(n)
    owner, start, end, gaps = _stream(
        rng,
        people,
        entry,
        until,
        16,
        lambda age: _main_duration(age) * boost,
        mean_gap,
        p.dob,
    )
    kind = np.full(len(owner), MAIN)
    part_time = rng.random(len(owner)) < lm.part_time_share * np.where(p.female[owner], 1.5, 0.5)
    hours = np.where(part_time, rng.uniform(0.4, 0.8, len(owner)), 1.0)
    main_gaps = np.concatenate(gaps, axis=1) if gaps else np.zeros((3, 0), dtype=np.int64)
    # The gap between leaving education and the first job (young people not in work).
    young = np.flatnonzero((p.kind == KS4) & (entry < until))
    first_gap = np.stack([young, p.education_end[young], entry[young]])
    all_gaps = np.concatenate([first_gap, main_gaps], axis=1)

    # Part-time jobs while studying.
    studying = np.flatnonzero((p.study_start < cal.NEVER) & (rng.random(n) < lm.student_job_share))
    s_first = p.study_start[studying] + _exp_days(rng, 0.5, len(studying))
    s_until = np.minimum(p.education_end[studying], until[studying])
    s_owner, s_start, s_end, _ = _stream(
        rng, studying, s_first, s_until, 6, lambda age: np.full(len(age), 0.6), 0.5, p.dob[studying]
    )
    # Second jobs alongside the main career.
    seconds = np.flatnonzero(rng.random(n) < lm.second_job_share)
    j_first = entry[seconds] + _exp_days(rng, 2.0, len(seconds))
    j_owner, j_start, j_end, _ = _stream(
        rng,
        seconds,
        j_first,
        until[seconds],
        4,
        lambda age: np.full(len(age), 1.0),
        2.5,
        p.dob[seconds],
    )
    owner = np.concatenate([owner, s_owner, j_owner])
    start = np.concatenate([start, s_start, j_start])
    end = np.concatenate([end, s_end, j_end])
    kind = np.concatenate(
        [kind, np.full(len(s_owner), STUDENT_JOB), np.full(len(j_owner), SECOND_JOB)]
    )
    hours = np.concatenate(
        [hours, rng.uniform(0.2, 0.45, len(s_owner)), rng.uniform(0.25, 0.5, len(j_owner))]
    )
    # A job cut by the end of the data continues; one cut by emigration ends the day before.
    end = np.where(end >= data_end, cal.NEVER, np.where(end >= until[owner], until[owner] - 1, end))
    # Keep jobs with at least one day inside the data's tax years.
    keep = ((end >= first_day) | (end == cal.NEVER)) & (start < data_end)
    m = int(keep.sum())
    # Employers: log-uniform over a large pool, so big employers recur.
    employer = np.floor(np.exp(rng.random(m) * np.log(400_000))).astype(np.int64)
    spells = Spells(
        person=owner[keep],
        start=start[keep],
        end=end[keep],
        kind=kind[keep],
        hours=hours[keep],
        pay_term=lm.job_pay_sd * rng.standard_normal(m),
        employer=employer,
    )
    pay = _pay_rows(cfg, p, spells, rng)
    benefits = _benefits(cfg, p, spells, all_gaps, until, rng)
    return Careers(spells, pay, benefits)


def _pay_rows(cfg: SyntheticConfig, p: People, s: Spells, rng: np.random.Generator) -> PayRows:
    lm = cfg.labour_market
    co = cfg.cohorts
    data_last = cal.tax_year_start(co.last_tax_year + 1) - 1
    last_day = np.where(s.end == cal.NEVER, data_last, s.end)
    ty0 = np.maximum(cal.tax_year_of(s.start), co.first_tax_year)
    ty1 = np.minimum(cal.tax_year_of(last_day), co.last_tax_year)
    count = np.maximum(0, ty1 - ty0 + 1)
    spell = np.repeat(np.arange(len(count)), count)
    offsets = np.cumsum(count) - count
    ty = ty0[spell] + (np.arange(len(spell)) - offsets[spell])
    lo = np.maximum(s.start[spell], cal.tax_year_start(ty))
    hi = np.minimum(last_day[spell], cal.tax_year_start(ty + 1) - 1)
    days = hi - lo + 1
    person = s.person[spell]
    mid = (lo + hi) // 2

    # Pay: a person term, drawn once per person.
    person_term = lm.person_pay_sd * rng.standard_normal(p.n)
    grad_years = sorted(lm.graduate_median_pay)
    non_grad_ages = sorted(lm.non_graduate_median_pay)
    # k years after graduation is the tax year starting k + 1 years after the academic year of
    # graduation, whose middle is about k + 0.3 years after the July the degree ends.
    since = (mid - p.graduation_date[person]) / cal.DAYS_PER_YEAR
    is_grad = since >= 0
    g = np.interp(since - 0.3, grad_years, np.log([lm.graduate_median_pay[k] for k in grad_years]))
    age = cal.age_at(p.dob[person], mid)
    a = np.interp(
        age, non_grad_ages, np.log([lm.non_graduate_median_pay[k] for k in non_grad_ages])
    )
    premium = higher_education_tables().earnings_premium[np.maximum(p.subject[person], 0)]
    log_rate = (
        np.where(is_grad, g + premium, a)
        + lm.nominal_growth * (ty - lm.reference_year)
        + person_term[person]
        + s.pay_term[spell]
        + 0.04 * p.ability[person]
        - np.where(p.female[person], 0.03 + 0.008 * np.clip(age - 22, 0, 20), 0.0)
    )
    pay = np.exp(log_rate) * s.hours[spell] * days / 365.0
    return PayRows(spell=spell, tax_year=ty.astype(np.int16), pay=np.round(pay, 2))


def _benefits(
    cfg: SyntheticConfig,
    p: People,
    s: Spells,
    gaps: np.ndarray,
    until: np.ndarray,
    rng: np.random.Generator,
) -> BenefitSpells:
    b = cfg.benefits
    co = cfg.cohorts
    first_day = cal.tax_year_start(co.first_tax_year)
    data_end = cal.tax_year_start(co.last_tax_year + 1)
    person, g0, g1 = gaps
    length = (g1 - g0) / cal.DAYS_PER_YEAR
    age = cal.age_at(p.dob[person], g0)
    low = np.nan_to_num(p.attainment8[person], nan=45.0) < 35.0
    graduate = p.graduation_date[person] < g0
    logit = (
        np.log(b.claim_base / max(1e-9, 1 - b.claim_base))
        + np.log(b.fsm_odds_ratio) * p.fsm[person]
        + np.log(b.low_attainment_odds_ratio) * low
        + np.log(b.graduate_odds_ratio) * graduate
        + 0.5 * np.log(np.maximum(length, 1 / 12) / 0.5)
        - 1.5 * (age < 18)
    )
    claim = (length >= 28 / cal.DAYS_PER_YEAR) & (
        rng.random(len(person)) < 1 / (1 + np.exp(-logit))
    )
    claim &= b.claim_base > 0
    cp, c0, c1 = person[claim], g0[claim], g1[claim]
    k = len(cp)
    start = c0 + rng.integers(3, 22, k)
    end = np.minimum(c1 - rng.integers(0, 8, k), start + _exp_days(rng, 0.7, k))
    end = np.maximum(end, start)
    year = cal.split(start)[0] + cal.split(start)[1] / 12.0
    uc = rng.random(k) < np.clip((year - 2016.0) / 3.0, 0, 0.97)
    sick = rng.random(k) < 0.12 + 0.25 * (p.sen[cp] > 0)
    carer = p.female[cp] & (rng.random(k) < 0.1)
    benefit = np.select([uc, sick & (start >= ESA_START), sick | carer], [UC, ESA, IS], JSA).astype(
        np.int8
    )
    out_of_work = np.ones(k, dtype=bool)

    # Housing benefit alongside some claims before UC.
    hb = ~uc & (rng.random(k) < b.housing_benefit_share)
    n_hb = int(hb.sum())
    parts = [
        (cp, benefit, out_of_work, start, end),
        (cp[hb], np.full(n_hb, HB), np.zeros(n_hb, bool), start[hb], end[hb]),
    ]

    # Disability benefits: more with SEN.
    n = p.n
    mult = np.array([0.7, 2.5, 12.0])[p.sen]
    disabled = np.flatnonzero(rng.random(n) < np.minimum(1.0, b.disability_share * mult))
    d_start = np.maximum(
        cal.add_years(p.dob[disabled], 16.0 + rng.uniform(0, 10, len(disabled))),
        p.arrival[disabled],
    )
    d_end = np.where(
        rng.random(len(disabled)) < 0.6,
        cal.NEVER,
        d_start + _exp_days(rng, 6.0, len(disabled)),
    )
    dla = d_start < PIP_START
    # DLA claimants were reassessed for PIP from 2016: DLA ends, PIP follows for most.
    reassess = cal.ymd(2016, 1, 1) + rng.integers(0, 3 * 365, len(disabled))
    moved = dla & (d_end > reassess)
    d_end = np.where(moved, reassess, d_end)
    to_pip = moved & (rng.random(len(disabled)) < 0.7)
    parts.append((disabled, np.where(dla, DLA, PIP), np.zeros(len(disabled), bool), d_start, d_end))
    parts.append(
        (
            disabled[to_pip],
            np.full(int(to_pip.sum()), PIP),
            np.zeros(int(to_pip.sum()), bool),
            reassess[to_pip] + 1,
            np.full(int(to_pip.sum()), cal.NEVER),
        )
    )
    # Carer's Allowance.
    carers = np.flatnonzero(rng.random(n) < b.carer_share * np.where(p.female, 1.6, 0.4))
    lo = np.maximum(np.maximum(p.arrival[carers], cal.add_years(p.dob[carers], 18)), first_day)
    c_start = lo + (rng.random(len(carers)) * np.maximum(0, data_end - lo)).astype(np.int64)
    parts.append(
        (
            carers,
            np.full(len(carers), CA),
            np.zeros(len(carers), bool),
            c_start,
            c_start + _exp_days(rng, 4.0, len(carers)),
        )
    )
    # In-work UC alongside some jobs from 2016-17, mostly part-time ones.
    low_paid = (
        (s.kind == MAIN)
        & (s.start >= cal.ymd(2016, 4, 6))
        & (rng.random(len(s.person)) < b.in_work_uc_share * np.where(s.hours < 1.0, 3.0, 0.7))
    )
    w = np.flatnonzero(low_paid)
    w_start = s.start[w] + rng.integers(0, 60, len(w))
    w_end = w_start + _exp_days(rng, 1.0, len(w))
    w_end = np.where(s.end[w] == cal.NEVER, w_end, np.minimum(w_end, s.end[w]))
    parts.append((s.person[w], np.full(len(w), UC), np.zeros(len(w), bool), w_start, w_end))

    person_all = np.concatenate([x[0] for x in parts])
    benefit_all = np.concatenate([x[1] for x in parts]).astype(np.int8)
    oow_all = np.concatenate([x[2] for x in parts])
    start_all = np.concatenate([x[3] for x in parts]).astype(np.int64)
    end_all = np.concatenate([x[4] for x in parts]).astype(np.int64)
    # Nothing after emigration; a spell running at the end of the data is open.
    stop = until[person_all]
    keep = (start_all < stop) & ((end_all >= first_day) | (end_all == cal.NEVER))
    keep &= start_all >= p.arrival[person_all]
    end_all = np.where(end_all >= stop, np.where(stop >= data_end, cal.NEVER, stop - 1), end_all)
    return BenefitSpells(
        person=person_all[keep],
        benefit=benefit_all[keep],
        out_of_work=oow_all[keep],
        start=start_all[keep],
        end=end_all[keep],
    )
