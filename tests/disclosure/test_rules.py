"""The primary rules on hand-made cube rows: one rule per test, by its threshold's edges."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from disclosure.cube import KEY_MODULUS, noise, record_key
from disclosure.rules import apply_rules, round_count, round_step
from tests.disclosure.tables import SLICE, catalogue, dims, policy

NO_NOISE = {"differencing.method": "secondary"}


def cube(**stats: Any) -> pd.DataFrame:
    """One total cell of 100 people; `stats` override cube columns (e.g. n:... numerators)."""
    cat = catalogue()
    row: dict[str, Any] = dict(SLICE)
    row.update(dict.fromkeys(dims()))
    for m in cat.measures:
        if m.kind in ("count", "rate", "share"):
            row[f"n:{m.id}"] = 100 if m.kind == "count" else 40
            row[f"key:{m.id}"] = 0
    row.update({"contributors:annualised_earnings": 60, "sum:annualised_earnings": 60 * 20000.0})
    row.update({"top1:annualised_earnings": 30000.0, "top2:annualised_earnings": 29000.0})
    for m in cat.measures:
        if m.kind in ("quantile", "mean"):
            row[f"stat:{m.id}"] = 20049.0
    row.update(stats)
    return pd.DataFrame([row])


def cell(cells: pd.DataFrame, measure: str) -> dict[str, Any]:
    return cells[cells["measure"] == measure].iloc[0].to_dict()


def test_counts_threshold_and_zero_share_one_reason():
    pol = policy(**NO_NOISE)
    for n, status in ((9, "suppressed"), (0, "suppressed"), (10, "published")):
        c = cell(
            apply_rules(cube(**{"n:linked_count": n}), catalogue(), pol, dims()), "linked_count"
        )
        assert c["status"] == status
        if status == "suppressed":
            assert np.isnan(c["value"]) and c["flag"] == "c" and c["reason"] == pol.reason_small
        else:
            assert c["value"] == 10 and c["flag"] is None


def test_zeros_published_when_not_disclosive():
    pol = policy(**NO_NOISE, zeros_disclosive=False)
    c = cell(apply_rules(cube(**{"n:linked_count": 0}), catalogue(), pol, dims()), "linked_count")
    assert (c["status"], c["value"]) == ("published", 0.0)


@pytest.mark.parametrize(
    ("k", "status"), [(9, "suppressed"), (10, "published"), (90, "published"), (91, "suppressed")]
)
def test_rate_numerator_and_complement(k, status):
    pol = policy(**NO_NOISE)
    cells = apply_rules(cube(**{"n:sustained_employment_rate": k}), catalogue(), pol, dims())
    c = cell(cells, "sustained_employment_rate")
    assert c["status"] == status
    if status == "published":
        assert c["value"] == k  # of 100 people
    else:
        assert c["reason"] == pol.reason_rate  # the same text for both sides


def test_rate_on_a_small_group_and_low_reliability():
    pol = policy(**NO_NOISE)
    cells = apply_rules(cube(**{"n:cohort_count": 9}), catalogue(), pol, dims())
    assert cell(cells, "share_study_only")["reason"] == pol.reason_group
    cells = apply_rules(
        cube(**{"n:cohort_count": 45, "n:share_study_only": 20}), catalogue(), pol, dims()
    )
    c = cell(cells, "share_study_only")
    assert (c["status"], c["flag"], c["value"]) == ("low_reliability", "u", 44.4)


@pytest.mark.parametrize(
    ("measure", "enough"),
    [("earnings_median", 20), ("earnings_lower_quartile", 40), ("earnings_mean", 10)],
)
def test_earnings_contributors(measure, enough):
    pol = policy(**NO_NOISE)
    for c, status in ((enough - 1, "suppressed"), (enough, "published")):
        # small sums keep the mean undominated: spread evenly
        stats = {
            "contributors:annualised_earnings": c,
            "sum:annualised_earnings": c * 20000.0,
            "top1:annualised_earnings": 20000.0,
            "top2:annualised_earnings": 20000.0,
        }
        got = cell(apply_rules(cube(**stats), catalogue(), pol, dims()), measure)
        assert got["status"] in (status, "low_reliability" if status == "published" else status)
        if status == "published":
            assert got["value"] == 20000.0  # 20,049 to the nearest 100


def test_dominance_nk_and_p_ratio():
    pol = policy(**NO_NOISE)
    base = {"contributors:annualised_earnings": 60}
    # top two hold 95% of the total: N-K
    nk = {
        **base,
        "sum:annualised_earnings": 100000.0,
        "top1:annualised_earnings": 60000.0,
        "top2:annualised_earnings": 35000.0,
    }
    assert (
        cell(apply_rules(cube(**nk), catalogue(), pol, dims()), "earnings_mean")["reason"]
        == pol.reason_nk
    )
    # the rest under 10% of the largest: p-ratio. With N-K at (2, 90%) a p-ratio under 0.10
    # implies N-K (rest < 0.1 top1 <= 0.1 total), so N-K is loosened to see it alone.
    pr = {
        **base,
        "sum:annualised_earnings": 1_000_000.0,
        "top1:annualised_earnings": 900_000.0,
        "top2:annualised_earnings": 20_000.0,
    }
    loose = policy(**NO_NOISE, **{"dominance.nk_k": 0.99})
    got = cell(apply_rules(cube(**pr), catalogue(), loose, dims()), "earnings_mean")
    assert got["reason"] == loose.reason_p_ratio
    # medians are not subject to dominance
    assert (
        cell(apply_rules(cube(**nk), catalogue(), pol, dims()), "earnings_median")["status"]
        != "suppressed"
    )


def test_rounding_edges():
    assert round_count(np.array([12.0, 13.0, 17.0, 18.0]), 5).tolist() == [10, 15, 15, 20]
    assert round_step(np.array([12.34, 12.35, 99.96]), 0.1).tolist() == [12.3, 12.4, 100.0]
    assert round_count(np.array([20049.0, 20050.0]), 100).tolist() == [20000, 20100]


def test_cell_key_noise_from_the_p_table():
    pol = policy()
    # cumulative 0.05, 0.25, 0.75, 0.95, 1.0 over noise -2..2
    keys = (np.array([0.0, 0.049, 0.0501, 0.3, 0.8, 0.99]) * KEY_MODULUS).astype(np.int64)
    assert noise(pol, keys).tolist() == [-2, -2, -1, 0, 1, 2]
    assert noise(pol, keys + 3 * KEY_MODULUS).tolist() == noise(pol, keys).tolist()  # mod 1
    assert noise(policy(**NO_NOISE), keys).tolist() == [0] * 6
    # the record key is 32 bits of SHA-256(salt + pseudonym)
    assert 0 <= record_key("s", "p") < KEY_MODULUS
    assert record_key("s", "p") != record_key("t", "p")
