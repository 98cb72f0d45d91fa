"""`leo publish`, `leo audit-release` and `leo disclosure-policy`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from leo.cli import add_data_option

    p = sub.add_parser(
        "publish",
        help="publish a disclosure-controlled release from linked/<run> into published/",
        description="Aggregate linked/<run>/cohort_outcomes (default linked/LATEST), apply "
        "conf/disclosure.yaml, audit, and publish published/<release_id>/, then switch "
        "published/CURRENT. A release that fails its audit is refused (exit 2).",
    )
    add_data_option(p)
    p.add_argument("--run", default=None, help="build run id (default linked/LATEST)")
    p.add_argument("--release", default=None, help="release id (default: time-based)")
    p.set_defaults(func=_cmd_publish)

    p = sub.add_parser(
        "audit-release",
        help="an attacker's audit of a published release (differencing and every invariant)",
    )
    add_data_option(p)
    p.add_argument("--release", default=None, help="release id (default published/CURRENT)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=_cmd_audit_release)

    p = sub.add_parser(
        "disclosure-policy", help="the disclosure policy as a Markdown table (for docs/releases.md)"
    )
    p.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    p.set_defaults(func=_cmd_policy)


def _cmd_publish(args: argparse.Namespace) -> int:
    from disclosure.policy import load_policy
    from leo.layout import resolve_data_root
    from spark_jobs.publish import publish
    from spark_jobs.session import spark_session

    root = resolve_data_root(args.data)
    load_policy(args.conf)  # a bad policy fails here, before Spark starts
    release, manifest = publish(
        spark_session("leo-publish"), root, args.conf, run=args.run, release_id=args.release
    )
    sup = manifest["suppression"]["all"]
    print(
        f"release {release} published ({sup['cells']:,} cells, "
        f"{sup['share_suppressed']:.1%} suppressed) and CURRENT -> {root.published(release)}"
    )
    return 0


def _cmd_audit_release(args: argparse.Namespace) -> int:
    from disclosure.release import audit_published
    from leo.layout import resolve_data_root

    report = audit_published(resolve_data_root(args.data), args.release, args.conf)
    if args.json:
        json.dump(report.as_dict(), sys.stdout, indent=2)
        print()
    else:
        print(report.summary())
    return 0 if report.passed else 1


def _cmd_policy(args: argparse.Namespace) -> int:
    from disclosure.policy import load_policy, policy_markdown
    from leo.storage import write_text_atomic

    text = policy_markdown(load_policy(args.conf))
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(args.out, text)
    return 0
