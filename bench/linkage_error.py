"""The effect of linkage error on the outcome measures: build the research zone on the
linkage run and on ground truth (`leo build --truth`), and compare every cohort measure per
cohort type, cohort and years after.

    python bench/linkage_error.py --persons 10000 --seed 1 [--data DIR] [--reuse] [--out F]

Steps (one Spark session): `leo synth` (unless --reuse finds raw/), `leo link` (unless
--reuse finds work/LATEST), the build on the linkage run, the build on truth. Measures, as
`leo publish` defines them from cohort_outcomes (conf/catalogue.yaml): cohort size; rates of
sustained employment and out-of-work benefit; the share of each activity (and employment
with or without study); median annualised earnings of the sustained-employed. Differences:
percentage points for rates and shares, per cent for cohort size and median earnings.
Targets (issue 4): within 1 percentage point (rates) and 2% (median earnings) in every cell.
A cell of n people moves by 100/n points per person, so small cells are listed with their n.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from spark_jobs.outcomes import ACTIVITIES  # noqa: E402 (after the path is set)

RATE_TARGET_PP, MEDIAN_TARGET_PCT = 1.0, 2.0
CELL = ["cohort_type", "cohort", "years_after"]


def measures(co: pd.DataFrame) -> pd.DataFrame:
    g = co.groupby(CELL)
    out = pd.DataFrame({"cohort_count": g.size()})
    out["sustained_employment_rate"] = g.sustained_employment.mean() * 100
    out["out_of_work_benefit_rate"] = g.out_of_work_benefit.mean() * 100
    for a in ACTIVITIES:
        out[f"share_{a}"] = g.activity.apply(lambda s, a=a: (s == a).mean() * 100)
    out["share_employment_with_or_without_study"] = (
        out.share_employment_only + out.share_employment_and_study
    )
    sustained = co[co.sustained_employment]
    out["earnings_median"] = sustained.groupby(CELL).annualised_earnings.median()
    out["earners"] = sustained.groupby(CELL).size()
    return out


def compare(linked: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per cell and measure: linked, truth, difference, unit, within target."""
    a, b = measures(linked), measures(truth)
    cells = a.index.union(b.index)
    a, b = a.reindex(cells), b.reindex(cells)
    rows = []
    rate_cols = [c for c in a.columns if c.endswith("_rate") or c.startswith("share_")]
    for col in [*rate_cols, "earnings_median", "cohort_count"]:
        for cell in cells:
            x, y = a.at[cell, col], b.at[cell, col]
            if col in rate_cols:
                diff, unit, target = x - y, "pp", RATE_TARGET_PP
            else:
                diff, unit = (x - y) / y * 100 if y else float("nan"), "%"
                target = MEDIAN_TARGET_PCT if col == "earnings_median" else None
            rows.append(
                {
                    **dict(zip(CELL, cell, strict=True)),
                    "measure": col,
                    "linked": x,
                    "truth": y,
                    "diff": diff,
                    "unit": unit,
                    "n_truth": b.at[cell, "cohort_count"],
                    "earners_truth": b.at[cell, "earners"],
                    "within": None if target is None else bool(abs(diff) <= target),
                }
            )
    return pd.DataFrame(rows)


def run_pipeline(args: argparse.Namespace) -> tuple[Path, dict[str, float]]:
    from leo.layout import resolve_data_root
    from linkage.pseudonymise import PseudonymisationKey
    from spark_jobs.build import build_research_zone
    from spark_jobs.link import link_leo
    from spark_jobs.session import spark_session

    data = Path(args.data or f"/tmp/leo-linkage-error-{args.persons}-{args.seed}")
    key = PseudonymisationKey(b"linkage-error-bench-key-" + b"k" * 16, "bench key")
    timings: dict[str, float] = {}
    if not (args.reuse and (data / "raw").exists()):
        t = time.time()
        cmd = [sys.executable, "-m", "leo", "synth", "--persons", str(args.persons)]
        cmd += ["--seed", str(args.seed), "--out", str(data), "--overwrite"]
        subprocess.run(cmd, check=True, cwd=REPO)
        timings["synth"] = time.time() - t
    spark = spark_session("linkage-error-bench")
    root = resolve_data_root(str(data))
    if not (args.reuse and (data / "work" / "LATEST").exists()):
        t = time.time()
        link_leo(spark, root, key)
        timings["link"] = time.time() - t
    t = time.time()
    build_research_zone(spark, root)
    timings["build (linked)"] = time.time() - t
    t = time.time()
    build_research_zone(spark, root, truth=True, key=key)
    timings["build (truth)"] = time.time() - t
    return data, timings


def report(data: Path, timings: dict[str, float], out: Path | None, top: int) -> dict:  # type: ignore[type-arg]
    run = (data / "linked" / "LATEST").read_text().strip()
    linked = pd.read_parquet(data / "linked" / run / "cohort_outcomes")
    truth = pd.read_parquet(data / "linked" / "truth" / "cohort_outcomes")
    cmp = compare(linked, truth)
    cmp["abs"] = cmp["diff"].abs()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    judged = cmp[cmp.within.notna()]
    print(f"\ndata {data}: linked run {run} vs truth; {len(judged):,} judged cells x measures")
    print(f"timings (s): {json.dumps({k: round(v, 1) for k, v in timings.items()})}")
    by_measure = (
        cmp.groupby(["cohort_type", "measure"])
        .agg(cells=("abs", "size"), max_abs_diff=("abs", "max"), mean_abs_diff=("abs", "mean"))
        .round(3)
    )
    print("\nlargest difference per cohort type and measure (pp for rates, % otherwise):")
    print(by_measure.to_string())
    cols = [*CELL, "measure", "linked", "truth", "diff", "unit", "n_truth", "earners_truth"]
    print(f"\nthe {top} largest differences among rates and shares:")
    rates = cmp[cmp.unit == "pp"].sort_values("abs", ascending=False)
    print(rates.head(top)[cols].round(3).to_string(index=False))
    print(f"\nthe {top} largest differences in median earnings:")
    med = cmp[cmp.measure == "earnings_median"].sort_values("abs", ascending=False)
    print(med.head(top)[cols].round(3).to_string(index=False))
    failing = judged[~judged.within.astype(bool)]
    summary = {
        "data": str(data),
        "linked_run": run,
        "linked_persons": int(pd.read_parquet(data / "linked" / run / "person").shape[0]),
        "truth_persons": int(pd.read_parquet(data / "linked" / "truth" / "person").shape[0]),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "cells": int(cmp[CELL].drop_duplicates().shape[0]),
        "judged": len(judged),
        "within_target": int(judged.within.astype(bool).sum()),
        "max_rate_diff_pp": float(rates["abs"].max()),
        "max_median_diff_pct": float(med["abs"].max()),
        "max_cohort_count_diff_pct": float(cmp[cmp.measure == "cohort_count"]["abs"].max()),
        "failing": failing[cols].round(4).to_dict("records"),
        "smallest_cell_truth": int(cmp.n_truth.min()),
    }
    print(
        f"\n{summary['within_target']:,} of {summary['judged']:,} within target "
        f"(rates {RATE_TARGET_PP} pp, median earnings {MEDIAN_TARGET_PCT}%); "
        f"largest rate difference {summary['max_rate_diff_pp']:.3f} pp, median earnings "
        f"{summary['max_median_diff_pct']:.3f}%, "
        f"cohort size {summary['max_cohort_count_diff_pct']:.3f}%"
    )
    for f in summary["failing"]:
        print("  outside target:", f)
    if out:
        out.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--persons", type=int, default=10000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default=None, help="data root (default /tmp/leo-linkage-error-N-S)")
    p.add_argument("--reuse", action="store_true", help="keep raw/ and work/LATEST if present")
    p.add_argument("--report-only", action="store_true", help="compare existing builds only")
    p.add_argument("--out", type=Path, default=None, help="write the summary as JSON")
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    os.environ.setdefault("LEO_SPARK_LOCAL_DIR", f"/tmp/leo-linkage-error-spark-{os.getpid()}")
    from leo.logs import setup_logging

    setup_logging(0)  # the jobs' stage lines
    if args.report_only:
        data, timings = Path(args.data), {}
    else:
        data, timings = run_pipeline(args)
    summary = report(data, timings, args.out, args.top)
    return 0 if not summary["failing"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
