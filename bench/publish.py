"""Benchmark `leo publish` and `leo audit-release` on a synthetic research zone.

    python bench/publish.py                          # 100k persons, 1 run
    python bench/publish.py --persons 20000 --runs 3 --methods cell_key_and_secondary,secondary
    python bench/publish.py --max-dimensions 1         # one dimension at a time

Writes a realistic cohort_outcomes (synthetic/cohort_outcomes.py: KS4 cohorts 2005/06 to
2014/15 of about persons/10 each, their graduates by subject, provider and qualification)
to linked/<run>/ under a temporary data root (LEO_BENCH_DIR, default /tmp), then runs
`leo publish --data D` from linked/LATEST, once per method and run, in a fresh process
(Spark local[2]), and `leo audit-release` on the result. Reported per method: wall time
(median over runs) and the stage times of the manifest, cells, share suppressed and mean
absolute distortion per measure, the audit's figures. The first method is the baseline the
others are compared with (suppression and time ratios). The data root is deleted after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def run_publish(
    root: Path, method: str, release: str, conf: Path, max_dimensions: int
) -> tuple[float, dict]:
    import yaml

    from tests.disclosure.tables import policy

    conf.mkdir(exist_ok=True)
    changes = {"differencing.method": method, "max_dimensions": max_dimensions}
    data = policy(**changes).model_dump(mode="json")
    (conf / "disclosure.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    env = dict(os.environ, PYTHONPATH=str(REPO), LEO_SPARK_MASTER="local[2]")
    env.setdefault("LEO_SHUFFLE_PARTITIONS", "8")
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "leo",
            "--conf",
            str(conf),
            "publish",
            "--data",
            str(root),
            "--release",
            release,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"publish failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    manifest = json.loads((root / "published" / release / "manifest.json").read_text())
    return wall, manifest


def run_audit(root: Path, release: str, conf: Path) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "leo",
            "--conf",
            str(conf),
            "audit-release",
            "--data",
            str(root),
            "--release",
            release,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - start, proc.stdout.strip().splitlines()[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--methods", default="cell_key_and_secondary")
    ap.add_argument("--max-dimensions", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the data root")
    args = ap.parse_args()
    from synthetic.cohort_outcomes import generate, write_linked

    base = Path(tempfile.mkdtemp(prefix="publish-bench-", dir=os.environ.get("LEO_BENCH_DIR")))
    root = base / "data"
    try:
        t0 = time.perf_counter()
        table = generate(args.persons, seed=args.seed)
        write_linked(root, table)
        print(
            f"cohort_outcomes: {table.num_rows:,} rows for {args.persons:,} persons "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        results = {}
        for method in args.methods.split(","):
            walls, manifest, audit_line, audit_wall = [], {}, "", 0.0
            for r in range(args.runs):
                release = f"bench-{method}-{r}"
                wall, manifest = run_publish(
                    root, method, release, base / f"conf-{method}", args.max_dimensions
                )
                walls.append(wall)
                audit_wall, audit_line = run_audit(root, release, base / f"conf-{method}")
            results[method] = (statistics.median(walls), manifest, audit_wall, audit_line)
        baseline = next(iter(results))
        for method, (wall, m, audit_wall, audit_line) in results.items():
            sup = m["suppression"]
            print(
                f"\n== {method}: publish {wall:.0f} s wall (median of {args.runs}); "
                f"stages {json.dumps(m['seconds'])}"
            )
            print(
                f"   cells {m['row_accounting']['cells']:,}; suppressed "
                f"{sup['all']['share_suppressed']:.1%} (of cells with people: "
                f"{sup['all']['share_suppressed_nonempty']:.1%}); secondary "
                f"{m['protection']['secondary_suppressions']:,}"
            )
            print(f"   audit in publish: {json.dumps(m['audit']['attack'])}")
            print(f"   leo audit-release: {audit_wall:.0f} s: {audit_line}")
            print(
                "   | measure | cells | suppressed | of non-empty | secondary | u "
                "| mean abs distortion |"
            )
            for mid, s in sup.items():
                if mid == "all":
                    continue
                cols = [
                    mid,
                    f"{s['cells']:,}",
                    f"{s['share_suppressed']:.1%}",
                    f"{s['share_suppressed_nonempty']:.1%}",
                    f"{s['share_suppressed_secondary']:.1%}",
                    f"{s['share_low_reliability']:.1%}",
                    f"{s['mean_absolute_distortion']} {s['unit']}",
                ]
                print("   | " + " | ".join(cols) + " |")
            if method != baseline:
                b_wall, b_manifest = results[baseline][:2]
                b_share = b_manifest["suppression"]["all"]["share_suppressed"]
                ratio = sup["all"]["share_suppressed"] / b_share
                print(f"   vs {baseline}: time x{wall / b_wall:.2f}, suppressed x{ratio:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept {base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
