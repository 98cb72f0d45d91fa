"""The endpoint over real HTTP: public and authenticated fields, scope, limits, bombs,
masked errors."""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from graphql import get_introspection_query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api.schema
from api.errors import CODES
from tests.api.conftest import TABLE_QUERY, Client, Env, codes, make_env, serve
from tests.reliability import Reliability

KS4 = {"type": "KS4", "cohort": "2014/15", "yearsAfter": [1]}
ROOMY = {"requests_per_minute": 100_000, "anonymous_requests_per_minute": 100_000}


def table_vars(**kw: Any) -> dict[str, Any]:
    v: dict[str, Any] = {"cohort": KS4, "measures": ["cohort_count"], "by": [], "where": []}
    v.update(kw)
    return v


# -- anonymous ----------------------------------------------------------------------------


def test_anonymous_sees_public_fields(client: Client) -> None:
    r = client.post(
        "{ release { id } catalogue { packages { id tier { id } } } register { id title } }"
    )
    assert r.status_code == 200
    body = r.json()
    assert "errors" not in body
    assert body["data"]["release"]["id"] == "r1"
    assert {p["id"] for p in body["data"]["catalogue"]["packages"]} >= {"core", "earnings"}
    assert [e["id"] for e in body["data"]["register"]] == ["p-active", "p-other", "p-expired"]


def test_register_is_public_but_hides_members(client: Client) -> None:
    body = client.gql("{ register { id members } }")
    assert codes(body) == ["BAD_USER_INPUT"]  # no such field: members are not published


@pytest.mark.parametrize(
    "query",
    [
        "{ me { id } }",
        '{ project(id: "p-active") { id } }',
        '{ release { id } project(id: "p-active") { title } }',
    ],
)
def test_anonymous_cannot_reach_authenticated_fields(client: Client, query: str) -> None:
    body = client.gql(query)
    assert codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None  # not even the public sibling field


def test_catalogue_describes_sources_without_releasing_them(client: Client) -> None:
    body = client.gql(
        "{ catalogue { datasets { id published variables { name kind directIdentifier } } } }"
    )
    datasets = {d["id"]: d for d in body["data"]["catalogue"]["datasets"]}
    ks4_source = datasets["npd_ks4"]
    assert ks4_source["published"] is False
    names = {v["name"]: v for v in ks4_source["variables"]}
    assert names["surname"]["directIdentifier"] is True
    assert names["attainment8"]["directIdentifier"] is False
    outcomes = {v["name"]: v["kind"] for v in datasets["leo_ks4_outcomes"]["variables"]}
    assert outcomes["earnings_median"] == "MEASURE"
    assert outcomes["sex"] == "DIMENSION"
    assert "subject_cah2" not in outcomes  # a graduate-only dimension


def test_measures_carry_quantile_levels_and_activity_categories(client: Client) -> None:
    """What a chart needs to pick quartiles and a non-overlapping stack of activity shares."""
    body = client.gql("{ catalogue { measures { id kind quantile activities } } }")
    measures = {m["id"]: m for m in body["data"]["catalogue"]["measures"]}
    assert measures["earnings_lower_quartile"]["quantile"] == 0.25
    assert measures["earnings_upper_quartile"]["quantile"] == 0.75
    assert measures["earnings_mean"]["quantile"] is None
    assert measures["share_study_only"]["activities"] == ["study_only"]
    assert measures["share_employment_with_or_without_study"]["activities"] == [
        "employment_only",
        "employment_and_study",
    ]
    assert measures["cohort_count"]["activities"] == []


# -- members and scope --------------------------------------------------------------------


def test_member_gets_cells_with_status_flag_and_reason(client: Client, env: Env) -> None:
    v = table_vars(measures=["cohort_count", "earnings_median"], by=["region"])
    body = client.gql(TABLE_QUERY, v, token=env.tokens["alice"])
    assert "errors" not in body
    table = body["data"]["project"]["table"]
    assert table["release"] == "r1"
    assert table["suppressedCells"] == 1
    [north_east, london] = table["rows"]
    assert north_east["group"] == [
        {"dimension": "region", "value": "E12000001", "label": "North East"}
    ]
    assert north_east["cells"][0] == {
        "measure": "cohort_count",
        "value": 40.0,
        "status": "PUBLISHED",
        "flag": None,
        "reason": None,
    }
    assert north_east["cells"][1] == {
        "measure": "earnings_median",
        "value": None,
        "status": "SUPPRESSED",
        "flag": "c",
        "reason": "fewer than 10 contributors",
    }
    assert london["cells"][1]["value"] == 15100.0
    assert any("suppressed" in n for n in table["notes"])


def test_non_member_is_forbidden(client: Client, env: Env) -> None:
    body = client.gql(TABLE_QUERY, table_vars(), token=env.tokens["bob"])
    assert codes(body) == ["FORBIDDEN"]
    assert "not a member of project p-active" in body["errors"][0]["message"]
    assert body["data"] is None


def test_unknown_project_is_forbidden(client: Client, env: Env) -> None:
    body = client.gql('{ project(id: "nope") { id } }', token=env.tokens["alice"])
    assert codes(body) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("kw", "named"),
    [
        ({"by": ["fsm"]}, "dimension 'fsm'"),  # sensitive package: not in p-active
        ({"measures": ["out_of_work_benefit_rate"]}, "measure 'out_of_work_benefit_rate'"),
        ({"where": [{"dimension": "fsm", "values": ["fsm"]}]}, "dimension 'fsm'"),
        ({"by": ["sex"], "measures": ["cohort_count", "out_of_work_benefit_rate"]}, "measure"),
    ],
)
def test_out_of_scope_is_forbidden_with_no_data(
    client: Client, env: Env, kw: dict[str, Any], named: str
) -> None:
    query = "{ release { id } catalogue { tiers { id } } }"  # public siblings, dropped too
    full = TABLE_QUERY.replace("query T(", "query T(").replace(
        'project(id: "p-active") {', 'release { id }\n  project(id: "p-active") {'
    )
    body = client.gql(full, table_vars(**kw), token=env.tokens["alice"])
    assert codes(body) == ["FORBIDDEN"]
    assert named in body["errors"][0]["message"]
    assert body["data"] is None
    assert client.gql(query)["data"]["release"]["id"] == "r1"


def test_scope_cannot_be_escaped_with_aliases_fragments_or_summary(
    client: Client, env: Env
) -> None:
    query = """
    fragment T on Project { t: table(cohort: $c, measures: ["cohort_count"], by: ["fsm"]) {
      rows { cells { value } } } }
    query Q($c: CohortInput!) {
      ok: project(id: "p-active") { a: table(cohort: $c, measures: ["cohort_count"]) {
        rows { cells { value } } } }
      sneaky: project(id: "p-active") { ...T }
    }"""
    body = client.gql(query, {"c": KS4}, token=env.tokens["alice"])
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] is None
    body = client.gql(
        '{ project(id: "p-active") { outcomeSummary(cohort: {type: KS4, cohort: "2014/15"}, '
        'by: "fsm") { rows { cells { value } } } } }',
        token=env.tokens["alice"],
    )
    assert codes(body) == ["FORBIDDEN"]


def test_outcome_summary_covers_scope_by_years_after(client: Client, env: Env) -> None:
    body = client.gql(
        '{ project(id: "p-active") { outcomeSummary(cohort: {type: KS4, cohort: "2014/15"}, '
        'by: "sex") { measures { id } rows { yearsAfter group { value } cells { measure } } } } }',
        token=env.tokens["alice"],
    )
    table = body["data"]["project"]["outcomeSummary"]
    measures = [m["id"] for m in table["measures"]]
    assert "out_of_work_benefit_rate" not in measures  # benefits package: not p-active's
    assert {"cohort_count", "earnings_median", "sustained_employment_rate"} <= set(measures)
    assert [(r["yearsAfter"], r["group"][0]["value"]) for r in table["rows"]] == [
        (1, "F"),
        (1, "M"),
        (3, "F"),
        (3, "M"),
    ]


def test_project_lists_only_its_scope(client: Client, env: Env) -> None:
    body = client.gql(
        '{ project(id: "p-active") { dataPackages { id } dimensions { id } measures { id } } }',
        token=env.tokens["alice"],
    )
    p = body["data"]["project"]
    assert {x["id"] for x in p["dataPackages"]} == {
        "core",
        "demographics",
        "employment",
        "earnings",
    }
    assert {x["id"] for x in p["dimensions"]} == {"sex", "region"}
    assert "out_of_work_benefit_rate" not in {x["id"] for x in p["measures"]}


def test_filters_and_missing_cells(client: Client, env: Env) -> None:
    v = table_vars(
        measures=["cohort_count", "out_of_work_benefit_rate"],
        by=["sex"],
        where=[{"dimension": "region", "values": ["E12000007"]}],
    )
    body = client.gql(TABLE_QUERY.replace("p-active", "p-other"), v, token=env.tokens["bob"])
    rows = body["data"]["project"]["table"]["rows"]
    assert [[g["value"] for g in r["group"]] for r in rows] == [
        ["F", "E12000007"],
        ["M", "E12000007"],
    ]
    # No benefit rate was published for sex x region: the cell says so, with flag x.
    assert rows[0]["cells"][1] == {
        "measure": "out_of_work_benefit_rate",
        "value": None,
        "status": "UNAVAILABLE",
        "flag": "x",
        "reason": "no cell for this group in the release",
    }


@pytest.mark.parametrize(
    ("cohort", "kw", "message"),
    [
        ({"type": "KS4", "cohort": "1999/00"}, {}, "no ks4 cohort '1999/00'"),
        ({"type": "KS4", "cohort": "2014/15", "yearsAfter": [10]}, {}, "no years after [10]"),
        (KS4, {"measures": ["no_such_measure"]}, "not in the catalogue"),
        (KS4, {"by": ["sex", "sex"]}, "more than once"),
        (
            KS4,
            {
                "by": ["sex", "region"],
                "where": [{"dimension": "sex", "values": ["F"]}],
                "measures": [],
            },
            "at least one measure",
        ),
    ],
)
def test_bad_input(client: Client, env: Env, cohort: Any, kw: dict[str, Any], message: str) -> None:
    body = client.gql(TABLE_QUERY, table_vars(cohort=cohort, **kw), token=env.tokens["alice"])
    assert codes(body) == ["BAD_USER_INPUT"]
    assert message in body["errors"][0]["message"]


def test_variable_of_wrong_type_is_bad_input(client: Client, env: Env) -> None:
    body = client.gql(
        TABLE_QUERY,
        table_vars(measures="cohort_count", cohort={"type": "X"}),
        token=env.tokens["alice"],
    )
    assert set(codes(body)) == {"BAD_USER_INPUT"}


# -- protocol -----------------------------------------------------------------------------


def test_batching_is_refused(client: Client) -> None:
    r = client.http.post("/graphql", json=[{"query": "{ release { id } }"}] * 2)
    assert r.status_code == 400
    assert codes(r.json()) == ["BAD_USER_INPUT"]
    assert "batching" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"query": 1}', "application/json", 400),
        (b'{"query": "{ release { id } }"}', "text/plain", 415),
        (b"query=%7B%7D", "application/x-www-form-urlencoded", 415),
        (b"[" * 60_000, "application/json", 400),  # nesting bomb within the body cap
        (
            b'{"query": "{ release { id } }", "variables": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
            "application/json",
            400,
        ),
    ],
)
def test_malformed_requests(client: Client, content: bytes, ctype: str, status: int) -> None:
    r = client.http.post("/graphql", content=content, headers={"content-type": ctype})
    assert r.status_code == status
    assert codes(r.json()) == ["BAD_USER_INPUT"]


def test_graphiql_page_and_json_get(client: Client) -> None:
    r = client.http.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert "/static/graphiql/graphiql.min.js" in r.text
    r = client.http.get("/graphql", headers={"accept": "application/json"})
    assert r.status_code == 405


# -- bombs --------------------------------------------------------------------------------


def timed(client: Client, **kw: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    r = client.http.post("/graphql", **kw)
    return r, time.perf_counter() - t


def test_depth_bomb(client: Client, env: Env) -> None:
    six = "{ me { projects { dataPackages { dimensions { tier { id } } } } } }"
    assert "errors" not in client.gql(six, token=env.tokens["alice"])  # deepest valid: 6
    bomb = "{ release " + "{ release " * 40 + "{ id }" + " }" * 41
    r, took = timed(client, json={"query": bomb})
    assert r.status_code == 400
    first = r.json()["errors"][0]
    assert first["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "depth 42 exceeds the limit of 6" in first["message"]
    assert took < 1.0


def test_alias_bomb(client: Client) -> None:
    q = "{ " + " ".join(f"a{i}: release {{ id }}" for i in range(100)) + " }"
    r, took = timed(client, json={"query": q})
    assert r.status_code == 400
    assert codes(r.json())[0] == "QUERY_TOO_COMPLEX"
    assert "aliases" in r.json()["errors"][0]["message"]
    assert took < 1.0


def test_token_bomb(client: Client) -> None:
    q = "{ release { " + "id " * 2000 + "} }"
    r, took = timed(client, json={"query": q})
    assert r.status_code == 400
    assert codes(r.json()) == ["QUERY_TOO_COMPLEX"]
    assert "tokens" in r.json()["errors"][0]["message"]
    assert took < 1.0


def test_query_length_and_body_bombs(client: Client) -> None:
    r, took = timed(client, json={"query": "{" + " " * 20_000 + "release { id } }"})
    assert r.status_code == 400
    assert codes(r.json()) == ["QUERY_TOO_COMPLEX"]
    r, took = timed(
        client,
        content=b'{"query": "' + b" " * 10_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert codes(r.json()) == ["BAD_USER_INPUT"]
    assert took < 2.0


def test_repeated_field_bomb(client: Client, reliability: Reliability) -> None:
    """Regression: a field repeated within the token limit cost up to ~0.8 s of validation
    CPU on the event loop (graphql-core's pairwise field merging); now QUERY_TOO_COMPLEX."""
    row = reliability.row(
        "attack",
        tried="anonymous documents repeating one field 400 and 990 times (within 1,000 tokens)",
        expected="400 QUERY_TOO_COMPLEX, stopped by the merge budget",
    )
    seen = []
    for q in (
        "{ release { " + "id " * 400 + "} }",
        "{ release { " + "id " * 990 + "} }",
    ):
        r, took = timed(client, json={"query": q})
        assert r.status_code == 400, r.text
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert "repeats fields or fragments too often" in error["message"]
        seen.append(f"{took * 1000:.0f} ms")
    row.observed = f"QUERY_TOO_COMPLEX each, answered in {', '.join(seen)}"


def test_fragment_explosion_is_measured_not_expanded(client: Client) -> None:
    """Each fragment spreads the next twice: 2^30 fields if expanded."""
    frags = [f"fragment F{i} on Release {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30)] + [
        "fragment F30 on Release { id }"
    ]
    q = "{ release { ...F0 } }\n" + "\n".join(frags)
    r, took = timed(client, json={"query": q})
    assert r.status_code == 400
    assert "QUERY_TOO_COMPLEX" in codes(r.json())
    assert took < 1.0


def test_cost_limit(client: Client, env: Env) -> None:
    tables = " ".join(
        f't{i}: table(cohort: {{type: KS4, cohort: "2014/15"}}, measures: ["cohort_count"]) '
        "{ suppressedCells }"
        for i in range(11)
    )
    r = client.post('{ project(id: "p-active") { ' + tables + " } }", token=env.tokens["alice"])
    assert r.status_code == 400
    assert codes(r.json()) == ["QUERY_TOO_COMPLEX"]
    assert "cost 1112" in r.json()["errors"][0]["message"]


def test_introspection_allowed_but_fan_out_refused(client: Client) -> None:
    body = client.gql(get_introspection_query(descriptions=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    fan = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    r, took = timed(client, json={"query": fan})
    assert r.status_code == 400
    assert set(codes(r.json())) == {"QUERY_TOO_COMPLEX"}
    assert took < 1.0


# -- masking ------------------------------------------------------------------------------


def test_internal_errors_are_masked(
    client: Client, env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret detail: /srv/data/published/r1 at 0xdeadbeef")

    monkeypatch.setattr(api.schema, "build_table", broken)
    caplog.set_level(logging.ERROR, logger="api.errors")
    v = table_vars(measures=["linked_count"])  # not cached yet
    r = client.post(TABLE_QUERY, v, token=env.tokens["alice"])
    body = r.json()
    assert codes(body) == ["INTERNAL"]
    message = body["errors"][0]["message"]
    assert "secret" not in r.text and "deadbeef" not in r.text
    incident = body["errors"][0]["extensions"]["incident"]
    assert incident in message
    assert any(incident in rec.getMessage() for rec in caplog.records)
    # An internal error is never cached: once fixed, the same query answers.
    monkeypatch.undo()
    assert "errors" not in client.gql(TABLE_QUERY, v, token=env.tokens["alice"])


def test_suggestions_are_shown_only_with_introspection(client: Client) -> None:
    body = client.gql("{ releas { id } }")
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "Did you mean" in body["errors"][0]["message"]  # introspection is on here


FRAGMENTS = [
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "$",
    "...",
    "@include(if: true)",
    "release",
    "id",
    "project",
    'project(id: "p-active")',
    "table",
    "cohort",
    "measures",
    "by",
    "where",
    "catalogue",
    "register",
    "me",
    "__schema",
    "__typename",
    "fragment F on Release",
    "...F",
    "query",
    "a:",
    '"x"',
    "1",
    "null",
    "KS4",
    "rows",
    "cells",
    "value",
    "#",
    "\\u0000",
]


@pytest.mark.slow
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS), max_size=30),
    variables=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["c", "m", "x"]),
            st.recursive(
                st.none() | st.integers() | st.text(max_size=5),
                lambda c: st.lists(c, max_size=3),
                max_leaves=5,
            ),
        ),
    ),
    authed=st.booleans(),
)
def test_fuzzed_queries_never_crash_or_leak(
    client: Client, env: Env, parts: list[str], variables: Any, authed: bool
) -> None:
    r = client.post(" ".join(parts), variables, token=env.tokens["alice"] if authed else None)
    assert r.status_code < 500, r.text
    body = r.json()
    for e in body.get("errors", []):
        assert e["extensions"]["code"] in CODES
        assert e["extensions"]["code"] != "INTERNAL", e


# -- cache bounds ---------------------------------------------------------------------------


def test_caches_are_bounded_by_size_not_only_entries(
    tmp_path: Path, reliability: Reliability
) -> None:
    """Regression: the document cache kept 1,000 parsed documents and the answer cache 20,000
    answers whatever their size (a 1,000-token document holds ~600 KB once parsed; a
    catalogue answer is ~37 KB and its key may carry 64 KB of unused variables), so unique
    requests could grow the server by gigabytes. Both are now bounded by total size."""
    row = reliability.row(
        "attack",
        tried="unique near-limit documents, and the public catalogue with unique unused "
        "variables (cache growth)",
        expected="caches stay within their token and byte budgets; every request answered",
    )
    env = make_env(tmp_path)
    budget = {"document_tokens": 3000, "response_bytes": 200_000}
    with serve(env, caches=budget, rate_limits=ROOMY) as s:
        endpoint = s.server.config.app.state.endpoint
        c = Client(s.url)
        fields = " ".join(["id cells suppressedCells maxDimensions dimensions created"] * 30)
        for i in range(40):  # ~190 tokens each: 7,600 tokens if all were kept
            body = c.gql(f"query Q{i} {{ release {{ {fields} }} }}")
            assert "errors" not in body
        catalogue = "{ catalogue { datasets { id title variables { name label definition } } } }"
        for i in range(20):  # ~37 KB answers
            body = c.gql(catalogue, {"unused": "x" * 2000 + str(i)})
            assert "errors" not in body
        docs, answers = endpoint.documents, endpoint.answers
        assert docs.weight <= 3000 and len(docs) < 40, (docs.weight, len(docs))
        assert answers.weight <= 200_000 and len(answers) < 20, (answers.weight, len(answers))
    row.observed = (
        f"documents cache {len(docs)} entries / {docs.weight} tokens (budget 3,000); answers "
        f"cache {len(answers)} entries / {answers.weight:,} bytes (budget 200,000)"
    )


@pytest.mark.parametrize("name", ["x" * 60_000, "Mine; DROP TABLE audit", "1abc", ""])
def test_an_operation_name_that_is_no_graphql_name_is_refused_unrecorded(
    client: Client, env: Env, name: str
) -> None:
    """Regression: any string was accepted as operationName and stored in the request's
    audit row (up to the 64 KB body limit, for every refused request too)."""
    r = client.post("query Mine { release { id } }", operationName=name)
    assert r.status_code == 400
    assert codes(r.json()) == ["BAD_USER_INPUT"]
    assert "operationName" in r.json()["errors"][0]["message"]
    conn = sqlite3.connect(env.root / "access" / "audit.db")
    [(operation, outcome)] = conn.execute(
        "SELECT operation, outcome FROM audit ORDER BY seq DESC LIMIT 1"
    ).fetchall()
    conn.close()
    assert (operation, outcome) == (None, "BAD_USER_INPUT")
    assert client.post("query Mine { release { id } }", operationName="Mine").status_code == 200


def test_a_client_leaving_mid_body_is_audited_as_bad_input_not_internal(
    client: Client, env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: Starlette's ClientDisconnect reached the catch-all, so a client that
    hung up mid-body was logged as an internal error with a traceback and audited as a 500."""
    caplog.set_level(logging.ERROR)
    db = env.root / "access" / "audit.db"
    before = sqlite3.connect(db).execute("SELECT max(seq) FROM audit").fetchone()[0] or 0
    host, port = str(client.http.base_url).rsplit("//", 1)[1].rstrip("/").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"query": '
    )
    time.sleep(0.2)
    sock.close()
    rows: list[tuple[str, int]] = []
    deadline = time.monotonic() + 10
    while not rows and time.monotonic() < deadline:
        time.sleep(0.05)
        conn = sqlite3.connect(db)
        rows = conn.execute("SELECT outcome, status FROM audit WHERE seq > ?", (before,)).fetchall()
        conn.close()
    assert rows == [("BAD_USER_INPUT", 400)]
    assert not [r for r in caplog.records if "internal error" in r.getMessage()]
