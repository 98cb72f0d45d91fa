"""conf/disclosure.yaml: the shipped defaults, validation errors naming the key, and the
docs/releases.md policy table generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from disclosure.policy import grouping_sets, load_policy, policy_markdown
from leo.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_shipped_defaults_follow_references():
    p = load_policy()
    assert (p.threshold, p.zeros_disclosive, p.rounding.count_base) == (10, True, 5)
    assert (p.rounding.rate_step_pp, p.rounding.earnings_gbp) == (0.1, 100)
    assert (p.dominance.nk_n, p.dominance.nk_k, p.dominance.p_ratio) == (2, 0.9, 0.1)
    assert (p.earnings.median_min_contributors, p.earnings.quantile_min_contributors) == (20, 40)
    assert set(p.never_release) == {"min", "max"}
    assert p.differencing.method == "cell_key_and_secondary"
    assert p.count_slack == 4  # rounding 2 + noise 2


@pytest.mark.parametrize(
    ("yaml_ptable", "message"),
    [
        ("{-1: 0.2, 0: 0.5, 1: 0.2}", "sum to 0.9"),
        ("{0: 0.5, 1: 0.5}", "mean 0"),
        ("{-10: 0.5, 10: 0.5}", "threshold"),
    ],
)
def test_bad_ptable_names_file_and_key(tmp_path, yaml_ptable, message):
    text = (REPO / "conf" / "disclosure.yaml").read_text()
    start = text.index("    ptable:")
    bad = tmp_path / "disclosure.yaml"
    bad.write_text(text[:start] + f"    ptable: {yaml_ptable}\n")
    with pytest.raises(ConfigError) as err:
        load_policy(path=bad)
    assert str(bad) in str(err.value) and message in str(err.value)
    if message != "threshold":
        assert "differencing.cell_key.ptable" in str(err.value)


def test_unknown_key_is_an_error(tmp_path):
    bad = tmp_path / "disclosure.yaml"
    bad.write_text((REPO / "conf" / "disclosure.yaml").read_text() + "\nthreshhold: 5\n")
    with pytest.raises(ConfigError, match="threshhold"):
        load_policy(path=bad)


def test_readme_policy_table_is_generated():
    table = policy_markdown(load_policy())
    assert table in (REPO / "docs" / "releases.md").read_text(), "run: leo disclosure-policy"


def test_grouping_sets_keep_uncrossed_dimensions_on_their_own():
    p = load_policy().model_copy(update={"max_dimensions": 2, "uncrossed_dimensions": ["c"]})
    sets = grouping_sets(p, ["a", "b", "c"])
    assert sets == [(), ("a",), ("b",), ("c",), ("a", "b")]
    assert grouping_sets(p.model_copy(update={"uncrossed_dimensions": []}), ["a", "b", "c"]) == [
        (),
        ("a",),
        ("b",),
        ("c",),
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
    ]
