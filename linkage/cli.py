"""`leo link-tables`, `leo link`, `leo evaluate`, `leo report`, `leo keygen`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from leo.cli import add_data_option

    p = sub.add_parser(
        "link-tables",
        help="link any CSV or Parquet tables with a settings file; writes pairs and clusters",
        description="Link any CSV (read as text) or Parquet inputs with a linkage settings file "
        "(design section 5). INPUT is PATH or NAME=PATH; the name is the source.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--settings", required=True, type=Path, metavar="FILE")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument(
        "--engine",
        choices=("spark", "local"),
        default="spark",
        help="spark (default; any size) or local (pandas + recordlinkage in one process: "
        "faster up to a few million records, about 3.6 GB of memory per million)",
    )
    p.set_defaults(func=_cmd_link_tables)

    p = sub.add_parser("link", help="link the LEO sources into work/<run>/ (conf/linkage.yaml)")
    add_data_option(p)
    p.add_argument("--key-file", type=Path, default=None, help="pseudonymisation key file")
    p.set_defaults(func=_cmd_link)

    p = sub.add_parser("evaluate", help="linkage quality against truth: prints and writes JSON")
    add_data_option(p)
    p.add_argument("--run", default=None, help="linkage run id (default work/LATEST)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report on a linkage run's quality",
        description="One offline HTML file: m, u and match weights per comparison level with "
        "sanity flags, the prior, the match-weight distribution, blocking, match rates, "
        "recall by subgroup and the evaluation where truth exists. Default: the latest run "
        "of --data, written to work/<run>/report.html.",
    )
    add_data_option(p)
    p.add_argument("--run", default=None, help="linkage run id (default work/LATEST)")
    p.add_argument(
        "--dir", default=None, metavar="DIR", help="report a `leo link-tables --out DIR` folder"
    )
    p.add_argument("--out", default=None, metavar="FILE", help="HTML file to write")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("keygen", help="write a new pseudonymisation key file (mode 0600)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE")
    p.set_defaults(func=_cmd_keygen)


def _cmd_link_tables(args: argparse.Namespace) -> int:
    from linkage.settings import load_settings
    from spark_jobs.link import link_tables

    settings = load_settings(args.settings)
    spark = None
    if args.engine == "spark":
        from spark_jobs.session import spark_session

        spark = spark_session("leo-link-tables")
    summary = link_tables(spark, args.inputs, settings, args.out, engine=args.engine)
    c = summary["counts"]
    print(
        f"linked {c['records']:,} records: {c['candidate_pairs']:,} candidate pairs, "
        f"{c['links']:,} links, {c['clusters']:,} clusters -> {args.out}"
    )
    return 0


def _cmd_link(args: argparse.Namespace) -> int:
    from leo.layout import resolve_data_root
    from linkage.pseudonymise import load_key
    from spark_jobs.extracts import LocalFiles, check_extract
    from spark_jobs.link import link_leo, load_linkage_conf
    from spark_jobs.session import spark_session

    # the key, the settings and (on a local data root) every source file fail before Spark
    # starts: in a second, not after a JVM start
    key = load_key(args.key_file)
    conf = load_linkage_conf(args.conf)
    root = resolve_data_root(args.data)
    if root.is_local:
        for source in conf.sources:
            check_extract(LocalFiles(), root, source)
    run = link_leo(spark_session("leo-link"), root, key, conf=conf)
    print(f"linkage run {run} written to {root.work(run)}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from leo.layout import resolve_data_root
    from linkage.evaluate import evaluate_run
    from spark_jobs.session import spark_session

    root = resolve_data_root(args.data)
    result = evaluate_run(spark_session("leo-evaluate"), root, args.run)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from leo.errors import InputError
    from leo.layout import resolve_data_root
    from linkage.model_checks import CHECK, PROBLEM, check_model
    from linkage.report import render
    from linkage.report_inputs import load_dir, load_run, write_report

    if args.dir is not None:
        if args.run is not None:
            raise InputError(
                "give --run (a `leo link` run) or --dir (a link-tables folder), not both"
            )
        inputs, out = load_dir(args.dir)
    else:
        inputs, out = load_run(resolve_data_root(args.data), args.run)
    out = args.out or out
    write_report(render(inputs), out)
    flags = check_model(inputs.model, inputs.summary)
    n = {s: sum(f.severity == s for f in flags) for s in (PROBLEM, CHECK)}
    print(f"wrote {out}: {n[PROBLEM]} problem(s), {n[CHECK]} check(s) in the model")
    return 0


def _cmd_keygen(args: argparse.Namespace) -> int:
    from linkage.pseudonymise import write_new_key

    path = write_new_key(args.out)
    print(f"wrote a new pseudonymisation key to {path} (mode 0600); keep it out of the repo")
    return 0
