"""Releases written by hand for the API's tests and benchmark, in the output-zone contract
(leo.schema.release_cells_table): `published/<id>/cells/part-0.parquet`, `manifest.json`,
and `published/CURRENT`.

`small_release_cells()` is small and readable, with suppressed and low-reliability cells;
`synthetic_release_cells()` scales for the benchmark.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from leo.schema import release_cells_table

DIMENSIONS = ["sex", "region", "fsm", "subject_cah2"]

Cell = dict[str, Any]


def cell(
    cohort_type: str,
    cohort: str,
    years_after: int,
    measure: str,
    value: float | None,
    status: str = "published",
    flag: str | None = None,
    reason: str | None = None,
    **dims: str,
) -> Cell:
    row: Cell = {"cohort_type": cohort_type, "cohort": cohort, "years_after": years_after}
    row.update({d: dims.get(d) for d in DIMENSIONS})
    row.update(measure=measure, value=value, status=status, flag=flag, reason=reason)
    return row


def suppressed(
    cohort_type: str, cohort: str, ya: int, measure: str, rule: str, **dims: str
) -> Cell:
    return cell(cohort_type, cohort, ya, measure, None, "suppressed", "c", rule, **dims)


def small_release_cells(earnings_shift: float = 0.0) -> list[Cell]:
    """KS4 2014/15 at 1 and 3 years after, graduates 2016/17 at 1 year after.
    `earnings_shift` makes a second release distinguishable from the first."""
    k = ("ks4", "2014/15")
    rows: list[Cell] = []
    for ya, base in ((1, 1200), (3, 1180)):
        rows += [
            cell(*k, ya, "cohort_count", base),
            cell(*k, ya, "linked_count", base - 50),
            cell(*k, ya, "sustained_employment_rate", 55.0 + ya),
            cell(*k, ya, "earnings_median", 15000.0 + 1000 * ya + earnings_shift),
            cell(*k, ya, "out_of_work_benefit_rate", 8.0),
            # by sex
            cell(*k, ya, "cohort_count", 610, sex="F"),
            cell(*k, ya, "cohort_count", 590, sex="M"),
            cell(*k, ya, "sustained_employment_rate", 57.0, sex="F"),
            cell(*k, ya, "sustained_employment_rate", 54.0, sex="M"),
            cell(*k, ya, "earnings_median", 14800.0 + earnings_shift, sex="F"),
            cell(*k, ya, "earnings_median", 15300.0 + earnings_shift, sex="M"),
            cell(*k, ya, "out_of_work_benefit_rate", 7.0, sex="F"),
            cell(*k, ya, "out_of_work_benefit_rate", 9.0, sex="M"),
            # by region: the North East's earnings have too few contributors
            cell(*k, ya, "cohort_count", 40, region="E12000001"),
            cell(*k, ya, "cohort_count", 1160, region="E12000007"),
            cell(
                *k,
                ya,
                "sustained_employment_rate",
                50.0,
                "low_reliability",
                "u",
                "fewer than 50 in the denominator",
                region="E12000001",
            ),
            cell(*k, ya, "sustained_employment_rate", 56.0, region="E12000007"),
            suppressed(*k, ya, "earnings_median", "fewer than 10 contributors", region="E12000001"),
            cell(*k, ya, "earnings_median", 15100.0 + earnings_shift, region="E12000007"),
            # by FSM (sensitive package)
            cell(*k, ya, "cohort_count", 250, fsm="fsm"),
            cell(*k, ya, "cohort_count", 950, fsm="not_fsm"),
            cell(*k, ya, "sustained_employment_rate", 48.0, fsm="fsm"),
            cell(*k, ya, "sustained_employment_rate", 59.0, fsm="not_fsm"),
            # sex by region
            cell(*k, ya, "cohort_count", 20, sex="F", region="E12000001"),
            cell(*k, ya, "cohort_count", 20, sex="M", region="E12000001"),
            cell(*k, ya, "cohort_count", 590, sex="F", region="E12000007"),
            cell(*k, ya, "cohort_count", 570, sex="M", region="E12000007"),
            suppressed(
                *k, ya, "earnings_median", "fewer than 10 contributors", sex="F", region="E12000001"
            ),
            suppressed(
                *k,
                ya,
                "earnings_median",
                "secondary suppression (differencing)",
                sex="M",
                region="E12000001",
            ),
            cell(*k, ya, "earnings_median", 14900.0 + earnings_shift, sex="F", region="E12000007"),
            cell(*k, ya, "earnings_median", 15350.0 + earnings_shift, sex="M", region="E12000007"),
        ]
    g = ("graduate", "2016/17")
    rows += [
        cell(*g, 1, "cohort_count", 800),
        cell(*g, 1, "earnings_median", 21000.0 + earnings_shift),
        cell(*g, 1, "cohort_count", 300, subject_cah2="CAH09-01"),
        cell(*g, 1, "cohort_count", 500, subject_cah2="CAH17-01"),
        suppressed(*g, 1, "earnings_median", "fewer than 10 contributors", subject_cah2="CAH09-01"),
        cell(*g, 1, "earnings_median", 24000.0 + earnings_shift, subject_cah2="CAH17-01"),
    ]
    return rows


def synthetic_release_cells(
    cohorts: int = 3, regions: int = 10, subjects: int = 20, seed: int = 1
) -> list[Cell]:
    """Every grouping set of up to two of (sex, region, fsm) for KS4 cohorts at 1, 3, 5 and 10
    years after, five measures, about 5% suppressed, plus graduate cohort counts by subject:
    1,200 cells per cohort with the defaults. A `by: [sex, region]` table over two years
    after is 2 x 10 x 2 x 5 = 200 cells (the benchmark's query)."""
    rnd = random.Random(seed)
    values = {
        "sex": ["F", "M"],
        "region": [f"E120000{i:02d}" for i in range(1, regions + 1)],
        "fsm": ["fsm", "not_fsm"],
    }
    measures = [
        "cohort_count",
        "linked_count",
        "sustained_employment_rate",
        "earnings_median",
        "out_of_work_benefit_rate",
    ]
    rows: list[Cell] = []
    dims = list(values)
    for c in range(cohorts):
        cohort = f"{2010 + c}/{(11 + c) % 100:02d}"
        for ya in (1, 3, 5, 10):
            for r in range(3):
                for combo in itertools.combinations(dims, r):
                    for vals in itertools.product(*(values[d] for d in combo)):
                        group = dict(zip(combo, vals, strict=True))
                        for m in measures:
                            if rnd.random() < 0.05:
                                rows.append(
                                    suppressed("ks4", cohort, ya, m, "fewer than 10", **group)
                                )
                            else:
                                rows.append(
                                    cell(
                                        "ks4",
                                        cohort,
                                        ya,
                                        m,
                                        round(rnd.uniform(1, 30000), 1),
                                        **group,
                                    )
                                )
        for s in range(subjects):
            rows.append(
                cell(
                    "graduate",
                    cohort,
                    1,
                    "cohort_count",
                    rnd.randint(50, 900),
                    subject_cah2=f"CAH{s:02d}-01",
                )
            )
    return rows


def write_release(
    data_root: str | Path,
    release_id: str,
    cells: list[Cell],
    *,
    manifest: dict[str, Any] | None = None,
    make_current: bool = True,
) -> Path:
    """Write a release directory, then (optionally) point CURRENT at it, atomically."""
    published = Path(data_root) / "published"
    rdir = published / release_id
    (rdir / "cells").mkdir(parents=True)
    contract = release_cells_table(DIMENSIONS)
    table = pa.Table.from_pylist(cells, schema=contract.arrow_schema)
    pq.write_table(table, rdir / "cells" / "part-0.parquet")
    manifest = manifest or {
        "release_id": release_id,
        "created": "2025-10-01T12:00:00Z",
        "code_version": "test",
        "linkage_quality": {
            "match_rate": 0.962,
            "precision_estimate": 0.9987,
            "by_source": {"employments": {"linked": 0.951}},
        },
        "row_accounting": {"cells": len(cells)},
    }
    (rdir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    if make_current:
        set_current(data_root, release_id)
    return rdir


def set_current(data_root: str | Path, release_id: str) -> None:
    pointer = Path(data_root) / "published" / "CURRENT"
    tmp = pointer.with_name(f".CURRENT.tmp-{os.getpid()}")
    tmp.write_text(release_id + "\n")
    os.replace(tmp, pointer)
