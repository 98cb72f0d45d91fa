"""`leo build`: the research zone from a linkage run (spark_jobs/build.py)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from leo.cli import add_data_option

    p = sub.add_parser(
        "build",
        help="research zone linked/<run>/: person, person_tax_year, cohort_outcomes",
        description="Build the pseudonymised research tables from a linkage run and the "
        "sources' content columns, applying opt-outs (DATA_ROOT/optouts/*.csv) and accounting "
        "for every input row. Writes linked/<run>/ atomically, then linked/LATEST.",
    )
    add_data_option(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--run", default=None, help="linkage run id (default work/LATEST)")
    which.add_argument(
        "--truth",
        action="store_true",
        help="use truth/records (synthetic data) as the person map; writes linked/truth/ and "
        "leaves linked/LATEST alone (needs the pseudonymisation key)",
    )
    p.add_argument(
        "--key-file", type=Path, default=None, help="pseudonymisation key file (--truth only)"
    )
    p.set_defaults(func=_cmd_build)


def _cmd_build(args: argparse.Namespace) -> int:
    from leo.layout import resolve_data_root
    from spark_jobs.build import build_research_zone
    from spark_jobs.session import spark_session

    key = None
    if args.truth:
        from linkage.pseudonymise import load_key

        key = load_key(args.key_file)  # fail before starting Spark
    root = resolve_data_root(args.data)
    result = build_research_zone(
        spark_session("leo-build"), root, run=args.run, truth=args.truth, key=key
    )
    acc = result.manifest["row_accounting"]
    tables = ", ".join(f"{k} {v['rows']:,}" for k, v in result.manifest["tables"].items())
    print(
        f"build {result.run} written to {result.path}: {tables} rows; input rows "
        f"{acc['input_rows']:,} = linked {acc['linked']:,} + unlinked {acc['unlinked']:,} + "
        f"opted out {acc['opted_out']:,} + quarantined {acc['quarantined']:,}"
    )
    return 0
