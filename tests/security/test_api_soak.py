"""The short soak: `leo serve` in its own process under 32 connections of mixed requests for
25 s (tests/security/load.py; bench/soak.py runs the same mix for minutes). No 5xx, no
unmasked error, every answer what its kind expects, every request audited, and the server's
memory flat once warmed up: the caches are given small budgets here so that they fill during
the warm-up, and growth after it would be a leak."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tests.api.conftest import make_env
from tests.reliability import Reliability
from tests.security.load import leo_serve, machine_load, mix, rss_mb, run, write_api_conf

SECONDS = 25
WARM_UP_S = 10
CONNECTIONS = 32
RSS_GROWTH_MB = 5  # allowed after warm-up (measured: under 1 MB); a leak of 1 KB a request shows
SMALL_CACHES = {  # full within seconds, so growth after the warm-up is not a cache filling
    "documents": 100,
    "document_tokens": 5_000,
    "responses": 200,
    "response_bytes": 2**20,
    "tables": 100,
    "table_cells": 5_000,
}


@pytest.mark.slow
def test_short_soak_holds_with_flat_memory(tmp_path: Path, reliability: Reliability) -> None:
    row = reliability.row(
        "load",
        tried=f"{SECONDS} s, {CONNECTIONS} keep-alive connections on 127.0.0.1, one worker: "
        "tables and summaries of an analyst, public fields, refusals of every kind (forbidden, "
        "bad input, bad JSON, bad token, bombs) and unique documents, variables and filters "
        "(small cache budgets)",
        expected=f"no 5xx, no unmasked error, every answer as its kind expects, every request "
        f"audited; server RSS within +{RSS_GROWTH_MB} MB after {WARM_UP_S} s of warm-up",
    )
    env = make_env(tmp_path)
    write_api_conf(env.conf, **SMALL_CACHES)
    load_before = machine_load()["loadavg"][0]
    with leo_serve(env.root, env.conf) as (url, pid):
        res = asyncio.run(run(url, pid, mix(env.tokens), seconds=SECONDS, connections=CONNECTIONS))
    conn = sqlite3.connect(env.root / "access" / "audit.db")
    audited = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    conn.close()

    assert res.server_errors == 0, res.outcomes
    assert res.leaks == 0
    assert res.n_unexpected == 0, res.unexpected
    assert res.requests > 1000, res.requests  # the load was real
    assert audited == res.requests
    assert all(len(v) > 0 for v in res.latencies.values()), res.latencies.keys()
    start, peak, end = rss_mb(res, WARM_UP_S)
    assert peak - start <= RSS_GROWTH_MB, [(round(t), b // 2**20) for t, b in res.rss]
    row.observed = (
        f"{res.requests:,} requests ({res.requests / res.seconds:.0f}/s), p50 "
        f"{res.percentile(0.5) * 1000:.0f} ms, p99 {res.percentile(0.99) * 1000:.0f} ms; "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(res.outcomes.items()))}; 0 unexpected; "
        f"{audited:,} audit rows; RSS {start:.0f} MB after warm-up, peak {peak:.0f}, end "
        f"{end:.0f} MB (load average {load_before})"
    )
