"""How the candidate pairs of conf/linkage.yaml's blocking rules grow with the population:
per rule, the pairs its blocks hold, how many are true (two profiles of one person) and how
many false, and the same for the union of the rules (each pair once), with the true pairs
the union misses (never compared, so never linked directly).

    python bench/blocking.py --persons 100000 1000000 [--work /tmp/linkage-bench]

Reads the identity-profile tables bench/linkage.py builds under --work (run it first, with
--keep); counts in DuckDB, with the rules in the SQL forms bench/linkage.py gives Splink.
True pairs grow with the population, false pairs with its square: a rule whose false pairs
outnumber its true ones at 1M persons sets time(1M) / time(100k). Run by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

# the light cleaning bench/linkage.py gives Splink's input, as SQL
CLEAN = {
    "forename": "lower(trim(replace(forename, '-', ' ')))",
    "middle_names": "lower(trim(replace(middle_names, '-', ' ')))",
    "surname": "lower(trim(replace(surname, '-', ' ')))",
    "postcode": "upper(trim(postcode))",
    "nino": "upper(trim(nino))",
}


def count(profiles: Path, rules: list[list[str]], texts: list[str]) -> list[tuple[str, int, int]]:
    """(rule, pairs, true pairs) per rule, then for the union; the last row is all true pairs."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": "6GB", "temp_directory": "/tmp/bench-blocking"})
    con.execute("SET enable_progress_bar = false")
    cols = ", ".join(f"{CLEAN.get(c, c)} AS {c}" for c in ["forename", "surname", "postcode"])
    con.execute(
        f"CREATE TABLE p AS SELECT row_number() OVER () AS id, person_id, {cols}, "
        f"date_of_birth, nino, sex, surname_soundex, forename_canon FROM '{profiles}'"
    )
    out = []
    for i, (terms, text) in enumerate(zip(rules, texts, strict=True)):
        key = " || chr(31) || ".join(f"({t})" for t in terms)
        con.execute(f"CREATE TABLE k{i} AS SELECT id, person_id, {key} AS k FROM p")
        con.execute(f"DELETE FROM k{i} WHERE k IS NULL")
        pairs = con.execute(
            f"SELECT sum(n * (n - 1) // 2) FROM (SELECT count(*) AS n FROM k{i} GROUP BY k)"
        ).fetchone()[0]
        true = con.execute(
            f"SELECT sum(m * (m - 1) // 2) FROM (SELECT count(*) AS m FROM k{i} "
            "GROUP BY k, person_id)"
        ).fetchone()[0]
        out.append((text, int(pairs or 0), int(true or 0)))
    union = " UNION ".join(
        f"SELECT a.id AS l, b.id AS r, a.person_id = b.person_id AS t FROM k{i} a "
        f"JOIN k{i} b ON a.k = b.k AND a.id < b.id"
        for i in range(len(rules))
    )
    pairs, true = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE t) FROM ({union})"
    ).fetchone()
    out.append(("union of the rules", int(pairs), int(true)))
    actual = con.execute(
        "SELECT sum(n * (n - 1) // 2) FROM (SELECT count(*) AS n FROM p GROUP BY person_id)"
    ).fetchone()[0]
    out.append(("all true pairs", int(actual), int(actual)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--persons", type=int, nargs="+", default=[100_000])
    ap.add_argument("--work", type=Path, default=Path("/tmp/linkage-bench"))
    args = ap.parse_args()
    from bench.linkage import leo_settings, splink_rules
    from linkage.settings import Settings

    settings = Settings.model_validate(leo_settings())
    texts = [settings.rule_text(i) for i in range(len(settings.blocking_rules))]
    rows = {}
    for n in args.persons:
        prof = args.work / f"p{n}" / "profiles.parquet"
        if not prof.exists():
            raise SystemExit(f"{prof}: not found; run bench/linkage.py --persons {n} --keep")
        rows[n] = count(prof, splink_rules(), texts)
    print("| rule | " + " | ".join(f"{n:,}: pairs / true / false" for n in args.persons) + " |")
    print("|---" * (len(args.persons) + 1) + "|")
    for i, (text, _, _) in enumerate(rows[args.persons[0]]):
        cells = [f"{r[i][1]:,} / {r[i][2]:,} / {r[i][1] - r[i][2]:,}" for r in rows.values()]
        print(f"| {text} | " + " | ".join(cells) + " |")
    for n, r in rows.items():
        union, actual = r[-2], r[-1]
        print(f"{n:,} persons: the rules miss {actual[2] - union[2]:,} of {actual[2]:,} true pairs")
    if len(args.persons) > 1:
        lo, hi = min(args.persons), max(args.persons)
        print(f"candidate pairs {hi:,} / {lo:,}: {rows[hi][-2][1] / rows[lo][-2][1]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
