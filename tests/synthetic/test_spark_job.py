"""spark_jobs/synth.py writes, through Spark, exactly the rows of the local generator."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leo.errors import LeoError
from spark_jobs.synth import run, table_schema
from synthetic.config import load_synthetic_config
from synthetic.generator import TABLES, generate, table_dir

PERSONS, SEED, CHUNK = 1000, 11, 500


def sorted_rows(table: pa.Table, name: str) -> pa.Table:
    keys = [f.name for f in table_schema(name)][:2]  # record id (or source, record id)
    if name == "truth/persons":
        keys = ["person_id"]
    return table.sort_by([(k, "ascending") for k in keys])


@pytest.mark.spark
@pytest.mark.slow
def test_spark_job_writes_the_rows_of_the_local_generator(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = load_synthetic_config().model_copy(update={"chunk_size": CHUNK})
    local = tmp_path / "local"
    summary = generate(local, PERSONS, SEED, cfg)
    out = tmp_path / "spark"
    counts = run(spark, PERSONS, SEED, str(out), cfg)
    assert counts == summary.rows
    for name in TABLES:
        mine = pq.read_table(local / table_dir(name))
        theirs = pq.read_table(out / table_dir(name))
        contract = table_schema(name)
        # Spark marks every column nullable; names and types are the contract's.
        assert theirs.schema.names == contract.names, name
        assert [f.type for f in theirs.schema] == [f.type for f in contract], name
        assert sorted_rows(theirs.cast(contract), name).equals(sorted_rows(mine, name)), name
    assert sorted(p.name for p in out.iterdir()) == ["raw", "truth"]

    with pytest.raises(LeoError, match="--overwrite"):
        run(spark, PERSONS, SEED, str(out), cfg)
    counts = run(spark, 200, SEED + 1, out.as_uri(), cfg, overwrite=True)
    assert counts["truth/persons"] == 200
    assert pq.read_table(out / "truth/persons").num_rows == 200
    assert sorted(p.name for p in out.iterdir()) == ["raw", "truth"]
