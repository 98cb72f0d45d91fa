"""Secondary suppression driven by the attack: cells the attacker pins get company.

For each system (population first, since the numerator systems take their denominators
from it), attack; for every pinned target suppress the best candidate among the published
cells that share an equation with it (a sibling with the smallest value first, then the
parent, then children), and attack again, until nothing is pinned. Only cells the attack
shows are needed are suppressed, so suppression stays as low as the rules allow (the
optimal pattern is NP-hard in general; this greedy one is measured in the manifest).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from disclosure.attack import Attack, AttackStats, Finding, Slice, System
from disclosure.policy import Policy
from disclosure.slices import map_slices, split
from leo.catalogue import Catalogue
from leo.errors import LeoError

log = logging.getLogger("disclosure.protect")


class ProtectionError(LeoError):
    """Secondary suppression could not protect every target within max_rounds."""


def protect(
    cells: pd.DataFrame, catalogue: Catalogue, policy: Policy, dims: list[str]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Cells with secondary suppressions added (same index), and a report."""
    report: dict[str, Any] = {"secondary_suppressions": 0, "rounds_max": 0}
    if not policy.differencing.suppresses or cells.empty:
        return cells, report
    parts = split(cells)
    results = map_slices(
        partial(_protect_slice, catalogue=catalogue, policy=policy, dims=dims), parts
    )
    out = pd.concat([r[0] for r in results]).loc[cells.index]
    report["secondary_suppressions"] = sum(r[1]["secondary_suppressions"] for r in results)
    report["rounds_max"] = max(r[1]["rounds_max"] for r in results)
    report["attack"] = AttackStats.merge([r[2] for r in results]).as_dict()
    return out, report


def _protect_slice(
    part: pd.DataFrame, catalogue: Catalogue, policy: Policy, dims: list[str]
) -> tuple[pd.DataFrame, dict[str, Any], AttackStats]:
    attack = Attack(part, catalogue, policy, dims)
    report: dict[str, Any] = {"secondary_suppressions": 0, "rounds_max": 0}
    for sl in attack.slices:
        t0 = time.perf_counter()
        pop_id = catalogue.population.id
        if pop_id not in sl.rows:
            continue
        pop = _until_clean(
            attack, sl, partial(attack.count_system, sl, catalogue.population), report
        )
        for m in catalogue.measures:
            if m.id == pop_id or m.id not in sl.rows:
                continue
            if m.kind == "count":
                _until_clean(attack, sl, partial(attack.count_system, sl, m), report)
            elif m.kind in ("rate", "share"):
                _until_clean(attack, sl, partial(attack.numerator_system, sl, m, pop), report)
        log.info(
            "slice %s %s +%d: %d groups, %d secondary suppressions (%.1f s)",
            *sl.key,
            len(sl.groups),
            report["secondary_suppressions"],
            time.perf_counter() - t0,
        )
    cells = attack.cells
    cells.index = part.index
    return cells, report, attack.stats


def _until_clean(attack: Attack, sl: Slice, build: Any, report: dict[str, Any]) -> System:
    policy = attack.policy
    only: set[int] | None = None
    times_pinned: dict[int, int] = {}
    for rounds in range(1, policy.differencing.max_rounds + 1):
        system: System = build()
        # suppressing a cell only widens bounds, so targets once protected stay protected:
        # after the first round only the pinned ones are examined again
        findings = attack.solve(system, only)
        broken = [f for f in findings if f.kind == "inconsistent"]
        if broken:
            raise ProtectionError(f"the cells contradict the policy: {broken[0].describe()}")
        pinned = [f for f in findings if f.kind == "pinned"]
        if not pinned:
            report["rounds_max"] = max(report["rounds_max"], rounds)
            return system
        only = {int(np.flatnonzero(system.rows == f.row)[0]) for f in pinned}
        # a cell pinned again gets one more companion each round
        chosen: set[int] = set()
        for f in pinned:
            times_pinned[f.row] = times_pinned.get(f.row, 0) + 1
            chosen |= _choose(attack, f, times_pinned[f.row])
        for row in chosen:
            attack.cells.loc[row, ["value", "status", "flag", "reason"]] = [
                None,
                "suppressed",
                "c",
                policy.reason_secondary,
            ]
        report["secondary_suppressions"] += len(chosen)
    raise ProtectionError(
        f"secondary suppression did not converge in {policy.differencing.max_rounds} rounds "
        f"for {sl.key}; still pinned: {pinned[0].describe()}"
    )


def _choose(attack: Attack, f: Finding, n: int) -> set[int]:
    """The first n published candidates of a pinned cell."""
    status = attack.cells["status"]
    free = [row for row in f.candidates if status.iat[row] != "suppressed"][:n]
    if not free:
        raise ProtectionError(f"no published cell left to protect {f.describe()}")
    return set(free)
