"""Tokens and accreditation: stored as hashes, refused when expired or revoked, with clear
messages; expired accreditation and expired projects are FORBIDDEN."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from api.access import TOKEN_RE, AccessDB, AuthError
from leo.errors import LeoError
from tests.api.conftest import TABLE_QUERY, Client, Env, codes

KS4 = {"type": "KS4", "cohort": "2014/15"}


def test_tokens_are_stored_only_as_hashes(env: Env) -> None:
    conn = sqlite3.connect(env.root / "access" / "access.db")
    dump = "\n".join(conn.iterdump())
    for token in env.tokens.values():
        m = TOKEN_RE.match(token)
        assert m
        secret = m.group(2)  # the whole secret: it may itself contain '_'
        assert token not in dump and secret not in dump
    assert len(conn.execute("SELECT hash FROM tokens").fetchone()[0]) == 64


def test_authenticate_reasons(env: Env) -> None:
    db = AccessDB(env.root / "access" / "access.db", readonly=True)
    assert db.authenticate(env.tokens["alice"]).analyst_id == "alice"
    good = env.tokens["alice"]
    cases = {
        "not-a-token": "malformed token",
        good[:-1] + ("A" if good[-1] != "A" else "B"): "unknown token",
        env.tokens["expired"]: "expired on 2021-01-02",
        env.tokens["revoked"]: "was revoked",
    }
    for token, reason in cases.items():
        with pytest.raises(AuthError, match=reason):
            db.authenticate(token)
    db.close()


def test_readonly_db_cannot_be_written(env: Env) -> None:
    db = AccessDB(env.root / "access" / "access.db", readonly=True)
    with pytest.raises(sqlite3.OperationalError):
        db.revoke_token(env.token_ids["alice"])
    db.close()


def test_bad_analyst_id_and_unknown_analyst(tmp_path: object) -> None:
    db = AccessDB(f"{tmp_path}/a.db")
    with pytest.raises(LeoError, match="analyst id"):
        db.add_analyst("Robert'); DROP TABLE analysts;--", "x", "y", date(2030, 1, 1))
    with pytest.raises(LeoError, match="no analyst"):
        db.issue_token("nobody", days=1)


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("expired", "expired on 2021-01-02"),
        ("revoked", "was revoked"),
    ],
)
def test_expired_or_revoked_token_is_unauthenticated(
    client: Client, env: Env, which: str, message: str
) -> None:
    r = client.post("{ release { id } }", token=env.tokens[which])
    assert r.status_code == 401
    assert codes(r.json()) == ["UNAUTHENTICATED"]
    assert message in r.json()["errors"][0]["message"]
    assert env.tokens[which] not in r.text


def test_wrong_scheme_is_unauthenticated(client: Client) -> None:
    r = client.http.post(
        "/graphql",
        json={"query": "{ release { id } }"},
        headers={"Authorization": "Basic YWxpY2U6cGFzcw=="},
    )
    assert r.status_code == 401
    assert codes(r.json()) == ["UNAUTHENTICATED"]


def test_expired_accreditation_is_forbidden(client: Client, env: Env) -> None:
    body = client.gql(
        TABLE_QUERY, {"cohort": KS4, "measures": ["cohort_count"]}, token=env.tokens["old"]
    )
    assert codes(body) == ["FORBIDDEN"]
    assert (
        "accreditation of analyst old.analyst expired on 2020-01-01"
        in (body["errors"][0]["message"])
    )
    assert body["data"] is None
    me = client.gql("{ me { id accredited accreditedUntil } }", token=env.tokens["old"])
    assert me["data"]["me"] == {
        "id": "old.analyst",
        "accredited": False,
        "accreditedUntil": "2020-01-01",
    }


def test_expired_project_is_forbidden(client: Client, env: Env) -> None:
    body = client.gql(
        '{ project(id: "p-expired") { dimensions { id } } }', token=env.tokens["alice"]
    )
    assert codes(body) == ["FORBIDDEN"]
    assert "project p-expired expired on 2020-12-31" in body["errors"][0]["message"]
    me = client.gql("{ me { projects { id status } } }", token=env.tokens["alice"])
    assert {"id": "p-expired", "status": "EXPIRED"} in me["data"]["me"]["projects"]
    # Reaching the expired project through `me` is refused the same way.
    body = client.gql(
        '{ me { projects { outcomeSummary(cohort: {type: KS4, cohort: "2014/15"}) '
        "{ rows { cells { value } } } } } }",
        token=env.tokens["alice"],
    )
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] is None
