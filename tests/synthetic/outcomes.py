"""Outcome measures computed from the generator's output tables (raw/ + truth/), the way an
analyst would: the tests check that they fall in the plausibility bands of references.md.

These are test-side definitions, deliberately independent of the build job's Spark code:
- sustained employment in tax year T: employed at least one day in 5 of the 6 months
  October (T) to March (T+1);
- annualised earnings: pay in T / days employed in T x 365 (days summed over employments,
  capped at the days in the year);
- in education in T: a KS5 or HE record covering the academic year starting in T;
- k years after graduation: tax year graduation_year + 1 + k.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

OCT_TO_MAR = [(0, 10), (0, 11), (0, 12), (1, 1), (1, 2), (1, 3)]


def with_person(table: pa.Table, truth: pd.DataFrame, source: str, id_col: str) -> pd.DataFrame:
    df = table.to_pandas()
    ids = truth[truth.source == source][["record_id", "person_id"]]
    return df.merge(ids, left_on=id_col, right_on="record_id", how="left")


def person_years(emp: pd.DataFrame) -> pd.DataFrame:
    """Per (person_id, tax_year): sustained employment, pay, days, annualised earnings."""
    ty = emp.tax_year.to_numpy().astype(np.int64)
    start = pd.to_datetime(emp.start_date).to_numpy().astype("datetime64[D]")
    end = pd.to_datetime(emp.end_date).to_numpy().astype("datetime64[D]")
    end = np.where(np.isnat(end), np.datetime64("2999-01-01"), end)
    mask = np.zeros(len(emp), dtype=np.int64)
    for bit, (dy, month) in enumerate(OCT_TO_MAR):
        first = ((ty + dy - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]")
        last = (((ty + dy - 1970) * 12 + month).astype("datetime64[M]")).astype("datetime64[D]") - 1
        covered = (start <= last) & (end >= first)
        mask |= covered.astype(np.int64) << bit
    ty_start = ((ty - 1970) * 12 + 3).astype("datetime64[M]").astype("datetime64[D]") + 5
    ty_end = ((ty + 1 - 1970) * 12 + 3).astype("datetime64[M]").astype("datetime64[D]") + 4
    days = (np.minimum(end, ty_end) - np.maximum(start, ty_start)).astype(np.int64) + 1
    df = pd.DataFrame(
        {
            "person_id": emp.person_id.to_numpy(),
            "tax_year": ty,
            "mask": mask,
            "pay": emp.pay.to_numpy(),
            "days": np.clip(days, 0, None),
        }
    )
    g = df.groupby(["person_id", "tax_year"]).agg(
        mask=("mask", lambda m: np.bitwise_or.reduce(m.to_numpy())),
        pay=("pay", "sum"),
        days=("days", "sum"),
    )
    g["sustained"] = [bin(int(m)).count("1") >= 5 for m in g["mask"]]
    g["days"] = g["days"].clip(upper=365)
    g["annualised"] = g["pay"] / g["days"].clip(lower=1) * 365
    return g.reset_index()


def graduates(he: pd.DataFrame) -> pd.DataFrame:
    """First-degree qualifiers: person_id, graduation_year, subject (first one per person)."""
    fd = he[(he.qualification == "first_degree") & he.graduation_year.notna()]
    fd = fd.sort_values("graduation_year").drop_duplicates("person_id")
    return fd[["person_id", "graduation_year", "subject_cah2"]].astype({"graduation_year": "int64"})


def studying(he: pd.DataFrame, ks5: pd.DataFrame) -> set[tuple[int, int]]:
    """(person_id, academic year) pairs with an education record covering that year."""
    pairs: set[tuple[int, int]] = set()
    last = he.graduation_year.fillna(he.start_year + 1).astype(int)
    for pid, a, b in zip(he.person_id, he.start_year.astype(int), last, strict=True):
        for y in range(a, b + 1):
            pairs.add((int(pid), y))
    for pid, y in zip(ks5.person_id, ks5.academic_year.astype(int), strict=True):
        pairs.add((int(pid), y - 1))
        pairs.add((int(pid), y))
    return pairs
