"""The audit log (access/audit.db): one row per API request, refused ones included, as an
append-only hash chain.

Each row's hash is SHA-256 over the previous row's hash and the row's own fields (canonical
JSON), so editing, deleting or reordering rows breaks the chain, and `verify` reports each
break. (Cutting rows off the end leaves a valid shorter chain: keep the head that `verify`
prints somewhere else and pass it back with `--head` to detect that too.)

Writing: one writer per process commits the records that queued up during the previous
commit as one transaction (group commit, WAL mode). A request awaits the commit of its own
record before its response is sent, so no answer ever leaves without its record on disk,
and under load one fsync covers many requests. Each group runs in BEGIN IMMEDIATE and
reads the chain's tail inside the transaction, so several server processes can share one
log.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,          -- 1, 2, 3, ... without gaps
    ts TEXT NOT NULL,                 -- UTC, ISO 8601, milliseconds
    analyst TEXT,                     -- null when anonymous or not authenticated
    token TEXT,                       -- token id (never the token); for a refused token, the
                                      -- id it claimed (analyst null)
    projects TEXT NOT NULL,           -- project ids the request named, comma separated
    query_hash TEXT,                  -- SHA-256 of the normalised query; null if unparsable
    operation TEXT,
    variables TEXT NOT NULL,          -- canonical JSON
    cells_released INTEGER NOT NULL,
    cells_suppressed INTEGER NOT NULL,
    outcome TEXT NOT NULL,            -- ok, or the error code
    status INTEGER NOT NULL,          -- HTTP status
    duration_ms REAL NOT NULL,
    client TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- Normalised query texts by hash (self-verifying: the key is the hash of the text).
CREATE TABLE IF NOT EXISTS queries (hash TEXT PRIMARY KEY, text TEXT NOT NULL);
-- Per-project monthly counts for the public register, kept in the same transactions as the
-- rows they count; `verify` checks them against the chain.
CREATE TABLE IF NOT EXISTS monthly (
    project TEXT NOT NULL,
    month TEXT NOT NULL,
    answered INTEGER NOT NULL,
    refused INTEGER NOT NULL,
    PRIMARY KEY (project, month)
);
"""

CHAINED = (
    "seq",
    "ts",
    "analyst",
    "token",
    "projects",
    "query_hash",
    "operation",
    "variables",
    "cells_released",
    "cells_suppressed",
    "outcome",
    "status",
    "duration_ms",
    "client",
)
# Column names are the constants above, never input.
INSERT_SQL = (
    f"INSERT INTO audit ({', '.join(CHAINED)}, prev_hash, hash) "  # noqa: S608
    f"VALUES ({', '.join('?' * (len(CHAINED) + 2))})"
)
SELECT_SQL = f"SELECT {', '.join(CHAINED)}, prev_hash, hash FROM audit ORDER BY seq"  # noqa: S608


@dataclass
class AuditRecord:
    outcome: str
    status: int
    client: str = ""
    analyst: str | None = None
    token: str | None = None
    projects: tuple[str, ...] = ()
    query_hash: str | None = None
    query_text: str | None = None  # stored once per hash in `queries`, not in the chain
    operation: str | None = None
    variables: str = "{}"
    cells_released: int = 0
    cells_suppressed: int = 0
    duration_ms: float = 0.0
    ts: str = field(default_factory=lambda: now_iso())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    body = json.dumps([row[k] for k in CHAINED], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def connect(path: str | Path, synchronous: str = "FULL") -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
    conn.executescript(SCHEMA)
    return conn


def append(conn: sqlite3.Connection, records: Iterable[AuditRecord]) -> None:
    """Append records to the chain in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        tail = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = tail if tail else (0, GENESIS)
        for rec in records:
            seq += 1
            row = dict(rec.__dict__)
            row["seq"] = seq
            row["projects"] = ",".join(rec.projects)
            row["duration_ms"] = round(rec.duration_ms, 3)
            h = row_hash(prev, row)
            conn.execute(
                INSERT_SQL,
                [row[k] for k in CHAINED] + [prev, h],
            )
            prev = h
            if rec.query_hash and rec.query_text:
                conn.execute(
                    "INSERT OR IGNORE INTO queries (hash, text) VALUES (?, ?)",
                    (rec.query_hash, rec.query_text),
                )
            ok = rec.outcome == "ok"
            for project in rec.projects:
                conn.execute(
                    "INSERT INTO monthly (project, month, answered, refused) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(project, month) DO UPDATE SET "
                    "answered = answered + excluded.answered, refused = refused + excluded.refused",
                    (project, rec.ts[:7], int(ok), int(not ok)),
                )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class AuditWriter:
    """The single writer of this process: an asyncio task that commits whatever records
    have queued up while the previous commit ran (group commit), on one dedicated thread
    that owns the SQLite connection. The event loop only appends to a list and awaits."""

    def __init__(self, path: str | Path, synchronous: str = "FULL", max_batch: int = 256) -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.max_batch = max_batch
        self._pending: list[tuple[AuditRecord, asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._stopping = False
        self.batches = 0
        self.records = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-writer")
        self._conn = await loop.run_in_executor(
            self._executor, connect, self.path, self.synchronous
        )
        self._stopping = False
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Commit everything queued, then close."""
        if self._task is None or self._wake is None or self._executor is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        conn, self._conn, self._task = self._conn, None, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
        self._executor.shutdown(wait=True)

    async def write(self, record: AuditRecord) -> None:
        """Return once the record is committed; raise if it could not be."""
        if self._task is None or self._wake is None or self._task.done():
            raise RuntimeError("the audit writer is not running")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, fut))
        self._wake.set()
        await fut

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                error: BaseException | None = None
                try:
                    await loop.run_in_executor(
                        self._executor, append, self._conn, [rec for rec, _ in batch]
                    )
                    self.batches += 1
                    self.records += len(batch)
                except Exception as exc:
                    error = exc
                for _, fut in batch:
                    if fut.done():
                        continue
                    if error is None:
                        fut.set_result(None)
                    else:
                        fut.set_exception(error)
            if self._stopping:
                return


# -- reading ------------------------------------------------------------------------------


def open_readonly(path: str | Path) -> sqlite3.Connection | None:
    if not Path(path).is_file():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def monthly_counts(conn: sqlite3.Connection) -> dict[str, list[tuple[str, int, int]]]:
    """project -> [(month, answered, refused)], months ascending (from the summary table)."""
    out: dict[str, list[tuple[str, int, int]]] = {}
    for project, month, answered, refused in conn.execute(
        "SELECT project, month, answered, refused FROM monthly ORDER BY project, month"
    ):
        out.setdefault(project, []).append((month, answered, refused))
    return out


@dataclass
class Verification:
    rows: int
    head_seq: int
    head_hash: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: sqlite3.Connection, head: tuple[int, str] | None = None) -> Verification:
    """Walk the chain from the first row; report every break (edited, deleted, reordered
    rows; a summary table that disagrees; a head that is no longer there)."""
    problems: list[str] = []
    prev, expected_seq, n = GENESIS, 1, 0
    head_seq, head_hash = 0, GENESIS
    counted: dict[tuple[str, str], list[int]] = {}
    cur = conn.execute(SELECT_SQL)
    for values in cur:
        row = dict(zip((*CHAINED, "prev_hash", "hash"), values, strict=True))
        seq = row["seq"]
        n += 1
        if seq != expected_seq:
            problems.append(
                f"row {seq}: expected row {expected_seq} here (rows deleted or renumbered)"
            )
        if row["prev_hash"] != prev:
            problems.append(
                f"row {seq}: does not follow the previous row's hash (rows deleted or reordered)"
            )
        if row_hash(row["prev_hash"], row) != row["hash"]:
            problems.append(f"row {seq}: hash does not match its contents (row edited)")
        prev, expected_seq = row["hash"], seq + 1
        head_seq, head_hash = seq, row["hash"]
        if head is not None and seq == head[0] and row["hash"] != head[1]:
            problems.append(f"row {seq}: hash differs from the recorded head")
        for project in filter(None, (row["projects"] or "").split(",")):
            c = counted.setdefault((project, row["ts"][:7]), [0, 0])
            c[0 if row["outcome"] == "ok" else 1] += 1
    if head is not None and head_seq < head[0]:
        problems.append(f"the log ends at row {head_seq}, before the recorded head row {head[0]}")
    summary = {
        (p, m): [a, r]
        for p, m, a, r in conn.execute("SELECT project, month, answered, refused FROM monthly")
    }
    if summary != counted:
        problems.append("the monthly summary table disagrees with the chain")
    return Verification(n, head_seq, head_hash, problems)


def export_monthly(conn: sqlite3.Connection) -> str:
    """CSV of per-project monthly request counts, computed from the chain itself."""
    counted: dict[tuple[str, str], list[int]] = {}
    for projects, ts, outcome in conn.execute("SELECT projects, ts, outcome FROM audit"):
        for project in filter(None, (projects or "").split(",")):
            c = counted.setdefault((project, ts[:7]), [0, 0])
            c[0 if outcome == "ok" else 1] += 1
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["project", "month", "answered", "refused"])
    for (project, month), (a, r) in sorted(counted.items()):
        w.writerow([project, month, a, r])
    return buf.getvalue()
