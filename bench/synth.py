"""Benchmark `leo synth`: persons per second and peak memory (RSS) by population size.

    python bench/synth.py                        # 100k (3 runs) and 1M (1 run), 1 worker
    python bench/synth.py --sizes 100000 --runs 5 --workers 2

Each run is a fresh `leo synth` process reporting its own peak RSS; the output goes to
/tmp/synth-bench-* and is deleted afterwards. Reported: median wall time over the runs,
persons per second, median CPU seconds (user + system: the figure to trust on a busy shared
machine, where wall time waits for other processes), the highest peak RSS, and the output
size. Flat memory shows as the same
peak RSS at every size (the chunk size, not --persons, sets it).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEAK = (
    "import resource, sys\n"
    "from leo.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)\n"
    "print('CHILD_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)\n"
    "sys.exit(rc)\n"
)


def one_run(
    persons: int, seed: int, workers: int, chunk: int | None
) -> tuple[float, float, int, int, int]:
    """(wall seconds, CPU seconds, peak RSS in KB of the main process and of any worker
    process, bytes written)."""
    out = Path(tempfile.mkdtemp(prefix="synth-bench-", dir="/tmp"))
    argv = ["-q", "synth", "--persons", str(persons), "--seed", str(seed), "--out", str(out)]
    argv += ["--workers", str(workers)]
    if chunk:
        argv += ["--chunk-size", str(chunk)]
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", PEAK, *argv],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"leo synth failed:\n{proc.stderr}")
        peak = int(proc.stdout.split("PEAK_KB")[1].split()[0])
        child = int(proc.stdout.split("CHILD_KB")[1].split()[0])
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        return took, cpu, peak, child, size
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated persons")
    parser.add_argument("--runs", type=int, default=3, help="runs per size under 500k persons")
    parser.add_argument("--big-runs", type=int, default=1, help="runs per size from 500k")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=None)
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, workers {args.workers}, chunk size "
        f"{args.chunk_size or 'from conf/synthetic.yaml'}"
    )
    print(
        f"{'persons':>10} {'runs':>4} {'median s':>9} {'persons/s':>10} {'CPU s':>7} "
        f"{'peak RSS MB':>12} {'worker MB':>10} {'output MB':>10}"
    )
    for persons in (int(s) for s in args.sizes.split(",")):
        runs = args.runs if persons < 500_000 else args.big_runs
        results = [one_run(persons, 1 + i, args.workers, args.chunk_size) for i in range(runs)]
        median = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        peak = max(r[2] for r in results) / 1024
        child = max(r[3] for r in results) / 1024 if args.workers > 1 else 0.0
        size = statistics.median(r[4] for r in results) / 2**20
        print(
            f"{persons:>10,} {runs:>4} {median:>9.1f} {persons / median:>10,.0f} {cpu:>7.1f} "
            f"{peak:>12.0f} {child:>10.0f} {size:>10.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
