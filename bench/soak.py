"""The full soak of the API: the short soak's mixed load (tests/security/load.py) held for
minutes, with figures.

Starts `leo serve` (ONE uvicorn worker) on 127.0.0.1 over the API tests' data (a small
hand-written release, three projects, analysts with tokens), then holds N keep-alive
connections of mixed requests for a fixed time: analysts' tables and summaries, public
fields, refusals of every kind, and requests made unique on purpose so that the caches fill
to their bounds. Rate limits are raised out of the way; every request is still
authenticated, checked, answered and audited (synchronous=FULL). Reports requests/s, p50
and p99 latency (overall and per kind), answers by HTTP status and error code, anything
unexpected, and the server's RSS over time; the machine is shared, so its load average is
printed with the figures.

    /work/venv/bin/python bench/soak.py --seconds 300 --connections 32
    /work/venv/bin/python bench/soak.py --seconds 60 --caches small   # caches full in seconds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.api.conftest import make_env  # noqa: E402
from tests.security.load import leo_serve, machine_load, mix, rss_mb, run, write_api_conf  # noqa: E402
from tests.security.test_api_soak import SMALL_CACHES  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--warm-up", type=float, default=30, help="seconds before RSS is compared")
    ap.add_argument("--sample-every", type=float, default=5, help="RSS sampling interval (s)")
    ap.add_argument(
        "--caches",
        choices=("shipped", "small"),
        default="shipped",
        help="shipped: conf/api.yaml's cache sizes; small: the short soak's (full in seconds)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the data under /tmp")
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="soak-bench-"))
    report: dict[str, Any] = {
        "seconds": args.seconds,
        "connections": args.connections,
        "caches": args.caches,
        "machine_before": machine_load(),
    }
    try:
        env = make_env(base)
        write_api_conf(env.conf, **(SMALL_CACHES if args.caches == "small" else {}))
        with leo_serve(env.root, env.conf) as (url, pid):
            res = asyncio.run(
                run(
                    url,
                    pid,
                    mix(env.tokens),
                    seconds=args.seconds,
                    connections=args.connections,
                    seed=args.seed,
                    sample_every=args.sample_every,
                )
            )
        with sqlite3.connect(env.root / "access" / "audit.db") as conn:
            audited = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        start, peak, end = rss_mb(res, args.warm_up)
        report.update(
            {
                "requests": res.requests,
                "requests_per_s": round(res.requests / res.seconds, 1),
                "p50_ms": round(res.percentile(0.5) * 1000, 1),
                "p99_ms": round(res.percentile(0.99) * 1000, 1),
                "server_cpu_ms_per_request": round(1000 * res.server_cpu_s / res.requests, 3),
                "answers_by_status_and_code": dict(sorted(res.outcomes.items())),
                "server_errors_5xx": res.server_errors,
                "unmasked_errors": res.leaks,
                "unexpected": res.n_unexpected,
                "unexpected_examples": res.unexpected,
                "reconnects": res.reconnects,
                "audit_rows": audited,
                "per_kind": {
                    k: {
                        "requests": len(v),
                        "p50_ms": round(res.percentile(0.5, k) * 1000, 1),
                        "p99_ms": round(res.percentile(0.99, k) * 1000, 1),
                    }
                    for k, v in res.latencies.items()
                },
                "rss_mb": {
                    "after_warm_up": round(start, 1),
                    "peak_after_warm_up": round(peak, 1),
                    "end": round(end, 1),
                    "series": ", ".join(f"{t:.0f}s {b / 2**20:.1f}" for t, b in res.rss),
                },
                "machine_after": machine_load(),
            }
        )
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(report, indent=1))
    ok = not (res.server_errors or res.leaks or res.n_unexpected) and audited == res.requests
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
