"""A synthetic sample shared by the distribution and corruption tests: 30,000 persons in two
chunks, generated in memory with the debug output (corruption flags and true identities)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pytest

from synthetic.config import SyntheticConfig, load_synthetic_config
from synthetic.generator import chunk_plan, generate_chunk
from synthetic.sources import SOURCE_NAMES

SEED = 20240601
PERSONS = 30_000
CHUNK = 15_000


@dataclass
class Sample:
    cfg: SyntheticConfig
    tables: dict[str, pa.Table]
    debug: dict[str, pa.Table]
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def frame(self, source: str) -> pd.DataFrame:
        """A source table with its rows' true person_id (a copy: tests may add columns)."""
        if source not in self._frames:
            t = self.tables[source].to_pandas()
            t["person_id"] = self.debug[source].column("person_id").to_numpy()
            self._frames[source] = t
        return self._frames[source].copy()

    def flags(self, source: str) -> pd.DataFrame:
        """Per row: corruption flags, eligibility and true values (a copy)."""
        key = f"flags:{source}"
        if key not in self._frames:
            self._frames[key] = self.debug[source].to_pandas()
        return self._frames[key].copy()


@pytest.fixture(scope="session")
def cfg() -> SyntheticConfig:
    return load_synthetic_config()


@pytest.fixture(scope="session")
def sample(cfg: SyntheticConfig) -> Sample:
    cfg = cfg.model_copy(update={"chunk_size": CHUNK})
    parts = [
        generate_chunk(cfg, SEED, k, n, debug=True)
        for k, n in enumerate(chunk_plan(PERSONS, CHUNK))
    ]
    names = [*SOURCE_NAMES, "truth/records", "truth/persons"]
    tables = {n: pa.concat_tables([p.tables[n] for p in parts]) for n in names}
    debug = {n: pa.concat_tables([p.debug[n] for p in parts]) for n in [*SOURCE_NAMES, "persons"]}
    return Sample(cfg, tables, debug)
