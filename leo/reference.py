"""Reference geography shipped with the package: English local authorities and their regions.

`leo/reference/local_authorities.csv` lists upper-tier local authorities (counties, unitary
authorities, metropolitan districts, London boroughs) with their ONS GSS codes as they stood
for the KS4 cohorts we generate (2005/06-2014/15: e.g. Bournemouth, Poole and Dorset before
their 2019 merger) and the region (E12000001-E12000009, as in conf/catalogue.yaml) each
belongs to. The generator draws schools' `la_code` from it and the build job maps
`ks4.la_code` to a region with `region_of`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

REGIONS: dict[str, str] = {
    "E12000001": "North East",
    "E12000002": "North West",
    "E12000003": "Yorkshire and The Humber",
    "E12000004": "East Midlands",
    "E12000005": "West Midlands",
    "E12000006": "East of England",
    "E12000007": "London",
    "E12000008": "South East",
    "E12000009": "South West",
}


@dataclass(frozen=True)
class LocalAuthority:
    la_code: str
    la_name: str
    region_code: str


@cache
def local_authorities() -> tuple[LocalAuthority, ...]:
    """Every local authority in the reference file, in file order."""
    text = (resources.files("leo") / "reference" / "local_authorities.csv").read_text("utf-8")
    rows = tuple(
        LocalAuthority(r["la_code"], r["la_name"], r["region_code"])
        for r in csv.DictReader(io.StringIO(text))
    )
    unknown = sorted({r.region_code for r in rows} - REGIONS.keys())
    if unknown:
        raise ValueError(f"local_authorities.csv: unknown region code(s) {unknown}")
    return rows


@cache
def la_to_region() -> dict[str, str]:
    """la_code -> region_code."""
    return {la.la_code: la.region_code for la in local_authorities()}


def region_of(la_code: str | None) -> str | None:
    """The region of a local authority code, or None when the code is unknown or missing."""
    return la_to_region().get(la_code) if la_code else None
