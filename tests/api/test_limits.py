"""Query measurements behind the depth, alias, cost and introspection limits, and the
budget on graphql-core's own field-merging check."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import GraphQLError, get_introspection_query, parse, specified_rules, validate
from graphql.validation.validate import ValidationAbortedError

from api.limits import MERGE_BUDGET, limit_rules, measure, root_fields
from api.schema import schema
from api.settings import Limits
from tests.api.conftest import TABLE_QUERY


def test_depth_aliases_cost() -> None:
    shape = measure(parse('{ a: release { id } b: project(id: "x") { table { rows { x } } } }'))
    assert shape.depth == 4
    assert shape.aliases == 2
    assert shape.cost == 2 + 1 + 100 + 1 + 1  # release id, project, table, rows, x


def test_fragments_are_counted_per_use_and_memoised() -> None:
    frags = "\n".join(f"fragment F{i} on T {{ ...F{i + 1} ...F{i + 1} }}" for i in range(60))
    doc = parse("{ release { ...F0 } }\n" + frags + "\nfragment F60 on T { a: id }")
    shape = measure(doc)  # 2^60 uses: counted, not expanded
    assert shape.aliases == 2**60
    assert shape.depth == 2


def test_cycles_do_not_hang() -> None:
    doc = parse("{ release { ...A } } fragment A on T { ...B } fragment B on T { id ...A }")
    assert measure(doc).depth == 2


def test_introspection_is_measured_apart() -> None:
    shape = measure(parse(get_introspection_query(descriptions=True)))
    assert shape.depth == 0 and shape.cost == 0
    assert shape.intro_lists == 3  # types -> fields -> args
    assert 9 <= shape.intro_depth <= 15
    fan = measure(parse("{ __schema { types { fields { type { fields { name } } } } } }"))
    assert fan.intro_lists == 3
    deeper = measure(
        parse("{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }")
    )
    assert deeper.intro_lists == 4


def test_root_fields_follow_fragments() -> None:
    doc = parse("query { ...R release { id } } fragment R on Query { me { id } }")
    assert root_fields(doc) == {"release", "me"}


def _validate(query: str) -> list[GraphQLError]:
    rules = (*specified_rules, *limit_rules(Limits()))
    return validate(schema.graphql_schema, parse(query, max_tokens=Limits().max_tokens), rules)


def test_repeated_fields_exhaust_the_merge_budget_not_the_cpu() -> None:
    """Regression: `{ release { id id ... } }` made graphql-core compare every pair of the
    repeated fields: 400 of them spent 160,000 units of its 500,000 default budget (about
    0.3 s of CPU on the event loop) and were answered; 990 spent the whole budget. The
    budget is now MERGE_BUDGET, so both stop early."""
    from graphql.validation.rules import overlapping_fields_can_be_merged

    assert overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET == MERGE_BUDGET
    for n in (400, 990):
        errors = _validate("{ release { " + "id " * n + "} }")
        assert [type(e) for e in errors] == [ValidationAbortedError]
    # ten repeats are nothing: 2 * 45 pairs
    assert _validate("{ release { " + "id " * 10 + "} }") == []


def test_real_queries_spend_no_merge_budget() -> None:
    """The pages' queries, GraphiQL's introspection and the API tests' table query pass."""
    pages = Path(__file__).resolve().parents[2] / "api" / "static" / "pages"
    queries = [get_introspection_query(descriptions=True), TABLE_QUERY]
    for script in sorted(pages.glob("*.js")):
        queries += re.findall(r"const Q\w* = `(.*?)`;", script.read_text(), re.S)
    assert len(queries) >= 6
    for q in queries:
        assert _validate(q) == [], q
