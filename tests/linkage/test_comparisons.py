"""Each comparison level, on hand-built pairs."""

import numpy as np
import pandas as pd
import pytest

from linkage.comparisons import compare_indexed, encode_local, gamma_column, level_names
from linkage.settings import Settings
from linkage.standardise import standardise_frame
from linkage.term_frequency import add_tf_local


def settings(*comparisons: dict) -> Settings:
    return Settings.model_validate(
        {
            "link_type": "dedupe_only",
            "unique_id_column": "id",
            "blocking_rules": [[comparisons[0]["column"]]],
            "comparisons": list(comparisons),
            "threshold": {"match_probability": 0.9},
        }
    )


def levels(s: Settings, pairs: list[tuple[dict, dict]], name: str) -> list[str]:
    """The level names each (left, right) record pair gets for comparison `name`."""
    rows = [r for pair in pairs for r in pair]
    cols = s.input_columns()
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows])
    std, dicts = encode_local(add_tf_local(standardise_frame(df, s), s), s)
    i = np.arange(0, len(rows), 2)
    out = compare_indexed(std, i, i + 1, s, dicts)
    comp = next(c for c in s.comparisons if c.name == name)
    names = level_names(comp)
    return ["missing" if g < 0 else names[g] for g in out[gamma_column(comp)]]


def test_name_levels() -> None:
    s = settings(
        {"column": "forename", "kind": "name", "swap_with": "surname"},
        {"column": "surname", "kind": "name", "swap_with": "forename"},
    )
    f = "forename"
    pairs = [
        ({f: "John", "surname": "Smith"}, {f: "JOHN", "surname": "smith"}),
        ({f: "John", "surname": "Smith"}, {f: "Smith", "surname": "John"}),
        ({f: "Bob", "surname": "Smith"}, {f: "Robert", "surname": "Smith"}),
        ({f: "Mary Ann", "surname": "Smith"}, {f: "Ann", "surname": "Smith"}),
        ({f: "R", "surname": "Smith"}, {f: "Rachel", "surname": "Smith"}),
        ({f: "Jonathon", "surname": "Smith"}, {f: "Jonathan", "surname": "Smith"}),
        ({f: "Christina", "surname": "Smith"}, {f: "Christopher", "surname": "Smith"}),
        ({f: "John", "surname": "Smith"}, {f: "Zoe", "surname": "Smith"}),
        ({f: None, "surname": "Smith"}, {f: "Zoe", "surname": "Smith"}),
    ]
    assert levels(s, pairs, "forename") == [
        "exact",
        "swapped",
        "nickname",
        "token",
        "initial",
        "jaro_winkler>=0.92",
        "jaro_winkler>=0.8",
        "different",
        "missing",
    ]


def test_double_barrelled_surname_matches_either_part() -> None:
    s = settings({"column": "surname", "kind": "name"})
    pairs = [
        ({"surname": "Smith-Jones"}, {"surname": "Jones"}),
        ({"surname": "Smith-Jones"}, {"surname": "smithjones"}),
    ]
    assert levels(s, pairs, "surname") == ["token", "token"]


def test_date_levels_and_impossible_dates_compared_by_characters() -> None:
    s = settings({"column": "dob", "kind": "date"})
    pairs = [
        ({"dob": "2001-03-04"}, {"dob": "2001-03-04"}),
        ({"dob": "2001-03-04"}, {"dob": "2001-04-03"}),
        ({"dob": "2001-02-21"}, {"dob": "2001-02-31"}),  # impossible, one digit away
        ({"dob": "2001-03-04"}, {"dob": "2001-08-20"}),
        ({"dob": "2001-03-04"}, {"dob": "1980-11-20"}),
        ({"dob": "2001-03-04"}, {"dob": None}),
    ]
    assert levels(s, pairs, "dob") == [
        "exact",
        "day_month_swapped",
        "one_edit",
        "within_365_days",
        "different",
        "missing",
    ]


def test_postcode_levels_and_malformed_postcodes() -> None:
    s = settings({"column": "pc", "kind": "postcode"})
    pairs = [
        ({"pc": "SW1A 1AA"}, {"pc": "sw1a1aa"}),
        ({"pc": "SW1A 1AA"}, {"pc": "SW1A 1AB"}),
        ({"pc": "SW1A 1AA"}, {"pc": "SW1A 1ZZ"}),
        ({"pc": "SW1A 1AA"}, {"pc": "SW1A 2ZZ"}),
        ({"pc": "SW1A 1AA"}, {"pc": "M1 1AE"}),
        ({"pc": "NOT A POSTCODE"}, {"pc": "NOT A POSTCOD"}),  # by characters
    ]
    assert levels(s, pairs, "pc") == [
        "exact",
        "one_edit",
        "sector",
        "district",
        "different",
        "one_edit",
    ]


def test_identifier_exact_and_numeric_levels() -> None:
    s = settings(
        {"column": "nino", "kind": "identifier"},
        {"column": "sex", "kind": "exact"},
        {"column": "age", "kind": "numeric", "thresholds": [1, 5]},
    )
    pairs = [
        (
            {"nino": "AB123456C", "sex": "F", "age": "30"},
            {"nino": "ab 12 34 56 c", "sex": "f", "age": "30"},
        ),
        (
            {"nino": "AB123456C", "sex": "F", "age": "30"},
            {"nino": "AB123465C", "sex": "M", "age": "31"},
        ),
        (
            {"nino": "AB123456C", "sex": None, "age": "30"},
            {"nino": "ZZ999999A", "sex": "M", "age": "34"},
        ),
        ({"nino": None, "sex": "F", "age": "x"}, {"nino": "ZZ999999A", "sex": "F", "age": "90"}),
    ]
    assert levels(s, pairs, "nino") == ["exact", "edits<=1", "different", "missing"]
    assert levels(s, pairs, "sex") == ["exact", "different", "missing", "exact"]
    assert levels(s, pairs, "age") == ["exact", "within_1", "within_5", "missing"]


def test_string_levels() -> None:
    s = settings({"column": "addr", "kind": "string"})
    pairs = [
        ({"addr": "1 High St."}, {"addr": "1 high st"}),
        ({"addr": "stanley street"}, {"addr": "stanley streat"}),
        ({"addr": "stanley street"}, {"addr": "stanley road"}),  # 0.88
        ({"addr": "stanley street"}, {"addr": "xyz"}),
    ]
    assert levels(s, pairs, "addr") == [
        "exact",
        "jaro_winkler>=0.9",
        "jaro_winkler>=0.7",
        "different",
    ]


@pytest.mark.parametrize("engine_rows", [2, 50])
def test_recordlinkage_feature_gives_the_same_levels(engine_rows: int) -> None:
    import recordlinkage

    from linkage.compare_features import LevelsFeature

    s = settings({"column": "forename", "kind": "name"})
    names = ["john", "jon", "bob", "robert", None, "mary ann", "ann"] * (engine_rows // 7 + 1)
    df = pd.DataFrame({"forename": names[:engine_rows]})
    std, dicts = encode_local(add_tf_local(standardise_frame(df, s), s), s)
    i = np.arange(len(std) - 1)
    direct = compare_indexed(std, i, i + 1, s, dicts)[gamma_column(s.comparisons[0])].to_numpy()
    index = pd.MultiIndex.from_arrays([i, i + 1])
    via_rl = recordlinkage.Compare(features=[LevelsFeature(s.comparisons[0], dicts)]).compute(
        index, std
    )
    assert (via_rl.iloc[:, 0].to_numpy() == direct).all()
