"""The disclosure policy (conf/disclosure.yaml): one validated model that the publish job
applies, the audit checks against, and docs/releases.md's policy table is rendered from.

Validation errors name the file and the key (leo.config), e.g.
`disclosure.yaml: key 'differencing.cell_key.ptable': probabilities sum to 0.9, not 1`.
"""

from __future__ import annotations

import hashlib
import math
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from leo.config import StrictModel, load_conf, load_model

Method = Literal["cell_key", "secondary", "cell_key_and_secondary"]


class Rounding(StrictModel):
    count_base: int = Field(5, ge=1)
    rate_step_pp: float = Field(0.1, gt=0)
    earnings_gbp: int = Field(100, ge=1)

    @property
    def count_half(self) -> int:
        """How far a rounded count can be from the value it rounds (integers, half up)."""
        return self.count_base // 2


class Rates(StrictModel):
    protect_complement: bool = True


class Earnings(StrictModel):
    mean_min_contributors: int = Field(10, ge=1)
    median_min_contributors: int = Field(20, ge=1)
    quantile_min_contributors: int = Field(40, ge=1)

    def min_contributors(self, quantile: float | None) -> int:
        if quantile is None:
            return self.mean_min_contributors
        if math.isclose(quantile, 0.5):
            return self.median_min_contributors
        return self.quantile_min_contributors


class Dominance(StrictModel):
    nk_n: int = Field(2, ge=1, le=2)
    nk_k: float = Field(0.90, gt=0, le=1)
    p_ratio: float = Field(0.10, ge=0)


class CellKey(StrictModel):
    record_key_salt: str = Field(min_length=1)
    ptable: dict[int, float]

    @field_validator("ptable")
    @classmethod
    def _valid_ptable(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("needs at least one noise value")
        if any(p < 0 for p in v.values()):
            raise ValueError("probabilities must be >= 0")
        total = sum(v.values())
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"probabilities sum to {total:g}, not 1")
        mean = sum(k * p for k, p in v.items())
        if not math.isclose(mean, 0.0, abs_tol=1e-9):
            raise ValueError(f"noise must have mean 0 (unbiased), has mean {mean:g}")
        return v

    @property
    def max_noise(self) -> int:
        return max(abs(k) for k in self.ptable)


class Differencing(StrictModel):
    method: Method = "cell_key_and_secondary"
    protection_width: float = Field(5, gt=0)
    max_rounds: int = Field(200, ge=1)
    cell_key: CellKey

    @property
    def perturbs(self) -> bool:
        return self.method in ("cell_key", "cell_key_and_secondary")

    @property
    def suppresses(self) -> bool:
        return self.method in ("secondary", "cell_key_and_secondary")


class Policy(StrictModel):
    max_dimensions: int = Field(2, ge=0, le=4)
    # Dimensions published on their own only, never crossed with another (see the yaml).
    uncrossed_dimensions: list[str] = Field(default_factory=list)
    threshold: int = Field(10, ge=1)
    zeros_disclosive: bool = True
    rounding: Rounding = Rounding()
    rates: Rates = Rates()
    earnings: Earnings = Earnings()
    dominance: Dominance = Dominance()
    never_release: list[str] = Field(default_factory=lambda: ["min", "max"])
    low_reliability_below: int = Field(50, ge=0)
    differencing: Differencing

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        noise = self.differencing.cell_key.max_noise
        if self.differencing.perturbs and noise >= self.threshold:
            raise ValueError(
                f"differencing.cell_key.ptable: noise up to {noise} could take a count over "
                f"the threshold ({self.threshold}) to zero or below"
            )
        return self

    @property
    def max_noise(self) -> int:
        """Largest perturbation of any count (0 without the cell key method)."""
        return self.differencing.cell_key.max_noise if self.differencing.perturbs else 0

    @property
    def count_slack(self) -> int:
        """How far the true count behind a published count can be from it: rounding plus
        perturbation. The attacker knows this (the policy is public)."""
        return self.rounding.count_half + self.max_noise

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    # reasons: one text per rule, shared by the publish job and the audit
    @property
    def reason_small(self) -> str:
        zeros = " (or none)" if self.zeros_disclosive else ""
        return f"fewer than {self.threshold} people{zeros}"

    @property
    def reason_group(self) -> str:
        return f"group of fewer than {self.threshold} people"

    @property
    def reason_rate(self) -> str:
        if self.rates.protect_complement:
            return f"fewer than {self.threshold} people with, or without, this outcome"
        return f"fewer than {self.threshold} people with this outcome"

    def reason_contributors(self, n: int) -> str:
        return f"fewer than {n} earners"

    @property
    def reason_nk(self) -> str:
        return (
            f"dominance: the top {self.dominance.nk_n} earners hold "
            f"{self.dominance.nk_k:.0%} or more of the total"
        )

    @property
    def reason_p_ratio(self) -> str:
        return f"dominance: p-ratio under {self.dominance.p_ratio:g}"

    @property
    def reason_secondary(self) -> str:
        return "secondary suppression (protects another cell from differencing)"

    @property
    def reason_low_reliability(self) -> str:
        return f"fewer than {self.low_reliability_below} people behind the figure"

    @property
    def primary_reasons(self) -> set[str]:
        return {self.reason_small, self.reason_group, self.reason_rate}


def load_policy(conf_dir: str | Path | None = None, path: str | Path | None = None) -> Policy:
    if path is not None:
        return load_model(Policy, path)
    return load_conf(Policy, "disclosure.yaml", conf_dir)


def policy_markdown(policy: Policy) -> str:
    """The policy as a Markdown table (docs/releases.md); generated, so it cannot drift from the
    configuration."""
    d, e, r = policy.differencing, policy.earnings, policy.rounding
    ptable = ", ".join(f"{k:+d}: {v:g}" for k, v in d.cell_key.ptable.items())
    rows = [
        (
            "grouping sets",
            f"every combination of up to {policy.max_dimensions} dimensions"
            + (
                f"; {', '.join(policy.uncrossed_dimensions)} on its own only"
                if policy.uncrossed_dimensions
                else ""
            ),
        ),
        ("minimum count", f"{policy.threshold} people (unweighted) behind any published cell"),
        (
            "zeros",
            "suppressed as small counts, under the same reason"
            if policy.zeros_disclosive
            else "published as 0",
        ),
        ("counts", f"rounded to the nearest {r.count_base}"),
        (
            "rates and shares",
            f"from perturbed counts, to {r.rate_step_pp:g} percentage point; suppressed when "
            f"the numerator{' or its complement' if policy.rates.protect_complement else ''} "
            f"is under {policy.threshold}",
        ),
        ("earnings", f"to the nearest GBP {r.earnings_gbp}"),
        (
            "percentiles",
            f"at least {e.median_min_contributors} earners for a median, "
            f"{e.quantile_min_contributors} for other percentiles",
        ),
        (
            "means",
            f"at least {e.mean_min_contributors} earners; dominance: top "
            f"{policy.dominance.nk_n} >= {policy.dominance.nk_k:.0%} of the total (N-K), or "
            f"p-ratio < {policy.dominance.p_ratio:g}",
        ),
        ("never released", ", ".join(policy.never_release)),
        (
            "low reliability (u)",
            f"rates and earnings on fewer than {policy.low_reliability_below} people",
        ),
        ("differencing", f"`{d.method}`; protection width {d.protection_width:g} people"),
        (
            "cell key",
            f"record key SHA-256(salt + pseudonym)[:32 bits]; p-table {ptable} "
            f"(max noise {d.cell_key.max_noise})",
        ),
        ("symbols", "c suppressed, u low reliability; a published cell has no flag"),
    ]
    lines = ["| rule | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    return "\n".join(lines) + "\n"


def grouping_sets(policy: Policy, dimensions: list[str]) -> list[tuple[str, ...]]:
    """The grouping sets a release holds for a cohort type with these dimensions, in order:
    the total, then every combination of up to `max_dimensions` dimensions, except those
    crossing an uncrossed dimension with another. The one home of this rule: the publish
    job, the grid completion, the audit and the tests' oracle all call it."""
    import itertools

    uncrossed = set(policy.uncrossed_dimensions)
    return [
        combo
        for r in range(policy.max_dimensions + 1)
        for combo in itertools.combinations(dimensions, r)
        if len(combo) <= 1 or not uncrossed.intersection(combo)
    ]
