"""Logging set-up for the CLI and jobs. Jobs log one line per stage with its counts, never
identifier values or keys (tests capture the logs of a linkage run and check)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

FORMAT = "%(asctime)s %(levelname)-5s %(name)s: %(message)s"


def setup_logging(verbosity: int = 0) -> None:
    level = logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity >= 0 else logging.WARNING
    logging.basicConfig(level=level, format=FORMAT, datefmt="%H:%M:%S", stream=sys.stderr)
    for noisy in ("py4j", "pyspark", "urllib3", "httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def stage(log: logging.Logger, name: str) -> Iterator[dict[str, object]]:
    """Time a pipeline stage and log one line with whatever counts the body records:

    with stage(log, "block") as s:
        s["candidate pairs"] = pairs.count()
    """
    counts: dict[str, object] = {}
    start = time.perf_counter()
    yield counts
    took = time.perf_counter() - start
    shown = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items())
    log.info("stage %s: %s%s(%.1f s)", name, shown, " " if shown else "", took)
