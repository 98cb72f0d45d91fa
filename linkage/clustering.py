"""Clusters from scored pairs (design section 5, step 6): connected components of the pairs at
or above the threshold, with a guard against chaining distinct people together.

Connected components run in Spark by min-label propagation with pointer jumping (each round
a record takes the smallest label among itself and its neighbours, then the label of its
label), so rounds grow with the log of the component diameter, not the population.

The guard: a source that holds at most one record per person (settings
`one_record_per_person`) must not have two records in one cluster merely because a chain of
pairs joins them. Components that hold two records of such a source are re-clustered on the
driver by constrained greedy merging: pairs are taken strongest first, and two groups merge
only if, for every guarded source, the records of that source in the two groups are linked
to each other directly by a pair of very high probability (settings
`duplicate_min_probability`: a duplicate agrees on nearly everything, where twins, who share
surname, date of birth and address, differ at least in forename), never only through third
records. Such components are few and small, so only
their pairs leave Spark.

A cluster is named by its smallest record `__id` (a hash of source and unique id), so the
same records always form the same cluster name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)
CLUSTER = "__cluster"


class UnionFind:
    def __init__(self, ids: Iterable[int]) -> None:
        self.parent = {i: i for i in ids}

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root


def guarded_clusters(
    ids: np.ndarray,
    sources: np.ndarray,
    edges_l: np.ndarray,
    edges_r: np.ndarray,
    probability: np.ndarray,
    guarded: set[str],
    duplicate_probability: float = 0.0,
) -> tuple[dict[int, int], int]:
    """Greedy constrained clustering: id -> smallest id of its cluster, and the number of
    pairs refused because they would join two records of a guarded source that are not
    linked to each other directly with at least `duplicate_probability`."""
    uf = UnionFind(int(i) for i in ids)
    held: dict[int, dict[str, set[int]]] = {
        int(i): ({s: {int(i)}} if s in guarded else {}) for i, s in zip(ids, sources, strict=True)
    }
    direct = {
        (int(a), int(b))
        for a, b, p in zip(edges_l, edges_r, probability, strict=True)
        if p >= duplicate_probability
    }

    def linked(a: int, b: int) -> bool:
        return (a, b) in direct or (b, a) in direct

    refused = 0
    order = np.lexsort((edges_r, edges_l, -probability))  # strongest first, ties by id
    for k in order:
        a, b = uf.find(int(edges_l[k])), uf.find(int(edges_r[k]))
        if a == b:
            continue
        clash = False
        for src in held[a].keys() & held[b].keys():
            if not all(linked(x, y) for x in held[a][src] for y in held[b][src]):
                clash = True
                break
        if clash:
            refused += 1
            continue
        root, child = (a, b) if a < b else (b, a)
        uf.parent[child] = root
        for src, members in held.pop(child).items():
            held[root].setdefault(src, set()).update(members)
    return {int(i): uf.find(int(i)) for i in ids}, refused


def cluster_local(
    records: pd.DataFrame,
    links: pd.DataFrame,
    guarded: set[str],
    duplicate_probability: float = 0.0,
) -> tuple[pd.Series, int]:
    """Single node: records (`__id`, `__src`), links (`__id_l`, `__id_r`, `match_probability`)
    -> cluster per record (indexed like `records`), pairs refused by the guard."""
    mapping, refused = guarded_clusters(
        records["__id"].to_numpy(),
        records["__src"].to_numpy(),
        links["__id_l"].to_numpy(),
        links["__id_r"].to_numpy(),
        links["match_probability"].to_numpy(),
        guarded,
        duplicate_probability,
    )
    return records["__id"].map(mapping).astype("int64"), refused


def connected_components_spark(edges: DataFrame, max_rounds: int = 100) -> DataFrame:
    """(`src`, `dst`) long edges -> (`id`, `label`): the smallest id of each component, for
    every vertex that has an edge."""
    from pyspark.sql import functions as F

    both = (
        edges.select(F.col("src"), F.col("dst"))
        .unionByName(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
        .cache()
    )
    labels = both.groupBy("src").agg(F.least(F.min("dst"), F.first("src")).alias("label"))
    labels = labels.withColumnRenamed("src", "id").localCheckpoint()
    # labels only ever decrease, so an unchanged sum means nothing changed: one small
    # aggregation per round decides convergence, with no join against the previous round
    total = labels.agg(F.sum(F.col("label").cast("decimal(38,0)"))).collect()[0][0]
    for rnd in range(1, max_rounds + 1):
        prop = both.join(labels, both.src == labels.id).select(
            F.col("dst").alias("id"), F.col("label")
        )
        new = prop.unionByName(labels).groupBy("id").agg(F.min("label").alias("label"))
        jump = new.alias("a").join(new.alias("b"), F.col("a.label") == F.col("b.id"), "left")
        labels = jump.select(
            F.col("a.id").alias("id"),
            F.least(F.col("a.label"), F.coalesce(F.col("b.label"), F.col("a.label"))).alias(
                "label"
            ),
        ).localCheckpoint()
        new_total = labels.agg(F.sum(F.col("label").cast("decimal(38,0)"))).collect()[0][0]
        log.debug("connected components round %d", rnd)
        if new_total == total:
            break
        total = new_total
    else:
        log.warning("connected components did not converge in %d rounds", max_rounds)
    both.unpersist()
    return labels


def cluster_spark(
    records: DataFrame, links: DataFrame, guarded: set[str], duplicate_probability: float = 0.0
) -> tuple[DataFrame, dict[str, int]]:
    """records (`__id`, `__src`), links (`__id_l`, `__id_r`, `match_probability`) ->
    (`__id`, `__cluster`) for every record, and counts for the stage log."""
    from pyspark.sql import functions as F

    edges = links.select(F.col("__id_l").alias("src"), F.col("__id_r").alias("dst"))
    labels = connected_components_spark(edges)
    stats = {"guarded components": 0, "pairs refused by guard": 0}
    if guarded:
        member = labels.join(records.select(F.col("__id").alias("id"), "__src"), "id")
        bad = (
            member.where(F.col("__src").isin(sorted(guarded)))
            .groupBy("label", "__src")
            .count()
            .where(F.col("count") > 1)
            .select("label")
            .distinct()
        )
        bad_members = member.join(bad, "label").toPandas()
        if len(bad_members):
            stats["guarded components"] = int(bad_members["label"].nunique())
            bad_ids = bad_members[["id"]].rename(columns={"id": "__id_l"})
            spark = records.sparkSession
            bad_edges = (
                links.join(F.broadcast(spark.createDataFrame(bad_ids)), "__id_l")
                .select("__id_l", "__id_r", "match_probability")
                .toPandas()
            )
            mapping, refused = guarded_clusters(
                bad_members["id"].to_numpy(),
                bad_members["__src"].to_numpy(),
                bad_edges["__id_l"].to_numpy(),
                bad_edges["__id_r"].to_numpy(),
                bad_edges["match_probability"].to_numpy(),
                guarded,
                duplicate_probability,
            )
            stats["pairs refused by guard"] = refused
            fixed = spark.createDataFrame(
                pd.DataFrame({"id": list(mapping), "fixed": list(mapping.values())}),
                "id long, fixed long",
            )
            labels = labels.join(F.broadcast(fixed), "id", "left").select(
                "id", F.coalesce(F.col("fixed"), F.col("label")).alias("label")
            )
    out = (
        records.select("__id")
        .join(labels.withColumnRenamed("id", "__id"), "__id", "left")
        .select("__id", F.coalesce(F.col("label"), F.col("__id")).alias(CLUSTER))
    )
    return out, stats
