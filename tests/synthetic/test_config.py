"""conf/synthetic.yaml: the default loads, and a bad value fails naming the key."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from leo.config import conf_path, validate
from leo.errors import ConfigError
from synthetic.config import SyntheticConfig, load_synthetic_config


def default_data() -> dict[str, Any]:
    return yaml.safe_load(conf_path("synthetic.yaml").read_text())


def test_default_config_loads_with_every_source() -> None:
    cfg = load_synthetic_config()
    assert cfg.cohorts.first_ks4_year == 2005 and cfg.cohorts.last_ks4_year == 2014
    assert cfg.cohorts.last_tax_year == 2023
    for source in ("ks4", "ks5", "he", "employments", "benefits"):
        assert cfg.corruption.for_source(source).date_of_birth.day_month_swap > 0
    assert cfg.corruption.employments.nino.missing > 0


@pytest.mark.parametrize(
    ("path", "value", "key", "expected"),
    [
        (
            ["corruption", "ks4", "forename", "typo"],
            1.5,
            "corruption.ks4.forename.typo",
            "less than or equal to 1",
        ),
        (
            ["corruption", "he", "duplicate"],
            -0.1,
            "corruption.he.duplicate",
            "greater than or equal to 0",
        ),
        (["population", "non_ks4_share"], "lots", "population.non_ks4_share", "valid number"),
        (["chunk_size"], 0, "chunk_size", "greater than or equal to 1"),
        (["population", "twin_share"], 0.5, "population", "twin_share must not exceed"),
        (
            ["names", "forename_zipf", "exponent"],
            0,
            "names.forename_zipf.exponent",
            "greater than 0",
        ),
    ],
)
def test_bad_value_names_the_key(path: list[str], value: object, key: str, expected: str) -> None:
    data = default_data()
    node = data
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as exc:
        validate(SyntheticConfig, data, "synthetic.yaml")
    msg = str(exc.value)
    assert "synthetic.yaml" in msg and f"'{key}" in msg and expected in msg, msg


def test_unknown_source_under_corruption_is_an_error() -> None:
    data = default_data()
    data["corruption"]["ks6"] = {"duplicate": 0.1}
    with pytest.raises(ConfigError, match=r"corruption\.ks6"):
        validate(SyntheticConfig, data, "synthetic.yaml")


def test_nino_corruption_only_for_sources_holding_a_nino() -> None:
    data = default_data()
    data["corruption"]["ks4"]["nino"] = {"missing": 0.1}
    with pytest.raises(ConfigError, match=r"corruption\.ks4\.nino"):
        validate(SyntheticConfig, data, "synthetic.yaml")


def test_shares_must_add_up_and_regions_must_be_known() -> None:
    data = default_data()
    data["population"]["non_ks4_kinds"]["parent"] = 0.9
    with pytest.raises(ConfigError, match="non_ks4_kinds must add up to 1"):
        validate(SyntheticConfig, data, "synthetic.yaml")
    data = default_data()
    data["population"]["fsm_share_by_region"]["E12000010"] = 0.2
    with pytest.raises(ConfigError, match="E12000010"):
        validate(SyntheticConfig, data, "synthetic.yaml")
    data = default_data()
    del data["population"]["fsm_share_by_region"]["E12000001"]
    with pytest.raises(ConfigError, match="missing region"):
        validate(SyntheticConfig, data, "synthetic.yaml")
