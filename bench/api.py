"""Benchmark of the GraphQL API: a 200-cell `table` query under bounded load on loopback.

Starts `leo serve` (ONE uvicorn worker) on 127.0.0.1 over a generated release, then runs a
fixed number of requests from async httpx over 16 connections, several times, and reports
requests/s and p50/p99 latency (medians over the runs). Beside it: the same query executed
in-process (graphql-core execute, no HTTP, auth or audit), cold and with the table memoised,
and the server's CPU time per request. Modes:

  cached    the shipped configuration (answers cached whole: releases are immutable)
  uncached  caches.responses = 0 and caches.tables = 0: every request runs graphene over
            the cells (what the cache saves)

Every request still authenticates, is rate-limited (limits raised so the benchmark is not
refused) and is audited (group commit, synchronous=FULL). The machine is shared: the load
average and the busiest other processes are printed with the figures.

    /work/venv/bin/python bench/api.py --runs 5 --requests 3000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.access import AccessDB  # noqa: E402
from tests.api.releases import synthetic_release_cells, write_release  # noqa: E402

PROJECT = "dfe-2024-031"  # conf/projects.yaml: all five measures, sex and region in scope
ANALYST = "j.okafor"
QUERY = """query Bench($cohort: CohortInput!, $measures: [String!]!, $by: [String!]) {
  project(id: "PROJECT") {
    table(cohort: $cohort, measures: $measures, by: $by) {
      release suppressedCells notes
      rows { yearsAfter group { dimension value label } cells { measure value status flag reason } }
    }
  }
}""".replace("PROJECT", PROJECT)
VARIABLES = {
    "cohort": {"type": "KS4", "cohort": "2010/11", "yearsAfter": [1, 3]},
    "measures": [
        "cohort_count",
        "linked_count",
        "sustained_employment_rate",
        "earnings_median",
        "out_of_work_benefit_rate",
    ],
    "by": ["sex", "region"],
}  # 2 sexes x 10 regions x 2 years after x 5 measures = 200 cells


def make_data(base: Path, cached: bool, synchronous: str = "FULL") -> tuple[Path, Path, str]:
    root, conf = base / "data", base / f"conf-{'cached' if cached else 'uncached'}"
    if not (root / "published" / "CURRENT").exists():
        cells = synthetic_release_cells(cohorts=3, regions=10)
        write_release(root, "bench-r1", cells)
        db = AccessDB(root / "access" / "access.db")
        db.add_analyst(ANALYST, "Bench Analyst", "Bench", date(2099, 1, 1))
        db.close()
    conf.mkdir(parents=True, exist_ok=True)
    caches = "" if cached else "caches: {responses: 0, tables: 0}\n"
    (conf / "api.yaml").write_text(
        "rate_limits: {requests_per_minute: 100000000, cost_per_minute: 100000000000}\n"
        + f"audit: {{synchronous: {synchronous}}}\n"
        + caches
    )
    db = AccessDB(root / "access" / "access.db")
    _, token = db.issue_token(ANALYST, days=1, label="bench")
    db.close()
    return root, conf, token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, conf: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leo",
            "--conf",
            str(conf),
            "serve",
            "--data",
            str(root),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "died") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


async def load(url: str, token: str, requests: int, connections: int, limit_s: float) -> dict:
    body = json.dumps({"query": QUERY, "variables": VARIABLES}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.monotonic() + limit_s
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal issued, errors
            while issued < requests and time.monotonic() < deadline:
                issued += 1
                t = time.perf_counter()
                r = await client.post("/graphql", content=body, headers=headers)
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200 or b'"errors"' in r.content:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        wall = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


async def load_raw(url: str, token: str, requests: int, connections: int, limit_s: float) -> dict:
    """The same load from a minimal HTTP/1.1 keep-alive client on asyncio streams: on a
    shared 2-core machine the client's own CPU matters, and httpx spends ~1 ms a request."""
    host, port = url.rsplit("//", 1)[1].split(":")
    body = json.dumps({"query": QUERY, "variables": VARIABLES}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    request = head + body
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.monotonic() + limit_s

    async def worker() -> None:
        nonlocal issued, errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while issued < requests and time.monotonic() < deadline:
                issued += 1
                t = time.perf_counter()
                writer.write(request)
                header = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in header.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                payload = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t)
                if not header.startswith(b"HTTP/1.1 200") or b'"errors"' in payload:
                    errors += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def in_process(root: Path, conf: Path, token: str, repeats: int) -> dict[str, float]:
    """The same query in this process, without HTTP. (1) graphql-core execute() alone: no
    auth, audit or response cache; CPU time (thread_time), median of `repeats`. (2) the whole
    app (routing, auth, rate limits, response cache, audit commit) driven through ASGI by 16
    concurrent callers: CPU per request, which set against the server's CPU per request over
    HTTP shows what uvicorn adds."""
    from graphql import execute, parse

    from api.access import Principal
    from api.app import create_app
    from api.schema import RequestContext
    from api.schema import schema as gschema

    app = create_app(str(root), conf_dir=conf)
    endpoint = app.state.endpoint
    release = app.state.store.current()
    who = Principal(ANALYST, "Bench", "Bench", date(2099, 1, 1), "bench")
    document = parse(QUERY)

    def run() -> dict[str, Any]:
        ctx = RequestContext(
            release, endpoint.catalogue, endpoint.projects, who, date.today(), lambda: {}
        )
        result = execute(
            gschema.graphql_schema,
            document,
            context_value=ctx,
            variable_values=VARIABLES,
            is_awaitable=lambda _: False,
        )
        assert not result.errors, result.errors  # type: ignore[union-attr]
        return result.data  # type: ignore[union-attr,return-value]

    data = run()
    cells = sum(len(r["cells"]) for r in data["project"]["table"]["rows"])
    assert cells == 200, cells
    cold, warm, dump = [], [], []
    for _ in range(repeats):
        release.memo._data.clear()
        t = time.thread_time()
        run()
        cold.append(time.thread_time() - t)
    for _ in range(repeats):
        t = time.thread_time()
        run()
        warm.append(time.thread_time() - t)
    for _ in range(repeats):
        t = time.thread_time()
        json.dumps(data)
        dump.append(time.thread_time() - t)

    body = json.dumps({"query": QUERY, "variables": VARIABLES}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
    }

    async def asgi(n: int, callers: int) -> float:
        async def one() -> None:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            await app(dict(scope), receive, send)
            assert sent[0]["status"] == 200

        async def caller(k: int) -> None:
            for _ in range(k):
                await one()

        await app.state.audit.start()
        await one()
        t = time.process_time()
        await asyncio.gather(*(caller(n // callers) for _ in range(callers)))
        cpu = time.process_time() - t
        await app.state.audit.stop()
        return cpu / n

    return {
        "cells": cells,
        "execute_cold_cpu_ms": 1000 * statistics.median(cold),
        "execute_table_memoised_cpu_ms": 1000 * statistics.median(warm),
        "json_encode_cpu_ms": 1000 * statistics.median(dump),
        "whole_app_cached_cpu_ms_per_request": 1000 * asyncio.run(asgi(2000, 16)),
    }


def index_figures(base: Path, cells_wanted: int) -> dict[str, Any]:
    """Load time and memory of the lean release index for a release of about this size."""
    import gc

    from api.store import load_release
    from leo.catalogue import load_catalogue
    from leo.layout import DataRoot

    per_cohort = len(synthetic_release_cells(cohorts=1, regions=10))
    cells = synthetic_release_cells(cohorts=max(1, cells_wanted // per_cohort), regions=10)
    root = base / "index"
    write_release(root, "big", cells)
    n = len(cells)
    del cells
    gc.collect()
    catalogue = load_catalogue()
    rss0 = psutil.Process().memory_info().rss
    t = time.perf_counter()
    release = load_release(DataRoot(str(root)), "big", catalogue)
    took = time.perf_counter() - t
    gc.collect()
    rss = psutil.Process().memory_info().rss - rss0
    mask = release.mask(("sex", "region"))
    t = time.perf_counter()
    got = release.cells("ks4", release.cohorts[-1].cohort, 1, mask)
    lookup = time.perf_counter() - t
    return {
        "cells": n,
        "load_s": round(took, 2),
        "rss_mb": round(rss / 2**20, 1),
        "bytes_per_cell": round(rss / n, 1),
        "grouping_set_lookup_ms": round(1000 * lookup, 3),
        "lookup_cells": len(got),
    }


def machine_load() -> dict[str, Any]:
    me = {os.getpid(), *(c.pid for c in psutil.Process().children(recursive=True))}
    procs = []
    for p in psutil.process_iter(["pid", "name", "cpu_percent"]):
        procs.append(p)
    time.sleep(1.0)
    busy = []
    for p in procs:
        try:
            cpu = p.cpu_percent(None)
        except psutil.Error:
            continue
        if p.pid not in me and cpu >= 5:
            busy.append(f"{p.info['name']}({p.pid}) {cpu:.0f}%")
    return {
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "busy_other_processes": busy,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000, help="requests per run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=60, help="cap on one run's duration")
    ap.add_argument("--modes", default="cached,uncached")
    ap.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: minimal asyncio HTTP/1.1 client (default) or httpx.AsyncClient",
    )
    ap.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="audit durability: FULL fsyncs each group commit (the default configuration)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the data under /tmp")
    ap.add_argument(
        "--index-cells",
        type=int,
        default=0,
        help="also time loading a generated release of about this many cells (e.g. 1000000)",
    )
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="api-bench-"))
    report: dict[str, Any] = {
        "client": args.client,
        "audit_synchronous": args.synchronous,
        "machine_before": machine_load(),
    }
    try:
        for mode in args.modes.split(","):
            root, conf, token = make_data(base, (mode == "cached"), args.synchronous)
            port = free_port()
            server = start_server(root, conf, port)
            url = f"http://127.0.0.1:{port}"
            try:
                run_load = load_raw if args.client == "raw" else load
                asyncio.run(run_load(url, token, 200, args.connections, 30))  # warm-up
                sproc = psutil.Process(server.pid)
                runs = []
                for _ in range(args.runs):
                    cpu0 = sum(sproc.cpu_times()[:2])
                    r = asyncio.run(
                        run_load(url, token, args.requests, args.connections, args.seconds)
                    )
                    r["server_cpu_ms_per_request"] = (
                        1000 * (sum(sproc.cpu_times()[:2]) - cpu0) / r["requests"]
                    )
                    runs.append(r)
                    print(
                        f"{mode}: {json.dumps({k: round(v, 2) for k, v in r.items()})}", flush=True
                    )
            finally:
                server.terminate()
                server.wait(timeout=30)
            report[mode] = {
                k: round(statistics.median(r[k] for r in runs), 2)
                for k in ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request")
            }
            report[mode]["errors"] = sum(r["errors"] for r in runs)
            report[mode]["runs"] = len(runs)
        root, conf, token = make_data(base, True, args.synchronous)
        report["in_process"] = {
            k: round(v, 3) for k, v in in_process(root, conf, token, 50).items()
        }
        audit = root / "access" / "audit.db"
        with sqlite3.connect(audit) as conn:
            report["audit_rows"] = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        if args.index_cells:
            report["index"] = index_figures(base, args.index_cells)
        report["machine_after"] = machine_load()
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
