"""The audit of a release: the differencing attack (disclosure/attack.py) and every
invariant of the policy. Publication runs it on the cells it is about to publish and
refuses a release that fails; `leo audit-release` runs it on a published release.

Invariants checked on the cells alone (what anyone holding the release can check):
- every cell has a known status, the flag its status implies (c, u; none when published)
  and a reason; a suppressed cell has no value;
- no published count under the threshold (zero only when zeros are not disclosive), every
  count on its rounding base, rates within 0-100 on the rate step, earnings on their step;
- no measure is a statistic the policy never releases (min, max);
- every grouping set is complete when zeros are disclosive (no absent group says "nobody");
- no suppressed cell can be pinned by subtraction, no published rate gives a small
  numerator back (the attack).
With the aggregated research-zone cube (publication has it): no published cell rests on
fewer people, numerators, complements or earners than the rules allow, and no published
mean is dominated.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from disclosure.attack import Finding, run_attack
from disclosure.cube import KEY_COLUMNS, contributors_col, group_mask, n_col
from disclosure.policy import Policy
from leo.catalogue import Catalogue
from leo.schema import CELL_STATUSES

FLAG_OF = {"suppressed": "c", "low_reliability": "u", "not_applicable": "z", "unavailable": "x"}
SHOWN = 20  # findings and violations listed in a report (all are counted)


@dataclass
class AuditReport:
    passed: bool
    cells: int
    suppressed: int
    violations: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    attack: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "cells": self.cells,
            "suppressed": self.suppressed,
            "violations": len(self.violations),
            "violations_shown": self.violations[:SHOWN],
            "pinned": sum(f.kind == "pinned" for f in self.findings),
            "rate_leaks": sum(f.kind == "rate_leak" for f in self.findings),
            "inconsistent": sum(f.kind == "inconsistent" for f in self.findings),
            "findings_shown": [f.describe() for f in self.findings[:SHOWN]],
            "attack": self.attack,
            "seconds": round(self.seconds, 2),
        }

    def summary(self) -> str:
        d = self.as_dict()
        head = "PASSED" if self.passed else "FAILED"
        lines = [
            f"audit {head}: {self.cells:,} cells, {self.suppressed:,} suppressed; "
            f"{d['pinned']} pinned, {d['rate_leaks']} rate leaks, {d['violations']} violations; "
            f"{self.attack.get('linear_programmes', 0):,} linear programmes over "
            f"{self.attack.get('systems', 0):,} systems, narrowest interval "
            f"{self.attack.get('narrowest_interval')} ({self.seconds:.1f} s)"
        ]
        lines += [f"  - {v}" for v in self.violations[:SHOWN]]
        lines += [f"  - {f}" for f in d["findings_shown"]]
        return "\n".join(lines)


def audit(
    cells: pd.DataFrame,
    catalogue: Catalogue,
    policy: Policy,
    dims: list[str],
    cube: pd.DataFrame | None = None,
) -> AuditReport:
    start = time.perf_counter()
    cells = cells.reset_index(drop=True)
    violations = _cell_invariants(cells, catalogue, policy)
    violations += _complete_grids(cells, catalogue, policy, dims)
    if cube is not None:
        violations += _truth_invariants(cells, cube, catalogue, policy, dims)
    findings, stats = run_attack(cells, catalogue, policy, dims)
    suppressed = int((cells["status"] == "suppressed").sum())
    return AuditReport(
        passed=not violations and not findings,
        cells=len(cells),
        suppressed=suppressed,
        violations=violations,
        findings=findings,
        attack=stats.as_dict(),
        seconds=time.perf_counter() - start,
    )


def _bad(what: str, mask: np.ndarray, cells: pd.DataFrame) -> list[str]:
    n = int(mask.sum())
    if not n:
        return []
    first = cells[mask].iloc[0]
    where = f"{first['cohort_type']} {first['cohort']} +{first['years_after']} {first['measure']}"
    return [f"{what}: {n} cell(s), e.g. {where} value {first['value']}"]


def _on_grid(value: np.ndarray, step: float) -> np.ndarray:
    q = value / step
    return np.abs(q - np.round(q)) < 1e-6


def _cell_invariants(cells: pd.DataFrame, catalogue: Catalogue, policy: Policy) -> list[str]:
    out: list[str] = []
    status = cells["status"].to_numpy()
    flag = cells["flag"].to_numpy()
    value = cells["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    has = ~np.isnan(value)
    out += _bad("unknown status", ~np.isin(status, CELL_STATUSES), cells)
    expected = np.array([FLAG_OF.get(s) for s in status], dtype=object)
    out += _bad("flag does not match status", expected != flag, cells)
    out += _bad("no reason", pd.isna(cells["reason"]).to_numpy(), cells)
    out += _bad("suppressed cell with a value", (status == "suppressed") & has, cells)
    shown = has & (status != "suppressed")
    kinds = {m.id: m.kind for m in catalogue.measures}
    unknown = sorted(set(cells["measure"]) - set(kinds))
    if unknown:
        out.append(f"measures not in the catalogue: {unknown}")
    for m in catalogue.measures:
        words = {m.kind, *m.id.split("_")}
        if words & set(policy.never_release):
            out.append(f"measure {m.id}: a statistic the policy never releases")
    kind = cells["measure"].map(kinds).to_numpy()
    t = policy.threshold
    count = shown & (kind == "count")
    allowed_zero = (value == 0) & (not policy.zeros_disclosive)
    out += _bad(f"published count under {t}", count & (value < t) & ~allowed_zero, cells)
    base = policy.rounding.count_base
    out += _bad(f"count not a multiple of {base}", count & ~_on_grid(value, base), cells)
    rate = shown & np.isin(kind, ["rate", "share"])
    step = policy.rounding.rate_step_pp
    out += _bad("rate outside 0-100", rate & ((value < 0) | (value > 100)), cells)
    out += _bad(f"rate not on a {step:g} pp step", rate & ~_on_grid(value, step), cells)
    money = shown & np.isin(kind, ["quantile", "mean"])
    gbp = policy.rounding.earnings_gbp
    out += _bad(f"earnings not a multiple of {gbp}", money & ~_on_grid(value, gbp), cells)
    return out


def _complete_grids(
    cells: pd.DataFrame, catalogue: Catalogue, policy: Policy, dims: list[str]
) -> list[str]:
    """With zeros disclosive, every grouping set must hold every combination of its
    dimensions' values (those seen for the cohort type): an absent group would say
    "nobody", and the attack's bounds (0 to threshold - 1 for a suppressed count) assume
    none is absent."""
    if not policy.zeros_disclosive or cells.empty:
        return []
    pop = cells[cells["measure"] == catalogue.population.id]
    out = []
    for ct, sub in pop.groupby("cohort_type"):
        values = {d: sub[d].dropna().nunique() for d in dims}
        mask = group_mask(sub, dims)
        sizes = sub.groupby([*KEY_COLUMNS, mask]).size()
        for (_, cohort, ya, m), n in sizes.items():
            want = int(np.prod([values[d] for i, d in enumerate(dims) if m >> i & 1]))
            if n != want:
                grouped = [d for i, d in enumerate(dims) if m >> i & 1]
                out.append(
                    f"incomplete grouping set {grouped} in {ct} {cohort} +{ya}: {n} groups of "
                    f"{want} (an absent group discloses a zero)"
                )
                break
    return out


def _truth_invariants(
    cells: pd.DataFrame,
    cube: pd.DataFrame,
    catalogue: Catalogue,
    policy: Policy,
    dims: list[str],
) -> list[str]:
    """The rules re-checked against the unprotected aggregates."""
    keys = KEY_COLUMNS + dims
    joined = cells.merge(cube, on=keys, how="left", indicator=True)
    out = _bad("cell with no aggregate", (joined["_merge"] != "both").to_numpy(), joined)
    shown = (joined["status"] != "suppressed").to_numpy()
    t = policy.threshold
    pop = joined[n_col(catalogue.population.id)].to_numpy()
    for m in catalogue.measures:
        mine = shown & (joined["measure"] == m.id).to_numpy()
        if m.kind == "count":
            k = joined[n_col(m.id)].to_numpy()
            low = (k < t) & ~((k == 0) & (not policy.zeros_disclosive))
            out += _bad(f"{m.id}: published on fewer than {t} people", mine & low, joined)
        elif m.kind in ("rate", "share"):
            k = joined[n_col(m.id)].to_numpy()
            small = (pop < t) | (k < t)
            if policy.rates.protect_complement:
                small |= (pop - k) < t
            out += _bad(
                f"{m.id}: published on a small numerator or complement", mine & small, joined
            )
        else:
            assert m.column is not None
            c = joined[contributors_col(m.column)].to_numpy()
            q = m.quantile if m.kind == "quantile" else None
            need = policy.earnings.min_contributors(q)
            out += _bad(
                f"{m.id}: published on fewer than {need} earners", mine & (c < need), joined
            )
            if m.kind == "mean":
                total = joined[f"sum:{m.column}"].to_numpy(dtype=np.float64)
                top1 = joined[f"top1:{m.column}"].to_numpy(dtype=np.float64)
                top2 = joined[f"top2:{m.column}"].to_numpy(dtype=np.float64)
                d = policy.dominance
                top = top1 + (top2 if d.nk_n == 2 else 0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    dominated = ((total > 0) & (top >= d.nk_k * total)) | (
                        (top1 > 0) & ((total - top1 - top2) / top1 < d.p_ratio)
                    )
                out += _bad(f"{m.id}: published although dominated", mine & dominated, joined)
    return out


def suppression_statistics(cells: pd.DataFrame, catalogue: Catalogue) -> dict[str, Any]:
    """Per measure: cells, share suppressed (primary and secondary), share flagged u, and the
    mean absolute distortion of published values against the truth (TRUE column)."""
    from disclosure.rules import POP, TRUE

    stats: dict[str, Any] = {}
    nonempty_all = cells[POP] > 0
    for m in catalogue.measures:
        c = cells[cells["measure"] == m.id]
        if c.empty:
            continue
        sup = c["status"] == "suppressed"
        secondary = sup & c["reason"].str.startswith("secondary")
        shown = ~sup
        dist = (c.loc[shown, "value"] - c.loc[shown, TRUE]).abs()
        nonempty = c[POP] > 0
        stats[m.id] = {
            "unit": m.unit,
            "cells": len(c),
            "share_suppressed": round(float(sup.mean()), 5),
            # of the cells whose group has anybody in it (empty groups are always suppressed)
            "share_suppressed_nonempty": round(float(sup[nonempty].mean()), 5)
            if nonempty.any()
            else None,
            "share_suppressed_primary": round(float((sup & ~secondary).mean()), 5),
            "share_suppressed_secondary": round(float(secondary.mean()), 5),
            "share_low_reliability": round(float((c["status"] == "low_reliability").mean()), 5),
            "mean_absolute_distortion": None if dist.empty else round(float(dist.mean()), 4),
        }
    sup = cells["status"] == "suppressed"
    stats["all"] = {
        "cells": len(cells),
        "share_suppressed": round(float(sup.mean()), 5) if len(cells) else math.nan,
        "share_suppressed_nonempty": round(float(sup[nonempty_all].mean()), 5)
        if nonempty_all.any()
        else None,
    }
    return stats
