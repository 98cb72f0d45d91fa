"""`leo`: the one command line of the platform. Each package registers its own subcommands
(a `register(subparsers)` function in its `cli.py`); this module lists them explicitly, sets
up logging, and turns user errors (LeoError) into a one-line message and exit status 2.

Heavy imports (pyspark, pandas) happen inside command handlers, so `leo --help` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from leo import __version__
from leo.errors import LeoError
from leo.layout import DATA_ENV, DEFAULT_DATA
from leo.logs import setup_logging

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

DESCRIPTION = """\
A LEO-style linked-data research platform.

Typical flow (each step reads what the previous one wrote under the data root):
  leo synth --persons 100000 --seed 1 --out data   synthetic source extracts + truth
  leo link --data data                              probabilistic linkage -> work/<run>/
  leo build --data data                             research tables -> linked/<run>/
  leo publish --data data                           disclosure-controlled release
  leo serve --data data                             GraphQL API on the current release
or all of it at once: leo demo
"""


def add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        metavar="DATA_ROOT",
        default=None,
        help=f"data root (local path or URI); default ${DATA_ENV} or {DEFAULT_DATA}",
    )


def _register_builtin(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "data-dictionary",
        help="write the data dictionary of every zone, generated from leo/schema.py",
    )
    p.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    p.set_defaults(func=_cmd_data_dictionary)

    p = sub.add_parser("doctor", help="show the Java, Spark and Python this machine would use")
    p.set_defaults(func=_cmd_doctor)


def _cmd_data_dictionary(args: argparse.Namespace) -> int:
    from leo.schema import data_dictionary
    from leo.storage import write_text_atomic

    text = data_dictionary()
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(args.out, text)
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    import platform

    from leo.java import find_java

    java = find_java()
    print(f"python  {platform.python_version()} ({sys.executable})")
    print(f"java    {java.major} from {java.origin}: {java.home}")
    try:
        import pyspark

        print(f"pyspark {pyspark.__version__}")
    except ImportError:
        print("pyspark not installed")
    return 0


def registrars() -> list[Registrar]:
    """Every package's subcommands, in the order `leo --help` lists them."""
    from api.cli import register as register_api
    from disclosure.cli import register as register_disclosure
    from leo.demo import register as register_demo
    from linkage.cli import register as register_linkage
    from spark_jobs.cli import register as register_build
    from synthetic.cli import register as register_synth

    return [
        register_synth,
        register_linkage,
        register_build,
        register_disclosure,
        _register_builtin,
        register_api,
        register_demo,
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leo", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"leo {__version__}")
    parser.add_argument(
        "--conf",
        metavar="DIR",
        default=None,
        help="folder of config files overriding the packaged conf/ (file by file); or $LEO_CONF",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in registrars():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(-1 if args.quiet else args.verbose)
    try:
        return int(args.func(args) or 0)
    except LeoError as exc:
        print(f"leo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("leo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
