"""Benchmark: this engine (Spark) against Splink 4 (DuckDB, and Spark if it runs) on the same
synthetic identities, with F1 and wall time side by side, and time growth with population.

    python bench/linkage.py --persons 100000 1000000 [--engines leo splink-duckdb splink-spark]

For each population: `leo synth` (cached under --work), then one identity-profile table
(distinct identity per source, as `leo link` links; with each profile's true person and
precomputed blocking keys, so both engines block alike), then each engine in its own process,
timed end to end (start-up included) with the peak memory of its process tree.
F1 is pairwise over profile pairs at match probability >= 0.9 against all true pairs.
Run by hand, never by the tests. Figures go to the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder heads sys.path and its name would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))
IDENT = ["forename", "middle_names", "surname", "sex", "date_of_birth", "postcode", "nino"]
SOURCES = ["ks4", "ks5", "he", "employments", "benefits"]


def profiles(root: Path, out: Path) -> int:
    """One row per distinct identity per source, with its true person (smallest if shared)."""
    import jellyfish
    import pandas as pd
    import pyarrow.parquet as pq

    from linkage.standardise import canonical_name, clean_name

    truth = pq.read_table(root / "truth" / "records").to_pandas()
    frames = []
    for s in SOURCES:
        t = pq.read_table(root / "raw" / s).to_pandas()
        rid = t.columns[0]
        for c in IDENT:
            if c not in t.columns:
                t[c] = None
        t = t.rename(columns={rid: "record_id"})
        t["source"] = s
        frames.append(t[["source", "record_id", *IDENT]])
    ev = pd.concat(frames, ignore_index=True)
    ev = ev.merge(truth, on=["source", "record_id"])
    key = ev[IDENT].astype(str).agg("\x1f".join, axis=1)
    ev["_k"] = ev["source"] + "\x1f" + key
    prof = (
        ev.groupby("_k", sort=False)
        .agg(
            source=("source", "first"),
            rep=("record_id", "min"),
            person_id=("person_id", "min"),
            **{c: (c, "first") for c in IDENT},
        )
        .reset_index(drop=True)
    )
    prof["profile_id"] = prof["source"] + ":" + prof["rep"]
    sur = clean_name(prof["surname"])
    prof["surname_soundex"] = sur.map(
        lambda v: jellyfish.soundex(v.replace(" ", "")) if v else None
    )
    prof["forename_canon"] = canonical_name(clean_name(prof["forename"]))
    prof = prof.drop(columns=["rep"])
    prof.to_parquet(out, index=False)
    return len(prof)


def true_pairs(prof_path: Path) -> int:
    import pandas as pd

    n = pd.read_parquet(prof_path, columns=["person_id"]).groupby("person_id").size()
    return int((n * (n - 1) // 2).sum())


def f1_of(pairs_path: Path, prof_path: Path, id_l: str, id_r: str) -> dict[str, float]:
    import pandas as pd

    person = pd.read_parquet(prof_path, columns=["profile_id", "person_id"]).set_index(
        "profile_id"
    )["person_id"]
    p = pd.read_parquet(pairs_path)
    p = p[p["match_probability"] >= 0.9]
    tp = int((person.loc[p[id_l]].to_numpy() == person.loc[p[id_r]].to_numpy()).sum())
    actual = true_pairs(prof_path)
    prec = tp / len(p) if len(p) else 1.0
    rec = tp / actual if actual else 1.0
    return {
        "precision": prec,
        "recall": rec,
        "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
    }


LEO_SETTINGS = """
link_type: link_and_dedupe
unique_id_column: profile_id
source_column: source
one_record_per_person: [ks4]
blocking_rules:
  - [nino]
  - [date_of_birth, soundex(surname)]
  - [date_of_birth, canon(forename)]
  - [forename, surname, year(date_of_birth)]
  - [postcode, canon(forename)]
comparisons:
  - {column: forename, kind: name, swap_with: surname}
  - {column: surname, kind: name, swap_with: forename}
  - {column: middle_names, kind: name, term_frequency_adjustments: false}
  - {column: date_of_birth, kind: date, format: "%Y-%m-%d"}
  - {column: postcode, kind: postcode}
  - {column: sex, kind: exact}
  - {column: nino, kind: identifier}
threshold: {match_probability: 0.9}
"""


def run_splink(prof_path: str, out: str, backend: str) -> None:
    """In a child process: Splink 4 with settings mirroring conf/linkage.yaml."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    df = pd.read_parquet(prof_path).drop(columns=["person_id"])
    # the same light cleaning our engine does first (case, spaces), so case alone
    # (upper-case names in HMRC/DWP extracts) does not count as disagreement
    for c in ("forename", "middle_names", "surname"):
        df[c] = df[c].str.lower().str.replace("-", " ").str.strip()
    for c in ("postcode", "nino"):
        df[c] = df[c].str.upper().str.strip()
    if backend == "duckdb":
        from splink import DuckDBAPI

        db = DuckDBAPI()
    else:
        from splink import SparkAPI

        from spark_jobs.session import spark_session

        spark = spark_session("splink-bench")
        db = SparkAPI(spark_session=spark)
        df = spark.createDataFrame(df)
    rules = [
        block_on("nino"),
        block_on("date_of_birth", "surname_soundex"),
        block_on("date_of_birth", "forename_canon"),
        block_on("forename", "surname", "substr(date_of_birth, 1, 4)"),
        block_on("postcode", "forename_canon"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="profile_id",
        comparisons=[
            cl.NameComparison("forename").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.NameComparison("middle_names"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("sex"),
            cl.LevenshteinAtThresholds("nino", [1]),
        ],
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(df, settings, db_api=db)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nino", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    # training blocks as tight as the prediction rules: a date-of-birth-only block holds a few
    # hundred profiles at 100k persons (tens of millions of pairs; DuckDB passed 17 GB)
    em = linker.training.estimate_parameters_using_expectation_maximisation
    em(block_on("date_of_birth", "surname_soundex"))
    em(block_on("forename", "surname", "substr(date_of_birth, 1, 4)"))
    em(block_on("nino"))
    pred = linker.inference.predict(threshold_match_probability=0.01)
    pred.as_pandas_dataframe()[["profile_id_l", "profile_id_r", "match_probability"]].to_parquet(
        out
    )


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (GB) of the process tree, exit code."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO)
    peak = 0
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.5)
    return time.perf_counter() - start, peak / 1e9, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--persons", type=int, nargs="+", default=[100_000])
    ap.add_argument(
        "--engines",
        nargs="+",
        default=["leo", "splink-duckdb"],
        choices=["leo", "splink-duckdb", "splink-spark"],
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/linkage-bench"))
    ap.add_argument("--keep", action="store_true", help="keep --work afterwards")
    ap.add_argument(
        "--child", nargs=3, metavar=("BACKEND", "PROFILES", "OUT"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.child:
        run_splink(args.child[1], args.child[2], args.child[0])
        return 0
    env = dict(os.environ, PYTHONPATH=str(REPO), LEO_SPARK_LOCAL_DIR=str(args.work / "spark"))
    results = []
    for n in args.persons:
        d = args.work / f"p{n}"
        if not (d / "truth").exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "leo",
                    "synth",
                    "--persons",
                    str(n),
                    "--seed",
                    "1",
                    "--out",
                    str(d),
                    "--workers",
                    "2",
                ],
                check=True,
                env=env,
                cwd=REPO,
            )
        prof = d / "profiles.parquet"
        if not prof.exists():
            print(f"profiles for {n:,} persons: {profiles(d, prof):,}", flush=True)
        for engine in args.engines:
            out = d / f"out-{engine}"
            shutil.rmtree(out, ignore_errors=True)
            if engine == "leo":
                settings = d / "leo-settings.yaml"
                settings.write_text(LEO_SETTINGS)
                cmd = [
                    sys.executable,
                    "-m",
                    "leo",
                    "-q",
                    "link-tables",
                    str(prof),
                    "--settings",
                    str(settings),
                    "--out",
                    str(out),
                ]
                pairs, id_l, id_r = out / "pairs", "profile_id_l", "profile_id_r"
            else:
                out.mkdir(parents=True)
                cmd = [
                    sys.executable,
                    __file__,
                    "--child",
                    engine.split("-")[1],
                    str(prof),
                    str(out / "pairs.parquet"),
                ]
                pairs, id_l, id_r = out / "pairs.parquet", "profile_id_l", "profile_id_r"
            secs, peak, rc = timed(cmd, env)
            row = {
                "persons": n,
                "engine": engine,
                "seconds": round(secs, 1),
                "peak_gb": round(peak, 2),
                "exit": rc,
            }
            if rc == 0:
                row.update({k: round(v, 5) for k, v in f1_of(pairs, prof, id_l, id_r).items()})
            results.append(row)
            print(json.dumps(row), flush=True)
    head = ["persons", "engine", "F1", "prec", "recall", "seconds", "peak GB"]
    print("\n" + " | ".join(head))
    nan = float("nan")
    for r in results:
        cells = [f"{r['persons']:,}", r["engine"], f"{r.get('f1', nan):.4f}"]
        cells += [f"{r.get('precision', nan):.4f}", f"{r.get('recall', nan):.4f}"]
        cells += [f"{r['seconds']:.1f}", f"{r['peak_gb']:.2f}"]
        print(" | ".join(cells))
    by = {(r["persons"], r["engine"]): r["seconds"] for r in results}
    if len(args.persons) > 1:
        lo, hi = min(args.persons), max(args.persons)
        for e in args.engines:
            if (lo, e) in by and (hi, e) in by:
                print(f"time({hi:,}) / time({lo:,}) for {e}: {by[(hi, e)] / by[(lo, e)]:.1f}")
    try:
        import psutil

        print(f"load average during the run: {os.getloadavg()}; cores {psutil.cpu_count()}")
    except ImportError:
        pass
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
