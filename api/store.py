"""The release the API serves: `published/<release_id>/cells/` (Parquet, one row per cell,
contract leo.schema.release_cells_table) and `manifest.json`, chosen by `published/CURRENT`.

A release is loaded once into a lean index: the cells stay in Arrow columns, sorted so that
the cells of one (cohort type, cohort, years after, grouping set) are a contiguous row range,
and a dict maps each such key to its range. A query converts only the ranges it needs to
Python, and memoises them (a release never changes).

Hot swap: the store polls CURRENT; a new release is loaded beside the old one, then one
assignment makes it current. Each request takes `store.current()` once and uses only that
object, so no response can mix two releases. A release that fails to load is logged and
skipped; the previous one keeps serving.

The store opens nothing but `published/CURRENT` and the files of the release it loads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leo.catalogue import Catalogue
from leo.errors import InputError, LeoError
from leo.layout import DataRoot
from leo.schema import CELL_FLAGS, CELL_STATUSES, release_cells_table
from leo.storage import read_pointer

log = logging.getLogger(__name__)

RELEASE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
KEY_COLUMNS = ("cohort_type", "cohort", "years_after")
CELL_COLUMNS = ("measure", "value", "status", "flag", "reason")

# (cohort_type, cohort, years_after, grouping set as a bit mask over Release.dimensions)
RangeKey = tuple[str, str, int, int]
# One cell: group values (in Release.dimensions order of the grouping set), measure, value,
# status, flag, reason.
CellTuple = tuple[tuple[str, ...], str, float | None, str, str | None, str | None]


@dataclass(frozen=True)
class CohortInfo:
    cohort_type: str
    cohort: str
    years_after: tuple[int, ...]


class LRU:
    """A small thread-safe LRU mapping (the release loader runs in a thread), bounded by its
    number of entries and, when `max_weight` is given, by the total weight of its entries
    (what each `put` says an entry weighs: bytes, tokens, cells). A count alone does not
    bound memory when one entry can be a thousand times the size of another."""

    def __init__(self, size: int, max_weight: int | None = None) -> None:
        self.size = size
        self.max_weight = max_weight
        self.weight = 0
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            self._data.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any, weight: int = 1) -> None:
        if self.size <= 0 or (self.max_weight is not None and weight > self.max_weight):
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            self._data[key] = (value, weight)
            self.weight += weight
            while len(self._data) > self.size or (
                self.max_weight is not None and self.weight > self.max_weight
            ):
                _, (_, w) = self._data.popitem(last=False)
                self.weight -= w

    def __len__(self) -> int:
        return len(self._data)


class Release:
    """One immutable release, indexed for grouping-set lookups."""

    def __init__(
        self,
        release_id: str,
        manifest: dict[str, Any],
        cells: pa.Table,
        memo_size: int = 2000,
        memo_cells: int | None = None,
    ) -> None:
        self.id = release_id
        self.manifest = manifest
        self.dimensions: tuple[str, ...] = tuple(
            c for c in cells.column_names if c not in KEY_COLUMNS and c not in CELL_COLUMNS
        )
        self._bit = {d: 1 << i for i, d in enumerate(self.dimensions)}
        self.n_cells = cells.num_rows
        self.n_suppressed = int(pc.sum(pc.equal(cells["status"], "suppressed")).as_py() or 0)
        self._cells, self._ranges = _index(cells, self.dimensions)
        self.max_group_dims = max((bin(k[3]).count("1") for k in self._ranges), default=0)
        years: dict[tuple[str, str], set[int]] = {}
        for ct, cohort, ya, _ in self._ranges:
            years.setdefault((ct, cohort), set()).add(ya)
        self.cohorts = tuple(
            CohortInfo(ct, cohort, tuple(sorted(ys))) for (ct, cohort), ys in sorted(years.items())
        )
        self._years = {(c.cohort_type, c.cohort): c.years_after for c in self.cohorts}
        # Answers computed from this release (see api/tables.py), weighed in cells.
        self.memo = LRU(memo_size, memo_cells)

    @property
    def created(self) -> str | None:
        for key in ("created", "created_at", "time", "published"):
            if self.manifest.get(key):
                return str(self.manifest[key])
        return None

    def years_after(self, cohort_type: str, cohort: str) -> tuple[int, ...] | None:
        return self._years.get((cohort_type, cohort))

    def mask(self, dims: tuple[str, ...]) -> int | None:
        """Bit mask of a grouping set; None if a dimension is not in this release."""
        m = 0
        for d in dims:
            bit = self._bit.get(d)
            if bit is None:
                return None
            m |= bit
        return m

    def cells(self, cohort_type: str, cohort: str, years_after: int, mask: int) -> list[CellTuple]:
        """The cells of one grouping set; the group values follow self.dimensions order."""
        key = ("cells", cohort_type, cohort, years_after, mask)
        hit = self.memo.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        span = self._ranges.get((cohort_type, cohort, years_after, mask))
        if span is None:
            out: list[CellTuple] = []
        else:
            part = self._cells.slice(span[0], span[1] - span[0])
            dims = [d for d in self.dimensions if self._bit[d] & mask]
            group_cols = [part[d].to_pylist() for d in dims]
            groups = list(zip(*group_cols, strict=True)) if dims else [()] * part.num_rows
            out = list(
                zip(
                    groups,
                    part["measure"].to_pylist(),
                    part["value"].to_pylist(),
                    part["status"].to_pylist(),
                    part["flag"].to_pylist(),
                    part["reason"].to_pylist(),
                    strict=True,
                )
            )
        self.memo.put(key, out, weight=len(out) + 1)
        return out


def _index(
    cells: pa.Table, dims: tuple[str, ...]
) -> tuple[pa.Table, dict[RangeKey, tuple[int, int]]]:
    """Sort the cells by (cohort type, cohort, years after, grouping set) and map each key to
    its [start, stop) row range."""
    n = cells.num_rows
    if n == 0:
        return cells, {}
    mask = np.zeros(n, dtype=np.int64)
    for i, d in enumerate(dims):
        valid = cells[d].is_valid().to_numpy(zero_copy_only=False)
        mask |= valid.astype(np.int64) << i
    ct = cells["cohort_type"].combine_chunks().dictionary_encode()
    co = cells["cohort"].combine_chunks().dictionary_encode()
    ct_idx = ct.indices.to_numpy(zero_copy_only=False)
    co_idx = co.indices.to_numpy(zero_copy_only=False)
    ya = cells["years_after"].to_numpy().astype(np.int64)
    order = np.lexsort((mask, ya, co_idx, ct_idx))
    cells = cells.take(pa.array(order))
    keys = np.stack([ct_idx[order], co_idx[order], ya[order], mask[order]], axis=1)
    change = np.flatnonzero(np.any(keys[1:] != keys[:-1], axis=1)) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [n]])
    ct_names = ct.dictionary.to_pylist()
    co_names = co.dictionary.to_pylist()
    ranges: dict[RangeKey, tuple[int, int]] = {}
    for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
        k = keys[s]
        ranges[(ct_names[k[0]], co_names[k[1]], int(k[2]), int(k[3]))] = (s, e)
    return cells, ranges


def read_cells(cells_dir: Path, catalogue: Catalogue) -> pa.Table:
    """Read and check the cells of a release against the contract. Every problem is an
    InputError naming the directory and the column."""
    table = _read_parquet_dir(cells_dir)
    known = {d.id for d in catalogue.dimensions}
    fixed = set(KEY_COLUMNS) | set(CELL_COLUMNS)
    dims = [c for c in table.column_names if c not in fixed]
    unknown = sorted(set(dims) - known)
    if unknown:
        raise InputError(f"{cells_dir}: columns {unknown} are not catalogue dimensions")
    contract = release_cells_table(dims)
    missing = [c for c in contract.names if c not in table.column_names]
    if missing:
        raise InputError(f"{cells_dir}: missing column(s) {missing}")
    cols = []
    for col in contract.columns:
        arr = table[col.name]
        if pa.types.is_dictionary(arr.type):  # hive-partitioned directories come back encoded
            arr = arr.cast(arr.type.value_type)
        try:
            arr = arr.cast(col.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(
                f"{cells_dir}: column '{col.name}' has type {arr.type}, expected {col.type}"
            ) from None
        if not col.nullable and arr.null_count:
            raise InputError(f"{cells_dir}: column '{col.name}' has {arr.null_count} null(s)")
        cols.append(arr)
    table = pa.Table.from_arrays(cols, schema=contract.arrow_schema)
    bad = set(pc.unique(table["status"]).to_pylist()) - set(CELL_STATUSES)
    if bad:
        raise InputError(f"{cells_dir}: column 'status' has unknown values {sorted(bad)}")
    bad = set(pc.unique(table["flag"]).drop_null().to_pylist()) - set(CELL_FLAGS)
    if bad:
        raise InputError(f"{cells_dir}: column 'flag' has unknown values {sorted(bad)}")
    # Defence in depth: a suppressed cell never carries a value out of the API, whatever the
    # file says.
    suppressed = pc.equal(table["status"], "suppressed")
    value = pc.if_else(suppressed, pa.scalar(None, pa.float64()), table["value"])
    return table.set_column(table.schema.get_field_index("value"), "value", value)


def _read_parquet_dir(cells_dir: Path) -> pa.Table:
    """All Parquet files under `cells_dir` (hive-style `key=value` folders become columns),
    opened by this process's own `open()` calls, never following a link out of the folder:
    what the API reads is exactly what it lists here (and what tests can watch)."""
    if not cells_dir.is_dir():
        raise InputError(f"{cells_dir}: no cells directory")
    base = cells_dir.resolve()
    parts: list[pa.Table] = []
    for dirpath, dirnames, filenames in os.walk(cells_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            if name.startswith((".", "_")) or not name.endswith(".parquet"):
                continue
            path = Path(dirpath) / name
            if not path.resolve().is_relative_to(base):
                raise InputError(f"{path}: links outside the release")
            try:
                with open(path, "rb") as f:
                    part = pq.read_table(f)
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputError(f"{path}: cannot read: {exc}") from None
            for folder in Path(dirpath).relative_to(cells_dir).parts:
                key, sep, value = folder.partition("=")
                if sep and key not in part.column_names:
                    part = part.append_column(key, pa.array([value] * part.num_rows))
            parts.append(part)
    if not parts:
        raise InputError(f"{cells_dir}: no Parquet files")
    try:
        return pa.concat_tables(parts, promote_options="permissive")
    except pa.ArrowInvalid as exc:
        raise InputError(f"{cells_dir}: files disagree on their schema: {exc}") from None


def load_release(
    root: DataRoot,
    release_id: str,
    catalogue: Catalogue,
    memo_size: int = 2000,
    memo_cells: int | None = None,
) -> Release:
    if not RELEASE_ID_RE.match(release_id):
        raise InputError(f"{root.current_pointer()}: not a release id: {release_id!r}")
    rdir = Path(root.published(release_id))
    try:
        manifest = json.loads((rdir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{rdir}: no manifest.json (not a complete release)") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{rdir / 'manifest.json'}: cannot read: {exc}") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{rdir / 'manifest.json'}: expected a JSON object")
    cells = read_cells(rdir / "cells", catalogue)
    return Release(release_id, manifest, cells, memo_size, memo_cells)


class ReleaseStore:
    """Holds the current release and swaps it when published/CURRENT names another."""

    def __init__(
        self,
        root: DataRoot,
        catalogue: Catalogue,
        memo_size: int = 2000,
        memo_cells: int | None = None,
    ) -> None:
        self.root = root
        self.catalogue = catalogue
        self.memo_size = memo_size
        self.memo_cells = memo_cells
        self._current: Release | None = None
        self._failed: str | None = None
        self._lock = threading.Lock()

    def current(self) -> Release:
        release = self._current
        if release is None:
            raise LeoError("no release loaded")
        return release

    def refresh(self) -> bool:
        """Load the release CURRENT names if it is not the one being served. True on a swap.
        The first load raises on failure; later failures are logged and the old release
        keeps serving."""
        with self._lock:
            pointer = self.root.current_pointer()
            release_id = read_pointer(pointer)
            if release_id is None:
                if self._current is None:
                    raise LeoError(f"{pointer}: no release is published yet (run leo publish)")
                return False
            if self._current is not None and release_id in (self._current.id, self._failed):
                return False
            try:
                release = load_release(
                    self.root, release_id, self.catalogue, self.memo_size, self.memo_cells
                )
            except LeoError as exc:
                if self._current is None:
                    raise
                self._failed = release_id
                log.error(
                    "release %s not loaded, still serving %s: %s", release_id, self._current.id, exc
                )
                return False
            old = self._current
            self._current = release  # one assignment: requests see the old or the new
            self._failed = None
            log.info(
                "serving release %s (%s cells)%s",
                release.id,
                f"{release.n_cells:,}",
                f", was {old.id}" if old else "",
            )
            return True

    async def watch(self, interval: float) -> None:
        """Poll CURRENT until cancelled; loading runs in a thread so requests keep flowing."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:  # never let the watcher die
                log.exception("release watcher failed")
