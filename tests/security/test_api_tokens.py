"""Token guessing over real HTTP: it runs into the per-address rate limit, every attempt
(refused and rate-limited alike) is a row of the audit log, a forged X-Forwarded-For does not
buy a fresh limit, and an analyst with a valid token keeps working meanwhile."""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path

from api.access import new_token
from api.cli import uvicorn_options
from tests.api.conftest import Client, make_env, serve
from tests.reliability import Reliability
from tests.security.conftest import AuditLog

LIMIT = 10  # anonymous (and refused-token) requests per minute per address, for these tests
GUESSES = 60


def guess(known_id: str | None = None) -> str:
    """A well-formed token: random, or aimed at a real token id with a random secret."""
    token_id, token = new_token()
    return token.replace(token_id, known_id) if known_id else token


def test_token_guessing_runs_into_the_rate_limit_and_is_audited(
    tmp_path: Path, reliability: Reliability
) -> None:
    row = reliability.row(
        "attack",
        tried=f"{GUESSES} token guesses from one address (random tokens, and a real token id "
        "with random secrets), anonymous limit "
        f"{LIMIT}/min",
        expected=f"{LIMIT} x 401 then 429 with Retry-After; one audit row per attempt; "
        "a valid token keeps working",
    )
    env = make_env(tmp_path)
    audit = AuditLog(env.root / "access" / "audit.db")
    with serve(env, rate_limits={"anonymous_requests_per_minute": LIMIT}) as s:
        c = Client(s.url)
        statuses, retry_after, claimed = [], set(), []
        for i in range(GUESSES):
            target = env.token_ids["alice"] if i % 2 else None
            token = guess(target)
            claimed.append(token.split("_")[2])
            r = c.post("{ release { id } }", token=token)
            statuses.append(r.status_code)
            if r.status_code == 429:
                retry_after.add(int(r.headers["retry-after"]))
                assert r.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            else:
                assert r.json()["errors"][0]["message"] == "token refused: unknown token"
            # the real analyst, from the same address, is limited per token, not per address
            if i % 20 == 0:
                ok = c.post("{ me { id } }", token=env.tokens["alice"])
                assert ok.status_code == 200 and ok.json()["data"]["me"]["id"] == "alice"
        assert statuses == [401] * LIMIT + [429] * (GUESSES - LIMIT), statuses
        assert retry_after and min(retry_after) >= 1
    rows = [r for r in audit.since(0) if r["analyst"] is None]
    assert len(rows) == GUESSES
    outcomes = Counter((r["status"], r["outcome"]) for r in rows)
    assert outcomes == {(401, "UNAUTHENTICATED"): LIMIT, (429, "RATE_LIMITED"): GUESSES - LIMIT}
    # each row names the token id the guess claimed (public), never the guessed secret
    assert [r["token"] for r in rows] == claimed
    assert all(r["client"] == "127.0.0.1" for r in rows)
    row.observed = (
        f"{statuses.count(401)} x 401, then {statuses.count(429)} x 429 (Retry-After "
        f"{min(retry_after)}-{max(retry_after)} s); {len(rows)} audit rows naming the claimed "
        "token ids; alice answered throughout"
    )


def test_a_forged_forwarded_for_buys_no_fresh_limit(
    tmp_path: Path, reliability: Reliability
) -> None:
    """Regression: uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so a local
    guesser could name a new address per request, get a fresh limit each time and write
    made-up addresses into the audit log."""
    row = reliability.row(
        "attack",
        tried="token guesses from 127.0.0.1, each with a different forged X-Forwarded-For",
        expected="limited as one address; the audit log shows the real address",
    )
    env = make_env(tmp_path)
    audit = AuditLog(env.root / "access" / "audit.db")
    with serve(env, rate_limits={"anonymous_requests_per_minute": LIMIT}) as s:
        c = Client(s.url)
        statuses = [
            c.http.post(
                "/graphql",
                json={"query": "{ release { id } }"},
                headers={
                    "Authorization": f"Bearer {guess()}",
                    "X-Forwarded-For": f"203.0.113.{i}",
                },
            ).status_code
            for i in range(LIMIT + 5)
        ]
    assert statuses == [401] * LIMIT + [429] * 5, statuses
    clients = {r["client"] for r in audit.since(0)}
    assert clients == {"127.0.0.1"}, clients
    row.observed = f"{statuses.count(401)} x 401 then {statuses.count(429)} x 429; client {clients}"


def test_a_declared_proxy_is_believed(tmp_path: Path) -> None:
    """Behind a reverse proxy named with --forwarded-allow-ips, the client address is the one
    the proxy appends (the rightmost), so a client cannot forge it through the proxy either."""
    assert uvicorn_options()["proxy_headers"] is False
    env = make_env(tmp_path)
    audit = AuditLog(env.root / "access" / "audit.db")
    with serve(env, forwarded_allow_ips="127.0.0.1") as s:
        c = Client(s.url)
        r = c.http.post(
            "/graphql",
            json={"query": "{ release { id } }"},
            headers={"X-Forwarded-For": "198.51.100.7, 192.0.2.44"},  # forged, then proxy's
        )
        assert r.status_code == 200
    assert [r["client"] for r in audit.since(0)] == ["192.0.2.44"]


def test_an_unparsable_token_records_no_id(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    audit = AuditLog(env.root / "access" / "audit.db")
    secret = secrets.token_urlsafe(40)
    with serve(env) as s:
        c = Client(s.url)
        for header in (f"Bearer {secret}", f"Basic {secret}", "Bearer"):
            r = c.http.post(
                "/graphql", json={"query": "{ release { id } }"}, headers={"Authorization": header}
            )
            assert r.status_code == 401
    rows = audit.since(0)
    assert [r["token"] for r in rows] == [None, None, None]
    assert secret not in str(rows)
