"""The data catalogue: datasets, data packages, dimensions and measures (conf/catalogue.yaml).

One home for the vocabulary of releases. The publish job reads it to know what to compute;
the API reads it to scope each project to its packages and to describe everything publicly.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from leo.config import StrictModel, load_conf, load_model
from leo.schema import COHORT_OUTCOMES, SOURCES

CohortType = Literal["ks4", "graduate"]
MeasureKind = Literal["count", "share", "rate", "quantile", "mean"]


class Dataset(StrictModel):
    id: str
    title: str
    description: str
    cohort_type: CohortType | None = None  # an outcome dataset (published)
    source: str | None = None  # a source dataset (identity zone; described, never released)
    sources: list[str] = Field(default_factory=list)


class Tier(StrictModel):
    id: int
    label: str
    description: str


class Package(StrictModel):
    id: str
    title: str
    tier: int
    description: str
    dimensions: list[str] = Field(default_factory=list)
    measures: list[str] = Field(default_factory=list)
    always_included: bool = False


class Dimension(StrictModel):
    id: str
    column: str
    label: str
    cohort_types: list[CohortType]
    values: dict[str, str] = Field(default_factory=dict)
    definition: str | None = None

    def value_label(self, code: str) -> str:
        return self.values.get(code, code)


class Measure(StrictModel):
    id: str
    label: str
    kind: MeasureKind
    unit: Literal["people", "percent", "GBP"]
    definition: str
    # count/rate: the boolean column counted; quantile/mean: the numeric column summarised
    column: str | None = None
    activity: list[str] = Field(default_factory=list)  # share: the activity categories counted
    quantile: float | None = Field(default=None, gt=0, lt=1)


class Definition(StrictModel):
    """A derived variable of the research zone, in plain English (implemented by `leo build`)."""

    id: str
    label: str
    definition: str


class Catalogue(StrictModel):
    datasets: list[Dataset]
    tiers: list[Tier]
    packages: list[Package]
    dimensions: list[Dimension]
    measures: list[Measure]
    definitions: list[Definition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        dims = {d.id for d in self.dimensions}
        measures = {m.id for m in self.measures}
        tiers = {t.id for t in self.tiers}
        outcome_columns = set(COHORT_OUTCOMES.names)
        for p in self.packages:
            if p.tier not in tiers:
                raise ValueError(f"package '{p.id}': tier {p.tier} is not one of {sorted(tiers)}")
            for d in p.dimensions:
                if d not in dims:
                    raise ValueError(f"package '{p.id}': unknown dimension '{d}'")
            for m in p.measures:
                if m not in measures:
                    raise ValueError(f"package '{p.id}': unknown measure '{m}'")
        for d in self.dimensions:
            if d.column not in outcome_columns:
                raise ValueError(f"dimension '{d.id}': column '{d.column}' not in cohort_outcomes")
        for m in self.measures:
            if m.kind in ("rate", "quantile", "mean") and m.column is None:
                raise ValueError(f"measure '{m.id}': a {m.kind} needs a cohort_outcomes column")
            if m.column is not None:
                if m.column not in outcome_columns:
                    raise ValueError(
                        f"measure '{m.id}': column '{m.column}' not in cohort_outcomes"
                    )
                numeric = m.kind in ("quantile", "mean")
                is_bool = str(COHORT_OUTCOMES.column(m.column).type) == "bool"
                if is_bool == numeric:
                    want = "a numeric" if numeric else "a boolean"
                    raise ValueError(f"measure '{m.id}': column '{m.column}' is not {want} column")
            if m.kind == "share" and not m.activity:
                raise ValueError(f"measure '{m.id}': a share needs its activity categories")
            if m.kind == "quantile" and m.quantile is None:
                raise ValueError(f"measure '{m.id}': a quantile needs `quantile`")
        populations = [m.id for m in self.measures if m.kind == "count" and m.column is None]
        if len(populations) != 1:
            raise ValueError(
                f"exactly one count measure without a column (the population) is needed, "
                f"found {populations}"
            )
        seen = [d.id for d in self.definitions]
        repeated = sorted({i for i in seen if seen.count(i) > 1})
        if repeated:
            raise ValueError(f"definitions: repeated id(s) {repeated}")
        for ds in self.datasets:
            if ds.source and ds.source not in SOURCES:
                raise ValueError(f"dataset '{ds.id}': unknown source '{ds.source}'")
        for kind, ids in (("dimension", dims), ("measure", measures)):
            owners: dict[str, int] = {}
            for p in self.packages:
                for x in p.dimensions if kind == "dimension" else p.measures:
                    owners[x] = owners.get(x, 0) + 1
            orphans = sorted(i for i in ids if owners.get(i, 0) != 1)
            if orphans:
                raise ValueError(f"each {kind} must be in exactly one package: {orphans}")
        return self

    @cached_property
    def definition_by_id(self) -> dict[str, Definition]:
        return {d.id: d for d in self.definitions}

    @cached_property
    def dimension_by_id(self) -> dict[str, Dimension]:
        return {d.id: d for d in self.dimensions}

    @cached_property
    def measure_by_id(self) -> dict[str, Measure]:
        return {m.id: m for m in self.measures}

    @cached_property
    def package_by_id(self) -> dict[str, Package]:
        return {p.id: p for p in self.packages}

    @cached_property
    def population(self) -> Measure:
        """The count of everybody in a cell (kind count, no column): the denominator of
        every rate and share."""
        return next(m for m in self.measures if m.kind == "count" and m.column is None)

    def dimensions_for(self, cohort_type: str) -> list[Dimension]:
        return [d for d in self.dimensions if cohort_type in d.cohort_types]

    def scope(self, package_ids: list[str]) -> tuple[set[str], set[str]]:
        """(dimension ids, measure ids) that a project holding `package_ids` may see;
        packages marked always_included come with every project."""
        chosen = [p for p in self.packages if p.always_included or p.id in package_ids]
        return (
            {d for p in chosen for d in p.dimensions},
            {m for p in chosen for m in p.measures},
        )


def load_catalogue(conf_dir: str | Path | None = None, path: str | Path | None = None) -> Catalogue:
    if path is not None:
        return load_model(Catalogue, path)
    return load_conf(Catalogue, "catalogue.yaml", conf_dir)
