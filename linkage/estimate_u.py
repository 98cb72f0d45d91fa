"""u-probabilities from random pairs (design section 5, step 5).

Two records drawn at random almost never match, so the share of random pairs at each level of
a comparison estimates u, the probability of that level among non-matches. Pairs are drawn
from a sample of records (at most `u_sample_records`), `u_sample_pairs` of them, respecting
the link type (link_only: records of different sources), and compared with the same
vectorised functions as candidate pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.blocking import SRC
from linkage.comparisons import Dictionaries, compare_indexed, gamma_column, level_names
from linkage.model import Model
from linkage.settings import Settings


def random_pairs(
    sources: np.ndarray, n_pairs: int, link_only: bool, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i != j; different sources for link_only) drawn uniformly at random."""
    rng = np.random.default_rng(seed)
    n = len(sources)
    if n < 2:
        return np.array([], dtype=int), np.array([], dtype=int)
    got_i, got_j, have = [], [], 0
    for _ in range(50):
        i = rng.integers(0, n, size=n_pairs)
        j = rng.integers(0, n, size=n_pairs)
        ok = i != j
        if link_only:
            ok &= sources[i] != sources[j]
        got_i.append(i[ok])
        got_j.append(j[ok])
        have += int(ok.sum())
        if have >= n_pairs:
            break
    return np.concatenate(got_i)[:n_pairs], np.concatenate(got_j)[:n_pairs]


def estimate_u(
    sample: pd.DataFrame, settings: Settings, model: Model, dicts: Dictionaries
) -> dict[str, int]:
    """Set u of every comparison in `model` from random pairs of `sample` (standardised
    coded records with `__src`); returns the count of pairs compared."""
    i, j = random_pairs(
        sample[SRC].to_numpy(),
        settings.u_sample_pairs,
        settings.link_type == "link_only",
        settings.seed,
    )
    levels = compare_indexed(sample, i, j, settings, dicts)
    for comp in settings.comparisons:
        k = len(level_names(comp))
        g = levels[gamma_column(comp)].to_numpy()
        counts = np.bincount(g[g >= 0].astype(int), minlength=k)[:k]
        # Laplace smoothing: a level never seen among random pairs is rare, not impossible.
        u = (counts + 1.0) / (counts.sum() + k)
        cm = model.by_name(comp.name)
        cm.u = [float(x) for x in u]
        cm.u_counts = [int(x) for x in counts]
    return {"random pairs": len(i)}
