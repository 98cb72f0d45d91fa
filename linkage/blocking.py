"""Candidate pairs (design section 5, step 3): a union of blocking rules, each pair once.

A rule is an AND-list of (optionally transformed) columns; a pair is a candidate when both
records have the same non-missing key for at least one rule. Keys are computed per record by
`block_keys` (pandas, the same code for both backends). Rule k then joins records on key k
and drops pairs that an earlier rule already produced (they agree on an earlier key), so each
pair is generated exactly once without a global distinct.

Skew: a block of n records makes n(n-1)/2 pairs, all in one task unless split.
- Blocks over `salt_block_size` records are salted: one side is spread over
  ceil(n / salt_block_size) buckets, the other replicated into each, so the block's pairs are
  shared among that many tasks (and each pair still appears once).
- Blocks over `max_block_size` records are skipped for that rule and reported (keys, records,
  pairs avoided): such a key (a shared postcode of a hall of residence, a very common name)
  carries little evidence, and the pairs that matter come from the other rules.

Every pair carries `__mask`, bit j set when the records agree on rule j's (uncapped) key: the
EM step trains on the pairs of each rule, and the lowest set bit names the rule that produced it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import jellyfish
import numpy as np
import pandas as pd

from linkage.settings import BlockTerm, Settings
from linkage.standardise import map_unique

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

KEY_SEP = "\x1f"
ID, SRC, UID = "__id", "__src", "__uid"


def key_column(i: int) -> str:
    return f"__bk{i}"


def _phonetic(fn: object) -> object:
    def apply(v: str) -> str | None:
        letters = "".join(ch for ch in v if ch.isalpha())
        return fn(letters) or None if letters else None  # type: ignore[operator]

    return apply


_PHONETIC = {
    "soundex": jellyfish.soundex,
    "metaphone": jellyfish.metaphone,
    "nysiis": jellyfish.nysiis,
}


def transform(term: BlockTerm, std: pd.DataFrame) -> pd.Series:
    """The values of one blocking term for standardised records (missing stays missing)."""
    col, fn = term.column, term.transform
    if fn is None:
        s = std[col]
    elif fn in _PHONETIC:
        s = map_unique(std[col], _phonetic(_PHONETIC[fn]))
    elif fn == "canon":
        s = std[f"{col}__canon"]
    elif fn == "initial":
        s = map_unique(std[col], lambda v: v[:1] or None)
    elif fn == "substr":
        start, length = term.args
        s = map_unique(std[col], lambda v: v[start - 1 : start - 1 + length] or None)
    elif fn in ("year", "month", "day"):
        s = std[f"{col}__{fn[0]}"].astype("string")
    elif fn == "unordered":
        a, b = std[col].astype("string"), std[str(term.other)].astype("string")
        s = (a.where(a <= b, b) + KEY_SEP + b.where(a <= b, a)).astype("string")
    else:  # area, district, sector of a postcode
        s = std[f"{col}__{fn}"]
    return s.astype("string")


def block_keys(std: pd.DataFrame, settings: Settings) -> dict[str, pd.Series]:
    """One key column per rule: the terms joined, missing when any term is missing."""
    keys = {}
    for i, rule in enumerate(settings.parsed_rules):
        parts = [transform(term, std) for term in rule]
        key = parts[0]
        for p in parts[1:]:
            key = key + KEY_SEP + p
        keys[key_column(i)] = key.astype(object).where(key.notna(), None)
    return keys


@dataclass
class RuleStats:
    rule: str
    keys: int = 0
    largest_block: int = 0
    salted_keys: int = 0
    capped_keys: int = 0
    capped_records: int = 0
    capped_pairs_avoided: int = 0
    pairs: int = 0  # pairs this rule produced (not produced by an earlier rule)


@dataclass
class BlockingStats:
    rules: list[RuleStats] = field(default_factory=list)

    @property
    def capped_keys(self) -> int:
        return sum(r.capped_keys for r in self.rules)

    def as_dict(self) -> dict[str, object]:
        return {"rules": [asdict(r) for r in self.rules]}


def first_rule(mask: np.ndarray | pd.Series) -> np.ndarray:
    """Index of the lowest set bit: the rule that produced each pair."""
    m = np.asarray(mask, dtype=np.int64)
    return np.log2(m & -m).astype(int)


# --- single node ---------------------------------------------------------------------------


def block_pairs_local(
    records: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame, BlockingStats]:
    """Pairs (`__id_l` < `__id_r`, `__mask`) for records holding `__id`, `__src` and the key
    columns. Same semantics as `block_pairs_spark` (no salting is needed in one process)."""
    stats = BlockingStats()
    link_only = settings.link_type == "link_only"
    keys = {}
    for i in range(len(settings.blocking_rules)):
        k = records[key_column(i)]
        sizes = k.value_counts()
        capped = sizes[sizes > settings.max_block_size]
        st = RuleStats(
            settings.rule_text(i),
            keys=len(sizes),
            largest_block=int(sizes.max()) if len(sizes) else 0,
        )
        st.capped_keys = len(capped)
        st.capped_records = int(capped.sum())
        st.capped_pairs_avoided = int(sum(n * (n - 1) // 2 for n in capped))
        keys[i] = k.where(~k.isin(capped.index), None)
        stats.rules.append(st)
    frames = []
    position = pd.Series(np.arange(len(records)), index=records[ID].to_numpy())
    base = pd.DataFrame({ID: records[ID].to_numpy(), SRC: records[SRC].to_numpy()})
    for i in range(len(settings.blocking_rules)):
        side = base.assign(k=keys[i].to_numpy()).dropna(subset=["k"])
        p = side.merge(side, on="k", suffixes=("_l", "_r"))
        p = p[p[f"{ID}_l"] < p[f"{ID}_r"]]
        if link_only:
            p = p[p[f"{SRC}_l"] != p[f"{SRC}_r"]]
        li, ri = p[f"{ID}_l"].to_numpy(), p[f"{ID}_r"].to_numpy()
        pos_l, pos_r = position.loc[li].to_numpy(), position.loc[ri].to_numpy()
        mask = np.zeros(len(p), dtype=np.int64)
        earlier = np.zeros(len(p), dtype=bool)
        for j in range(len(settings.blocking_rules)):
            kj = keys[j].to_numpy(dtype=object)
            agree = pd.notna(kj[pos_l]) & (kj[pos_l] == kj[pos_r])
            mask |= agree.astype(np.int64) << j
            if j < i:
                earlier |= agree
        p = pd.DataFrame(
            {f"{ID}_l": li[~earlier], f"{ID}_r": ri[~earlier], "__mask": mask[~earlier]}
        )
        stats.rules[i].pairs = len(p)
        frames.append(p)
    pairs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return pairs, stats


# --- Spark ---------------------------------------------------------------------------------


def stacked(df: DataFrame, columns: dict[str, Column]) -> DataFrame:
    """(`col`, `v`) rows: each label of `columns` with its value, for every row of `df`. One
    pass over `df` (a union of selects would scan it once per column, and AQE starts those
    scans at once, so an uncached lineage would be computed once per column)."""
    from pyspark.sql import functions as F

    pairs = [F.struct(F.lit(k).alias("col"), v.alias("v")) for k, v in columns.items()]
    return df.select(F.explode(F.array(*pairs)).alias("__s")).select("__s.col", "__s.v")


def block_pairs_spark(
    spark: SparkSession,
    records: DataFrame,
    settings: Settings,
    side_columns: list[str],
    cached: list[DataFrame],
) -> tuple[DataFrame, BlockingStats]:
    """Candidate pairs with `<col>_l`/`<col>_r` for each of `side_columns` (plus `__id`,
    `__src`), and `__mask`. `records` must be cached: it is read once per rule. The frames
    this caches are appended to `cached`, for the caller to unpersist once the pairs are
    no longer needed."""
    from pyspark.sql import functions as F

    stats = BlockingStats()
    n_rules = len(settings.blocking_rules)
    link_only = settings.link_type == "link_only"
    keys = [key_column(j) for j in range(n_rules)]
    carried = list(dict.fromkeys([ID, SRC, *side_columns, *keys]))
    # keys as 64-bit hashes: narrower rows to shuffle and compare. Every step (block sizes,
    # joins, the earlier-rule test, the mask) sees the same hashes, so a collision only merges
    # two blocks (a few more candidate pairs), and each pair is still produced once.
    hashed = [F.when(F.col(k).isNotNull(), F.xxhash64(k)).alias(k) for k in keys]
    records = records.select(*[c for c in carried if c not in keys], *hashed)
    eff = records
    salted: dict[int, DataFrame] = {}
    # one job sizes the blocks of every rule
    sizes_all = (
        stacked(records, {str(i): F.col(key_column(i)) for i in range(n_rules)})
        .where(F.col("v").isNotNull())
        .select(F.col("col").cast("int").alias("rule"), F.col("v").alias("key"))
        .groupBy("rule", "key")
        .agg(F.count("*").alias("n"))
        .cache()
    )
    cached.append(sizes_all)
    big, mid = settings.max_block_size, settings.salt_block_size
    n = F.col("n")
    summary = {
        r["rule"]: r
        for r in sizes_all.groupBy("rule")
        .agg(
            F.count("*").alias("keys"),
            F.max("n").alias("largest"),
            F.sum(F.when(n > big, 1).otherwise(0)).alias("capped"),
            F.sum(F.when(n > big, n).otherwise(0)).alias("capped_records"),
            F.sum(F.when(n > big, n * (n - 1) / 2).otherwise(0)).alias("avoided"),
            F.sum(F.when((n > mid) & (n <= big), 1).otherwise(0)).alias("salted"),
        )
        .collect()
    }
    for i in range(n_rules):
        k = key_column(i)
        row = summary.get(i)
        st = RuleStats(settings.rule_text(i))
        if row is not None:
            st.keys, st.largest_block = int(row["keys"]), int(row["largest"])
            st.capped_keys, st.capped_records = int(row["capped"]), int(row["capped_records"])
            st.capped_pairs_avoided, st.salted_keys = int(row["avoided"]), int(row["salted"])
        stats.rules.append(st)
        sizes = sizes_all.where(F.col("rule") == i).select(F.col("key").alias(k), "n")
        if st.capped_keys:
            capped = sizes.where(n > big).select(k, F.lit(True).alias("__capped"))
            eff = (
                eff.join(F.broadcast(capped), on=k, how="left")
                .withColumn(k, F.when(F.col("__capped"), None).otherwise(F.col(k)))
                .drop("__capped")
            )
        if st.salted_keys:
            salted[i] = sizes.where((n > mid) & (n <= big)).select(
                k, F.ceil(n / mid).cast("int").alias("__buckets")
            )
    if stats.capped_keys:
        eff = eff.cache()
        cached.append(eff)

    def agree(j: int) -> Column:
        """The two sides of a joined pair have the same (non-missing) key of rule j."""
        kj = key_column(j)
        return F.coalesce(F.col(f"l.{kj}") == F.col(f"r.{kj}"), F.lit(False))

    frames = []
    for i in range(n_rules):
        k = key_column(i)
        side = eff.where(F.col(k).isNotNull()).select(*carried)
        if i in salted:
            side = side.join(F.broadcast(salted[i]), on=k, how="left").fillna(1, ["__buckets"])
            left = side.withColumn(
                "__salt", F.pmod(F.xxhash64(F.col(ID)), F.col("__buckets")).cast("int")
            )
            right = side.withColumn(
                "__salt", F.explode(F.sequence(F.lit(0), F.col("__buckets") - 1))
            )
            left, right = left.drop("__buckets"), right.drop("__buckets")
            on = [k, "__salt"]
        else:
            left, right, on = side, side, [k]

        # the two sides of an unsalted rule are one plan, so Spark shuffles it once (the
        # exchange is reused); columns get their side's suffix after the join. Every
        # condition goes into one filter and every output into one select: each DataFrame
        # call re-analyses the whole (wide, joined) plan, and a call per earlier rule cost
        # seconds per rule at 100k persons.
        keep = F.col(f"l.{ID}") < F.col(f"r.{ID}")
        if link_only:
            keep &= F.col(f"l.{SRC}") != F.col(f"r.{SRC}")
        for j in range(i):
            keep &= ~agree(j)
        mask = F.lit(0).cast("long")
        for j in range(n_rules):
            mask = mask + F.when(agree(j), F.lit(1 << j)).otherwise(0)
        cond = [F.col(f"l.{c}") == F.col(f"r.{c}") for c in on]
        out_cols = [
            F.col(f"{s}.{c}").alias(f"{c}_{s}") for c in [ID, SRC, *side_columns] for s in "lr"
        ]
        frames.append(
            left.alias("l")
            .join(right.alias("r"), on=cond, how="inner")
            .where(keep)
            .select(*out_cols, mask.alias("__mask"))
        )
    # the frames have the same columns in the same order: a positional union (unionByName
    # would analyse each frame again)
    pairs = frames[0]
    for f in frames[1:]:
        pairs = pairs.union(f)
    return pairs, stats


def total_pairs(settings: Settings, source_sizes: dict[str, int]) -> int:
    """How many pairs the link type allows in all (the denominator of the prior)."""
    n = sum(source_sizes.values())
    if settings.link_type == "link_only":
        return (n * n - sum(v * v for v in source_sizes.values())) // 2
    return n * (n - 1) // 2


def salt_buckets(n: int, salt_block_size: int) -> int:
    return max(1, math.ceil(n / salt_block_size))
