"""A plain pandas aggregation of cohort_outcomes into the cube (disclosure/cube.py), written
independently of the Spark job as the tests' oracle: groupby per grouping set, record keys
from disclosure.cube.record_key, numpy quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from disclosure.cube import KEY_COLUMNS, KEY_MODULUS, record_key
from disclosure.policy import Policy, grouping_sets
from leo.catalogue import Catalogue


def oracle_cube(outcomes: pd.DataFrame, catalogue: Catalogue, policy: Policy) -> pd.DataFrame:
    salt = policy.differencing.cell_key.record_key_salt
    df = outcomes.copy()
    df["__rk"] = [record_key(salt, p) for p in df["person_pid"]]
    all_dims = [d.id for d in catalogue.dimensions]
    rows = []
    for ct, sub in df.groupby("cohort_type"):
        dims = catalogue.dimensions_for(str(ct))
        for d in dims:
            sub = sub.assign(**{d.id: sub[d.column]})
        ids = [d.id for d in dims]
        for combo in grouping_sets(policy, ids):
            for key, g in sub.groupby(["cohort", "years_after", *combo]):
                key = key if isinstance(key, tuple) else (key,)
                row = {"cohort_type": ct, "cohort": key[0], "years_after": key[1]}
                row.update(dict.fromkeys(all_dims))
                row.update(dict(zip(combo, key[2:], strict=True)))
                row.update(_stats(g, catalogue))
                rows.append(row)
    cube = pd.DataFrame(rows)
    cube["years_after"] = cube["years_after"].astype("int8")
    return cube


def _stats(g: pd.DataFrame, catalogue: Catalogue) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in catalogue.measures:
        if m.kind in ("count", "rate", "share"):
            if m.kind == "share":
                mask = g["activity"].isin(m.activity)
            elif m.column is None:
                mask = pd.Series(True, index=g.index)
            else:
                mask = g[m.column].astype(bool)
            out[f"n:{m.id}"] = int(mask.sum())
            out[f"key:{m.id}"] = int(g.loc[mask, "__rk"].sum()) % KEY_MODULUS
    for c in sorted({m.column for m in catalogue.measures if m.kind in ("quantile", "mean")}):
        v = np.sort(g[c].dropna().to_numpy())
        out[f"contributors:{c}"] = len(v)
        out[f"sum:{c}"] = float(v.sum())
        out[f"top1:{c}"] = float(v[-1]) if len(v) else 0.0
        out[f"top2:{c}"] = float(v[-2]) if len(v) > 1 else 0.0
        for m in catalogue.measures:
            if m.column == c and m.kind == "quantile":
                out[f"stat:{m.id}"] = float(np.quantile(v, m.quantile)) if len(v) else np.nan
            elif m.column == c and m.kind == "mean":
                out[f"stat:{m.id}"] = float(v.mean()) if len(v) else np.nan
    return out


def cube_keys(cube: pd.DataFrame, dims: list[str]) -> list[str]:
    return KEY_COLUMNS + dims
