"""Slices of a release, (cohort type, cohort, years after), are independent systems for the
attack and for secondary suppression: no equation crosses two of them. So both map over
slices, in worker processes when there are several (LEO_DISCLOSURE_WORKERS, default the
CPU count), largest slices first."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import pandas as pd

from disclosure.cube import KEY_COLUMNS

R = TypeVar("R")
WORKERS_ENV = "LEO_DISCLOSURE_WORKERS"


def split(cells: pd.DataFrame) -> list[pd.DataFrame]:
    """The cells of each slice (original index kept), largest first."""
    parts = [cells.iloc[idx] for idx in cells.groupby(KEY_COLUMNS, sort=True).indices.values()]
    return sorted(parts, key=len, reverse=True)


def workers() -> int:
    return max(1, int(os.environ.get(WORKERS_ENV) or os.cpu_count() or 1))


SERIAL_BELOW = 50_000  # cells: under this, starting worker processes costs more than it saves


def map_slices(fn: Callable[[pd.DataFrame], R], parts: list[pd.DataFrame]) -> list[R]:
    n = min(workers(), len(parts))
    if n <= 1 or sum(len(p) for p in parts) < SERIAL_BELOW:
        return [fn(p) for p in parts]
    # spawn, not fork: the parent may hold a Spark JVM gateway and its threads
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(fn, parts))
