"""Property tests (hypothesis) on random small cohort_outcomes: whatever the data, the
published cells keep every invariant of the policy and survive the attack."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from disclosure.audit import audit
from disclosure.cube import complete, noise
from disclosure.protect import protect
from disclosure.rules import TRUE, apply_rules
from tests.disclosure.oracle import oracle_cube
from tests.disclosure.outcomes import cohort_outcomes
from tests.disclosure.tables import policy, small_catalogue

CATALOGUE = small_catalogue()
DIMS = [d.id for d in CATALOGUE.dimensions]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def publish_cells(outcomes, pol):
    cube = complete(oracle_cube(outcomes, CATALOGUE, pol), CATALOGUE, pol)
    cells = apply_rules(cube, CATALOGUE, pol, DIMS)
    cells, _ = protect(cells, CATALOGUE, pol, DIMS)
    return cube, cells


@pytest.mark.slow
@SETTINGS
@given(cohort_outcomes())
def test_every_invariant_holds_and_the_audit_passes(outcomes):
    pol = policy()
    cube, cells = publish_cells(outcomes, pol)
    report = audit(cells, CATALOGUE, pol, DIMS, cube=cube)
    assert report.passed, report.summary()
    shown = cells[cells["status"] != "suppressed"]
    counts = shown[shown["measure"].isin(["cohort_count", "linked_count"])]
    assert (counts["value"] >= pol.threshold).all()
    assert (counts["value"] % pol.rounding.count_base == 0).all()
    # perturbation plus rounding moves a count by at most the policy's slack
    assert ((counts["value"] - counts[TRUE]).abs() <= pol.count_slack).all()


@pytest.mark.slow
@SETTINGS
@given(cohort_outcomes())
def test_secondary_suppression_alone_also_passes(outcomes):
    """Without perturbation the attack-driven suppression still protects every cell."""
    pol = policy(**{"differencing.method": "secondary"})
    cube, cells = publish_cells(outcomes, pol)
    assert audit(cells, CATALOGUE, pol, DIMS, cube=cube).passed


@settings(max_examples=40, deadline=None)
@given(cohort_outcomes(max_people=60))
def test_same_people_same_noise_in_every_grouping_set(outcomes):
    """Cells made of the same people (in any grouping set, for any measure that counts
    them) have the same cell key, hence the same noise."""
    pol = policy()
    cube = oracle_cube(outcomes, CATALOGUE, pol)
    people_of: dict[frozenset[str], set[int]] = {}
    for _, row in cube.iterrows():
        sel = (outcomes["years_after"] == row["years_after"]).to_numpy()
        for d in DIMS:
            if row[d] is not None:
                sel &= (outcomes[d] == row[d]).to_numpy()
        people = frozenset(outcomes.loc[sel, "person_pid"])
        people_of.setdefault(people, set()).add(int(row["key:cohort_count"]))
        linked = frozenset(outcomes.loc[sel & outcomes["linked"].to_numpy(), "person_pid"])
        people_of.setdefault(linked, set()).add(int(row["key:linked_count"]))
    for people, keys in people_of.items():
        assert len(keys) == 1, f"{len(people)} people, keys {keys}"
        assert len(set(noise(pol, np.array(list(keys))))) == 1
