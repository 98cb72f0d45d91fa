"""The differencing attack on hand-made tables: each known attack is caught, and a table
that resists it passes."""

from __future__ import annotations

import pandas as pd

from disclosure.attack import Attack
from disclosure.audit import audit
from disclosure.protect import protect
from tests.disclosure.tables import Cells, catalogue, dims, policy, references_example

ROUNDING_ONLY = {"differencing.method": "secondary"}


def attack(cells: pd.DataFrame, pol, propagation: bool = True):
    a = Attack(cells, catalogue(), pol, dims(), propagation=propagation)
    return a, a.run()


def test_references_example_pinned_by_propagation_and_by_lp_alone():
    pol = policy(**ROUNDING_ONLY)
    for propagation in (True, False):
        a, findings = attack(references_example(pol), pol, propagation)
        assert [(f.kind, f.group, f.lo, f.hi) for f in findings] == [
            ("pinned", {"region": "R1", "sex": "F"}, 6.0, 9.0)
        ]
        how = findings[0].how
        assert how == ("propagation" if propagation else "linear programme")
    assert a.stats.linear_programmes > 0  # the LP did the work without propagation


def test_each_equation_alone_leaves_the_cell_protected():
    """Either parent on its own gives a wide interval: only their intersection pins."""
    pol = policy(**ROUNDING_ONLY)
    cells = references_example(pol)
    # withhold the all-regions female cell: only R1 = R1F + R1M is left for R1F
    all_f = (cells["sex"] == "F") & cells["region"].isna()
    cells.loc[all_f, ["value", "status", "flag", "reason"]] = [
        None,
        "suppressed",
        "c",
        pol.reason_secondary,
    ]
    _, findings = attack(cells, pol)
    assert findings == []


def test_planted_suppressed_child_beside_an_exact_parent_is_caught():
    pol = policy(**ROUNDING_ONLY, **{"rounding.count_base": 1})
    t = Cells(pol).c(57, sex=None).c(50, sex="M").s(sex="F")
    _, findings = attack(t.frame(), pol)
    assert len(findings) == 1
    assert (findings[0].lo, findings[0].hi) == (7.0, 7.0)
    report = audit(t.frame(), catalogue(), pol, dims())
    assert not report.passed and "pinned to [7, 7]" in report.summary()


def test_two_suppressed_children_protect_each_other():
    pol = policy(**ROUNDING_ONLY)
    t = Cells(pol).c(60).c(50, sex="M").s(sex="F").s(sex="unknown")
    _, findings = attack(t.frame(), pol)
    assert findings == []


def test_rate_over_published_denominator_leaks_its_numerator():
    """references.md: 3.5% of 55 is about 2 people."""
    pol = policy()
    t = Cells(pol).c(55).c(3.5, "out_of_work_benefit_rate")
    _, findings = attack(t.frame(), pol)
    assert [f.kind for f in findings] == ["rate_leak"]
    assert findings[0].hi < pol.threshold
    # a complement: 96.5% of 55 leaves about 2 people without the outcome
    t = Cells(pol).c(55).c(96.5, "sustained_employment_rate")
    _, findings = attack(t.frame(), pol)
    assert [f.kind for f in findings] == ["rate_leak"]
    # 40% of 55 gives 22 back: not small, no leak
    t = Cells(pol).c(55).c(40.0, "sustained_employment_rate")
    assert attack(t.frame(), pol)[1] == []


def test_suppressed_rates_differenced_through_numerators():
    """Parent rate and one child rate published, the other child's rate suppressed: the
    numerators subtract (28% of 100 = 28, 25% of 80 = 20, so the female numerator is 8:
    pinned when denominators are exact)."""
    pol = policy(**ROUNDING_ONLY, **{"rounding.count_base": 1})
    m = "sustained_employment_rate"
    t = Cells(pol).c(100).c(80, sex="M").c(20, sex="F")
    t.c(28.0, m).c(25.0, m, sex="M").s(m, pol.reason_rate, sex="F")
    _, findings = attack(t.frame(), pol)
    assert [(f.kind, f.measure, f.group) for f in findings] == [("pinned", m, {"sex": "F"})]


def test_secondary_suppression_protects_the_references_example():
    pol = policy(**ROUNDING_ONLY)
    cells = references_example(pol)
    protected, report = protect(cells, catalogue(), pol, dims())
    assert report["secondary_suppressions"] >= 1
    secondary = protected[protected["reason"] == pol.reason_secondary]
    assert len(secondary) == report["secondary_suppressions"]
    # the cheapest fix: a sibling of the pinned cell
    assert secondary.iloc[0][["region", "sex"]].tolist() in (["R2", "F"], ["R1", "M"])
    assert attack(protected, pol)[1] == []
    assert audit(protected, catalogue(), pol, dims()).passed


def test_a_table_that_contradicts_the_policy_is_reported():
    """Children that cannot add up to their parent within the policy's bounds."""
    pol = policy(**ROUNDING_ONLY)
    t = Cells(pol).c(100).c(20, sex="M").s(sex="F")
    _, findings = attack(t.frame(), pol)
    assert [f.kind for f in findings] == ["inconsistent"]


def test_an_incomplete_grouping_set_fails_the_audit():
    """With zeros disclosive an absent group would say "nobody": the audit wants every
    combination of values (here R2 x F is missing although both values occur)."""
    pol = policy(**ROUNDING_ONLY)
    cells = references_example(pol)
    assert audit(cells, catalogue(), pol, dims()).violations == []  # complete, but pinned
    gap = cells[~((cells["region"] == "R2") & (cells["sex"] == "F"))]
    report = audit(gap, catalogue(), pol, dims())
    assert any("incomplete grouping set ['sex', 'region']" in v for v in report.violations)
