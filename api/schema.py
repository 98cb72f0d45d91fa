"""The GraphQL schema (graphene 3). `api/schema.graphql` is this schema printed; a test fails
when the two drift (regenerate with `leo graphql-schema --out api/schema.graphql`).

Public: `catalogue` (Find & Explore), `register` (the data-sharing register), `release`.
Authenticated: `me`, and `project(id)` for a member of an active project, whose `table` and
`outcomeSummary` answer only from the current release and only within the project's data
packages. Resolvers read everything from the RequestContext the endpoint builds per request
(one release snapshot, the principal, today's date) and add up the cells they return, for
the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from api.access import Principal
from api.errors import Forbidden, Unauthenticated
from api.projects import Project as ProjectConf
from api.projects import ProjectsFile
from api.store import Release as ReleaseData
from api.tables import Filter, Scope, TableData, build_table
from leo import catalogue as cat
from leo.schema import CELL_STATUSES, IDENTIFIER, SOURCES

# -- the per-request context --------------------------------------------------------------


@dataclass
class RequestContext:
    release: ReleaseData
    catalogue: cat.Catalogue
    projects: ProjectsFile
    principal: Principal | None
    today: date
    monthly_counts: Callable[[], dict[str, list[tuple[str, int, int]]]]
    cells_released: int = 0
    cells_suppressed: int = 0
    project_ids: list[str] = field(default_factory=list)

    def named(self, project_id: str) -> None:
        if project_id not in self.project_ids:
            self.project_ids.append(project_id)

    def count(self, table: TableData) -> None:
        self.cells_released += table.released_cells
        self.cells_suppressed += table.suppressed_cells


def ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context  # type: ignore[no-any-return]


def require_principal(info: GraphQLResolveInfo) -> Principal:
    principal = ctx(info).principal
    if principal is None:
        raise Unauthenticated("this field needs a bearer token (Authorization: Bearer leo_pat_...)")
    return principal


def authorize(info: GraphQLResolveInfo, project: ProjectConf) -> Scope:
    """The project's scope, if the caller may query it today; FORBIDDEN otherwise."""
    c = ctx(info)
    principal = require_principal(info)
    c.named(project.id)
    if not principal.accredited_on(c.today):
        raise Forbidden(
            f"the accreditation of analyst {principal.analyst_id} expired on "
            f"{principal.accredited_until.isoformat()}"
        )
    if not project.has_member(principal.analyst_id):
        raise Forbidden(f"analyst {principal.analyst_id} is not a member of project {project.id}")
    if c.today > project.expires:
        raise Forbidden(f"project {project.id} expired on {project.expires.isoformat()}")
    if c.today < project.approved:
        raise Forbidden(f"project {project.id} starts on {project.approved.isoformat()}")
    dims, measures = c.catalogue.scope(project.packages)
    return Scope(project.id, frozenset(dims), frozenset(measures))


def _value(x: Any) -> Any:
    return getattr(x, "value", x)  # graphene passes enum members; plain values elsewhere


# -- enums --------------------------------------------------------------------------------


class CohortType(graphene.Enum):
    KS4 = "ks4"
    GRADUATE = "graduate"


CellStatus = graphene.Enum("CellStatus", [(s.upper(), s) for s in CELL_STATUSES])


class ProjectStatus(graphene.Enum):
    ACTIVE = "active"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"


class VariableKind(graphene.Enum):
    DIMENSION = "dimension"
    MEASURE = "measure"
    SOURCE_COLUMN = "source_column"


def project_status(p: ProjectConf, today: date) -> str:
    if today < p.approved:
        return "not_started"
    return "expired" if today > p.expires else "active"


# -- catalogue ----------------------------------------------------------------------------


class Tier(graphene.ObjectType):
    id = graphene.Int(required=True)
    label = graphene.String(required=True)
    description = graphene.String(required=True)


def _tier(info: GraphQLResolveInfo, tier_id: int) -> cat.Tier:
    return next(t for t in ctx(info).catalogue.tiers if t.id == tier_id)


def _package_of(info: GraphQLResolveInfo, kind: str, item_id: str) -> cat.Package:
    return next(
        p
        for p in ctx(info).catalogue.packages
        if item_id in (p.dimensions if kind == "dimension" else p.measures)
    )


class DimensionCategory(graphene.ObjectType):
    code = graphene.String(required=True)
    label = graphene.String(required=True)


class Dimension(graphene.ObjectType):
    id = graphene.ID(required=True)
    label = graphene.String(required=True)
    definition = graphene.String()
    cohort_types = graphene.List(graphene.NonNull(CohortType), required=True)
    values = graphene.List(
        graphene.NonNull(DimensionCategory),
        required=True,
        description="Known categories in display order (a release may hold other codes).",
    )
    package = graphene.String(required=True, description="Data package id.")
    tier = graphene.Field(Tier, required=True)

    @staticmethod
    def resolve_values(root: cat.Dimension, info: GraphQLResolveInfo) -> list[dict[str, str]]:
        return [{"code": k, "label": v} for k, v in root.values.items()]

    @staticmethod
    def resolve_package(root: cat.Dimension, info: GraphQLResolveInfo) -> str:
        return _package_of(info, "dimension", root.id).id

    @staticmethod
    def resolve_tier(root: cat.Dimension, info: GraphQLResolveInfo) -> cat.Tier:
        return _tier(info, _package_of(info, "dimension", root.id).tier)


class Measure(graphene.ObjectType):
    id = graphene.ID(required=True)
    label = graphene.String(required=True)
    kind = graphene.String(required=True, description="count, share, rate, quantile or mean")
    unit = graphene.String(required=True, description="people, percent or GBP")
    definition = graphene.String(required=True)
    quantile = graphene.Float(
        description="Quantile measures: the level, e.g. 0.25 for a lower quartile."
    )
    activities = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Share measures: the activity categories counted (one category means the "
        "share does not overlap the other one-category shares).",
    )
    package = graphene.String(required=True, description="Data package id.")
    tier = graphene.Field(Tier, required=True)

    @staticmethod
    def resolve_activities(root: cat.Measure, info: GraphQLResolveInfo) -> list[str]:
        return list(root.activity)

    @staticmethod
    def resolve_package(root: cat.Measure, info: GraphQLResolveInfo) -> str:
        return _package_of(info, "measure", root.id).id

    @staticmethod
    def resolve_tier(root: cat.Measure, info: GraphQLResolveInfo) -> cat.Tier:
        return _tier(info, _package_of(info, "measure", root.id).tier)


class DataPackage(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    description = graphene.String(required=True)
    tier = graphene.Field(Tier, required=True)
    always_included = graphene.Boolean(required=True)
    dimensions = graphene.List(graphene.NonNull(Dimension), required=True)
    measures = graphene.List(graphene.NonNull(Measure), required=True)

    @staticmethod
    def resolve_tier(root: cat.Package, info: GraphQLResolveInfo) -> cat.Tier:
        return _tier(info, root.tier)

    @staticmethod
    def resolve_dimensions(root: cat.Package, info: GraphQLResolveInfo) -> list[cat.Dimension]:
        by_id = ctx(info).catalogue.dimension_by_id
        return [by_id[d] for d in root.dimensions]

    @staticmethod
    def resolve_measures(root: cat.Package, info: GraphQLResolveInfo) -> list[cat.Measure]:
        by_id = ctx(info).catalogue.measure_by_id
        return [by_id[m] for m in root.measures]


class Variable(graphene.ObjectType):
    name = graphene.String(required=True)
    label = graphene.String(required=True)
    kind = graphene.Field(VariableKind, required=True)
    definition = graphene.String()
    data_type = graphene.String(description="Source columns: the column's type.")
    direct_identifier = graphene.Boolean(
        required=True, description="A direct identifier: held in the identity zone only."
    )
    package = graphene.String(description="Data package id (dimensions and measures).")
    tier = graphene.Field(Tier)


class Dataset(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    description = graphene.String(required=True)
    published = graphene.Boolean(
        required=True,
        description="True for outcome datasets (released as cells); false for source "
        "datasets, which are described but never released.",
    )
    cohort_type = graphene.Field(CohortType)
    sources = graphene.List(graphene.NonNull(graphene.String), required=True)
    variables = graphene.List(graphene.NonNull(Variable), required=True)

    @staticmethod
    def resolve_published(root: cat.Dataset, info: GraphQLResolveInfo) -> bool:
        return root.cohort_type is not None

    @staticmethod
    def resolve_sources(root: cat.Dataset, info: GraphQLResolveInfo) -> list[str]:
        return root.sources or ([root.source] if root.source else [])

    @staticmethod
    def resolve_variables(root: cat.Dataset, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
        c = ctx(info).catalogue
        if root.source:
            return [
                {
                    "name": col.name,
                    "label": col.name,
                    "kind": "source_column",
                    "definition": col.description,
                    "data_type": str(col.type),
                    "direct_identifier": col.role == IDENTIFIER,
                    "package": None,
                    "tier": None,
                }
                for col in SOURCES[root.source].columns
            ]
        out: list[dict[str, Any]] = []
        for d in c.dimensions_for(root.cohort_type or ""):
            pkg = _package_of(info, "dimension", d.id)
            out.append(
                {
                    "name": d.id,
                    "label": d.label,
                    "kind": "dimension",
                    "definition": d.definition,
                    "data_type": None,
                    "direct_identifier": False,
                    "package": pkg.id,
                    "tier": _tier(info, pkg.tier),
                }
            )
        for m in c.measures:
            pkg = _package_of(info, "measure", m.id)
            out.append(
                {
                    "name": m.id,
                    "label": m.label,
                    "kind": "measure",
                    "definition": m.definition,
                    "data_type": None,
                    "direct_identifier": False,
                    "package": pkg.id,
                    "tier": _tier(info, pkg.tier),
                }
            )
        return out


class Catalogue(graphene.ObjectType):
    datasets = graphene.List(graphene.NonNull(Dataset), required=True)
    packages = graphene.List(graphene.NonNull(DataPackage), required=True)
    tiers = graphene.List(graphene.NonNull(Tier), required=True)
    dimensions = graphene.List(graphene.NonNull(Dimension), required=True)
    measures = graphene.List(graphene.NonNull(Measure), required=True)


# -- register -----------------------------------------------------------------------------


class ProjectOutput(graphene.ObjectType):
    title = graphene.String(required=True)
    published = graphene.Date(required=True)
    url = graphene.String()


class MonthlyCount(graphene.ObjectType):
    month = graphene.String(required=True, description="YYYY-MM (UTC)")
    answered = graphene.Int(required=True)
    refused = graphene.Int(required=True)


def _packages(info: GraphQLResolveInfo, p: ProjectConf) -> list[cat.Package]:
    return [
        pkg for pkg in ctx(info).catalogue.packages if pkg.always_included or pkg.id in p.packages
    ]


class ProjectFields:
    """Fields the register and a project share (all public in the register)."""

    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    organisation = graphene.String(required=True)
    purpose = graphene.String(required=True)
    lawful_basis = graphene.String(required=True)
    approved = graphene.Date(required=True)
    expires = graphene.Date(required=True)
    retain_until = graphene.Date(required=True)
    status = graphene.Field(ProjectStatus, required=True)
    data_packages = graphene.List(graphene.NonNull(DataPackage), required=True)
    outputs = graphene.List(graphene.NonNull(ProjectOutput), required=True)

    @staticmethod
    def resolve_status(root: ProjectConf, info: GraphQLResolveInfo) -> str:
        return project_status(root, ctx(info).today)

    @staticmethod
    def resolve_data_packages(root: ProjectConf, info: GraphQLResolveInfo) -> list[cat.Package]:
        return _packages(info, root)


class RegisterEntry(graphene.ObjectType, ProjectFields):
    queries_per_month = graphene.List(
        graphene.NonNull(MonthlyCount),
        required=True,
        description="API requests that named the project, per month, from the audit log.",
    )

    @staticmethod
    def resolve_queries_per_month(root: ProjectConf, info: GraphQLResolveInfo) -> list[dict]:
        counts = ctx(info).monthly_counts().get(root.id, [])
        return [{"month": m, "answered": a, "refused": r} for m, a, r in counts]


# -- release ------------------------------------------------------------------------------


class QualityFigure(graphene.ObjectType):
    name = graphene.String(required=True, description="Dotted path in the manifest's summary.")
    value = graphene.Float()
    text = graphene.String()


class ReleaseCohort(graphene.ObjectType):
    cohort_type = graphene.Field(CohortType, required=True)
    cohort = graphene.String(required=True)
    years_after = graphene.List(graphene.NonNull(graphene.Int), required=True)


def _flatten(prefix: str, value: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(value, dict):
        for k in sorted(value):
            _flatten(f"{prefix}.{k}" if prefix else str(k), value[k], out)
    elif isinstance(value, bool) or value is None or isinstance(value, str | list):
        out.append({"name": prefix, "value": None, "text": None if value is None else str(value)})
    elif isinstance(value, int | float):
        out.append({"name": prefix, "value": float(value), "text": None})


class Release(graphene.ObjectType):
    id = graphene.ID(required=True)
    created = graphene.String(description="When the release was made (from its manifest).")
    linkage_quality = graphene.List(
        graphene.NonNull(QualityFigure),
        required=True,
        description="The manifest's linkage quality summary, flattened to dotted names.",
    )
    cohorts = graphene.List(graphene.NonNull(ReleaseCohort), required=True)
    dimensions = graphene.List(graphene.NonNull(graphene.String), required=True)
    max_dimensions = graphene.Int(
        required=True, description="Most dimensions one table can combine (by and where)."
    )
    cells = graphene.Int(required=True)
    suppressed_cells = graphene.Int(required=True)

    @staticmethod
    def resolve_linkage_quality(root: ReleaseData, info: GraphQLResolveInfo) -> list[dict]:
        summary = root.manifest.get("linkage_quality") or root.manifest.get(
            "linkage_quality_summary", {}
        )
        out: list[dict[str, Any]] = []
        _flatten("", summary, out)
        return out

    @staticmethod
    def resolve_cohorts(root: ReleaseData, info: GraphQLResolveInfo) -> list[dict]:
        return [
            {"cohort_type": c.cohort_type, "cohort": c.cohort, "years_after": list(c.years_after)}
            for c in root.cohorts
        ]

    @staticmethod
    def resolve_max_dimensions(root: ReleaseData, info: GraphQLResolveInfo) -> int:
        return root.max_group_dims

    @staticmethod
    def resolve_cells(root: ReleaseData, info: GraphQLResolveInfo) -> int:
        return root.n_cells

    @staticmethod
    def resolve_suppressed_cells(root: ReleaseData, info: GraphQLResolveInfo) -> int:
        return root.n_suppressed


# -- tables -------------------------------------------------------------------------------


class Cell(graphene.ObjectType):
    measure = graphene.String(required=True)
    value = graphene.Float(description="Null unless the cell is released.")
    status = graphene.Field(CellStatus, required=True)
    flag = graphene.String(description="GSS symbol: c, low, u, z or x; null when published.")
    reason = graphene.String(description="The disclosure rule that set the status.")


class DimensionValue(graphene.ObjectType):
    dimension = graphene.String(required=True)
    value = graphene.String(required=True)
    label = graphene.String(required=True)


class Row(graphene.ObjectType):
    years_after = graphene.Int(required=True)
    group = graphene.List(graphene.NonNull(DimensionValue), required=True)
    cells = graphene.List(graphene.NonNull(Cell), required=True)


class Table(graphene.ObjectType):
    release = graphene.String(required=True)
    cohort_type = graphene.Field(CohortType, required=True)
    cohort = graphene.String(required=True)
    measures = graphene.List(
        graphene.NonNull(Measure), required=True, description="The columns, in cell order."
    )
    by = graphene.List(graphene.NonNull(graphene.String), required=True)
    rows = graphene.List(graphene.NonNull(Row), required=True)
    suppressed_cells = graphene.Int(required=True)
    notes = graphene.List(graphene.NonNull(graphene.String), required=True)

    @staticmethod
    def resolve_measures(root: TableData, info: GraphQLResolveInfo) -> list[cat.Measure]:
        by_id = ctx(info).catalogue.measure_by_id
        return [by_id[m] for m in root.measures]


class CohortInput(graphene.InputObjectType):
    type = graphene.Field(CohortType, required=True)
    cohort = graphene.String(required=True, description='Academic year label, e.g. "2014/15".')
    years_after = graphene.List(
        graphene.NonNull(graphene.Int), description="Default: every year after in the release."
    )


class FilterInput(graphene.InputObjectType):
    dimension = graphene.String(required=True)
    values = graphene.List(graphene.NonNull(graphene.String), required=True)


def _cohort_args(cohort: Any) -> dict[str, Any]:
    years = cohort.get("years_after")
    return {
        "cohort_type": _value(cohort["type"]),
        "cohort": cohort["cohort"],
        "years_after": None if years is None else list(years),
    }


class Project(graphene.ObjectType, ProjectFields):
    dimensions = graphene.List(
        graphene.NonNull(Dimension),
        required=True,
        cohort_type=graphene.Argument(CohortType),
        description="Dimensions in the project's packages (optionally for one cohort type).",
    )
    measures = graphene.List(graphene.NonNull(Measure), required=True)
    table = graphene.Field(
        Table,
        required=True,
        cohort=graphene.Argument(CohortInput, required=True),
        measures=graphene.Argument(graphene.List(graphene.NonNull(graphene.String)), required=True),
        by=graphene.Argument(graphene.List(graphene.NonNull(graphene.String)), default_value=[]),
        where=graphene.Argument(graphene.List(graphene.NonNull(FilterInput)), default_value=[]),
        description="Measures (columns) by dimensions (rows), one row per years after and "
        "group, from the current release only.",
    )
    outcome_summary = graphene.Field(
        Table,
        required=True,
        cohort=graphene.Argument(CohortInput, required=True),
        by=graphene.String(),
        description="Every measure in the project's scope by years after, optionally broken "
        "down by one dimension.",
    )

    @staticmethod
    def resolve_dimensions(
        root: ProjectConf, info: GraphQLResolveInfo, cohort_type: Any = None
    ) -> list[cat.Dimension]:
        scope = authorize(info, root)
        c = ctx(info).catalogue
        ct = _value(cohort_type)
        return [
            d
            for d in c.dimensions
            if d.id in scope.dimensions and (ct is None or ct in d.cohort_types)
        ]

    @staticmethod
    def resolve_measures(root: ProjectConf, info: GraphQLResolveInfo) -> list[cat.Measure]:
        scope = authorize(info, root)
        return [m for m in ctx(info).catalogue.measures if m.id in scope.measures]

    @staticmethod
    def resolve_table(
        root: ProjectConf,
        info: GraphQLResolveInfo,
        cohort: Any,
        measures: list[str],
        by: list[str],
        where: list[Any],
    ) -> TableData:
        scope = authorize(info, root)
        c = ctx(info)
        table = build_table(
            c.release,
            c.catalogue,
            scope,
            **_cohort_args(cohort),
            measures=list(measures),
            by=list(by or []),
            where=[Filter(f["dimension"], tuple(f["values"])) for f in where or []],
        )
        c.count(table)
        return table

    @staticmethod
    def resolve_outcome_summary(
        root: ProjectConf, info: GraphQLResolveInfo, cohort: Any, by: str | None = None
    ) -> TableData:
        scope = authorize(info, root)
        c = ctx(info)
        measures = [m.id for m in c.catalogue.measures if m.id in scope.measures]
        table = build_table(
            c.release,
            c.catalogue,
            scope,
            **_cohort_args(cohort),
            measures=measures,
            by=[by] if by else [],
            where=[],
        )
        c.count(table)
        return table


class Analyst(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    organisation = graphene.String(required=True)
    accredited_until = graphene.Date(required=True)
    accredited = graphene.Boolean(required=True, description="Accreditation valid today.")
    projects = graphene.List(
        graphene.NonNull(Project), required=True, description="Projects the analyst belongs to."
    )

    @staticmethod
    def resolve_id(root: Principal, info: GraphQLResolveInfo) -> str:
        return root.analyst_id

    @staticmethod
    def resolve_accredited(root: Principal, info: GraphQLResolveInfo) -> bool:
        return root.accredited_on(ctx(info).today)

    @staticmethod
    def resolve_projects(root: Principal, info: GraphQLResolveInfo) -> list[ProjectConf]:
        return ctx(info).projects.for_member(root.analyst_id)


class Query(graphene.ObjectType):
    catalogue = graphene.Field(
        Catalogue, required=True, description="Public: what data is held (Find & Explore)."
    )
    register = graphene.List(
        graphene.NonNull(RegisterEntry),
        required=True,
        description="Public: the data-sharing register of approved projects.",
    )
    release = graphene.Field(
        Release, required=True, description="Public: the release being served."
    )
    me = graphene.Field(Analyst, required=True, description="The analyst the token belongs to.")
    project = graphene.Field(
        Project,
        id=graphene.ID(required=True),
        description="A project the analyst is a member of (active, accredited).",
    )

    @staticmethod
    def resolve_catalogue(root: None, info: GraphQLResolveInfo) -> cat.Catalogue:
        return ctx(info).catalogue

    @staticmethod
    def resolve_register(root: None, info: GraphQLResolveInfo) -> list[ProjectConf]:
        return list(ctx(info).projects.projects)

    @staticmethod
    def resolve_release(root: None, info: GraphQLResolveInfo) -> ReleaseData:
        return ctx(info).release

    @staticmethod
    def resolve_me(root: None, info: GraphQLResolveInfo) -> Principal:
        return require_principal(info)

    @staticmethod
    def resolve_project(root: None, info: GraphQLResolveInfo, id: str) -> ProjectConf:
        project = ctx(info).projects.by_id.get(id)
        if project is None:
            require_principal(info)
            ctx(info).named(id)
            raise Forbidden(f"no approved project {id!r}")
        authorize(info, project)
        return project


schema = graphene.Schema(query=Query, auto_camelcase=True)


def sdl() -> str:
    return str(schema).rstrip() + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
