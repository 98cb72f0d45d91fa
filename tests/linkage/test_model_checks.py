"""The report's sanity flags: each fires on the fault it names, and none on a sane model."""

from __future__ import annotations

from linkage.model import ComparisonModel
from linkage.model_checks import CHECK, NOTE, PROBLEM, check_comparison, check_model
from tests.linkage.reports import insane_model, sane_model, summary


def _flags(model, sev=None):  # type: ignore[no-untyped-def]
    return [f for f in check_model(model, summary(model)) if sev is None or f.severity == sev]


def test_a_sane_model_has_no_problem_or_check() -> None:
    model = sane_model()
    flags = check_model(model, summary(model))
    assert [f for f in flags if f.severity != NOTE] == []
    # the notes are context from the summary: a capped block, unreadable values, quarantine
    assert {f.where for f in flags} == {"blocking", "inputs"}


def test_each_fault_of_the_insane_model_is_named() -> None:
    flags = _flags(insane_model())
    found = {(f.severity, f.where, f.level) for f in flags}
    assert (PROBLEM, "surname", 0) in found  # m < u at exact
    assert (PROBLEM, "sex", 1) in found  # 'different' counts for a match
    messages = " | ".join(f.message for f in flags)
    assert "u = 0.97 at exact agreement" in messages  # a near-constant column
    assert (CHECK, "forename", 2) in found  # jaro_winkler>=0.8 above >=0.92
    assert any(f.where == "forename" and "not trained" in f.message for f in flags)
    assert any(f.where == "EM" and "iteration limit (100)" in f.message for f in flags)


def test_a_wrong_end_is_reported_once_not_as_every_level_out_of_order() -> None:
    surname = [f for f in _flags(insane_model()) if f.where == "surname"]
    assert [f.severity for f in surname] == [PROBLEM]


def test_a_level_above_exact_or_below_different_is_a_check() -> None:
    c = ComparisonModel(
        "dob", "dob", "date", ["exact", "swap", "near", "different"],
        m=[0.90, 0.05, 0.001, 0.049], u=[0.01, 0.0001, 0.2, 0.7899],
    )  # fmt: skip
    flags = check_comparison(c)
    assert [(f.severity, f.level) for f in flags] == [(CHECK, 1), (CHECK, 2), (CHECK, None)]
    assert "outweighs exact" in flags[0].message and "less than 'different'" in flags[1].message


def test_unseen_levels_are_noted_and_a_weight_on_a_u_floor_is_checked() -> None:
    c = ComparisonModel(
        "nino", "nino", "identifier", ["exact", "edits<=1", "edits<=2", "different"],
        m=[0.9, 0.001, 1e-6, 0.098999], u=[0.001, 1e-6, 1e-6, 0.998998],
        trained_by=["dob"], u_counts=[1000, 0, 0, 998_998],
    )  # fmt: skip
    flags = check_comparison(c)
    assert [(f.severity, f.level) for f in flags] == [(CHECK, 1), (NOTE, 2)]
    assert "smoothing floor" in flags[0].message and "never seen" in flags[1].message


def test_a_u_from_few_random_pairs_is_noted() -> None:
    c = sane_model().comparisons[1]
    c.u_counts = [7, 9000, 990_000]
    flags = check_comparison(c)
    assert [(f.severity, f.level) for f in flags] == [(NOTE, 0)]
    assert "7 random pair(s)" in flags[0].message


def test_probabilities_that_do_not_sum_to_one_are_a_problem() -> None:
    c = sane_model().comparisons[2]
    c.m = [0.9, 0.2]
    assert any(f.severity == PROBLEM and "m values" in f.message for f in check_comparison(c))


def test_links_far_from_the_prior_are_a_check_and_no_links_a_problem() -> None:
    model = sane_model()
    expected = model.prior * summary(model)["counts"]["possible_pairs"]
    for links, sev in ((int(expected * 3), CHECK), (int(expected * 0.3), CHECK), (0, PROBLEM)):
        s = summary(model, links=links)
        prior = [f for f in check_model(model, s) if f.where == "prior"]
        assert [f.severity for f in prior] == [sev], links
    near = summary(model, links=int(expected * 1.5))
    assert not [f for f in check_model(model, near) if f.where == "prior"]


def test_many_unreadable_values_are_a_check() -> None:
    model = sane_model()
    s = summary(model)
    s["counts"]["unreadable_values"]["postcode"] = 100  # of 1,590 records
    flags = [f for f in check_model(model, s) if "postcode" in f.message]
    assert [f.severity for f in flags] == [CHECK]
