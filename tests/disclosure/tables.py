"""Small hand-made tables for the disclosure tests: release cells as an attacker sees them,
and a policy variant per test (the shipped policy with a few keys changed)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from disclosure.policy import Policy, load_policy
from leo.catalogue import Catalogue, load_catalogue

SLICE = {"cohort_type": "ks4", "cohort": "2014/15", "years_after": 1}


def catalogue() -> Catalogue:
    return load_catalogue()


def dims() -> list[str]:
    return [d.id for d in catalogue().dimensions]


def policy(**changes: Any) -> Policy:
    """The shipped policy with dotted keys changed, e.g.
    policy(**{"differencing.method": "secondary", "rounding.count_base": 1})."""
    data = load_policy().model_dump()
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
    return Policy.model_validate(data)


class Cells:
    """Collects cells of one slice: c(measure, value, **group) published; s(...) suppressed
    with a reason."""

    def __init__(self, pol: Policy) -> None:
        self.pol = pol
        self.rows: list[dict[str, Any]] = []

    def c(self, value: float, measure: str = "cohort_count", **group: str) -> Cells:
        return self._add(measure, value, "published", None, "test value", group)

    def s(self, measure: str = "cohort_count", reason: str | None = None, **group: str) -> Cells:
        return self._add(measure, None, "suppressed", "c", reason or self.pol.reason_small, group)

    def _add(
        self,
        measure: str,
        value: float | None,
        status: str,
        flag: str | None,
        reason: str,
        group: dict[str, str],
    ) -> Cells:
        row: dict[str, Any] = dict(SLICE)
        row.update({d: group.get(d) for d in dims()})
        row.update(measure=measure, value=value, status=status, flag=flag, reason=reason)
        self.rows.append(row)
        return self

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows)
        df["value"] = df["value"].astype("float64")
        return df


def references_example(pol: Policy) -> pd.DataFrame:
    """references.md: counts rounded to 5 (each within +-2). R1 = 55 and R1 male = 50 put
    R1 female in [1, 9]; all-regions female = 45 and R2 female = 35 put it in [6, 14];
    together [6, 9]. Truth: R1F 8, R1M 49, R1 57; R2F 36, R2M 60, R2 96; F 44, M 109; 153."""
    t = Cells(pol)
    t.c(155).c(55, region="R1").c(95, region="R2").c(45, sex="F").c(110, sex="M")
    t.s(region="R1", sex="F").c(50, region="R1", sex="M")
    t.c(35, region="R2", sex="F").c(60, region="R2", sex="M")
    return t.frame()


def small_catalogue(keep: tuple[str, ...] = ("sex", "fsm", "sen")) -> Catalogue:
    """The shipped catalogue with only some dimensions (small grids keep property tests
    fast); every measure is kept."""
    data = load_catalogue().model_dump()
    data["dimensions"] = [d for d in data["dimensions"] if d["id"] in keep]
    for p in data["packages"]:
        p["dimensions"] = [d for d in p["dimensions"] if d in keep]
    return Catalogue.model_validate(data)
