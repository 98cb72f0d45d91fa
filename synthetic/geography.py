"""Synthetic geography: local authorities (leo/reference), the postcode area each one's
residents live in (synthetic/data/la_geography.csv), and plausible UK postcodes.

An address is an integer code (local authority, postcode district, sector, unit) turned into
text only when a record is written. Each local authority owns a block of its postcode area's
districts (areas shared by several authorities are split between them), so a pupil's home
postcode is near the school's local authority, and a move within the same area stays close.
Postcodes have the UK shape `AA9 9AA`: area, district, space, sector, two unit letters from
the 20 letters Royal Mail uses in the inward code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leo.reference import REGIONS, local_authorities
from synthetic.names import read_data_csv

REGION_CODES = tuple(REGIONS)  # region index -> code
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_LETTERS = pa.array(list(UNIT_LETTERS), pa.string())
DISTRICTS_PER_LA = 8
_UNITS = len(UNIT_LETTERS) ** 2  # 400 units per sector


@dataclass(frozen=True)
class Geography:
    la_codes: np.ndarray  # object: la_code per LA index
    la_region: np.ndarray  # int: region index per LA
    la_weight: np.ndarray  # float: share of pupils (sums to 1)
    la_area: np.ndarray  # object: postcode area per LA
    la_district0: np.ndarray  # int: first district number of the LA's block
    region_la_cdf: tuple[np.ndarray, ...]  # per region: cumulative LA weights within it
    region_las: tuple[np.ndarray, ...]  # per region: LA indices

    @property
    def n_las(self) -> int:
        return len(self.la_codes)

    def sample_la(self, u: np.ndarray) -> np.ndarray:
        """LA index by pupil weight, from uniform draws."""
        cdf = np.cumsum(self.la_weight)
        return np.minimum(np.searchsorted(cdf, u, side="right"), self.n_las - 1)

    def sample_la_in_region(self, region: np.ndarray, u: np.ndarray) -> np.ndarray:
        out = np.zeros(len(u), dtype=np.int32)
        for r in range(len(REGION_CODES)):
            m = region == r
            if m.any():
                cdf = self.region_la_cdf[r]
                pos = np.minimum(np.searchsorted(cdf, u[m], side="right"), len(cdf) - 1)
                out[m] = self.region_las[r][pos]
        return out

    # An address code packs (la, district offset, sector, unit).
    @staticmethod
    def address(la: np.ndarray, district: np.ndarray, sector: np.ndarray, unit: np.ndarray):
        return ((la.astype(np.int64) * DISTRICTS_PER_LA + district) * 10 + sector) * _UNITS + unit

    def random_address(self, la: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = len(la)
        return self.address(
            la,
            rng.integers(0, DISTRICTS_PER_LA, n),
            rng.integers(0, 10, n),
            rng.integers(0, _UNITS, n),
        )

    @staticmethod
    def la_of(address: np.ndarray) -> np.ndarray:
        return (address // (_UNITS * 10 * DISTRICTS_PER_LA)).astype(np.int32)

    def postcodes(self, address: np.ndarray) -> pa.StringArray:
        """Text postcodes for address codes (Arrow compute: no Python loop per address)."""
        unit = address % _UNITS
        rest = address // _UNITS
        sector = rest % 10
        rest //= 10
        district_off = rest % DISTRICTS_PER_LA
        la = rest // DISTRICTS_PER_LA
        district = self.la_district0[la] + district_off
        n_letters = len(UNIT_LETTERS)
        return pc.binary_join_element_wise(
            pa.array(self.la_area, pa.string()).take(la),
            pc.cast(pa.array(district), pa.string()),
            pa.scalar(" "),
            pc.cast(pa.array(sector), pa.string()),
            _LETTERS.take(unit // n_letters),
            _LETTERS.take(unit % n_letters),
            "",
        )


@cache
def geography() -> Geography:
    las = local_authorities()
    extra = {r["la_code"]: r for r in read_data_csv("la_geography.csv")}
    missing = [la.la_code for la in las if la.la_code not in extra]
    if missing:
        raise ValueError(f"la_geography.csv: no postcode area for {missing}")
    codes = np.array([la.la_code for la in las], dtype=object)
    region = np.array([REGION_CODES.index(la.region_code) for la in las], dtype=np.int32)
    weight = np.array([float(extra[c]["pupils"]) for c in codes])
    area = np.array([extra[c]["postcode_area"] for c in codes], dtype=object)
    # Authorities sharing a postcode area get consecutive blocks of its districts.
    district0 = np.zeros(len(codes), dtype=np.int64)
    seen: dict[str, int] = {}
    for i, a in enumerate(area):
        district0[i] = 1 + seen.get(a, 0) * DISTRICTS_PER_LA
        seen[a] = seen.get(a, 0) + 1
    region_las = tuple(np.flatnonzero(region == r) for r in range(len(REGION_CODES)))
    region_cdf = []
    for idx in region_las:
        w = weight[idx]
        cdf = np.cumsum(w / w.sum())
        cdf[-1] = 1.0
        region_cdf.append(cdf)
    return Geography(
        la_codes=codes,
        la_region=region,
        la_weight=weight / weight.sum(),
        la_area=area,
        la_district0=district0,
        region_la_cdf=tuple(region_cdf),
        region_las=region_las,
    )
