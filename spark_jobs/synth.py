"""Spark job: the synthetic generator spread over a cluster.

    spark-submit spark_jobs/synth.py --persons N --seed S --out URI [--overwrite]
                                     [--chunk-size K] [--conf DIR]

Each task runs the same chunk function as `leo synth` (synthetic/generator.generate_chunk)
for its chunk indices, inside `mapInArrow`, so for the same seed, settings and chunk size the
rows are exactly those of the local generator. Spark writes the tables to any
Hadoop-compatible URI (file://, hdfs://, s3a://) with the layout of leo/layout.py:
    URI/raw/<source>/, URI/truth/records/, URI/truth/persons/

One pass generates every table: tasks emit all seven tables as rows of one wide schema (the
union of their columns plus a `_table` tag), persisted on disk, and each table is then
selected and written. Output goes to a hidden temporary folder under URI and is renamed into
place when complete (spark_jobs/storage.py), so a failed job leaves no partial raw/ or truth/.
Parquet written by Spark marks every column nullable; names, types and values are the
contract's.
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

REPO = Path(__file__).resolve().parent.parent
if __name__ == "__main__" and not __package__:
    # Run as a file (spark-submit spark_jobs/synth.py): the project is importable from here.
    sys.path.insert(0, str(REPO))

from leo.errors import LeoError  # noqa: E402
from leo.layout import normalise_root  # noqa: E402
from leo.logs import setup_logging, stage  # noqa: E402
from leo.schema import SOURCES, TRUTH  # noqa: E402
from synthetic.config import (  # noqa: E402
    SyntheticConfig,
    load_synthetic_config,
    validate_arguments,
)
from synthetic.generator import TABLES, chunk_plan, generate_chunk, table_dir  # noqa: E402

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("leo.synth.spark")
TAG = "_table"
BATCH_ROWS = 50_000


def table_schema(name: str) -> pa.Schema:
    return (
        TRUTH[name.split("/", 1)[1]].arrow_schema
        if name.startswith("truth/")
        else (SOURCES[name].arrow_schema)
    )


def union_schema() -> pa.Schema:
    """`_table` plus every column of every table (a name has one type across tables)."""
    fields: dict[str, pa.Field] = {TAG: pa.field(TAG, pa.string(), nullable=False)}
    for name in TABLES:
        for f in table_schema(name):
            if f.name in fields and fields[f.name].type != f.type:
                raise TypeError(f"column {f.name} has two types: {fields[f.name].type}, {f.type}")
            fields.setdefault(f.name, pa.field(f.name, f.type, nullable=True))
    return pa.schema(list(fields.values()))


def chunk_batches(cfg_json: str, seed: int, plan: list[int]):
    """The mapInArrow function: chunk indices in, every table's rows out (wide schema)."""
    schema = union_schema()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        cfg = SyntheticConfig.model_validate_json(cfg_json)
        for batch in batches:
            for k in batch.column(0).to_pylist():
                tables = generate_chunk(cfg, seed, int(k), plan[int(k)]).tables
                for name, table in tables.items():
                    for part in table.to_batches(max_chunksize=BATCH_ROWS):
                        n = part.num_rows
                        cols = [pa.array([name] * n, pa.string())]
                        for f in schema:
                            if f.name == TAG:
                                continue
                            idx = part.schema.get_field_index(f.name)
                            cols.append(part.column(idx) if idx >= 0 else pa.nulls(n, f.type))
                        yield pa.RecordBatch.from_arrays(cols, schema=schema)

    return run


def run(
    spark: SparkSession,
    persons: int,
    seed: int,
    out: str,
    cfg: SyntheticConfig,
    overwrite: bool = False,
) -> dict[str, int]:
    """Generate and write; returns the row count of each table."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    from spark_jobs.storage import HadoopStorage

    validate_arguments(persons, seed, cfg.chunk_size, 1)
    root = normalise_root(out)
    root = root if "://" in root else "file://" + root
    storage = HadoopStorage(spark)
    existing = [f"{root}/{d}" for d in ("raw", "truth") if storage.list_names(f"{root}/{d}")]
    if existing and not overwrite:
        raise LeoError(
            f"--out {out}: {' and '.join(existing)} already hold data; "
            "use --overwrite to replace them"
        )
    storage.mkdirs(root)
    storage.clean_stale(root)
    plan = chunk_plan(persons, cfg.chunk_size)
    schema = union_schema()
    chunks = spark.range(0, len(plan), numPartitions=len(plan))
    wide = chunks.mapInArrow(
        chunk_batches(cfg.model_dump_json(), seed, plan), from_arrow_schema(schema)
    ).persist(StorageLevel.DISK_ONLY)
    tmp = f"{root}/.synth.tmp-{uuid.uuid4().hex[:8]}"
    try:
        for name in TABLES:
            cols = [f.name for f in table_schema(name)]
            part = wide.where(F.col(TAG) == name).select(*cols)
            part.write.parquet(f"{tmp}/{table_dir(name)}")
        counts = {r[TAG]: int(r["count"]) for r in wide.groupBy(TAG).count().collect()}
        for folder in ("raw", "truth"):
            if storage.exists(f"{root}/{folder}"):
                storage.rename(f"{root}/{folder}", f"{tmp}/old-{folder}")
            storage.rename(f"{tmp}/{folder}", f"{root}/{folder}")
    finally:
        wide.unpersist()
        storage.delete(tmp)
    return {name: counts.get(name, 0) for name in TABLES}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="spark_jobs/synth.py",
        description="Generate synthetic LEO-style sources and truth with Spark.",
    )
    parser.add_argument("--persons", type=int, required=True, metavar="N")
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument("--out", required=True, metavar="URI", help="data root (path or URI)")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--chunk-size", type=int, default=None, metavar="K")
    parser.add_argument("--conf", default=None, metavar="DIR", help="folder of config files")
    args = parser.parse_args(argv)
    setup_logging(0)
    try:
        validate_arguments(args.persons, args.seed, args.chunk_size, 1)
        cfg = load_synthetic_config(args.conf)
        if args.chunk_size is not None:
            cfg = cfg.model_copy(update={"chunk_size": args.chunk_size})
        from spark_jobs.session import spark_session

        spark = spark_session("leo-synth")
        with stage(log, "synth (spark)") as s:
            for name, rows in run(
                spark, args.persons, args.seed, args.out, cfg, args.overwrite
            ).items():
                s[f"{name} rows"] = rows
    except LeoError as exc:
        print(f"spark_jobs/synth.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
