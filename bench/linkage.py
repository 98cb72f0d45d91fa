"""Benchmark: this engine against Splink 4 on the same synthetic identities, backend by
backend (`leo` = our Spark backend, `leo-local` = our single-node backend, pandas and
recordlinkage; Splink on DuckDB and on Spark), with F1 and wall time side by side, and time
growth with population.

    python bench/linkage.py --persons 100000 1000000 [--engines leo leo-local splink-duckdb
                                                               splink-spark]

For each population: `leo synth` (cached under --work), then one identity-profile table
(distinct identity per source, as `leo link` links; with each profile's true person and
precomputed blocking keys, so both engines block alike), then each engine in its own process,
timed end to end (start-up included) with the peak memory of its process tree.
F1 is pairwise over profile pairs at match probability >= 0.9 against all true pairs.
Run by hand, never by the tests. Figures go to docs/linkage.md.
"""

from __future__ import annotations

import argparse
import contextlib
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
    """One row per distinct identity per source, with its true person (smallest if shared).
    Built in DuckDB (a million persons hold 17 million events: pandas would need tens of GB),
    with the blocking keys (soundex of surname, canonical forename) mapped from the distinct
    values."""
    import duckdb
    import jellyfish
    import pandas as pd

    from linkage.standardise import canonical_name, clean_name

    tmp = str(out.parent / "duckdb-tmp")
    con = duckdb.connect(config={"memory_limit": "6GB", "temp_directory": tmp})
    con.execute("SET enable_progress_bar = false")
    selects = []
    for s in SOURCES:
        src = root / "raw" / s
        have = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{src}/*.parquet')").fetchall()
        names = [r[0] for r in have]
        cols = ", ".join(f'"{c}"' if c in names else f'NULL::VARCHAR AS "{c}"' for c in IDENT)
        rid = names[0]
        selects.append(
            f"SELECT '{s}' AS source, \"{rid}\" AS record_id, {cols} "
            f"FROM read_parquet('{src}/*.parquet')"
        )
    ident = ", ".join(f'"{c}"' for c in IDENT)
    con.execute(
        f"CREATE TABLE prof AS SELECT source, min(record_id) AS rep, min(person_id) AS person_id, "
        f"{ident} FROM ({' UNION ALL '.join(selects)}) "
        f"JOIN read_parquet('{root}/truth/records/*.parquet') USING (source, record_id) "
        f"GROUP BY source, {ident}"
    )
    sur = pd.Series(con.execute("SELECT DISTINCT surname FROM prof").fetchdf()["surname"])
    sx = clean_name(sur).map(lambda v: jellyfish.soundex(v.replace(" ", "")) if v else None)
    fore = pd.Series(con.execute("SELECT DISTINCT forename FROM prof").fetchdf()["forename"])
    canon = canonical_name(clean_name(fore))
    con.register("sx", pd.DataFrame({"surname": sur, "surname_soundex": sx}))
    con.register("fc", pd.DataFrame({"forename": fore, "forename_canon": canon}))
    n = con.execute("SELECT count(*) FROM prof").fetchone()[0]
    con.execute(
        f"COPY (SELECT source || ':' || rep AS profile_id, source, person_id, "
        f"{', '.join(f'prof.{c}' for c in IDENT)}, "
        "surname_soundex, forename_canon FROM prof "
        "LEFT JOIN sx ON prof.surname IS NOT DISTINCT FROM sx.surname "
        "LEFT JOIN fc ON prof.forename IS NOT DISTINCT FROM fc.forename) "
        f"TO '{out}' (FORMAT parquet)"
    )
    return int(n)


def f1_of(pairs_path: Path, prof_path: Path, id_l: str, id_r: str) -> dict[str, float]:
    """Pairwise precision, recall and F1 of the pairs at match probability >= 0.9 (DuckDB:
    tens of millions of pairs at a million persons)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    pairs = f"read_parquet('{pairs_path}/*.parquet')" if pairs_path.is_dir() else f"'{pairs_path}'"
    con.execute(f"CREATE VIEW prof AS SELECT profile_id, person_id FROM '{prof_path}'")
    tp, predicted = con.execute(
        f"SELECT count(*) FILTER (WHERE a.person_id = b.person_id), count(*) FROM {pairs} p "
        f"JOIN prof a ON p.{id_l} = a.profile_id JOIN prof b ON p.{id_r} = b.profile_id "
        "WHERE p.match_probability >= 0.9"
    ).fetchone()
    actual = con.execute(
        "SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM "
        "(SELECT count(*) AS n FROM prof GROUP BY person_id)"
    ).fetchone()[0]
    prec = tp / predicted if predicted else 1.0
    rec = tp / actual if actual else 1.0
    return {
        "precision": prec,
        "recall": rec,
        "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
    }


def cluster_quality(clusters_path: Path, prof_path: Path, persons_path: Path) -> dict[str, float]:
    """This engine's clusters against truth, as `leo evaluate` measures them (pair counting
    over clusters, and exact clusters; the recall of each sex, ethnicity group and FSM
    group's true pairs, and the largest gap between two groups with at least 100 true
    pairs)."""
    import duckdb

    from linkage.evaluate import GAP_GROUPS, MIN_GROUP_PAIRS

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"CREATE TABLE c AS SELECT p.person_id, k.cluster_id FROM '{prof_path}' p "
        f"JOIN read_parquet('{clusters_path}/*.parquet') k USING (profile_id)"
    )
    pairs = "sum(n * (n - 1) // 2)"
    q = "SELECT {} FROM (SELECT count(*) n FROM c GROUP BY {})"
    tp = con.execute(q.format(pairs, "person_id, cluster_id")).fetchone()[0]
    predicted = con.execute(q.format(pairs, "cluster_id")).fetchone()[0]
    actual = con.execute(q.format(pairs, "person_id")).fetchone()[0]
    prec, rec = tp / predicted, tp / actual
    out = {
        "cluster_precision": prec,
        "cluster_recall": rec,
        "cluster_f1": 2 * prec * rec / (prec + rec),
    }
    # exact clusters: a predicted cluster holding exactly one true person's profiles
    exact = con.execute(
        "WITH pc AS (SELECT cluster_id, min(person_id) AS lo, max(person_id) AS hi, "
        "count(*) AS n FROM c GROUP BY cluster_id), "
        "tc AS (SELECT person_id, count(*) AS n FROM c GROUP BY person_id) "
        "SELECT count(*) FROM pc JOIN tc ON pc.lo = tc.person_id AND pc.hi = tc.person_id "
        "AND pc.n = tc.n"
    ).fetchone()[0]
    n_pred, n_true = con.execute(
        "SELECT count(DISTINCT cluster_id), count(DISTINCT person_id) FROM c"
    ).fetchone()
    ep, er = exact / n_pred, exact / n_true
    out["exact_cluster_f1"] = 2 * ep * er / (ep + er) if ep + er else 0.0
    gaps = []
    for g in GAP_GROUPS:
        rows = con.execute(
            f"SELECT g, sum(tp) / sum(pairs) AS recall, sum(pairs) AS pairs FROM ("
            f"  SELECT person_id, sum(n * (n - 1) // 2) tp FROM "
            f"  (SELECT person_id, cluster_id, count(*) n FROM c GROUP BY ALL) GROUP BY person_id"
            f") JOIN (SELECT person_id, count(*) * (count(*) - 1) // 2 pairs FROM c GROUP BY ALL)"
            f" USING (person_id) JOIN (SELECT person_id, {g}::VARCHAR g FROM "
            f"read_parquet('{persons_path}/*.parquet')) USING (person_id) GROUP BY g"
        ).fetchall()
        recalls = [r for _, r, n in rows if n >= MIN_GROUP_PAIRS]
        gaps.append(max(recalls) - min(recalls) if len(recalls) > 1 else 0.0)
    out["max_recall_gap"] = max(gaps)
    return out


CONF = REPO / "conf" / "linkage.yaml"


def leo_settings() -> dict:
    """The engine settings of conf/linkage.yaml (one home: the benchmark links with the rules
    and comparisons `leo link` uses), keyed on this benchmark's profile table."""
    import yaml

    settings = yaml.safe_load(CONF.read_text())["settings"]
    return {**settings, "unique_id_column": "profile_id"}


# Splink blocks on SQL over the profile table: each transform of a conf rule term as an
# expression both DuckDB and Spark SQL read (phonetic keys and canonical forenames are
# precomputed columns of the profile table, see `profiles`).
SPLINK_TERMS = {
    None: lambda t: t.column,
    "soundex": lambda t: f"{t.column}_soundex",
    "canon": lambda t: f"{t.column}_canon",
    "year": lambda t: f"substr({t.column}, 1, 4)",
    "unordered": lambda t: [f"least({t.column}, {t.other})", f"greatest({t.column}, {t.other})"],
}


def splink_rules() -> list[list[str]]:
    """conf/linkage.yaml's blocking rules as Splink `block_on` arguments."""
    from linkage.settings import Settings

    rules = []
    for rule in Settings.model_validate(leo_settings()).parsed_rules:
        terms: list[str] = []
        for t in rule:
            if t.transform not in SPLINK_TERMS:
                raise SystemExit(f"{CONF}: no Splink form for blocking term {t.text}")
            e = SPLINK_TERMS[t.transform](t)
            terms += e if isinstance(e, list) else [e]
        rules.append(terms)
    return rules


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
        import duckdb
        from splink import DuckDBAPI

        # bounded, spilling to disk beyond: the machine is shared (at 100k persons DuckDB's
        # default, 80% of RAM, let it reach 9 GB)
        tmp = Path(out).parent / "duckdb-tmp"
        limit = os.environ.get("BENCH_DUCKDB_MEMORY", "8GB")
        con = duckdb.connect(config={"memory_limit": limit, "temp_directory": str(tmp)})
        db = DuckDBAPI(connection=con)
    else:
        from splink import SparkAPI
        from splink.backends.spark import similarity_jar_location

        from spark_jobs.session import spark_session

        # Splink's string similarity functions are Scala UDFs in its own jar; it checkpoints
        # between steps
        spark = spark_session("splink-bench", extra_conf={"spark.jars": similarity_jar_location()})
        spark.sparkContext.setCheckpointDir(str(Path(out).parent / "spark-checkpoints"))
        db = SparkAPI(spark_session=spark)
        df = spark.createDataFrame(df)
    rules = [block_on(*terms) for terms in splink_rules()]
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
    # written by the backend itself: through pandas, the 1M-person predictions (tens of
    # millions of pairs) took the process past the machine's 24 GB
    cols = "profile_id_l, profile_id_r, match_probability"
    if backend == "duckdb":
        con.execute(f"COPY (SELECT {cols} FROM {pred.physical_name}) TO '{out}' (FORMAT parquet)")
    else:
        pred.as_spark_dataframe().selectExpr(*cols.split(", ")).write.parquet(out)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (GB) of the process tree, exit code. CPU is the
    sum over every process seen of its last user + system time (sampled twice a second, so a
    process that lives under half a second may be missed): on a shared machine it says
    more than wall time about the work done."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO)
    peak = 0
    cpu: dict[int, float] = {}
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            rss = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system
                    rss += p.memory_info().rss
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.5)
    return time.perf_counter() - start, sum(cpu.values()), peak / 1e9, proc.returncode


def main() -> int:
    import yaml

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--persons", type=int, nargs="+", default=[100_000])
    ap.add_argument(
        "--engines",
        nargs="+",
        default=["leo", "splink-duckdb"],
        choices=["leo", "leo-local", "splink-duckdb", "splink-spark"],
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
            if engine.startswith("leo"):
                settings = d / "leo-settings.yaml"
                settings.write_text(yaml.safe_dump(leo_settings()))
                cmd = [
                    sys.executable,
                    "-m",
                    "leo",
                    "link-tables",
                    str(prof),
                    "--settings",
                    str(settings),
                    "--out",
                    str(out),
                    "--engine",
                    "local" if engine == "leo-local" else "spark",
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
            secs, cpu, peak, rc = timed(cmd, env)
            row = {
                "persons": n,
                "engine": engine,
                "seconds": round(secs, 1),
                "cpu_seconds": round(cpu, 1),
                "peak_gb": round(peak, 2),
                "exit": rc,
            }
            if rc == 0:
                row.update({k: round(v, 5) for k, v in f1_of(pairs, prof, id_l, id_r).items()})
                if engine.startswith("leo"):
                    cq = cluster_quality(out / "clusters", prof, d / "truth" / "persons")
                    row.update({k: round(v, 5) for k, v in cq.items()})
            results.append(row)
            print(json.dumps(row), flush=True)
    head = ["persons", "engine", "F1", "prec", "recall", "seconds", "CPU s", "peak GB"]
    print("\n" + " | ".join(head))
    nan = float("nan")
    for r in results:
        cells = [f"{r['persons']:,}", r["engine"], f"{r.get('f1', nan):.4f}"]
        cells += [f"{r.get('precision', nan):.4f}", f"{r.get('recall', nan):.4f}"]
        cells += [f"{r['seconds']:.1f}", f"{r['cpu_seconds']:.1f}", f"{r['peak_gb']:.2f}"]
        print(" | ".join(cells))
    by = {(r["persons"], r["engine"]): r["seconds"] for r in results if r["exit"] == 0}
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
