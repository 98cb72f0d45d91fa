import numpy as np
import pandas as pd
import pytest

from linkage.blocking import (
    ID,
    SRC,
    block_keys,
    block_pairs_local,
    block_pairs_spark,
    first_rule,
    key_column,
)
from linkage.settings import Settings
from linkage.standardise import standardise_frame


def settings(link_type: str = "dedupe_only", max_block: int = 5000, salt: int = 500) -> Settings:
    return Settings.model_validate(
        {
            "link_type": link_type,
            "unique_id_column": "id",
            "source_column": "src" if link_type != "dedupe_only" else None,
            "blocking_rules": [["surname"], ["dob"], ["soundex(surname)", "year(dob)"]],
            "comparisons": [
                {"column": "surname", "kind": "name"},
                {"column": "dob", "kind": "date"},
            ],
            "threshold": {"match_probability": 0.9},
            "max_block_size": max_block,
            "salt_block_size": salt,
        }
    )


def records(
    s: Settings,
    rows: list[tuple[str | None, ...]],
    columns: tuple[str, ...] = ("src", "surname", "dob"),
) -> pd.DataFrame:
    """Standardised records with their blocking keys, ids 0, 1, ... in row order."""
    df = pd.DataFrame(rows, columns=list(columns))
    std = standardise_frame(df, s)
    std = std.assign(**block_keys(std, s))
    std[ID] = np.arange(len(std), dtype=np.int64)
    std[SRC] = df["src"].to_numpy()
    return std


def test_each_pair_once_across_rules() -> None:
    s = settings()
    rows = [
        ("a", "Smith", "2000-01-01"),
        ("a", "Smith", "2000-01-01"),
        ("a", "Smyth", "2000-05-05"),
        ("a", "Jones", "2000-01-01"),
        ("a", "Brown", "1999-12-31"),
    ]
    pairs, stats = block_pairs_local(records(s, rows), s)
    got = list(zip(pairs[f"{ID}_l"], pairs[f"{ID}_r"], strict=True))
    assert len(got) == len(set(got))
    assert set(got) == {(0, 1), (0, 3), (1, 3), (0, 2), (1, 2)}
    # (0, 1) agrees on all three rules, made by the first; (0, 2) only by soundex+year
    masks = dict(zip(got, pairs["__mask"], strict=True))
    assert masks[(0, 1)] == 0b111 and masks[(0, 2)] == 0b100
    assert list(first_rule(np.array([masks[(0, 3)]]))) == [1]
    assert [r.pairs for r in stats.rules] == [1, 2, 2]


def test_link_only_pairs_cross_sources() -> None:
    s = settings("link_only")
    rows = [
        ("a", "Smith", "2000-01-01"),
        ("a", "Smith", "2000-01-01"),
        ("b", "Smith", "2000-01-01"),
    ]
    pairs, _ = block_pairs_local(records(s, rows), s)
    assert sorted(zip(pairs[f"{ID}_l"], pairs[f"{ID}_r"], strict=True)) == [(0, 2), (1, 2)]


def test_oversized_block_is_skipped_and_reported() -> None:
    s = settings(max_block=3)
    rows = [("a", "Smith", f"2000-01-0{i}") for i in range(1, 6)] + [("a", "Jones", "2000-01-01")]
    pairs, stats = block_pairs_local(records(s, rows), s)
    assert stats.rules[0].capped_keys == 1 and stats.rules[0].capped_records == 5
    assert stats.rules[0].capped_pairs_avoided == 10
    # the Smiths still pair where another rule allows: soundex+year holds for all of them,
    # but that block (5 records) is capped too; only the date rule pairs Smith/Jones
    assert set(zip(pairs[f"{ID}_l"], pairs[f"{ID}_r"], strict=True)) == {(0, 5)}


@pytest.mark.spark
def test_spark_pairs_equal_local_with_salted_and_capped_blocks(spark) -> None:  # type: ignore[no-untyped-def]
    s = settings(max_block=60, salt=8)
    rng = np.random.default_rng(5)
    names = (
        ["Smith"] * 40 + ["Jones"] * 70 + list(rng.choice(["Brown", "Patel", "Khan", "Smyth"], 90))
    )
    dobs = [
        f"{1990 + int(rng.integers(0, 3))}-0{int(rng.integers(1, 4))}-1{int(rng.integers(0, 3))}"
        for _ in names
    ]
    rec = records(s, [("a", n, d) for n, d in zip(names, dobs, strict=True)])
    local, lstats = block_pairs_local(rec, s)
    sdf = spark.createDataFrame(rec[[ID, SRC, "surname", *[key_column(i) for i in range(3)]]])
    cached: list = []
    pairs, sstats = block_pairs_spark(spark, sdf.cache(), s, ["surname"], cached)
    got = pairs.select(f"{ID}_l", f"{ID}_r", "__mask").toPandas()
    assert cached  # the block sizes (and the capped records) are cached, for the caller to free
    for df in cached:
        df.unpersist()
    sdf.unpersist()
    assert len(got) == len(local)  # no duplicates, nothing lost
    key = lambda df: set(zip(df[f"{ID}_l"], df[f"{ID}_r"], df["__mask"], strict=True))  # noqa: E731
    assert key(got) == key(local)
    sizes = pd.Series(names).value_counts()
    assert sstats.rules[0].capped_keys == 1  # Jones (70)
    assert sstats.rules[0].salted_keys == int(((sizes > 8) & (sizes <= 60)).sum()) >= 2
    assert [r.capped_records for r in sstats.rules] == [r.capped_records for r in lstats.rules]


def name_settings(rules: list[list[str]]) -> Settings:
    return Settings.model_validate(
        {
            "link_type": "link_and_dedupe",
            "unique_id_column": "id",
            "source_column": "src",
            "blocking_rules": rules,
            "comparisons": [
                {"column": "forename", "kind": "name", "swap_with": "surname"},
                {"column": "surname", "kind": "name", "swap_with": "forename"},
                {"column": "dob", "kind": "date"},
            ],
            "threshold": {"match_probability": 0.9},
        }
    )


def test_unordered_pair_blocks_a_name_order_swap() -> None:
    s = name_settings([["dob", "soundex(surname)"], ["dob", "unordered(forename, surname)"]])
    rows = [
        ("ks4", "Demi", "Elsmore", "1996-07-28"),
        ("he", "Elsmore", "Demi", "1996-07-28"),  # the same person, names the wrong way round
        ("he", "Elsmore", "Demi", "1996-07-29"),  # another date: no block
        ("he", "Demi", None, "1996-07-28"),  # a missing name: no key
        ("he", "Elsmore", "Lee", "1996-07-28"),  # not the same pair of names
    ]
    rec = records(s, rows, ("src", "forename", "surname", "dob"))
    k = rec[key_column(1)]
    assert k[0] == k[1] and k[0] != k[2] and pd.isna(k[3]) and k[0] != k[4]
    pairs, stats = block_pairs_local(rec, s)
    got = set(zip(pairs[f"{ID}_l"], pairs[f"{ID}_r"], pairs["__mask"], strict=True))
    assert got == {(0, 1, 0b10)}  # soundex(surname) alone never meets the swap
    assert [r.pairs for r in stats.rules] == [0, 1]


def test_committed_leo_rules_block_a_name_order_swap_without_nino() -> None:
    """An education record (no NINO) with forename and surname the wrong way round, and its
    postcode missing, still meets the person's other records (conf/linkage.yaml)."""
    from leo.config import load_conf
    from spark_jobs.link import LeoLinkageConf

    s = load_conf(LeoLinkageConf, "linkage.yaml").settings
    cols = (
        "src",
        "forename",
        "middle_names",
        "surname",
        "sex",
        "date_of_birth",
        "postcode",
        "nino",
    )
    rows = [
        ("ks4", "Pawel", None, "Petrescu", "M", "1990-02-07", "CB6 2WB", None),
        ("he", "Petrescu", None, "Pawel", "M", "1990-02-07", None, None),
    ]
    pairs, _ = block_pairs_local(records(s, rows, cols), s)
    assert list(zip(pairs[f"{ID}_l"], pairs[f"{ID}_r"], strict=True)) == [(0, 1)]
