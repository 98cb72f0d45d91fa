"""`leo demo`: the whole platform on embedded defaults, in one command.

    synthetic sources -> link -> build -> publish (with the attacker's audit)
    -> a demo analyst and token for the demo project -> the API

Each step is the same code as its own command (`leo synth`, `leo link`, ...), run in one
process and one Spark session. The API is then started as `leo serve` in place of this
process (exec), so the server, like any `leo serve`, never has Spark loaded.

Running it twice: the data root's `demo.json` records what the last demo made (population,
seed, release). When the population and seed are unchanged and that release is still
`published/CURRENT`, the pipeline is skipped and only a new token is issued; otherwise every
step runs again and replaces its output (`--fresh` forces this). Each run revokes the tokens
earlier demos issued, so only the token it prints is valid.

The demo publishes one-way tables only (`max_dimensions: 1`, the breakdowns the outcome
explorer offers): a demo-sized population crossed two ways is nearly all suppressed, and
protecting it costs minutes. That one change is `demo-conf/disclosure.yaml` under the data
root (with copies of the files of `--conf`, if given); every step and the API use it.

The demo's pseudonymisation key is a key file under the data root (`secrets/demo.key`),
acceptable for synthetic data only: a real deployment passes `--key-file` outside the data
root or sets LEO_PSEUDONYMISATION_KEY.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from leo.errors import LeoError
from leo.layout import DataRoot, resolve_data_root
from leo.storage import read_pointer, write_json_atomic

DEMO_PROJECT = "dfe-2024-017"
DEMO_ANALYST = "demo.analyst"
TOKEN_LABEL = "leo demo"  # noqa: S105 (a label, not a secret)
DEFAULT_PERSONS = 20000  # a few minutes on 2 cores, enough people for cells to be released
DEMO_MAX_DIMENSIONS = 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from leo.cli import add_data_option

    p = sub.add_parser(
        "demo",
        help="everything on defaults: synth, link, build, publish, a demo token, the API",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    add_data_option(p)
    p.add_argument("--persons", type=int, default=DEFAULT_PERSONS, help="synthetic population")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fresh", action="store_true", help="rerun every step even if reusable")
    p.add_argument("--no-serve", action="store_true", help="stop after printing the token")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=_cmd_demo)


def _step(argv: list[str], conf: str | None) -> None:
    """Run one `leo` command in this process; a failing step stops the demo."""
    from leo.cli import main

    full = ([] if conf is None else ["--conf", conf]) + argv
    print(f"\n== leo {' '.join(argv)}", flush=True)
    rc = main(full)
    if rc != 0:
        raise LeoError(f"demo stopped: `leo {' '.join(argv)}` exited {rc}")


def _reusable(root: DataRoot, marker: dict[str, Any], persons: int, seed: int) -> bool:
    return (
        marker.get("persons") == persons
        and marker.get("seed") == seed
        and marker.get("release") is not None
        and marker.get("release") == read_pointer(root.current_pointer())
    )


def _demo_conf(root: DataRoot, base: str | None) -> str:
    """`demo-conf/`: the effective configuration with the demo's one change (see above)."""
    return one_way_conf(Path(root.path("demo-conf")), base)


def one_way_conf(folder: Path, base: str | None) -> str:
    """A --conf folder for a small population: the configuration of `base` (or the packaged
    one) publishing one-way tables only. Used by the demo and the cluster test."""
    import re

    from leo.config import conf_path
    from leo.storage import write_text_atomic

    folder.mkdir(parents=True, exist_ok=True)
    # files not here are found where any command finds them (LEO_CONF, then the packaged ones)
    for f in Path(base).glob("*.yaml") if base is not None else []:
        write_text_atomic(folder / f.name, f.read_text(encoding="utf-8"))
    text = conf_path("disclosure.yaml", base).read_text(encoding="utf-8")
    text, n = re.subn(
        r"^max_dimensions: *\d+", f"max_dimensions: {DEMO_MAX_DIMENSIONS}", text, flags=re.M
    )
    if n != 1:
        text += f"\nmax_dimensions: {DEMO_MAX_DIMENSIONS}  # leo demo\n"
    write_text_atomic(folder / "disclosure.yaml", text)
    return str(folder)


def _demo_key(root: DataRoot) -> str:
    from linkage.pseudonymise import write_new_key

    path = Path(root.secrets_dir()) / "demo.key"
    if not path.exists():
        write_new_key(path)
    return str(path)


def _token(root: DataRoot) -> str:
    """A fresh token for the demo analyst; the tokens of earlier demos are revoked."""
    from api.access import AccessDB

    db = AccessDB(root.access_db())
    try:
        db.add_analyst(DEMO_ANALYST, "Demo Analyst", "DfE", date.today() + timedelta(days=365))
        for t in db.tokens(DEMO_ANALYST):
            if t.label == TOKEN_LABEL:
                db.revoke_token(t.id)
        _, token = db.issue_token(DEMO_ANALYST, days=30, label=TOKEN_LABEL)
    finally:
        db.close()
    return token


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.persons < 100:
        raise LeoError("--persons must be at least 100 for a demo")
    root = resolve_data_root(args.data)
    if not root.is_local:
        raise LeoError(f"{root.root}: the demo needs a local data root (it serves the API)")
    marker_path = Path(root.path("demo.json"))
    marker = json.loads(marker_path.read_text()) if marker_path.exists() else {}
    data = root.root
    conf = _demo_conf(root, args.conf)
    if args.fresh or not _reusable(root, marker, args.persons, args.seed):
        marker_path.unlink(missing_ok=True)  # a half-finished rerun is not reusable
        synth = ["synth", "--persons", str(args.persons), "--seed", str(args.seed)]
        _step([*synth, "--out", data, "--overwrite"], conf)
        _step(["link", "--data", data, "--key-file", _demo_key(root)], conf)
        _step(["evaluate", "--data", data], conf)
        _step(["build", "--data", data], conf)
        _step(["publish", "--data", data], conf)
        _stop_spark()
        release = read_pointer(root.current_pointer())
        write_json_atomic(
            marker_path, {"persons": args.persons, "seed": args.seed, "release": release}
        )
    else:
        print(f"reusing the demo release {marker['release']} (--fresh to rebuild it)")
    token = _token(root)
    print(instructions(args.host, args.port, token))
    if args.no_serve:
        return 0
    sys.stdout.flush()
    argv = [sys.executable, "-m", "leo"]
    argv += ["--conf", conf]
    argv += ["serve", "--data", data, "--host", args.host, "--port", str(args.port)]
    os.execv(sys.executable, argv)  # noqa: S606 (the server starts clean, without Spark in the process)
    return 0  # not reached


def _stop_spark() -> None:
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


EXAMPLE_QUERY = (
    "{\n"
    f'  project(id: "{DEMO_PROJECT}") {{\n'
    "    title\n"
    '    outcomeSummary(cohort: {type: KS4, cohort: "2012/13"}, by: "sex") {\n'
    "      release\n"
    "      rows { yearsAfter group { label } cells { measure value flag reason } }\n"
    "    }\n"
    "  }\n"
    "}"
)


def instructions(host: str, port: int, token: str) -> str:
    base = f"http://{host}:{port}"
    return f"""
== the demo is ready
Outcome explorer (policy teams):  {base}/
GraphiQL (analysts):              {base}/graphql
Catalogue and register (public):  {base}/catalogue  {base}/register

Demo analyst token (shown once; valid 30 days, project {DEMO_PROJECT}):
  {token}

In GraphiQL, add the header  {{"Authorization": "Bearer {token}"}}  and run:
  {{ me {{ id name projects {{ id title }} }} }}
and:
{EXAMPLE_QUERY}

From Python (httpx):
  import httpx
  query = '{{ me {{ id projects {{ id title }} }} }}'
  r = httpx.post("{base}/graphql", json={{"query": query}},
                 headers={{"Authorization": "Bearer {token}"}})
  print(r.json())
"""
