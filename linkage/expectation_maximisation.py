"""m-probabilities and the prior by expectation maximisation (design section 5, step 5).

EM never touches pairs: it works on the counts of distinct comparison patterns (one row per
combination of levels and of the blocking rules the pair satisfies), which the backend
aggregates (a Spark groupBy: a few thousand rows whatever the population) and hands to the
driver.

As in Splink, u stays fixed at its random-sampling estimate, and m is trained on the pairs of
each blocking rule separately with the comparisons on that rule's columns switched off (those
pairs agree on them by construction, so they say nothing about m). Each comparison's m is the
average over the rules that trained it, weighted by the expected matches in each. The prior
(the probability that two random records match) is then the expected number of matches among
all candidate pairs divided by the number of possible pairs, solved as a fixed point.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from linkage.comparisons import gamma_column
from linkage.model import Model, initial_m
from linkage.settings import Settings

log = logging.getLogger(__name__)
M_FLOOR = 1e-6


def _log_bf(
    g: np.ndarray, logm: list[np.ndarray], logu: list[np.ndarray], active: list[bool]
) -> np.ndarray:
    total = np.zeros(g.shape[0])
    for c, on in enumerate(active):
        if not on:
            continue
        col = g[:, c]
        present = col >= 0
        idx = np.where(present, col, 0)
        total += np.where(present, logm[c][idx] - logu[c][idx], 0.0)
    return total


def _posterior(lbf: np.ndarray, lam: float) -> np.ndarray:
    z = np.log(lam) - np.log1p(-lam) + lbf
    return 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))


def run_em(
    g: np.ndarray,
    counts: np.ndarray,
    u: list[np.ndarray],
    active: list[bool],
    m_init: list[np.ndarray] | None = None,
    lam: float = 0.3,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> tuple[list[np.ndarray], float, int, np.ndarray]:
    """EM over pattern counts with u fixed. g: patterns x comparisons (levels, -1 missing).
    Returns (m per comparison, lambda, iterations, matches per comparison = sum of posterior
    over patterns where that comparison is present)."""
    m = [np.array(x, dtype=float) for x in (m_init or [initial_m(len(x)) for x in u])]
    logu = [np.log(x) for x in u]
    n_total = counts.sum()
    it = 0
    while it < max_iterations:
        it += 1
        post = _posterior(_log_bf(g, [np.log(x) for x in m], logu, active), lam) * counts
        new_lam = float(np.clip(post.sum() / n_total, 1e-12, 1 - 1e-12))
        change = abs(new_lam - lam)
        new_m = []
        for c, on in enumerate(active):
            if not on:
                new_m.append(m[c])
                continue
            col = g[:, c]
            k = len(u[c])
            sums = np.bincount(col[col >= 0].astype(int), weights=post[col >= 0], minlength=k)[:k]
            mc = np.maximum(sums / max(sums.sum(), 1e-300), M_FLOOR)
            mc /= mc.sum()
            change = max(change, float(np.abs(mc - m[c]).max()))
            new_m.append(mc)
        m, lam = new_m, new_lam
        if change < tolerance:
            break
    post = _posterior(_log_bf(g, [np.log(x) for x in m], logu, active), lam) * counts
    matches = np.array([post[g[:, c] >= 0].sum() for c in range(g.shape[1])])
    return m, lam, it, matches


def fit(patterns: pd.DataFrame, settings: Settings, model: Model, total_pairs: int) -> None:
    """Train m per blocking rule and the prior, in place on `model`. `patterns` holds one
    `gamma_<label>` column per comparison, `__mask` and `n` (pair count)."""
    gcols = [gamma_column(c) for c in settings.comparisons]
    g = patterns[gcols].to_numpy(dtype=np.int64)
    mask = patterns["__mask"].to_numpy(dtype=np.int64)
    counts = patterns["n"].to_numpy(dtype=float)
    u = [np.array(model.by_name(c.name).u) for c in settings.comparisons]
    n_comp = len(settings.comparisons)
    m_sum = [np.zeros(len(x)) for x in u]
    w_sum = np.zeros(n_comp)
    per_rule = []
    for r in range(len(settings.blocking_rules)):
        rows = (mask >> r) & 1 == 1
        used = settings.rule_columns(r)
        active = [
            c.column not in used and (c.swap_with or "") not in used for c in settings.comparisons
        ]
        entry: dict[str, object] = {"rule": settings.rule_text(r), "pairs": int(counts[rows].sum())}
        if not rows.any() or not any(active):
            entry["trained"] = []
            per_rule.append(entry)
            continue
        m, lam, iterations, matches = run_em(
            g[rows],
            counts[rows],
            u,
            active,
            max_iterations=settings.em_max_iterations,
            tolerance=settings.em_tolerance,
        )
        trained = []
        for c in range(n_comp):
            if active[c] and matches[c] > 0.5:
                m_sum[c] += m[c] * matches[c]
                w_sum[c] += matches[c]
                trained.append(settings.comparisons[c].name)
        entry.update(
            {
                "lambda": lam,
                "iterations": iterations,
                "expected_matches": float(lam * counts[rows].sum()),
                "trained": trained,
            }
        )
        per_rule.append(entry)
        log.debug(
            "EM on rule %s: lambda %.4g after %d iterations", settings.rule_text(r), lam, iterations
        )
    for c, comp in enumerate(settings.comparisons):
        cm = model.by_name(comp.name)
        cm.trained_by = [str(e["rule"]) for e in per_rule if comp.name in e.get("trained", [])]  # type: ignore[operator]
        if w_sum[c] > 0:
            cm.m = [float(x) for x in m_sum[c] / w_sum[c]]
        else:
            log.warning(
                "comparison %s: no blocking rule could train m (every rule uses its column); "
                "using the starting values",
                comp.name,
            )
            cm.m = [float(x) for x in initial_m(len(cm.levels))]
    model.em = {"rules": per_rule}
    if settings.probability_two_random_records_match is not None:
        model.prior = settings.probability_two_random_records_match
        model.em["prior"] = "fixed in settings"
    else:
        model.prior, it = estimate_prior(g, counts, model, settings, total_pairs)
        model.em["prior"] = f"fixed point over all candidate pairs ({it} iterations)"


def estimate_prior(
    g: np.ndarray, counts: np.ndarray, model: Model, settings: Settings, total_pairs: int
) -> tuple[float, int]:
    """lambda = expected matches among candidate pairs / all possible pairs, at the fixed
    point (pairs that are not candidates are taken as non-matches)."""
    logm = [np.log(np.array(model.by_name(c.name).m)) for c in settings.comparisons]
    logu = [np.log(np.array(model.by_name(c.name).u)) for c in settings.comparisons]
    lbf = _log_bf(g, logm, logu, [True] * len(settings.comparisons))
    total = max(total_pairs, int(counts.sum()), 1)
    lam = max(counts.sum() / total * 0.1, 1e-12)
    it = 0
    while it < 500:
        it += 1
        new = float(np.clip((_posterior(lbf, lam) * counts).sum() / total, 1e-15, 0.5))
        if abs(new - lam) <= 1e-9 * lam:
            lam = new
            break
        lam = new
    return lam, it
