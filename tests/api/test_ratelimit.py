"""Rate limits per token (requests and cost per minute) and per address when anonymous."""

from __future__ import annotations

from pathlib import Path

from api.ratelimit import RateLimiter
from tests.api.conftest import TABLE_QUERY, Client, make_env, serve


def test_bucket_refills_over_time() -> None:
    now = [0.0]
    rl = RateLimiter(60, clock=lambda: now[0])  # one per second
    assert all(rl.take("k") == 0.0 for _ in range(60))
    assert rl.take("k") == 1.0  # empty: one more token in one second
    assert rl.take("other") == 0.0  # keys are independent
    now[0] += 2.5
    assert rl.take("k") == 0.0 and rl.take("k") == 0.0
    assert rl.take("k") > 0
    assert rl.take("k", amount=1000) == 60.0  # never affordable


def test_limits_over_http(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    limits = {"requests_per_minute": 5, "cost_per_minute": 250, "anonymous_requests_per_minute": 3}
    v = {"cohort": {"type": "KS4", "cohort": "2014/15"}, "measures": ["cohort_count"]}
    with serve(env, rate_limits=limits) as s:
        c = Client(s.url)
        # cost: each table query costs 100 + its fields; the third exceeds 250 per minute
        assert "errors" not in c.gql(TABLE_QUERY, v, token=env.tokens["alice"])
        assert "errors" not in c.gql(TABLE_QUERY, v, token=env.tokens["alice"])
        r = c.post(TABLE_QUERY, v, token=env.tokens["alice"])
        assert r.status_code == 429
        assert r.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert "query cost" in r.json()["errors"][0]["message"]
        assert int(r.headers["retry-after"]) >= 1
        # requests: alice has made 3; two more pass, the sixth is refused
        assert c.post("{ release { id } }", token=env.tokens["alice"]).status_code == 200
        assert c.post("{ release { id } }", token=env.tokens["alice"]).status_code == 200
        r = c.post("{ release { id } }", token=env.tokens["alice"])
        assert r.status_code == 429 and "requests" in r.text
        # another token is not affected
        assert c.post("{ release { id } }", token=env.tokens["bob"]).status_code == 200
        # token guessing from one address runs into the anonymous limit
        guesses = [
            c.post("{ release { id } }", token="leo_pat_aaaaaaaaaa_" + "x" * 43) for _ in range(5)
        ]
        assert [g.status_code for g in guesses] == [401, 401, 401, 429, 429]
