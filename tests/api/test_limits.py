"""Query measurements behind the depth, alias, cost and introspection limits."""

from __future__ import annotations

from graphql import get_introspection_query, parse

from api.limits import measure, root_fields


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
