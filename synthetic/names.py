"""Name tables for the generator: forenames by sex and origin, surnames by origin, and the
nickname table used to corrupt forenames.

The lists (synthetic/data/*.csv) are ordered most common first within each origin; weights
are Zipf by rank, `1 / (rank + offset) ** exponent` (conf: names.*_zipf), as first names and
surnames are in ONS data. Spelling variants are separate names (Katie, Katy), so near misses
between different people exist. British surnames get a long tail of generated compound
toponymic names (Ashford, Holbrook, ...) so the surname distribution is realistically spread:
the most common name near 1.5%, chance that two random people share a surname near 0.2%.

The nickname table is ours; the linker ships its own, separate one, so evaluating the linker
on this data does not test a table against itself.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from synthetic.config import ORIGINS, NamesConfig, Zipf

SEXES = ("F", "M")

# Pieces of English place-name surnames: prefix + suffix (Ash + ford), for the long tail.
_PREFIX_TEXT = (
    "Ash Ack Ald Alder Apple Ark Arn Bar Bark Barn Beck Birk Black Blen Brad Bram Brent Brock "
    "Brom Brook Bur Cal Cam Car Carl Chal Chad Clay Cliff Cold Coll Cort Crab Crom Dal Dar Den "
    "Dun East Ed Elm Els Fair Farn Fen Fern Fin Gar Gold Good Gras Ham Har Hart Hat Haw Hay Hen "
    "Hol Horn Hux Kel Ken Kings Kirk Lang Lin Lock Mar Mel Mid Mill Moor New North Ock Old Pen "
    "Pick Red Rid Ros Rud Sal Sand Shel Shir Sid South Stan Stock Sut Thorn Tod Wal Wat West Whit "
    "Wick Wil Win Wor Yar"
)
_SUFFIX_TEXT = (
    "ley ton ford field worth by ham well more wood burn stead thorpe hurst den combe bridge "
    "ridge brook dale wick don cott shaw low land holme"
)
_PREFIXES = _PREFIX_TEXT.split()
_SUFFIXES = _SUFFIX_TEXT.split()


def read_data_csv(name: str) -> list[dict[str, str]]:
    """A CSV from synthetic/data/, skipping '#' comment lines."""
    text = (resources.files("synthetic") / "data" / name).read_text("utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def zipf_weights(n: int, zipf: Zipf) -> np.ndarray:
    ranks = np.arange(1, n + 1, dtype=np.float64)
    w = 1.0 / (ranks + zipf.offset) ** zipf.exponent
    return w / w.sum()


def british_tail(count: int, exclude: set[str]) -> list[str]:
    """`count` compound surnames in a fixed pseudo-random order (independent of any seed)."""
    combos = [p + s for p in _PREFIXES for s in _SUFFIXES]
    combos = [c for c in combos if c not in exclude and not re.search(r"(.)\1\1", c)]
    order = np.random.default_rng(20240601).permutation(len(combos))
    return [combos[i] for i in order[:count]]


@dataclass(frozen=True)
class Vocabulary:
    """Names and, per origin, a cumulative distribution over them (searchsorted sampling)."""

    names: np.ndarray  # object array of str
    cdf: dict[str, np.ndarray]  # origin -> cumulative weights (last = 1)

    def sample(self, origin_idx: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Index of a name per person, given each person's origin (index into ORIGINS) and
        a uniform draw."""
        out = np.zeros(len(u), dtype=np.int32)
        for i, origin in enumerate(ORIGINS):
            mask = origin_idx == i
            if mask.any():
                cdf = self.cdf[origin]
                out[mask] = np.minimum(np.searchsorted(cdf, u[mask], side="right"), len(cdf) - 1)
        return out


def _vocabulary(by_origin: dict[str, list[str]], zipf: Zipf) -> Vocabulary:
    names: list[str] = []
    index: dict[str, int] = {}
    for lst in by_origin.values():
        for n in lst:
            if n not in index:
                index[n] = len(names)
                names.append(n)
    cdf: dict[str, np.ndarray] = {}
    for origin in ORIGINS:
        lst = by_origin.get(origin) or by_origin["british"]
        w = np.zeros(len(names))
        w[[index[n] for n in lst]] = zipf_weights(len(lst), zipf)
        # Names absent from this origin get weight 0, so the cdf is flat over them and
        # searchsorted(side="right") never lands on them.
        cdf[origin] = np.cumsum(w)
        cdf[origin][-1] = 1.0
    return Vocabulary(np.array(names, dtype=object), cdf)


@dataclass(frozen=True)
class NameTables:
    forenames: dict[str, Vocabulary]  # by sex
    surnames: Vocabulary
    # nicknames per sex, aligned with forenames[sex].names: CSR offsets into nick_values
    nick_start: dict[str, np.ndarray]
    nick_count: dict[str, np.ndarray]
    nick_values: np.ndarray


@cache
def _name_tables(cfg_json: str) -> NameTables:
    cfg = NamesConfig.model_validate_json(cfg_json)
    fore: dict[str, dict[str, list[str]]] = {s: {} for s in SEXES}
    for row in read_data_csv("forenames.csv"):
        fore[row["sex"]].setdefault(row["origin"], []).append(row["name"])
    sur: dict[str, list[str]] = {}
    for row in read_data_csv("surnames.csv"):
        sur.setdefault(row["origin"], []).append(row["name"])
    listed = {n for lst in sur.values() for n in lst}
    sur["british"] = sur["british"] + british_tail(cfg.british_surname_tail, listed)
    forenames = {s: _vocabulary(fore[s], cfg.forename_zipf) for s in SEXES}

    nick_map: dict[str, list[str]] = {}
    for row in read_data_csv("nicknames.csv"):
        nick_map.setdefault(row["name"], []).append(row["nickname"])
    values: list[str] = []
    nick_start: dict[str, np.ndarray] = {}
    nick_count: dict[str, np.ndarray] = {}
    for s in SEXES:
        vocab = forenames[s].names
        start = np.zeros(len(vocab), dtype=np.int32)
        count = np.zeros(len(vocab), dtype=np.int32)
        for i, name in enumerate(vocab):
            nicks = nick_map.get(name, [])
            start[i] = len(values)
            count[i] = len(nicks)
            values.extend(nicks)
        nick_start[s], nick_count[s] = start, count
    return NameTables(
        forenames=forenames,
        surnames=_vocabulary(sur, cfg.surname_zipf),
        nick_start=nick_start,
        nick_count=nick_count,
        nick_values=np.array(values, dtype=object),
    )


def name_tables(cfg: NamesConfig) -> NameTables:
    """Built once per process and configuration."""
    return _name_tables(cfg.model_dump_json())
