"""`leo serve`, `leo access ...`, `leo audit ...` and `leo graphql-schema`.

Nothing heavy is imported at module level: `leo --help` stays instant.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from typing import Any

from leo.errors import LeoError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from leo.cli import add_data_option

    p = sub.add_parser("serve", help="serve the GraphQL API on published/CURRENT (uvicorn)")
    add_data_option(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="IPS",
        help="behind a reverse proxy: the proxy addresses (comma separated) whose "
        "X-Forwarded-For names the client; by default the header is ignored",
    )
    p.set_defaults(func=_cmd_serve)

    access = sub.add_parser("access", help="analysts and API tokens (access/access.db)")
    asub = access.add_subparsers(dest="access_command", metavar="ACTION", required=True)
    p = asub.add_parser("add-analyst", help="add an analyst, or update one's accreditation")
    add_data_option(p)
    p.add_argument("analyst_id", help="e.g. a.patel (the id projects.yaml lists as a member)")
    p.add_argument("--name", required=True)
    p.add_argument("--organisation", required=True)
    p.add_argument(
        "--accredited-until",
        required=True,
        type=_date,
        metavar="YYYY-MM-DD",
        help="last day the analyst's accreditation is valid",
    )
    p.set_defaults(func=_cmd_add_analyst)
    p = asub.add_parser("issue-token", help="issue a token (printed once; only its hash is kept)")
    add_data_option(p)
    p.add_argument("analyst_id")
    p.add_argument("--days", type=int, default=None, help="days until it expires (default 90)")
    p.add_argument("--label", default="", help="a note, e.g. the machine it is for")
    p.set_defaults(func=_cmd_issue_token)
    p = asub.add_parser("revoke-token", help="revoke a token by its id")
    add_data_option(p)
    p.add_argument("token_id")
    p.set_defaults(func=_cmd_revoke_token)
    p = asub.add_parser("list", help="list analysts and their tokens (never the tokens' secrets)")
    add_data_option(p)
    p.set_defaults(func=_cmd_list)

    audit = sub.add_parser("audit", help="the API's hash-chained audit log (access/audit.db)")
    usub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = usub.add_parser("verify", help="check the hash chain; exit 1 if any row was tampered with")
    add_data_option(p)
    p.add_argument(
        "--head",
        default=None,
        metavar="SEQ:HASH",
        help="a head printed by an earlier verify: also detects rows cut off the end",
    )
    p.set_defaults(func=_cmd_audit_verify)
    p = usub.add_parser("export", help="per-project monthly request counts as CSV")
    add_data_option(p)
    p.add_argument("--out", default=None, help="file to write (default: stdout)")
    p.set_defaults(func=_cmd_audit_export)

    p = sub.add_parser("graphql-schema", help="print the API's GraphQL schema (SDL)")
    p.add_argument("--out", default=None, help="file to write (default: stdout)")
    p.set_defaults(func=_cmd_schema)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _root(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from leo.layout import resolve_data_root

    root = resolve_data_root(args.data)
    if not root.is_local:
        raise LeoError(f"{root.root}: the API and the access commands need a local data root")
    return root


def uvicorn_options(forwarded_allow_ips: str | None = None) -> dict[str, Any]:
    """uvicorn settings shared by `leo serve` and the tests' live server.

    The client address keys the anonymous rate limit (what slows token guessing) and is
    written to the audit log, so X-Forwarded-For is believed only from proxies named here.
    uvicorn's default believes it from 127.0.0.1, which lets any local process pick a new
    address per request and guess tokens without limit."""
    return {
        "proxy_headers": bool(forwarded_allow_ips),
        "forwarded_allow_ips": forwarded_allow_ips or "",
        "access_log": False,
    }


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    root = _root(args)
    if args.workers < 1:
        raise LeoError("--workers must be at least 1")
    # Build once here so a bad config, access DB or release fails with a clear message.
    app = create_app(root, conf_dir=args.conf)
    print(
        f"leo: serving release {app.state.store.current().id} on http://{args.host}:"
        f"{args.port}/graphql ({args.workers} worker(s))",
        file=sys.stderr,
    )
    options = uvicorn_options(args.forwarded_allow_ips)
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, **options)
        return 0
    os.environ["LEO_DATA"] = root.root
    if args.conf:
        os.environ["LEO_CONF"] = str(args.conf)
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        **options,
    )
    return 0


def _access(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from api.access import AccessDB

    return AccessDB(_root(args).access_db())


def _cmd_add_analyst(args: argparse.Namespace) -> int:
    db = _access(args)
    new = db.add_analyst(args.analyst_id, args.name, args.organisation, args.accredited_until)
    print(
        f"{'added' if new else 'updated'} analyst {args.analyst_id}, accredited until "
        f"{args.accredited_until.isoformat()}"
    )
    return 0


def _cmd_issue_token(args: argparse.Namespace) -> int:
    from api.settings import load_settings

    days = args.days or load_settings(args.conf).default_token_days
    if days < 1:
        raise LeoError("--days must be at least 1")
    token_id, token = _access(args).issue_token(args.analyst_id, days=days, label=args.label)
    print(
        f"token {token_id} for {args.analyst_id}, valid {days} days. It is shown only once:",
        file=sys.stderr,
    )
    print(token)
    return 0


def _cmd_revoke_token(args: argparse.Namespace) -> int:
    if not _access(args).revoke_token(args.token_id):
        raise LeoError(f"no valid token {args.token_id!r} (unknown or already revoked)")
    print(f"revoked token {args.token_id}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from api.access import utcnow

    db = _access(args)
    now = utcnow()
    today = now.date()
    for a in db.analysts():
        state = "accredited" if today <= a.accredited_until else "ACCREDITATION EXPIRED"
        print(f"{a.id}  {a.name} ({a.organisation})  until {a.accredited_until}  {state}")
        for t in db.tokens(a.id):
            label = f"  [{t.label}]" if t.label else ""
            print(f"    token {t.id}  {t.state(now)}  expires {t.expires.date()}{label}")
    return 0


def _audit_conn(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from api.audit import open_readonly

    path = _root(args).audit_db()
    conn = open_readonly(path)
    if conn is None:
        raise LeoError(f"{path}: no audit log yet (the API writes it)")
    return conn


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from api.audit import verify

    head = None
    if args.head:
        seq, _, h = args.head.partition(":")
        if not seq.isdigit() or len(h) != 64:
            raise LeoError(f"--head: expected SEQ:HASH as printed by verify, got {args.head!r}")
        head = (int(seq), h)
    result = verify(_audit_conn(args), head)
    for problem in result.problems:
        print(f"TAMPERED: {problem}")
    print(f"{result.rows} row(s); head {result.head_seq}:{result.head_hash}")
    if result.ok:
        print("audit log intact")
        return 0
    return 1


def _cmd_audit_export(args: argparse.Namespace) -> int:
    from api.audit import export_monthly
    from leo.storage import write_text_atomic

    text = export_monthly(_audit_conn(args))
    if args.out:
        write_text_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from api.schema import sdl
    from leo.storage import write_text_atomic

    if args.out:
        write_text_atomic(args.out, sdl())
    else:
        sys.stdout.write(sdl())
    return 0
