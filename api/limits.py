"""Validation rules that bound what one query may cost: depth, aliases and cost, plus a
separate bound on introspection (which nests deeper than data queries, so it gets its own
depth, and a cap on list fields per path, because `types { fields { type { fields ... }}}`
fans out geometrically).

The measurements walk each operation with its fragments expanded, memoising each fragment
(a fragment spread twice in a fragment spread twice ... is counted, not re-walked), and
survive fragment cycles (which the spec rule NoFragmentCyclesRule reports).

One spec rule needs its own bound: OverlappingFieldsCanBeMergedRule compares every pair of
fields that share a response name, so a document repeating one field a few hundred times
(`{ release { id id id ... } }`, within the token limit) costs about a second of CPU to
validate, on the event loop, before any limit of ours can refuse it. graphql-core meters
that work (MAX_COMPLEXITY_BUDGET, 500,000 by default) and aborts validation when it runs
out; MERGE_BUDGET lowers it to what real queries need (the pages, GraphiQL and the
benchmark query spend nothing: their fields have distinct names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from graphql.validation.rules import overlapping_fields_can_be_merged

from api.errors import QUERY_TOO_COMPLEX
from api.settings import Limits

# Work units (about two per pair of same-named fields compared) one validation may spend on
# merging fields before it is aborted (QUERY_TOO_COMPLEX). Read by graphql-core when the rule
# starts; a process-wide setting, and the API is the only user of graphql-core in its process.
MERGE_BUDGET = 10_000
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = MERGE_BUDGET

# What a field costs; anything not named costs 1, introspection and __typename cost 0.
FIELD_COSTS = {"table": 100, "outcomeSummary": 100, "register": 10}
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
INTROSPECTION_LISTS = frozenset(
    {
        "types",
        "fields",
        "inputFields",
        "interfaces",
        "possibleTypes",
        "enumValues",
        "args",
        "directives",
    }
)


@dataclass(frozen=True)
class Shape:
    depth: int = 0  # nesting of data fields
    intro_depth: int = 0  # nesting of paths through introspection
    intro_lists: int = 0  # list fields on one introspection path
    aliases: int = 0
    cost: int = 0


def _merge(a: Shape, b: Shape) -> Shape:
    return Shape(
        max(a.depth, b.depth),
        max(a.intro_depth, b.intro_depth),
        max(a.intro_lists, b.intro_lists),
        a.aliases + b.aliases,
        a.cost + b.cost,
    )


class _Walker:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[tuple[str, bool], Shape] = {}
        self.stack: set[str] = set()

    def selections(self, node: SelectionSetNode | None, intro: bool) -> Shape:
        out = Shape()
        if node is None:
            return out
        for sel in node.selections:
            if isinstance(sel, FieldNode):
                out = _merge(out, self.field(sel, intro))
            elif isinstance(sel, InlineFragmentNode):
                out = _merge(out, self.selections(sel.selection_set, intro))
            elif isinstance(sel, FragmentSpreadNode):
                out = _merge(out, self.spread(sel.name.value, intro))
        return out

    def field(self, node: FieldNode, intro: bool) -> Shape:
        name = node.name.value
        inside = intro or name in INTROSPECTION_ROOTS
        child = self.selections(node.selection_set, inside)
        alias = 1 if node.alias is not None else 0
        if inside:
            lists = child.intro_lists + (1 if intro and name in INTROSPECTION_LISTS else 0)
            return Shape(0, 1 + child.intro_depth, lists, alias + child.aliases, child.cost)
        cost = 0 if name == "__typename" else FIELD_COSTS.get(name, 1)
        return Shape(
            1 + child.depth,
            1 + child.intro_depth if child.intro_depth else 0,
            child.intro_lists,
            alias + child.aliases,
            cost + child.cost,
        )

    def spread(self, name: str, intro: bool) -> Shape:
        key = (name, intro)
        if key in self.memo:
            return self.memo[key]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.stack:
            return Shape()  # unknown fragments and cycles are reported by the spec rules
        self.stack.add(name)
        shape = self.selections(fragment.selection_set, intro)
        self.stack.discard(name)
        self.memo[key] = shape
        return shape


def measure(document: DocumentNode) -> Shape:
    """The largest depth and the total aliases and cost over the document's operations."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walker = _Walker(fragments)
    out = Shape()
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            out = _merge(out, walker.selections(d.selection_set, False))
    return out


def root_fields(document: DocumentNode) -> frozenset[str]:
    """Names of the fields at the root of every operation (fragments followed one level)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: set[str] = set()

    def collect(node: SelectionSetNode, seen: frozenset[str]) -> None:
        for sel in node.selections:
            if isinstance(sel, FieldNode):
                names.add(sel.name.value)
            elif isinstance(sel, InlineFragmentNode):
                collect(sel.selection_set, seen)
            elif isinstance(sel, FragmentSpreadNode):
                f = fragments.get(sel.name.value)
                if f is not None and f.name.value not in seen:
                    collect(f.selection_set, seen | {f.name.value})

    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            collect(d.selection_set, frozenset())
    return frozenset(names)


def _too_complex(message: str, node: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": QUERY_TOO_COMPLEX})


def limit_rules(limits: Limits) -> tuple[type[ValidationRule], ...]:
    """The depth, alias and cost rules for these limits, to pass after the spec rules."""

    class DepthLimitRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            shape = measure(node)
            if shape.depth > limits.max_depth:
                self.report_error(
                    _too_complex(
                        f"query depth {shape.depth} exceeds the limit of {limits.max_depth}", node
                    )
                )
            if shape.intro_depth > limits.max_introspection_depth:
                self.report_error(
                    _too_complex(
                        f"introspection depth {shape.intro_depth} exceeds the limit of "
                        f"{limits.max_introspection_depth}",
                        node,
                    )
                )
            if shape.intro_lists > limits.max_introspection_lists:
                self.report_error(
                    _too_complex(
                        f"introspection nests {shape.intro_lists} list fields on one path; "
                        f"the limit is {limits.max_introspection_lists}",
                        node,
                    )
                )

    class AliasLimitRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            shape = measure(node)
            if shape.aliases > limits.max_aliases:
                self.report_error(
                    _too_complex(
                        f"{shape.aliases} aliases exceed the limit of {limits.max_aliases}", node
                    )
                )

    class CostLimitRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            shape = measure(node)
            if shape.cost > limits.max_cost:
                self.report_error(
                    _too_complex(
                        f"query cost {shape.cost} exceeds the limit of {limits.max_cost} "
                        f"(table and outcomeSummary cost {FIELD_COSTS['table']} each)",
                        node,
                    )
                )

    return DepthLimitRule, AliasLimitRule, CostLimitRule
