"""Tables answered from a release's cells, within a project's scope.

`build_table` checks the request against the scope first (an out-of-scope dimension, filter
or measure is FORBIDDEN before any cell is read), then against the release (unknown cohort,
years after or grouping is BAD_USER_INPUT), then picks the cells of one grouping set per
years-after and arranges them into rows. A computed table depends only on the release and
the arguments, so it is memoised on the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from api.errors import BadInput, Forbidden
from api.store import Release
from leo.catalogue import Catalogue


class Scope(NamedTuple):
    project_id: str
    dimensions: frozenset[str]
    measures: frozenset[str]


class Cell(NamedTuple):
    measure: str
    value: float | None
    status: str
    flag: str | None
    reason: str | None


class DimensionValue(NamedTuple):
    dimension: str
    value: str
    label: str


class Row(NamedTuple):
    years_after: int
    group: tuple[DimensionValue, ...]
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Filter:
    dimension: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class TableData:
    release: str
    cohort_type: str
    cohort: str
    measures: tuple[str, ...]
    by: tuple[str, ...]
    rows: tuple[Row, ...]
    suppressed_cells: int
    released_cells: int
    notes: tuple[str, ...]


MISSING = ("unavailable", "x", "no cell for this group in the release")


def check_scope(catalogue: Catalogue, scope: Scope, measures: list[str], dims: list[str]) -> None:
    unknown_m = [m for m in measures if m not in catalogue.measure_by_id]
    unknown_d = [d for d in dims if d not in catalogue.dimension_by_id]
    if unknown_m or unknown_d:
        what = [f"measure {m!r}" for m in unknown_m] + [f"dimension {d!r}" for d in unknown_d]
        raise BadInput(f"not in the catalogue: {', '.join(what)}")
    out_m = [m for m in measures if m not in scope.measures]
    out_d = [d for d in dict.fromkeys(dims) if d not in scope.dimensions]
    if out_m or out_d:
        what = [f"measure {m!r}" for m in out_m] + [f"dimension {d!r}" for d in out_d]
        raise Forbidden(
            f"project {scope.project_id} has no data package with {', '.join(what)}; "
            "see the project's dataPackages"
        )


def build_table(
    release: Release,
    catalogue: Catalogue,
    scope: Scope,
    *,
    cohort_type: str,
    cohort: str,
    years_after: list[int] | None,
    measures: list[str],
    by: list[str],
    where: list[Filter],
) -> TableData:
    check_scope(catalogue, scope, measures, by + [f.dimension for f in where])
    if not measures:
        raise BadInput("ask for at least one measure")
    for label, items in (
        ("measures", measures),
        ("by", by),
        ("where", [f.dimension for f in where]),
    ):
        dupes = sorted({x for x in items if items.count(x) > 1})
        if dupes:
            raise BadInput(f"{label}: listed more than once: {dupes}")
    for f in where:
        if not f.values:
            raise BadInput(f"where: filter on {f.dimension!r} has no values")
    group = by + [f.dimension for f in where if f.dimension not in by]
    for d in group:
        if cohort_type not in catalogue.dimension_by_id[d].cohort_types:
            raise BadInput(f"dimension {d!r} does not apply to {cohort_type} cohorts")
    available = release.years_after(cohort_type, cohort)
    if available is None:
        cohorts = sorted(c.cohort for c in release.cohorts if c.cohort_type == cohort_type)
        raise BadInput(
            f"release {release.id} has no {cohort_type} cohort {cohort!r}; it has {cohorts}"
        )
    years = list(available) if years_after is None else sorted(set(years_after))
    missing_years = [y for y in years if y not in available]
    if missing_years:
        raise BadInput(
            f"{cohort_type} cohort {cohort} has no years after {missing_years} in release "
            f"{release.id}; it has {list(available)}"
        )
    if len(group) > release.max_group_dims:
        raise BadInput(
            f"release {release.id} publishes at most {release.max_group_dims} dimension(s) "
            f"at once (asked for {len(group)}: by and where together)"
        )
    mask = release.mask(tuple(group))
    if mask is None:
        absent = [d for d in group if release.mask((d,)) is None]
        raise BadInput(f"release {release.id} has no dimension(s) {absent}")

    key = (
        "table",
        cohort_type,
        cohort,
        tuple(years),
        tuple(measures),
        tuple(by),
        tuple((f.dimension, f.values) for f in where),
    )
    hit = release.memo.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    table = _assemble(
        release, catalogue, cohort_type, cohort, years, measures, by, where, group, mask
    )
    release.memo.put(key, table, weight=len(table.rows) * len(measures) + 1)
    return table


def _assemble(
    release: Release,
    catalogue: Catalogue,
    cohort_type: str,
    cohort: str,
    years: list[int],
    measures: list[str],
    by: list[str],
    where: list[Filter],
    group: list[str],
    mask: int,
) -> TableData:
    # Release cells list group values in release.dimensions order; rows use `group` order.
    release_order = [d for d in release.dimensions if d in group]
    pick = [release_order.index(d) for d in group]
    allowed = {group.index(f.dimension): frozenset(f.values) for f in where}
    wanted = set(measures)
    dims = [catalogue.dimension_by_id[d] for d in group]
    orders = [{code: i for i, code in enumerate(d.values)} for d in dims]

    grouped: dict[tuple[int, tuple[str, ...]], dict[str, Cell]] = {}
    for ya in years:
        for values, measure, value, status, flag, reason in release.cells(
            cohort_type, cohort, ya, mask
        ):
            if measure not in wanted:
                continue
            ordered = tuple(values[i] for i in pick)
            if any(ordered[i] not in ok for i, ok in allowed.items()):
                continue
            grouped.setdefault((ya, ordered), {})[measure] = Cell(
                measure, value, status, flag, reason
            )

    def sort_key(item: tuple[tuple[int, tuple[str, ...]], dict[str, Cell]]) -> tuple[object, ...]:
        (ya, values), _ = item
        return (ya, *((orders[i].get(v, len(orders[i])), v) for i, v in enumerate(values)))

    rows = []
    suppressed = released = low = 0
    for (ya, values), cells_by_measure in sorted(grouped.items(), key=sort_key):
        cells = tuple(cells_by_measure.get(m) or Cell(m, None, *MISSING) for m in measures)
        for c in cells:
            suppressed += c.status == "suppressed"
            released += c.value is not None
            low += c.status == "low_reliability"
        group_values = tuple(
            DimensionValue(d.id, v, d.value_label(v)) for d, v in zip(dims, values, strict=True)
        )
        rows.append(Row(ya, group_values, cells))

    notes = [f"Release {release.id}; {cohort_type} cohort {cohort}."]
    for f in where:
        notes.append(f"Only {f.dimension} in {list(f.values)}.")
    if suppressed:
        notes.append(
            f"{suppressed} cell(s) suppressed (flag c) to protect confidentiality; "
            "each cell's reason names the rule."
        )
    if low:
        notes.append(f"{low} cell(s) of low reliability (flag u): use with caution.")
    if not rows:
        notes.append("No cells match this request.")
    return TableData(
        release=release.id,
        cohort_type=cohort_type,
        cohort=cohort,
        measures=tuple(measures),
        by=tuple(by),
        rows=tuple(rows),
        suppressed_cells=suppressed,
        released_cells=released,
        notes=tuple(notes),
    )
