import pandas as pd

from linkage.standardise import (
    canonical_name,
    clean_identifier,
    clean_name,
    parse_dates,
    parse_numeric,
    parse_postcodes,
)


def test_names_case_accents_punctuation_order_and_double_barrels() -> None:
    raw = pd.Series(["  Smith-Jones ", "SMITH, John", "José", None, "O'Brien", "Mr Bob Smith", ""])
    assert clean_name(raw).tolist() == [
        "smith jones",
        "john smith",
        "jose",
        None,
        "obrien",
        "bob smith",
        None,
    ]


def test_nicknames_come_from_the_packaged_table() -> None:
    out = canonical_name(pd.Series(["bob", "robert", "al", "zebedee", None])).tolist()
    assert out[0] == out[1] == "robert"
    assert set(out[2].split("|")) >= {"albert", "alfred", "alexander"}
    assert out[3] == "zebedee" and out[4] is None


def test_dates_impossible_values_keep_parts_and_are_flagged() -> None:
    p = parse_dates(
        pd.Series(["2001-02-31", "2001-2-3", "garbage", None, "2000-13-01"]), "%Y-%m-%d"
    )
    assert p["norm"].tolist()[:3] == ["20010231", "20010203", "garbage"]
    assert p["bad"].tolist() == [True, False, True, False, True]
    assert int(p["y"][0]) == 2001 and pd.isna(p["days"][0])  # year still usable for blocking
    assert int(p["days"][1]) == 11356


def test_packed_date_format() -> None:
    p = parse_dates(pd.Series(["19560409", "1956049"]), "%Y%m%d")
    assert p["bad"].tolist() == [False, True]
    assert int(p["m"][0]) == 4


def test_postcodes_split_and_malformed_flagged() -> None:
    p = parse_postcodes(pd.Series(["sw1a 1aa", "M1 1AE", "XX", None]))
    assert p["clean"].tolist() == ["SW1A1AA", "M11AE", "XX", None]
    assert p["sector"].tolist()[:3] == ["SW1A1", "M11", None]
    assert p["district"].tolist()[:2] == ["SW1A", "M1"]
    assert p["area"].tolist()[:2] == ["SW", "M"]
    assert p["bad"].tolist() == [False, False, True, False]


def test_identifiers_and_numbers() -> None:
    assert clean_identifier(pd.Series([" ab 12 34 56 c", "0123"])).tolist() == ["AB123456C", "0123"]
    n = parse_numeric(pd.Series(["1.5", "x", None]))
    assert n["bad"].tolist() == [False, True, False]
