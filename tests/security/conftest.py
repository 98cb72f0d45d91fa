"""Fixtures for the security tests: the API's test data (tests/api/conftest.py) served by the
real app on 127.0.0.1, and a reader of its audit log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Client, Env, LiveServer, make_env, serve

# Rate limits out of the way, except where a test is about them (they use their own server).
ROOMY = {
    "requests_per_minute": 1_000_000,
    "cost_per_minute": 1_000_000_000,
    "anonymous_requests_per_minute": 1_000_000,
}


class AuditLog:
    """Reads access/audit.db as it grows. The API commits a request's row before it answers,
    so the row of a request is there when its response arrives."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    def seq(self) -> int:
        if not self.path.exists():
            return 0
        return int(self._query("SELECT coalesce(max(seq), 0) AS n FROM audit")[0]["n"])

    def since(self, seq: int) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM audit WHERE seq > ? ORDER BY seq", (seq,))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_env(tmp_path_factory.mktemp("security"))


@pytest.fixture(scope="module")
def server(env: Env) -> Iterator[LiveServer]:
    with serve(env, rate_limits=ROOMY) as s:
        yield s


@pytest.fixture()
def client(server: LiveServer) -> Iterator[Client]:
    c = Client(server.url)
    yield c
    c.http.close()


@pytest.fixture(scope="module")
def audit(env: Env) -> AuditLog:
    return AuditLog(env.root / "access" / "audit.db")
