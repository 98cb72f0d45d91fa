"""A bounded, mixed load on the API over loopback, shared by the short soak in the test suite
(tests/security/test_api_soak.py) and the full soak (bench/soak.py).

`leo serve` runs in its own process (so its memory is its own) on 127.0.0.1; a minimal
asyncio HTTP/1.1 client holds N keep-alive connections for a fixed time (on a shared 2-core
machine a heavier client would measure itself). Each request is drawn from MIX: answered
table and summary queries of an analyst, public fields, refusals of every kind, and requests
made unique on purpose (documents, variables, filter values) so the caches must hold to
their bounds. Every response is checked against what its kind expects; the server's RSS is
sampled throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]

# What an error message may never show (tracebacks, internal exception names, paths, tokens).
LEAKS = re.compile(
    r"Traceback|File \"|site-packages|\.py\b|/work/|/tmp/|leo_pat_\w|"
    r"\b(Key|Type|Value|Attribute|Index|Recursion|Assertion|Runtime|Lookup|Name|Unicode"
    r"(?:Decode|Encode)?|ZeroDivision|Overflow|OS|IO|Import|NotImplemented)Error\b|"
    r"\bNoneType\b|object has no attribute|\bpyarrow\b|\bsqlite3?\b|\bgraphene\b|0x[0-9a-f]{8}"
)
CODE_RE = re.compile(rb'"code":"([A-Z_]+)"')

# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_api_conf(conf: Path, **caches: int) -> None:
    """conf/api.yaml for a load test: rate limits out of the way (they are tested on their
    own), caches as given (default: the shipped sizes)."""
    lines = [
        "rate_limits: {requests_per_minute: 100000000, cost_per_minute: 100000000000, "
        "anonymous_requests_per_minute: 100000000}",
    ]
    if caches:
        lines.append("caches: {" + ", ".join(f"{k}: {v}" for k, v in caches.items()) + "}")
    (conf / "api.yaml").write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def leo_serve(root: Path, conf: Path, startup_s: float = 90) -> Iterator[tuple[str, int]]:
    """`leo serve` (one uvicorn worker) on 127.0.0.1; yields (url, pid); stops it after."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "leo", "--conf", str(conf), "serve", "--data", str(root)]
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"leo serve did not start: {err[-2000:]}") from None
                time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


# -- the mix --------------------------------------------------------------------------------

KS4 = {"type": "KS4", "cohort": "2014/15"}
TABLE = """query T($cohort: CohortInput!, $measures: [String!]!, $by: [String!],
  $where: [FilterInput!]) {
  project(id: "p-active") {
    table(cohort: $cohort, measures: $measures, by: $by, where: $where) {
      release suppressedCells notes
      rows { yearsAfter group { dimension value label } cells { measure value status flag reason } }
    }
  }
}"""
SUMMARY = """query S($by: String) { project(id: "p-active") {
  outcomeSummary(cohort: {type: KS4, cohort: "2014/15"}, by: $by) {
    measures { id } rows { yearsAfter group { value } cells { measure value flag } } } } }"""
CATALOGUE = """{ catalogue { datasets { id title variables { name label kind definition } }
  packages { id title dimensions { id label } measures { id label } } } }"""
BYS = [[], ["sex"], ["region"], ["sex", "region"]]
MEASURES = [
    ["cohort_count"],
    ["cohort_count", "earnings_median"],
    ["sustained_employment_rate", "earnings_median", "linked_count"],
]


@dataclass(frozen=True)
class Kind:
    """One kind of request: how to make the i-th one, and what its answer must be."""

    name: str
    weight: int
    status: int
    code: str  # "ok", or the code of the answer's first error
    make: Callable[[int, random.Random], tuple[dict[str, str], bytes]]  # -> (headers, body)


def _post(query: str, variables: dict[str, Any] | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {"query": query, **extra}
    if variables is not None:
        body["variables"] = variables
    return json.dumps(body).encode()


def mix(tokens: dict[str, str]) -> list[Kind]:
    """The requests of a soak, by weight (out of 100)."""
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    anon: dict[str, str] = {}

    def table(i: int, r: random.Random) -> tuple[dict[str, str], bytes]:
        v = {"cohort": KS4, "measures": r.choice(MEASURES), "by": r.choice(BYS)}
        return alice, _post(TABLE, v)

    def unique_document(i: int, r: random.Random) -> tuple[dict[str, str], bytes]:
        fields = " ".join(r.sample(["id", "cells", "suppressedCells", "created", "dimensions"], 3))
        return anon, _post(f"query U{i} {{ release {{ {fields} }} }}")

    def unique_variables(i: int, r: random.Random) -> tuple[dict[str, str], bytes]:
        v = {"cohort": KS4, "measures": ["cohort_count"], "by": ["sex"], "unused": f"u{i}"}
        return alice, _post(TABLE, v)

    def unique_filter(i: int, r: random.Random) -> tuple[dict[str, str], bytes]:
        where = [{"dimension": "sex", "values": ["F", "M", f"made-up-{i}"]}]
        v = {"cohort": KS4, "measures": ["cohort_count"], "by": ["region"], "where": where}
        return alice, _post(TABLE, v)

    def fixed(headers: dict[str, str], body: bytes) -> Callable[..., tuple[dict[str, str], bytes]]:
        return lambda i, r: (headers, body)

    bad_token = {"Authorization": "Bearer leo_pat_aaaaaaaaaa_" + "x" * 43}
    return [
        Kind("table", 28, 200, "ok", table),
        Kind(
            "summary",
            8,
            200,
            "ok",
            lambda i, r: (alice, _post(SUMMARY, {"by": r.choice([None, "sex", "region"])})),
        ),
        Kind("me", 5, 200, "ok", fixed(alice, _post("{ me { id projects { id status } } }"))),
        Kind(
            "release",
            8,
            200,
            "ok",
            fixed(anon, _post("{ release { id cells cohorts { cohort } } }")),
        ),
        Kind("catalogue", 4, 200, "ok", fixed(anon, _post(CATALOGUE))),
        Kind(
            "register",
            4,
            200,
            "ok",
            fixed(anon, _post("{ register { id queriesPerMonth { month answered } } }")),
        ),
        Kind(
            "forbidden dimension",
            5,
            200,
            "FORBIDDEN",
            fixed(
                alice, _post(TABLE, {"cohort": KS4, "measures": ["cohort_count"], "by": ["fsm"]})
            ),
        ),
        Kind(
            "other project",
            3,
            200,
            "FORBIDDEN",
            fixed(alice, _post('{ project(id: "p-other") { id } }')),
        ),
        Kind(
            "unknown cohort",
            3,
            200,
            "BAD_USER_INPUT",
            fixed(
                alice,
                _post(
                    TABLE,
                    {"cohort": {"type": "KS4", "cohort": "1999/00"}, "measures": ["cohort_count"]},
                ),
            ),
        ),
        Kind("syntax error", 3, 400, "BAD_USER_INPUT", fixed(anon, _post("{ release { id }"))),
        Kind("malformed JSON", 3, 400, "BAD_USER_INPUT", fixed(anon, b'{"query": "{ rel')),
        Kind(
            "unknown token",
            3,
            401,
            "UNAUTHENTICATED",
            fixed(bad_token, _post("{ release { id } }")),
        ),
        Kind(
            "depth bomb",
            2,
            400,
            "QUERY_TOO_COMPLEX",
            fixed(anon, _post("{ release " * 20 + "{ id }" + " }" * 20)),
        ),
        Kind(
            "repeated-field bomb",
            2,
            400,
            "QUERY_TOO_COMPLEX",
            fixed(anon, _post("{ release { " + "id " * 600 + "} }")),
        ),
        Kind("unique document", 8, 200, "ok", unique_document),
        Kind("unique variables", 7, 200, "ok", unique_variables),
        Kind("unique filter", 4, 200, "ok", unique_filter),
    ]


# -- the client -----------------------------------------------------------------------------


@dataclass
class Results:
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)  # by kind, seconds
    outcomes: Counter[str] = field(default_factory=Counter)  # "status first-code" -> count
    unexpected: list[str] = field(default_factory=list)  # first few, described
    n_unexpected: int = 0
    server_errors: int = 0
    leaks: int = 0
    reconnects: int = 0
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds, bytes)
    server_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def percentile(self, q: float, kind: str | None = None) -> float:
        values = sorted(
            self.latencies.get(kind, [])
            if kind
            else [x for v in self.latencies.values() for x in v]
        )
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def run(
    url: str,
    pid: int,
    kinds: list[Kind],
    *,
    seconds: float,
    connections: int,
    seed: int = 1,
    sample_every: float = 1.0,
) -> Results:
    """Hold `connections` keep-alive connections for `seconds`; check every answer."""
    host, port = url.rsplit("//", 1)[1].split(":")
    res = Results(latencies={k.name: [] for k in kinds})
    weights = [k.weight for k in kinds]
    counter = iter(range(10**12))
    server = psutil.Process(pid)
    cpu0 = sum(server.cpu_times()[:2])
    start = time.monotonic()
    deadline = start + seconds

    def check(kind: Kind, status: int, body: bytes) -> None:
        codes = [c.decode() for c in CODE_RE.findall(body)]  # in order: the first says why
        first = codes[0] if codes else "ok"
        res.outcomes[f"{status} {first}"] += 1
        if status >= 500:
            res.server_errors += 1
        text = body.decode("utf-8", "replace")
        if '"errors"' in text and LEAKS.search(text):
            res.leaks += 1
        ok = status == kind.status and first == kind.code and "INTERNAL" not in codes
        if kind.code == "ok":
            ok = ok and b'"data":{' in body
        if not ok:
            res.n_unexpected += 1
            if len(res.unexpected) < 10:
                res.unexpected.append(f"{kind.name}: HTTP {status} {text[:300]}")

    async def connection(n: int) -> None:
        rnd = random.Random(seed * 1000 + n)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.monotonic() < deadline:
                kind = rnd.choices(kinds, weights)[0]
                headers, body = kind.make(next(counter), rnd)
                head = (
                    f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    "Content-Type: application/json\r\n"
                    + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                    + f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                t = time.perf_counter()
                writer.write(head + body)
                status, rheaders, payload = await _read_response(reader)
                res.latencies[kind.name].append(time.perf_counter() - t)
                check(kind, status, payload)
                if rheaders.get("connection", "").lower() == "close":
                    writer.close()
                    res.reconnects += 1
                    reader, writer = await asyncio.open_connection(host, int(port))
        finally:
            writer.close()

    async def sampler() -> None:
        while time.monotonic() < deadline:
            res.rss.append((time.monotonic() - start, server.memory_info().rss))
            await asyncio.sleep(sample_every)
        res.rss.append((time.monotonic() - start, server.memory_info().rss))

    await asyncio.gather(sampler(), *(connection(n) for n in range(connections)))
    res.seconds = time.monotonic() - start
    res.server_cpu_s = sum(server.cpu_times()[:2]) - cpu0
    return res


def rss_mb(res: Results, after_s: float) -> tuple[float, float, float]:
    """(RSS at `after_s`, highest RSS after it, RSS at the end), in MB."""
    later = [(t, b) for t, b in res.rss if t >= after_s] or res.rss[-1:]
    return later[0][1] / 2**20, max(b for _, b in later) / 2**20, later[-1][1] / 2**20


def machine_load() -> dict[str, Any]:
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
