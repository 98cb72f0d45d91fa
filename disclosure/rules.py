"""The primary rules of the policy, applied to the aggregated cube: every cell of every
measure gets a value (or null), a status, a GSS flag and a reason.

Rules by measure kind (conf/disclosure.yaml has the numbers):
- count: under the threshold (zero included, same reason) -> suppressed; else the count plus
  its cell-key noise, rounded to the count base.
- rate, share: denominator under the threshold -> suppressed (group); numerator or
  complement under the threshold -> suppressed (one reason for both, so the reason does not
  say which side is small); else 100 x perturbed numerator / perturbed denominator, rounded
  to the rate step. Computed from perturbed counts, a rate never carries an exact count.
- quantile: fewer contributors than the policy's minimum (20 for a median, 40 for other
  percentiles) -> suppressed; else rounded to the earnings step.
- mean: fewer than the minimum contributors, or dominated (N-K, p-ratio) -> suppressed;
  else rounded to the earnings step.
Rates, shares and earnings on fewer people than `low_reliability_below` are flagged u.

Differencing protection (secondary suppression) comes after, in disclosure/protect.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from disclosure.cube import (
    KEY_COLUMNS,
    contributors_col,
    key_col,
    n_col,
    noise,
    stat_col,
)
from disclosure.policy import Policy
from leo.catalogue import Catalogue, Measure

PUBLISHED, SUPPRESSED, LOW = "published", "suppressed", "low_reliability"
# Internal columns kept beside the release columns while publishing (never written).
TRUE, POP = "_true", "_pop"


def round_count(x: np.ndarray, base: int) -> np.ndarray:
    return np.floor(x / base + 0.5) * base


def round_step(x: np.ndarray, step: float) -> np.ndarray:
    decimals = max(0, int(np.ceil(-np.log10(step) - 1e-9)))
    # half up; the epsilon keeps 12.35 (12.349999... in binary) a tie
    return np.round(np.floor(x / step + 0.5 + 1e-9) * step, decimals)


def apply_rules(
    cube: pd.DataFrame, catalogue: Catalogue, policy: Policy, dims: list[str]
) -> pd.DataFrame:
    """One row per (cube row, measure): the release columns plus TRUE (the unprotected
    value) and POP (people in the cell), for the manifest's statistics."""
    cube = cube.reset_index(drop=True)
    parts = [_measure_cells(cube, m, catalogue, policy) for m in catalogue.measures]
    keys = cube[KEY_COLUMNS + dims]
    frames = []
    for m, (value, status, reason, true) in zip(catalogue.measures, parts, strict=True):
        f = keys.copy()
        f["measure"] = m.id
        f["value"] = np.where(status == SUPPRESSED, np.nan, value)
        f["status"] = status
        f["flag"] = np.select([status == SUPPRESSED, status == LOW], ["c", "u"], None)
        f["reason"] = reason
        f[TRUE] = true
        f[POP] = cube[n_col(catalogue.population.id)].to_numpy()
        frames.append(f)
    cells = pd.concat(frames, ignore_index=True)
    cells["value"] = cells["value"].astype("float64")
    cells.loc[cells["status"] == SUPPRESSED, "value"] = None
    return cells


def _measure_cells(
    cube: pd.DataFrame, m: Measure, catalogue: Catalogue, policy: Policy
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = policy.threshold
    pop = catalogue.population.id
    n = cube[n_col(pop)].to_numpy().astype(np.int64)
    size = len(cube)
    status = np.full(size, PUBLISHED, dtype=object)
    reason = np.empty(size, dtype=object)
    if m.kind == "count":
        k = cube[n_col(m.id)].to_numpy().astype(np.int64)
        perturbed = k + noise(policy, cube[key_col(m.id)].to_numpy())
        value = round_count(perturbed.astype(np.float64), policy.rounding.count_base)
        reason[:] = _count_reason(policy)
        small = k < t
        if not policy.zeros_disclosive:
            zero = k == 0
            value[zero] = 0.0
            reason[zero] = "zero (zeros are not disclosive under this policy)"
            small &= ~zero
        status[small] = SUPPRESSED
        reason[small] = policy.reason_small
        return value, status, reason, k.astype(np.float64)
    if m.kind in ("rate", "share"):
        k = cube[n_col(m.id)].to_numpy().astype(np.int64)
        kp = k + noise(policy, cube[key_col(m.id)].to_numpy())
        nprt = n + noise(policy, cube[key_col(pop)].to_numpy())
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = 100.0 * kp / nprt
            true = 100.0 * k / n
        value = round_step(raw, policy.rounding.rate_step_pp)
        step = policy.rounding.rate_step_pp
        reason[:] = f"from perturbed counts, rounded to {step:g} percentage point"
        low = n < policy.low_reliability_below
        status[low] = LOW
        reason[low] = policy.reason_low_reliability
        small = k < t
        if policy.rates.protect_complement:
            small |= (n - k) < t
        status[small] = SUPPRESSED
        reason[small] = policy.reason_rate
        group = n < t
        status[group] = SUPPRESSED
        reason[group] = policy.reason_group
        return value, status, reason, true
    assert m.column is not None
    c = cube[contributors_col(m.column)].to_numpy().astype(np.int64)
    stat = cube[stat_col(m.id)].to_numpy().astype(np.float64)
    step = policy.rounding.earnings_gbp
    value = round_count(stat, step)
    reason[:] = f"rounded to GBP {step}"
    low = c < policy.low_reliability_below
    status[low] = LOW
    reason[low] = policy.reason_low_reliability
    if m.kind == "mean":
        total = cube[f"sum:{m.column}"].to_numpy().astype(np.float64)
        top1 = cube[f"top1:{m.column}"].to_numpy().astype(np.float64)
        top2 = cube[f"top2:{m.column}"].to_numpy().astype(np.float64)
        d = policy.dominance
        top = top1 + (top2 if d.nk_n == 2 else 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            nk = (total > 0) & (top >= d.nk_k * total)
            pr = (top1 > 0) & ((total - top1 - top2) / top1 < d.p_ratio)
        status[pr] = SUPPRESSED
        reason[pr] = policy.reason_p_ratio
        status[nk] = SUPPRESSED
        reason[nk] = policy.reason_nk
    minimum = policy.earnings.min_contributors(m.quantile if m.kind == "quantile" else None)
    few = c < minimum
    status[few] = SUPPRESSED
    reason[few] = policy.reason_contributors(minimum)
    return value, status, reason, stat


def _count_reason(policy: Policy) -> str:
    base = policy.rounding.count_base
    if policy.differencing.perturbs:
        return f"cell key perturbation, then rounded to {base}"
    return f"rounded to {base}"
