"""Attempts to reach outside a project's scope, over real HTTP, as analyst alice.

alice is a member of p-active (packages demographics, employment, earnings: dimensions sex
and region, no benefit measures) and of p-expired (expired), not of p-other. Every attempt
below either is refused with the stated code and no data at all, or is answered with cells
of p-active's scope only; in both cases the audit log gains exactly one row for it, naming
the outcome, the analyst and the project asked for. No response of this module carries a
cell outside p-active's scope (checked for every response, answered or refused).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from api.projects import load_projects
from leo.catalogue import load_catalogue
from tests.api.conftest import Client, Env
from tests.reliability import Reliability
from tests.security.conftest import AuditLog

KS4 = '{type: KS4, cohort: "2014/15"}'
CELLS = "rows { yearsAfter group { dimension value } cells { measure value status } }"


def args(measures: list[str], by: list[str] | None = None, where: str | None = None) -> str:
    """Table arguments as GraphQL literals (lists of strings print as JSON does)."""
    out = f"cohort: {KS4}, measures: {json.dumps(measures)}"
    if by is not None:
        out += f", by: {json.dumps(by)}"
    if where is not None:
        out += f", where: {where}"
    return out


def table(a: str, project: str = "p-active", alias: str = "") -> str:
    name = f"{alias}: " if alias else ""
    return f'{name}project(id: "{project}") {{ table({a}) {{ {CELLS} }} }}'


COUNT = ["cohort_count"]


def scope_of(env: Env, project: str) -> tuple[frozenset[str], frozenset[str]]:
    """The dimensions and measures a project's members may see (from the conf the server
    reads)."""
    return _scope(str(env.conf), project)


@functools.cache
def _scope(conf: str, project: str) -> tuple[frozenset[str], frozenset[str]]:
    catalogue = load_catalogue(conf)
    p = load_projects(catalogue, conf).by_id[project]
    dims, measures = catalogue.scope(p.packages)
    return frozenset(dims), frozenset(measures)


def cells_outside(payload: Any, dims: frozenset[str], measures: frozenset[str]) -> list[Any]:
    """Every cell or group value in a response that lies outside the scope."""
    out: list[Any] = []
    if isinstance(payload, dict):
        is_cell = "measure" in payload and ("value" in payload or "status" in payload)
        if is_cell and payload["measure"] not in measures:
            out.append(payload)
        if "dimension" in payload and "value" in payload and payload["dimension"] not in dims:
            out.append(payload)
        for v in payload.values():
            out += cells_outside(v, dims, measures)
    elif isinstance(payload, list):
        for v in payload:
            out += cells_outside(v, dims, measures)
    return out


@dataclass(frozen=True)
class Attempt:
    tried: str
    query: str | None = None
    variables: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more body keys (operationName)
    body: Any = None  # a whole JSON body instead (arrays: batching)
    raw: tuple[bytes, str] | None = None  # (content, content type)
    get: dict[str, str] | None = None  # GET with these query-string parameters
    token: str | None = "alice"
    status: int = 200
    code: str = "FORBIDDEN"  # "ok": answered (within scope)
    project: str | None = None  # the project the audit row must name


OUT_OF_SCOPE_TABLE = table(args(["out_of_work_benefit_rate"], ["fsm"]), "p-other")
ALLOWED_TABLE = table(args(COUNT, ["sex"]))

ATTEMPTS = [
    Attempt(
        "another project's table (not a member)", f"{{ {OUT_OF_SCOPE_TABLE} }}", project="p-other"
    ),
    Attempt(
        "a project the analyst belongs to but which has expired",
        "{ " + table(args(COUNT, ["sex"]), "p-expired") + " }",
        project="p-expired",
    ),
    Attempt(
        "a project id that is not approved",
        "{ " + table(args(COUNT), "p-secret") + " }",
        project="p-secret",
    ),
    Attempt(
        "a project id differing only in case",
        "{ " + table(args(COUNT), "P-ACTIVE") + " }",
        project="P-ACTIVE",
    ),
    Attempt(
        "the member's expired accreditation (analyst old.analyst of p-active)",
        f"{{ {ALLOWED_TABLE} }}",
        token="old",
        project="p-active",
    ),
    Attempt(
        "aliases: an allowed table beside another project's table",
        "{ "
        + table(args(COUNT), alias="mine")
        + " "
        + table(args(COUNT), "p-other", alias="theirs")
        + " }",
        project="p-other",
    ),
    Attempt(
        "aliases: the same project twice, once by an out-of-scope dimension",
        '{ a: project(id: "p-active") { t1: table(cohort: ' + KS4 + ', measures: ["cohort_count"]) '
        "{ " + CELLS + " } t2: table(cohort: " + KS4 + ', measures: ["cohort_count"], by: ["fsm"]) '
        "{ " + CELLS + " } } }",
        project="p-active",
    ),
    Attempt(
        "an inline fragment carrying an out-of-scope dimension",
        '{ project(id: "p-active") { ... on Project { table(cohort: ' + KS4 + ", measures: "
        '["cohort_count"], by: ["fsm"]) { ' + CELLS + " } } } }",
        project="p-active",
    ),
    Attempt(
        "a named fragment carrying an out-of-scope measure",
        'query { project(id: "p-active") { ...T } } fragment T on Project { table(cohort: '
        + KS4
        + ', measures: ["out_of_work_benefit_rate"]) { '
        + CELLS
        + " } }",
        project="p-active",
    ),
    Attempt(
        "a fragment spreading a fragment with an out-of-scope filter",
        'query { project(id: "p-active") { ...A } } fragment A on Project { ...B } '
        "fragment B on Project { table(cohort: " + KS4 + ', measures: ["cohort_count"], '
        'where: [{dimension: "fsm", values: ["fsm"]}]) { ' + CELLS + " } }",
        project="p-active",
    ),
    Attempt(
        "variables: the project id from a variable",
        "query Q($id: ID!) { project(id: $id) { table(cohort: " + KS4 + ", measures: "
        '["cohort_count"]) { ' + CELLS + " } } }",
        {"id": "p-other"},
        project="p-other",
    ),
    Attempt(
        "variables: an out-of-scope dimension in `by`",
        'query Q($by: [String!]) { project(id: "p-active") { table(cohort: ' + KS4 + ", "
        'measures: ["cohort_count"], by: $by) { ' + CELLS + " } } }",
        {"by": ["fsm"]},
        project="p-active",
    ),
    Attempt(
        "variables: a filter on an out-of-scope dimension",
        'query Q($w: [FilterInput!]) { project(id: "p-active") { table(cohort: ' + KS4 + ", "
        'measures: ["cohort_count"], by: ["sex"], where: $w) { ' + CELLS + " } } }",
        {"w": [{"dimension": "fsm", "values": ["fsm", "not_fsm"]}]},
        project="p-active",
    ),
    Attempt(
        "variables: an out-of-scope dimension as a variable's default value",
        'query Q($by: [String!] = ["fsm"]) { project(id: "p-active") { table(cohort: '
        + KS4
        + ', measures: ["cohort_count"], by: $by) { '
        + CELLS
        + " } } }",
        project="p-active",
    ),
    Attempt(
        "variables: an undeclared variable carrying an out-of-scope dimension (ignored)",
        f"{{ {ALLOWED_TABLE} }}",
        {"by": ["fsm"], "where": [{"dimension": "fsm", "values": ["fsm"]}]},
        code="ok",
        project="p-active",
    ),
    Attempt(
        "a filter on an out-of-scope dimension beside an in-scope breakdown",
        "{ " + table(args(COUNT, ["sex"], '[{dimension: "fsm", values: ["fsm"]}]')) + " }",
        project="p-active",
    ),
    Attempt(
        "a filter on another package's graduate-only dimension",
        "{ "
        + table(args(COUNT, None, '[{dimension: "subject_cah2", values: ["CAH09-01"]}]'))
        + " }",
        project="p-active",
    ),
    Attempt(
        "outcomeSummary broken down by an out-of-scope dimension",
        '{ project(id: "p-active") { outcomeSummary(cohort: '
        + KS4
        + ', by: "fsm") { '
        + CELLS
        + " } } }",
        project="p-active",
    ),
    Attempt(
        "outcomeSummary (every measure) of another project",
        '{ project(id: "p-other") { outcomeSummary(cohort: ' + KS4 + ") { " + CELLS + " } } }",
        project="p-other",
    ),
    Attempt(
        "outcomeSummary of the analyst's project: out-of-scope measures left out",
        '{ project(id: "p-active") { outcomeSummary(cohort: '
        + KS4
        + ") { measures { id } "
        + CELLS
        + " } } }",
        code="ok",
        project="p-active",
    ),
    Attempt(
        "introspection beside another project's fields",
        '{ __schema { queryType { name } } project(id: "p-other") { id title } }',
        project="p-other",
    ),
    Attempt(
        "__typename alone on another project",
        '{ project(id: "p-other") { __typename } }',
        project="p-other",
    ),
    Attempt(
        "introspection of the register's type: no member list, no cells",
        '{ __type(name: "RegisterEntry") { fields { name } } }',
        code="ok",
    ),
    Attempt(
        "@include(if: true) on an out-of-scope table",
        '{ project(id: "p-active") { table(cohort: ' + KS4 + ', measures: ["cohort_count"], '
        'by: ["fsm"]) @include(if: true) { ' + CELLS + " } } }",
        project="p-active",
    ),
    Attempt(
        "@skip(if: $hide) with hide = false on another project",
        'query Q($hide: Boolean!) { project(id: "p-other") @skip(if: $hide) { id } '
        "release { id } }",
        {"hide": False},
        project="p-other",
    ),
    Attempt(
        "@include(if: false) hiding an out-of-scope table beside an allowed one",
        '{ project(id: "p-active") { ok: table(cohort: ' + KS4 + ', measures: ["cohort_count"]) '
        "{ " + CELLS + " } no: table(cohort: " + KS4 + ', measures: ["cohort_count"], '
        'by: ["fsm"]) @include(if: false) { ' + CELLS + " } } }",
        code="ok",
        project="p-active",
    ),
    Attempt(
        "operationName picking the forbidden one of two operations",
        f"query Mine {{ {ALLOWED_TABLE} }} query Theirs {{ {OUT_OF_SCOPE_TABLE} }}",
        extra={"operationName": "Theirs"},
        project="p-other",
    ),
    Attempt(
        "operationName picking the allowed one: the other operation is not run",
        f"query Mine {{ {ALLOWED_TABLE} }} query Theirs {{ {OUT_OF_SCOPE_TABLE} }}",
        extra={"operationName": "Mine"},
        code="ok",
        project="p-active",
    ),
    Attempt(
        "two operations and no operationName",
        f"query Mine {{ {ALLOWED_TABLE} }} query Theirs {{ {OUT_OF_SCOPE_TABLE} }}",
        code="BAD_USER_INPUT",
    ),
    Attempt(
        "an operationName naming no operation",
        f"query Mine {{ {ALLOWED_TABLE} }}",
        extra={"operationName": "Theirs"},
        code="BAD_USER_INPUT",
    ),
    Attempt(
        "an operationName that is a list of names",
        f"query Mine {{ {ALLOWED_TABLE} }} query Theirs {{ {OUT_OF_SCOPE_TABLE} }}",
        extra={"operationName": ["Mine", "Theirs"]},
        status=400,
        code="BAD_USER_INPUT",
    ),
    Attempt(
        "another project's table through me { projects }",
        "{ me { projects { id table(cohort: " + KS4 + ', measures: ["cohort_count"], '
        'by: ["fsm"]) { ' + CELLS + " } } } }",
        project="p-active",
    ),
    Attempt(
        "a JSON body naming `query` twice (the allowed one first)",
        raw=(
            b'{"query": '
            + json.dumps(f"{{ {ALLOWED_TABLE} }}").encode()
            + b', "query": '
            + json.dumps(f"{{ {OUT_OF_SCOPE_TABLE} }}").encode()
            + b"}",
            "application/json",
        ),
        project="p-other",
    ),
    Attempt(
        "GET with the query in the query string",
        get={"query": f"{{ {OUT_OF_SCOPE_TABLE} }}"},
        status=405,
        code="BAD_USER_INPUT",
    ),
    Attempt(
        "batching: an allowed and a forbidden operation in one array",
        body=[{"query": f"{{ {ALLOWED_TABLE} }}"}, {"query": f"{{ {OUT_OF_SCOPE_TABLE} }}"}],
        status=400,
        code="BAD_USER_INPUT",
    ),
    Attempt(
        "a query as application/graphql",
        raw=(f"{{ {OUT_OF_SCOPE_TABLE} }}".encode(), "application/graphql"),
        status=415,
        code="BAD_USER_INPUT",
    ),
    Attempt(
        "a query as a form post",
        raw=(
            b"query=%7B%20project(id%3A%20%22p-other%22)%20%7B%20id%20%7D%20%7D",
            "application/x-www-form-urlencoded",
        ),
        status=415,
        code="BAD_USER_INPUT",
    ),
    Attempt(
        "another project's table without a token",
        f"{{ {OUT_OF_SCOPE_TABLE} }}",
        token=None,
        code="UNAUTHENTICATED",
    ),
    Attempt(
        "another project's table with a revoked token",
        f"{{ {OUT_OF_SCOPE_TABLE} }}",
        token="revoked",
        status=401,
        code="UNAUTHENTICATED",
    ),
]


def send(client: Client, env: Env, a: Attempt) -> httpx.Response:
    headers = {"Authorization": f"Bearer {env.tokens[a.token]}"} if a.token else {}
    if a.get is not None:
        return client.http.get(
            "/graphql", params=a.get, headers={**headers, "accept": "application/json"}
        )
    if a.raw is not None:
        content, ctype = a.raw
        return client.http.post(
            "/graphql", content=content, headers={**headers, "content-type": ctype}
        )
    body = a.body
    if body is None:
        body = {"query": a.query, **a.extra}
        if a.variables is not None:
            body["variables"] = a.variables
    return client.http.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.tried for a in ATTEMPTS])
def test_attempt_is_refused_or_kept_in_scope_and_audited(
    client: Client, env: Env, audit: AuditLog, reliability: Reliability, attempt: Attempt
) -> None:
    refused = attempt.code != "ok"
    row = reliability.row(
        "attack",
        tried=f"outside scope: {attempt.tried}",
        expected=(
            f"HTTP {attempt.status} {attempt.code}, no data; one audit row"
            if refused
            else "answered with in-scope cells only; one audit row"
        ),
    )
    before = audit.seq()
    r = send(client, env, attempt)
    rows = audit.since(before)
    body = r.json()
    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
    dims, measures = scope_of(env, "p-active")
    leaked = cells_outside(body, dims, measures)

    assert not leaked, leaked
    assert r.status_code == attempt.status, r.text
    if refused:
        assert attempt.code in codes, body
        assert body.get("data") is None, body
    else:
        assert not codes, body
        assert body["data"], body
    assert len(rows) == 1, rows
    [logged] = rows
    assert logged["outcome"] == attempt.code
    assert logged["status"] == attempt.status
    assert logged["analyst"] == {"alice": "alice", "old": "old.analyst"}.get(attempt.token or "")
    if attempt.project is not None:
        assert attempt.project in logged["projects"].split(","), logged
    if refused:
        assert (logged["cells_released"], logged["cells_suppressed"]) == (0, 0)
    released = sum(1 for c in _cells(body) if isinstance(c, dict) and c.get("value") is not None)
    row.observed = (
        f"HTTP {r.status_code} {', '.join(codes) or 'ok'}; "
        + ("no data" if body.get("data") is None else f"{released} in-scope cell(s)")
        + f"; audit row {logged['seq']}: {logged['outcome']}, analyst {logged['analyst']}"
        + (f", project {logged['projects']}" if logged["projects"] else "")
    )


def _cells(payload: Any) -> list[Any]:
    if isinstance(payload, dict):
        found = list(payload.get("cells", []) if isinstance(payload.get("cells"), list) else [])
        for v in payload.values():
            found += _cells(v)
        return found
    if isinstance(payload, list):
        return [c for v in payload for c in _cells(v)]
    return []


def test_a_cached_answer_is_not_served_to_another_analyst(
    client: Client, env: Env, audit: AuditLog, reliability: Reliability
) -> None:
    """Answers are cached whole; bob's answer must not reach alice from the cache."""
    row = reliability.row(
        "attack",
        tried="replaying, as alice, the exact request bob's answer was cached under",
        expected="alice refused (FORBIDDEN), audited as alice",
    )
    query = "{ " + table(args(["cohort_count"], ["fsm"]), "p-other")
    query += " }"
    for _ in range(2):  # the second answer comes from the cache
        bob = client.gql(query, token=env.tokens["bob"])
        assert "errors" not in bob and bob["data"]["project"]["table"]["rows"]
    before = audit.seq()
    alice = client.gql(query, token=env.tokens["alice"])
    assert [e["extensions"]["code"] for e in alice["errors"]] == ["FORBIDDEN"]
    assert alice["data"] is None
    [logged] = audit.since(before)
    assert (logged["analyst"], logged["outcome"]) == ("alice", "FORBIDDEN")
    row.observed = "bob answered twice (second from the cache); alice FORBIDDEN, no data"
