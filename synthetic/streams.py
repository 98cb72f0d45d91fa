"""Random streams: every draw of a chunk comes from a generator seeded by (seed, chunk index,
purpose), numpy SeedSequence spawn keys. A chunk is therefore a pure function of the seed, its
index and its size, whatever else runs, and changing one step of the model (a new draw in
`careers`, say) does not reshuffle the draws of another (the names)."""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    def __init__(self, seed: int, chunk_index: int) -> None:
        self.seed = seed
        self.chunk_index = chunk_index

    def get(self, purpose: str) -> np.random.Generator:
        key = (self.chunk_index, zlib.crc32(purpose.encode("utf-8")))
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key))
        )
