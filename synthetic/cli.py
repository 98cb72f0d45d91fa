"""`leo synth`: generate a synthetic population and its five source extracts plus truth."""

from __future__ import annotations

import argparse
import logging

from leo.errors import LeoError
from leo.layout import DATA_ENV, DEFAULT_DATA, resolve_data_root
from leo.logs import stage

log = logging.getLogger("leo.synth")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "synth",
        help="generate a synthetic population: five source extracts + truth",
        description=(
            "Write synthetic LEO-style source extracts (raw/ks4, raw/ks5, raw/he, "
            "raw/employments, raw/benefits) and their ground truth (truth/records, "
            "truth/persons) under DATA_ROOT, as Parquet. Distributions and identity "
            "corruption come from conf/synthetic.yaml (or --conf DIR). The same seed, "
            "settings and chunk size give the same rows."
        ),
    )
    p.add_argument("--persons", type=int, required=True, metavar="N", help="people to generate")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")
    p.add_argument(
        "--out",
        default=None,
        metavar="DATA_ROOT",
        help=f"data root to write raw/ and truth/ into, a local folder (default ${DATA_ENV} or "
        f"{DEFAULT_DATA}); for hdfs:// or s3a:// use spark_jobs/synth.py",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing raw/ and truth/ (otherwise they are left alone and it fails)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        metavar="K",
        help="persons per chunk (default: chunk_size in synthetic.yaml); memory grows with it",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="W",
        help="processes generating chunks in parallel (default 1)",
    )
    p.set_defaults(func=_cmd_synth)


def _cmd_synth(args: argparse.Namespace) -> int:
    from synthetic.config import load_synthetic_config, validate_arguments

    validate_arguments(args.persons, args.seed, args.chunk_size, args.workers)
    root = resolve_data_root(args.out)
    if not root.is_local:
        raise LeoError(
            f"--out {root.root}: leo synth writes local folders; for a URI run "
            "spark-submit spark_jobs/synth.py --out URI"
        )
    cfg = load_synthetic_config(args.conf)
    from synthetic.generator import generate

    if args.chunk_size is not None:
        cfg = cfg.model_copy(update={"chunk_size": args.chunk_size})
    with stage(log, "synth") as s:
        summary = generate(
            root.root, args.persons, args.seed, cfg, overwrite=args.overwrite, workers=args.workers
        )
        s["persons"] = summary.persons
        s["chunks"] = summary.chunks
        for name, rows in summary.rows.items():
            s[f"{name} rows"] = rows
    if summary.recovered:
        print(f"finished the interrupted run: {summary.persons:,} persons in {root.root}")
        return 0
    print(
        f"wrote {summary.persons:,} persons in {summary.chunks} chunk(s) to {root.root} "
        f"in {summary.seconds:.1f} s ({summary.persons / max(summary.seconds, 1e-9):,.0f} "
        "persons/s)"
    )
    return 0
