"""Run the generator: chunk plan, the chunk function, and atomic output.

`generate_chunk(cfg, seed, k, n)` is the whole model for persons k*chunk_size ..
k*chunk_size + n - 1: a pure function of its arguments (synthetic/streams.py), shared by
`leo synth` and the Spark job (spark_jobs/synth.py), which therefore write the same rows.

Output layout (leo/layout.py, design section 3):
    DATA_ROOT/raw/<source>/part-<chunk>.parquet       five source extracts
    DATA_ROOT/truth/records/part-<chunk>.parquet      (source, record_id, person_id)
    DATA_ROOT/truth/persons/part-<chunk>.parquet      true attributes per person
Everything is written under a hidden temporary folder in DATA_ROOT; `raw/` and `truth/` are
renamed into place only when every chunk is written, so a crash leaves no partial output
(the leftover temporary folder is removed on the next run). An existing `raw/` or `truth/`
is replaced only with `overwrite`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from leo.errors import LeoError
from leo.schema import SOURCES
from synthetic.careers import simulate_careers
from synthetic.config import SyntheticConfig
from synthetic.population import simulate
from synthetic.sources import ChunkTables, build_chunk
from synthetic.streams import Streams

log = logging.getLogger("leo.synth")

TABLES = (*SOURCES, "truth/records", "truth/persons")
MAX_SEED = 2**63 - 1
MAX_PERSONS = 10**9
_TMP_PREFIX = ".synth.tmp-"


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


def validate_arguments(persons: int, seed: int, chunk_size: int | None, workers: int) -> None:
    """Bad arguments fail before any work, naming the option."""
    if persons < 1 or persons > MAX_PERSONS:
        raise LeoError(f"--persons must be between 1 and {MAX_PERSONS:,}, got {persons}")
    if seed < 0 or seed > MAX_SEED:
        raise LeoError(f"--seed must be between 0 and 2^63-1, got {seed}")
    if chunk_size is not None and not 1 <= chunk_size <= 200_000:
        raise LeoError(f"--chunk-size must be between 1 and 200,000, got {chunk_size}")
    if workers < 1:
        raise LeoError(f"--workers must be at least 1, got {workers}")


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


def existing_output(root: Path) -> list[str]:
    """raw/ and truth/ folders already holding files."""
    found = []
    for name in ("raw", "truth"):
        folder = root / name
        if folder.exists() and any(folder.iterdir()):
            found.append(str(folder))
    return found


def _clean_stale(root: Path) -> None:
    if root.is_dir():
        for child in root.iterdir():
            if child.name.startswith(_TMP_PREFIX):
                shutil.rmtree(child, ignore_errors=True)


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
    found = existing_output(root)
    if found and not overwrite:
        raise LeoError(
            f"--out {root}: {' and '.join(found)} already hold data; "
            "use --overwrite to replace them"
        )
    root.mkdir(parents=True, exist_ok=True)
    _clean_stale(root)
    plan = chunk_plan(persons, cfg.chunk_size)
    tmp = root / f"{_TMP_PREFIX}{uuid.uuid4().hex[:8]}"
    for name in TABLES:
        (tmp / table_dir(name)).mkdir(parents=True)
    started = time.perf_counter()
    rows = dict.fromkeys(TABLES, 0)
    try:
        for k, counts in enumerate(_results(str(tmp), cfg, seed, plan, workers)):
            for name, c in counts.items():
                rows[name] += c
            log.info("chunk %d/%d: %s rows", k + 1, len(plan), f"{sum(counts.values()):,}")
        # Swap in raw/ and truth/: old ones are moved into the temporary folder, then deleted.
        for name in ("raw", "truth"):
            if (root / name).exists():
                os.replace(root / name, tmp / f"old-{name}")
            os.replace(tmp / name, root / name)
    finally:
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
