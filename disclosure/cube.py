"""The aggregated cube: what the publish job's grouping-sets pass hands to the rules, one
row per cell (cohort type, cohort, years after, dimension values with None = all).

Columns besides the keys (names built here, so the Spark job, the rules and the tests agree):
    n:<measure>        people counted by a count measure, or the numerator of a rate/share
    key:<measure>      the cell key of those people: sum of their record keys mod 2**32
    contributors:<c>   people with a value of numeric column c (earnings)
    sum:<c>, top1:<c>, top2:<c>   its total and two largest values (dominance)
    stat:<measure>     the quantile or mean of a quantile/mean measure

The cell key method (ABS): every person has a record key, a uniform 32-bit integer derived
from the person pseudonym and a fixed salt; a cell's key is the sum of its people's keys
mod 2**32, read as a fraction of 1; the noise is the p-table entry that fraction falls in.
The same set of people therefore gets the same noise in every grouping set (and, with the
same salt, in every release).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from disclosure.policy import Policy, grouping_sets
from leo.catalogue import Catalogue, Measure

KEY_COLUMNS = ["cohort_type", "cohort", "years_after"]
KEY_MODULUS = 1 << 32


def n_col(measure: str) -> str:
    return f"n:{measure}"


def key_col(measure: str) -> str:
    return f"key:{measure}"


def contributors_col(column: str) -> str:
    return f"contributors:{column}"


def stat_col(measure: str) -> str:
    return f"stat:{measure}"


def counted(catalogue: Catalogue) -> list[Measure]:
    """Measures whose cells count people (counts, and rate/share numerators)."""
    return [m for m in catalogue.measures if m.kind in ("count", "rate", "share")]


def earnings_columns(catalogue: Catalogue) -> list[str]:
    return sorted({m.column for m in catalogue.measures if m.kind in ("quantile", "mean")})


def record_key(salt: str, person_pid: str) -> int:
    """The record key of one person (the Spark job computes the same with sha2/conv)."""
    return int(hashlib.sha256((salt + person_pid).encode()).hexdigest()[:8], 16)


def noise(policy: Policy, keys: np.ndarray) -> np.ndarray:
    """p-table noise for cell keys (integers; taken mod 2**32). Zero without perturbation."""
    keys = np.asarray(keys, dtype=np.int64)
    if not policy.differencing.perturbs:
        return np.zeros(keys.shape, dtype=np.int64)
    table = policy.differencing.cell_key.ptable
    values = np.array(list(table.keys()), dtype=np.int64)
    cumulative = np.cumsum(np.array(list(table.values()), dtype=np.float64))
    u = (keys % KEY_MODULUS).astype(np.float64) / KEY_MODULUS
    idx = np.minimum(np.searchsorted(cumulative, u, side="right"), len(values) - 1)
    return values[idx]


def group_mask(cells: pd.DataFrame, dims: list[str]) -> np.ndarray:
    """Bit i set when dims[i] is grouped (not null) in the cell."""
    mask = np.zeros(len(cells), dtype=np.int64)
    for i, d in enumerate(dims):
        mask |= cells[d].notna().to_numpy().astype(np.int64) << i
    return mask


def complete(cube: pd.DataFrame, catalogue: Catalogue, policy: Policy) -> pd.DataFrame:
    """Add the empty groups: every grouping set of every slice gets every combination of
    its dimensions' values (the catalogue's, plus any other value seen for that cohort
    type), with zero counts. Otherwise an absent row would say "nobody" and a present one
    "at least one": zeros would be disclosed by their absence, and a small parent over many
    present children would pin each of them. Zeros are then suppressed like small counts."""
    import itertools

    all_dims = [d.id for d in catalogue.dimensions]
    stats = [c for c in cube.columns if c not in KEY_COLUMNS + all_dims]
    zero_fill = {c: 0 for c in stats if not c.startswith("stat:")}
    frames = []
    for ct, sub in cube.groupby("cohort_type", sort=False):
        dims = [d for d in catalogue.dimensions_for(str(ct))]
        values = {}
        for d in dims:
            seen = set(sub[d.id].dropna().unique())
            listed = list(d.values)
            values[d.id] = listed + sorted(seen - set(listed))
        slices = sub[KEY_COLUMNS].drop_duplicates()
        mask = group_mask(sub, all_dims)
        bit = {d: 1 << i for i, d in enumerate(all_dims)}
        for combo in grouping_sets(policy, [d.id for d in dims]):
            m = sum(bit[d] for d in combo)
            have = sub[mask == m]
            grid = pd.DataFrame(
                list(itertools.product(*(values[d] for d in combo))), columns=list(combo)
            )
            full = slices.merge(grid, how="cross") if combo else slices.copy()
            for d in all_dims:
                if d not in combo:
                    full[d] = None
            on = KEY_COLUMNS + list(combo)
            full = full.merge(have[on + stats], on=on, how="left")
            frames.append(full)
    out = pd.concat(frames, ignore_index=True)
    out = out.fillna(zero_fill)
    for c in zero_fill:
        if c.startswith(("n:", "key:", "contributors:")):
            out[c] = out[c].astype("int64")
    out["years_after"] = out["years_after"].astype("int8")
    return out[KEY_COLUMNS + all_dims + stats]
