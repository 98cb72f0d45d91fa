"""The audit log: every request recorded (refused ones too), a hash chain that detects
edited, deleted and reordered rows, monthly counts that feed the register."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from api.audit import AuditRecord, append, connect, export_monthly, verify
from tests.api.conftest import TABLE_QUERY, Client, Env, make_env, serve
from tests.conftest import run_leo

KS4 = {"type": "KS4", "cohort": "2014/15", "yearsAfter": [1]}


def rows(db: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    out = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    conn.close()
    return out


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """A server that answered a known mix of requests, then stopped."""
    env = make_env(tmp_path_factory.mktemp("audit"))
    with serve(env) as s:
        c = Client(s.url)
        v = {"cohort": KS4, "measures": ["cohort_count", "earnings_median"], "by": ["region"]}
        assert "errors" not in c.gql(TABLE_QUERY, v, token=env.tokens["alice"])  # 1
        assert "errors" not in c.gql(TABLE_QUERY, v, token=env.tokens["alice"])  # 2 (cached)
        c.gql(TABLE_QUERY, {**v, "by": ["fsm"]}, token=env.tokens["alice"])  # 3 forbidden
        c.gql(TABLE_QUERY, v, token=env.tokens["bob"])  # 4 not a member
        c.post("{ release { id } }", token=env.tokens["revoked"])  # 5 unauthenticated
        c.http.post("/graphql", json=[{"query": "{ release { id } }"}])  # 6 batch
        c.gql("{ release " * 30 + "}" * 30)  # 7 too complex / syntax
        c.gql("{ register { id } }")  # 8 anonymous, ok
    return env


def test_every_request_is_recorded(audited: Env) -> None:
    log = rows(audited.root / "access" / "audit.db")
    assert [r["seq"] for r in log] == list(range(1, 9))
    assert [r["outcome"] for r in log] == [
        "ok",
        "ok",
        "FORBIDDEN",
        "FORBIDDEN",
        "UNAUTHENTICATED",
        "BAD_USER_INPUT",
        log[6]["outcome"],
        "ok",
    ]
    assert log[6]["outcome"] in ("QUERY_TOO_COMPLEX", "BAD_USER_INPUT")
    first, cached, forbidden = log[0], log[1], log[2]
    assert first["analyst"] == "alice" and first["projects"] == "p-active"
    assert first["token"] == audited.token_ids["alice"]
    # One row per region: North East (40, suppressed earnings) and London.
    assert (first["cells_released"], first["cells_suppressed"]) == (3, 1)
    assert (cached["cells_released"], cached["cells_suppressed"]) == (3, 1)
    assert first["query_hash"] == cached["query_hash"] and len(first["query_hash"]) == 64
    assert '"by":["region"]' in first["variables"]
    assert (forbidden["cells_released"], forbidden["cells_suppressed"]) == (0, 0)
    assert log[3]["analyst"] == "bob" and log[3]["projects"] == "p-active"
    assert log[4]["analyst"] is None and log[4]["status"] == 401
    # No token ever reaches the log.
    dump = "\n".join(sqlite3.connect(audited.root / "access" / "audit.db").iterdump())
    assert not any(t in dump for t in audited.tokens.values())


def test_verify_passes_on_the_untouched_log(audited: Env) -> None:
    proc = run_leo("audit", "verify", "--data", str(audited.root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "8 row(s)" in proc.stdout and "intact" in proc.stdout


def tampered(audited: Env, tmp_path: Path, sql: str) -> Path:
    root = tmp_path / "data"
    shutil.copytree(audited.root, root)
    conn = sqlite3.connect(root / "access" / "audit.db")
    conn.executescript(sql)
    conn.close()
    return root


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE audit SET cells_released = 0 WHERE seq = 1", "row 1: hash does not match"),
        ("UPDATE audit SET outcome = 'ok' WHERE seq = 3", "row 3: hash does not match"),
        ("DELETE FROM audit WHERE seq = 4", "row 5: expected row 4"),
        # Swap two rows' contents, keeping their seq numbers.
        (
            "UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3;"
            "UPDATE audit SET seq = 3 WHERE seq = -2;",
            "row 2: does not follow the previous row's hash",
        ),
        # Delete a row and renumber the rest, as a careful forger would.
        (
            "DELETE FROM audit WHERE seq = 4; UPDATE audit SET seq = seq - 1 WHERE seq > 4;",
            "does not follow the previous row's hash",
        ),
    ],
)
def test_verify_detects_tampering(audited: Env, tmp_path: Path, sql: str, expected: str) -> None:
    root = tampered(audited, tmp_path, sql)
    proc = run_leo("audit", "verify", "--data", str(root))
    assert proc.returncode == 1
    assert "TAMPERED" in proc.stdout
    assert expected in proc.stdout


def test_verify_detects_reordered_rows_and_truncation(audited: Env, tmp_path: Path) -> None:
    conn = sqlite3.connect(audited.root / "access" / "audit.db")
    head = verify(conn)
    conn.close()
    assert head.ok and head.rows == 8
    # Swap the full contents of rows 5 and 6 (seq included): a reordering.
    root = tampered(
        audited,
        tmp_path,
        "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (5, 6);"
        "DELETE FROM audit WHERE seq IN (5, 6);"
        "INSERT INTO audit SELECT 6, ts, analyst, token, projects, query_hash, operation, "
        "variables, cells_released, cells_suppressed, outcome, status, duration_ms, client, "
        "prev_hash, hash FROM t WHERE seq = 5;"
        "INSERT INTO audit SELECT 5, ts, analyst, token, projects, query_hash, operation, "
        "variables, cells_released, cells_suppressed, outcome, status, duration_ms, client, "
        "prev_hash, hash FROM t WHERE seq = 6;",
    )
    proc = run_leo("audit", "verify", "--data", str(root))
    assert proc.returncode == 1 and "row 5" in proc.stdout
    # Cutting the tail leaves a valid chain; the recorded head exposes it.
    root2 = tmp_path / "second"
    root2.mkdir()
    cut = tampered(audited, root2, "DELETE FROM audit WHERE seq >= 7")  # anonymous rows
    assert run_leo("audit", "verify", "--data", str(cut)).returncode == 0
    proc = run_leo(
        "audit", "verify", "--data", str(cut), "--head", f"{head.head_seq}:{head.head_hash}"
    )
    assert proc.returncode == 1 and "ends at row 6" in proc.stdout


def test_export_counts_per_project_and_month(audited: Env) -> None:
    proc = run_leo("audit", "export", "--data", str(audited.root))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "project,month,answered,refused"
    month = rows(audited.root / "access" / "audit.db")[0]["ts"][:7]
    assert lines[1:] == [f"p-active,{month},2,2"]


def test_register_shows_query_counts(audited: Env) -> None:
    with serve(audited) as s:
        body = Client(s.url).gql("{ register { id queriesPerMonth { month answered refused } } }")
    entries = {e["id"]: e["queriesPerMonth"] for e in body["data"]["register"]}
    assert [(m["answered"], m["refused"]) for m in entries["p-active"]] == [(2, 2)]
    assert entries["p-other"] == []


def test_chain_spans_writers(tmp_path: Path) -> None:
    """Two connections (two server processes) appending in turn keep one valid chain."""
    db = tmp_path / "audit.db"
    a, b = connect(db), connect(db)
    for i in range(10):
        append(a if i % 2 else b, [AuditRecord(outcome="ok", status=200, projects=("p",))])
    assert verify(a).ok and verify(a).rows == 10
    assert export_monthly(a).count("\n") == 2


def test_no_answer_leaves_without_its_audit_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Injected fault: the audit commit fails, so the data is withheld (500, no data)."""
    import api.audit

    env = make_env(tmp_path)
    with serve(env) as s:
        c = Client(s.url)
        v = {"cohort": KS4, "measures": ["cohort_count"], "by": ["sex"]}
        assert "errors" not in c.gql(TABLE_QUERY, v, token=env.tokens["alice"])

        def disk_full(*args: object, **kwargs: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(api.audit, "append", disk_full)
        r = c.post(TABLE_QUERY, v, token=env.tokens["alice"])  # a cached answer, even
        assert r.status_code == 500
        assert "data" not in r.json()
        assert r.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
        assert "could not be audited" in r.json()["errors"][0]["message"]
        monkeypatch.undo()
        assert "errors" not in c.gql(TABLE_QUERY, v, token=env.tokens["alice"])
    assert [r["outcome"] for r in rows(env.root / "access" / "audit.db")] == ["ok", "ok"]


def test_concurrent_requests_are_group_committed_into_one_chain(tmp_path: Path) -> None:
    import asyncio

    import httpx

    env = make_env(tmp_path)
    v = {"cohort": KS4, "measures": ["cohort_count"], "by": ["region"]}
    with serve(env) as s:

        async def fire() -> list[int]:
            async with httpx.AsyncClient(base_url=s.url, timeout=30) as c:
                rs = await asyncio.gather(
                    *(
                        c.post(
                            "/graphql",
                            json={"query": TABLE_QUERY, "variables": v},
                            headers={"Authorization": f"Bearer {env.tokens['alice']}"},
                        )
                        for _ in range(120)
                    )
                )
            return [r.status_code for r in rs]

        assert asyncio.run(fire()) == [200] * 120
        writer = s.server.config.app.state.audit
        assert writer.records == 120
        assert writer.batches < 120  # commits were shared
    conn = sqlite3.connect(env.root / "access" / "audit.db")
    result = verify(conn)
    assert result.ok and result.rows == 120
