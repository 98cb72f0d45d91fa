"""The fitted Fellegi-Sunter model: the prior and, per comparison, m and u for each level.

Written to `model.json` in a run so the report can draw m, u and the match weights per level
without re-running anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from linkage.comparisons import level_names
from linkage.settings import Settings


@dataclass
class ComparisonModel:
    name: str
    column: str
    kind: str
    levels: list[str]
    m: list[float]
    u: list[float]
    term_frequency: bool = False
    trained_by: list[str] = field(default_factory=list)  # blocking rules whose pairs trained m
    u_counts: list[int] = field(default_factory=list)  # random pairs per level

    def weights(self) -> list[float]:
        """log2(m/u) per level: the match weight a pair gets from this comparison."""
        return [
            math.log2(max(m, 1e-12) / max(u, 1e-12)) for m, u in zip(self.m, self.u, strict=True)
        ]


@dataclass
class Model:
    prior: float  # probability that two random records match (lambda)
    comparisons: list[ComparisonModel]
    em: dict[str, object] = field(default_factory=dict)  # per-rule lambda, iterations, ...
    tf_floor: float = 1e-6  # smallest term frequency used (one record in the population)

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def by_name(self, name: str) -> ComparisonModel:
        return next(c for c in self.comparisons if c.name == name)

    def to_json(self) -> str:
        d = asdict(self)
        d["prior_weight"] = self.prior_weight
        for c, cm in zip(d["comparisons"], self.comparisons, strict=True):
            c["weights"] = cm.weights()
        return json.dumps(d, indent=2, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> Model:
        d = json.loads(text)
        d.pop("prior_weight", None)
        comps = []
        for c in d.pop("comparisons"):
            c.pop("weights", None)
            comps.append(ComparisonModel(**c))
        return cls(comparisons=comps, **d)


def empty_model(settings: Settings) -> Model:
    comps = []
    for c in settings.comparisons:
        levels = level_names(c)
        k = len(levels)
        comps.append(
            ComparisonModel(c.name, c.column, c.kind, levels, [1 / k] * k, [1 / k] * k, c.tf)
        )
    return Model(prior=1e-4, comparisons=comps)


def initial_m(k: int) -> np.ndarray:
    """Starting m for EM: most mass on the best level, decreasing geometrically."""
    m = 0.25 ** np.arange(k, dtype=float)
    return m / m.sum()
