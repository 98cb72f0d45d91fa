"""Run the generator: chunk plan, the chunk function, and atomic output.

`generate_chunk(cfg, seed, k, n)` is the whole model for persons k*chunk_size ..
k*chunk_size + n - 1: a pure function of its arguments (synthetic/streams.py), shared by
`leo synth` and the Spark job (spark_jobs/synth.py), which therefore write the same rows.

Output layout (leo/layout.py, design section 3):
    DATA_ROOT/raw/<source>/part-<chunk>.parquet       five source extracts
    DATA_ROOT/truth/records/part-<chunk>.parquet      (source, record_id, person_id)
    DATA_ROOT/truth/persons/part-<chunk>.parquet      true attributes per person
Everything is written under a hidden temporary folder in DATA_ROOT; `raw/` and `truth/` are
renamed into place only when every chunk is written, so a crash leaves no partial table
(the leftover temporary folder is removed on the next run). An existing `raw/` or `truth/`
is replaced only with `overwrite`.

The two folders cannot be renamed in one step. So once every chunk is written, a journal
(`swap.json`) in the temporary folder records the run, and the swap is a series of renames
each done at most once: a run interrupted part-way through it (raw/ new, truth/ still old
or missing) is finished by the next `leo synth`, which then accepts the finished output as
its own when it asked for the same persons, seed and settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from leo.errors import LeoError
from leo.faults import fault_point
from leo.schema import SOURCES
from leo.storage import write_json_atomic
from synthetic.careers import simulate_careers
from synthetic.config import SyntheticConfig, validate_arguments
from synthetic.population import simulate
from synthetic.sources import ChunkTables, build_chunk
from synthetic.streams import Streams

log = logging.getLogger("leo.synth")

TABLES = (*SOURCES, "truth/records", "truth/persons")
_TMP_PREFIX = ".synth.tmp-"
_JOURNAL = "swap.json"
_FOLDERS = ("raw", "truth")


def table_dir(table: str) -> str:
    """Path of a table under the data root: raw/<source> or truth/<name>."""
    return table if table.startswith("truth/") else f"raw/{table}"


def chunk_plan(persons: int, chunk_size: int) -> list[int]:
    """Persons in each chunk: full chunks, then the remainder."""
    full, rest = divmod(persons, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def generate_chunk(
    cfg: SyntheticConfig, seed: int, chunk_index: int, n: int, debug: bool = False
) -> ChunkTables:
    streams = Streams(seed, chunk_index)
    people = simulate(cfg, n, chunk_index * cfg.chunk_size, streams)
    careers = simulate_careers(cfg, people, streams.get("careers"))
    return build_chunk(cfg, people, careers, streams, chunk_index, debug=debug)


def _write_chunk(tmp: str, cfg_json: str, seed: int, k: int, n: int) -> dict[str, int]:
    cfg = SyntheticConfig.model_validate_json(cfg_json)
    tables = generate_chunk(cfg, seed, k, n).tables
    counts = {}
    for name, table in tables.items():
        path = Path(tmp, table_dir(name), f"part-{k:05d}.parquet")
        pq.write_table(table, path, compression="zstd")
        counts[name] = table.num_rows
    return counts


@dataclass
class Summary:
    persons: int
    chunks: int
    rows: dict[str, int]
    seconds: float
    recovered: bool = False  # an interrupted run with these arguments was finished instead


def existing_output(root: Path) -> list[str]:
    """raw/ and truth/ folders already holding files."""
    found = []
    for name in ("raw", "truth"):
        folder = root / name
        if folder.exists() and any(folder.iterdir()):
            found.append(str(folder))
    return found


def _swap_in(root: Path, tmp: Path) -> None:
    """Move tmp/raw and tmp/truth into place, an old one into tmp first. Every rename is done
    at most once, so calling this again after an interruption finishes the swap."""
    for name in _FOLDERS:
        new, old = tmp / name, tmp / f"old-{name}"
        if not new.exists():
            continue  # moved in before the interruption
        if (root / name).exists() and not old.exists():
            os.replace(root / name, old)
        os.replace(new, root / name)
        if name == _FOLDERS[0]:
            fault_point("synth:mid-swap")


def _recover(root: Path) -> dict[str, Any] | None:
    """Finish the swap of an interrupted run whose chunks were all written (its journal is
    there), and remove every other leftover temporary folder. Returns the finished run's
    journal, if any."""
    finished = None
    if not root.is_dir():
        return None
    for child in sorted(root.iterdir()):
        if not child.name.startswith(_TMP_PREFIX):
            continue
        journal = child / _JOURNAL
        if journal.is_file():
            _swap_in(root, child)
            finished = json.loads(journal.read_text(encoding="utf-8"))
            log.warning("finished the swap of an interrupted run (%s)", child.name)
        shutil.rmtree(child, ignore_errors=True)
    return finished


def _run_key(persons: int, seed: int, cfg: SyntheticConfig) -> dict[str, Any]:
    digest = hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()
    return {"persons": persons, "seed": seed, "config_sha256": digest}


def _results(
    tmp: str, cfg: SyntheticConfig, seed: int, plan: list[int], workers: int
) -> Iterator[dict[str, int]]:
    cfg_json = cfg.model_dump_json()
    if workers == 1 or len(plan) == 1:
        for k, n in enumerate(plan):
            yield _write_chunk(tmp, cfg_json, seed, k, n)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(plan))) as pool:
        futures = [pool.submit(_write_chunk, tmp, cfg_json, seed, k, n) for k, n in enumerate(plan)]
        for f in futures:
            yield f.result()


def generate(
    out: str | Path,
    persons: int,
    seed: int,
    cfg: SyntheticConfig,
    overwrite: bool = False,
    workers: int = 1,
) -> Summary:
    validate_arguments(persons, seed, cfg.chunk_size, workers)
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise LeoError(f"--out {root}: exists and is not a folder")
    finished = _recover(root)
    found = existing_output(root)
    if found and not overwrite:
        if finished is not None and finished["run"] == _run_key(persons, seed, cfg):
            log.warning("the interrupted run had these arguments: its output is complete")
            rows = {str(k): int(v) for k, v in finished["rows"].items()}
            return Summary(persons, int(finished["chunks"]), rows, 0.0, recovered=True)
        raise LeoError(
            f"--out {root}: {' and '.join(found)} already hold data; "
            "use --overwrite to replace them"
        )
    root.mkdir(parents=True, exist_ok=True)
    plan = chunk_plan(persons, cfg.chunk_size)
    tmp = root / f"{_TMP_PREFIX}{uuid.uuid4().hex[:8]}"
    for name in TABLES:
        (tmp / table_dir(name)).mkdir(parents=True)
    started = time.perf_counter()
    rows = dict.fromkeys(TABLES, 0)
    journal = None
    try:
        for k, counts in enumerate(_results(str(tmp), cfg, seed, plan, workers)):
            for name, c in counts.items():
                rows[name] += c
            log.info("chunk %d/%d: %s rows", k + 1, len(plan), f"{sum(counts.values()):,}")
            fault_point("synth:after-chunk")
        journal = {"run": _run_key(persons, seed, cfg), "chunks": len(plan), "rows": rows}
        write_json_atomic(tmp / _JOURNAL, journal)
        fault_point("synth:before-swap")
        _swap_in(root, tmp)
        fault_point("synth:after-swap")
    except BaseException:
        if journal is None:  # else the swap has begun: the next run finishes it
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    stale = [z for z in ("work", "linked", "published") if (root / z).exists()]
    if stale:
        log.warning("%s hold results made from earlier source data", ", ".join(stale))
    return Summary(persons, len(plan), rows, time.perf_counter() - started)


def read_table(root: str | Path, name: str) -> pa.Table:
    """One output table, all chunks in order (for tests and checks)."""
    folder = Path(root, table_dir(name))
    parts = sorted(folder.glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in parts])
