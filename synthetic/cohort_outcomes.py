"""A research-zone `cohort_outcomes` table (leo/schema.py) drawn directly, without linkage:
for the publish job's tests and benchmark while no build has run, and for scale tests of
disclosure control. Not the generator's sources: one row per person x cohort x years after,
with plausible dimension distributions, activity shares, benefit rates and earnings
(references.md's bands: median graduate earnings about 21k / 25k / 29k / 33k at 1 / 3 / 5 /
10 years after; about 40% of a KS4 cohort graduates).

Conventions as the build's: KS4 cohort "2014/15" at k years after is tax year 2014 + 1 + k;
a graduate cohort (academic year of graduation) likewise; only tax years up to
`last_tax_year` exist. Parameters are choices of ours.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from leo.schema import COHORT_OUTCOMES, academic_year_label
from spark_jobs.outcomes import ACTIVITIES
from synthetic.population import higher_education_tables

YEARS_AFTER = (1, 3, 5, 10)
REGIONS = {f"E1200000{i}": w for i, w in enumerate([5, 13, 10, 9, 11, 11, 15, 16, 10], 1)}
ETHNICITY = {
    "white": 0.74,
    "asian": 0.11,
    "black": 0.05,
    "mixed": 0.05,
    "other": 0.02,
    "unclassified": 0.03,
}
# activity shares by years after (KS4 cohorts) and for graduates
KS4_ACTIVITY = {
    1: (0.08, 0.10, 0.70, 0.07, 0.05),
    3: (0.32, 0.12, 0.38, 0.10, 0.08),
    5: (0.55, 0.08, 0.17, 0.11, 0.09),
    10: (0.66, 0.05, 0.05, 0.13, 0.11),
}
GRADUATE_ACTIVITY = (0.66, 0.09, 0.08, 0.10, 0.07)
KS4_MEDIAN = {1: 7_000, 3: 15_000, 5: 19_500, 10: 25_000}
GRADUATE_MEDIAN = {1: 21_000, 3: 25_000, 5: 29_000, 10: 33_000}


def _choice(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(weights))
    p = np.array(list(weights.values()), dtype=np.float64)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def pseudonyms(seed: int, n: int) -> np.ndarray:
    """Stable 64-hex pseudonyms (HMAC-like in shape, not derived from any identifier)."""
    return np.array(
        [hashlib.sha256(f"synthetic-person:{seed}:{i}".encode()).hexdigest() for i in range(n)]
    )


def generate(
    persons: int,
    seed: int = 1,
    first_cohort: int = 2005,
    cohorts: int = 10,
    last_tax_year: int = 2022,
) -> pa.Table:
    """About `persons` people in `cohorts` KS4 cohorts from `first_cohort`; about 40%
    graduate five years after KS4."""
    rng = np.random.default_rng(seed)
    n = persons
    ks4_year = first_cohort + rng.integers(0, cohorts, n)
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    sex[rng.random(n) < 0.003] = "unknown"
    region = _choice(rng, REGIONS, n)
    region[rng.random(n) < 0.01] = "unknown"
    ethnicity = _choice(rng, ETHNICITY, n)
    fsm_p = np.where(np.isin(region, ["E12000001", "E12000002", "E12000007"]), 0.22, 0.13)
    fsm_b = rng.random(n) < fsm_p
    fsm = np.where(fsm_b, "fsm", "not_fsm")
    sen = _choice(rng, {"none": 0.85, "sen_support": 0.12, "ehcp": 0.03}, n)
    ability = rng.normal(0, 1, n) - 0.5 * fsm_b - 0.8 * (sen != "none")
    band = np.select([ability < -0.55, ability < 0.65], ["low", "middle"], "high")
    for col in (fsm, sen, band, ethnicity):  # no KS4 record (e.g. schooled abroad)
        col[region == "unknown"] = "unknown"
    linked = rng.random(n) < np.where(ethnicity == "white", 0.975, 0.95)
    pid = pseudonyms(seed, n)

    he = higher_education_tables()
    p_grad = 1 / (1 + np.exp(-(1.1 * ability - 0.35)))
    grad = rng.random(n) < p_grad
    subject = np.array(he.codes)[rng.choice(len(he.codes), n, p=he.share)]
    premium = dict(zip(he.codes, he.earnings_premium, strict=True))
    sizes = he.provider_size / he.provider_size.sum()
    provider = np.array(he.provider_ids)[rng.choice(len(he.provider_ids), n, p=sizes)]
    qualification = _choice(
        rng, {"first_degree": 0.85, "other_undergraduate": 0.05, "postgraduate": 0.10}, n
    )

    frames = []
    for cohort_type in ("ks4", "graduate"):
        sel = np.ones(n, bool) if cohort_type == "ks4" else grad
        base_year = ks4_year if cohort_type == "ks4" else ks4_year + 5
        for ya in YEARS_AFTER:
            tax_year = base_year + 1 + ya
            rows = np.flatnonzero(sel & (tax_year <= last_tax_year))
            if len(rows) == 0:
                continue
            frames.append(
                _outcomes(
                    rng,
                    cohort_type,
                    ya,
                    rows,
                    dict(
                        person_pid=pid,
                        cohort=_labels(base_year),
                        tax_year=tax_year,
                        sex=sex,
                        ethnicity_major=ethnicity,
                        fsm=fsm,
                        sen=sen,
                        prior_attainment_band=band,
                        region=region,
                        subject_cah2=subject,
                        provider_id=provider,
                        qualification=qualification,
                        linked=linked,
                    ),
                    ability,
                    fsm_b,
                    np.array([premium[s] for s in subject]),
                )
            )
    df = pd.concat(frames, ignore_index=True)
    return pa.Table.from_pandas(df, schema=COHORT_OUTCOMES.arrow_schema, preserve_index=False)


def _labels(years: np.ndarray) -> np.ndarray:
    uniq, inverse = np.unique(years, return_inverse=True)
    return np.array([academic_year_label(int(y)) for y in uniq], dtype=object)[inverse]


def _outcomes(
    rng: np.random.Generator,
    cohort_type: str,
    ya: int,
    rows: np.ndarray,
    cols: dict[str, np.ndarray],
    ability: np.ndarray,
    fsm: np.ndarray,
    premium: np.ndarray,
) -> pd.DataFrame:
    m = len(rows)
    out = {k: v[rows] for k, v in cols.items()}
    if cohort_type == "ks4":
        for k in ("subject_cah2", "provider_id", "qualification"):
            out[k] = np.full(m, "n/a", dtype=object)
        shares = np.array(KS4_ACTIVITY[ya])
        median = KS4_MEDIAN[ya]
        prem = 0.0
    else:
        shares = np.array(GRADUATE_ACTIVITY)
        median = GRADUATE_MEDIAN[ya]
        prem = premium[rows]
    # weaker prospects with lower attainment and FSM: shift weight to the last two
    tilt = np.clip(0.5 - 0.25 * ability[rows] + 0.3 * fsm[rows], 0.1, 2.5)
    p = np.tile(shares, (m, 1))
    p[:, 3:] *= tilt[:, None]
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(m)[:, None]
    act = (u > np.cumsum(p, axis=1)).sum(axis=1)
    linked = out["linked"]
    act[~linked] = 4  # not linked: activity not captured
    activity = np.array(ACTIVITIES)[act]
    sustained = act <= 1
    in_education = (act == 1) | (act == 2)
    benefit_p = np.where(act == 3, 0.35, 0.02) * (1 + fsm[rows])
    benefit = (rng.random(m) < benefit_p) & linked
    log_e = np.log(median) + prem + 0.12 * ability[rows] + rng.normal(0, 0.45, m)
    earnings = np.where(sustained, np.round(np.exp(log_e), 2), np.nan)
    return pd.DataFrame(
        {
            "person_pid": out["person_pid"],
            "cohort_type": cohort_type,
            "cohort": out["cohort"],
            "years_after": np.int8(ya),
            "tax_year": out["tax_year"].astype(np.int16),
            "sex": out["sex"],
            "ethnicity_major": out["ethnicity_major"],
            "fsm": out["fsm"],
            "sen": out["sen"],
            "prior_attainment_band": out["prior_attainment_band"],
            "region": out["region"],
            "subject_cah2": out["subject_cah2"],
            "provider_id": out["provider_id"],
            "qualification": out["qualification"],
            "activity": activity,
            "sustained_employment": sustained,
            "in_education": in_education,
            "out_of_work_benefit": benefit,
            "annualised_earnings": earnings,
            "linked": linked,
            "min_match_probability": np.where(linked, 1 - rng.beta(1, 60, m), 1.0),
        }
    )


def write_linked(
    data_root: str | Path, table: pa.Table, run: str = "synthetic-build", latest: bool = True
) -> Path:
    """Write `table` as linked/<run>/cohort_outcomes (local data root) with a small build
    manifest, and point linked/LATEST at it: what `leo build` leaves for `leo publish`."""
    import pyarrow.parquet as pq

    from leo.storage import atomic_dir, write_json_atomic, write_text_atomic

    target = Path(data_root) / "linked" / run
    with atomic_dir(target) as tmp:
        (tmp / "cohort_outcomes").mkdir()
        pq.write_table(table, tmp / "cohort_outcomes" / "part-00000.parquet")
        write_json_atomic(
            tmp / "manifest.json",
            {"run": run, "kind": "synthetic cohort outcomes", "rows": table.num_rows},
        )
    if latest:
        write_text_atomic(Path(data_root) / "linked" / "LATEST", run + "\n")
    return target
