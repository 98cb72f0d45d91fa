"""Clusters from scored pairs (design section 5, step 6): connected components of the pairs at
or above the threshold, with a guard against chaining distinct people together.

Connected components: up to `cluster_driver_max_links` links (settings) the edge list is
collected as two columns of ids and solved on the driver by scipy in one linear pass (the
links of a million persons are a few hundred MB); beyond that, in Spark by alternating
large-star and small-star rounds (O(log n) rounds, see `connected_components_spark`). Both
give each component the smallest id in it.

The guard: a source that holds at most one record per person (settings
`one_record_per_person`) must not have two records in one cluster merely because a chain of
pairs joins them. Components that hold two records of such a source are re-clustered on the
driver by constrained greedy merging: pairs are taken strongest first, and two groups merge
only if, for every guarded source, the records of that source in the two groups are linked
to each other directly by a pair of very high probability (settings
`duplicate_min_probability`: a duplicate agrees on nearly everything, where twins, who share
surname, date of birth and address, differ at least in forename), never only through third
records. Such components are few and small, so on the Spark path only their pairs leave
Spark.

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
    from pyspark.sql import Column, DataFrame

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


def components(edges_l: np.ndarray, edges_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of an edge list on one machine (scipy, linear time): the
    vertices (sorted ids) and, for each, the smallest id of its component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = len(edges_l)
    ids, inverse = np.unique(np.concatenate([edges_l, edges_r]), return_inverse=True)
    n = len(ids)
    graph = coo_matrix((np.ones(m, dtype=np.int8), (inverse[:m], inverse[m:])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # ids are sorted, so a component's first vertex is its smallest id
    _, first = np.unique(comp, return_index=True)
    return ids, ids[first][comp]


def clashing_components(
    ids: np.ndarray, labels: np.ndarray, sources: np.ndarray, guarded: set[int]
) -> np.ndarray:
    """Labels of components holding two records of one guarded source (`sources` are codes
    aligned with `ids`)."""
    keep = np.isin(sources, list(guarded))
    if not keep.any():
        return np.array([], dtype=labels.dtype)
    cells = pd.DataFrame({"label": labels[keep], "src": sources[keep]})
    n = cells.groupby(["label", "src"]).size()
    return np.unique(n[n > 1].index.get_level_values("label").to_numpy())


def guard_components(
    ids: np.ndarray,
    labels: np.ndarray,
    sources: np.ndarray,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    guarded: set[int],
    duplicate_probability: float,
) -> tuple[np.ndarray, int, int]:
    """Components that hold two records of a guarded source, re-clustered by
    `guarded_clusters` on their own edges (`edges`: left ids, right ids, probabilities).
    Returns the labels, the pairs refused and the number of such components."""
    bad = clashing_components(ids, labels, sources, guarded)
    if not len(bad):
        return labels, 0, 0
    left, right, p = edges
    in_bad = np.isin(labels, bad)
    edge_bad = np.isin(left, ids[in_bad])
    fixed, refused = guarded_clusters(
        ids[in_bad],
        sources[in_bad],
        left[edge_bad],
        right[edge_bad],
        p[edge_bad],
        guarded,
        duplicate_probability,
    )
    out = labels.copy()
    out[in_bad] = [fixed[int(i)] for i in ids[in_bad]]
    return out, refused, len(bad)


def cluster_local(
    records: pd.DataFrame,
    links: pd.DataFrame,
    guarded: set[str],
    duplicate_probability: float = 0.0,
) -> tuple[pd.Series, int]:
    """Single node: records (`__id`, `__src`), links (`__id_l`, `__id_r`, `match_probability`)
    -> cluster per record (indexed like `records`), pairs refused by the guard."""
    left, right = links["__id_l"].to_numpy(np.int64), links["__id_r"].to_numpy(np.int64)
    ids, labels = components(left, right)
    codes = source_codes(guarded)
    src = records.set_index("__id")["__src"].map(codes).fillna(-1)
    sources = src.loc[ids].to_numpy(np.int16)
    edges = (left, right, links["match_probability"].to_numpy(float))
    labels, refused, _ = guard_components(
        ids, labels, sources, edges, set(codes.values()), duplicate_probability
    )
    own = records["__id"].to_numpy(np.int64)
    at = np.minimum(np.searchsorted(ids, own), max(len(ids) - 1, 0))
    linked = (ids[at] == own) if len(ids) else np.zeros(len(own), dtype=bool)
    out = np.where(linked, labels[at] if len(ids) else own, own)  # ids are exact 60-bit ints
    return pd.Series(out, index=records.index, dtype="int64"), refused


def source_codes(guarded: set[str]) -> dict[str, int]:
    """Guarded sources as small integers (other sources are -1)."""
    return {s: i for i, s in enumerate(sorted(guarded))}


def _star_edges(e: DataFrame, center: Column, leaf: Column) -> DataFrame:
    from pyspark.sql import functions as F

    return (
        e.select(F.least(center, leaf).alias("a"), F.greatest(center, leaf).alias("b"))
        .where(F.col("a") != F.col("b"))
        .distinct()
    )


def connected_components_spark(edges: DataFrame, max_rounds: int = 100) -> DataFrame:
    """(`src`, `dst`) long edges -> (`id`, `label`): the smallest id of each component, for
    every vertex that has an edge. Alternating large-star and small-star (Kiveris et al.,
    "Connected components in MapReduce and beyond", 2014): O(log n) rounds, each a few
    shuffles of the edge list, which ends as one star per component around its smallest id.
    Edges are kept as (a, b) with a < b."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    a, b = F.col("a"), F.col("b")
    e = _star_edges(edges, F.col("src"), F.col("dst")).localCheckpoint()
    signature = None
    for rnd in range(1, max_rounds + 1):
        # large-star: every neighbour above u joins the smallest of u's neighbourhood
        both = e.select(a.alias("u"), b.alias("v")).unionByName(
            e.select(b.alias("u"), a.alias("v"))
        )
        m = F.least(F.col("u"), F.min("v").over(Window.partitionBy("u")))
        large = _star_edges(
            both.withColumn("m", m).where(F.col("v") > F.col("u")), F.col("m"), F.col("v")
        )
        # small-star: u and its neighbours below it join the smallest of them
        m = F.min("a").over(Window.partitionBy("b"))
        with_m = large.withColumn("m", m)
        small = _star_edges(
            with_m.select("m", a.alias("x")).unionByName(with_m.select("m", b.alias("x"))),
            F.col("m"),
            F.col("x"),
        )
        e = small.localCheckpoint()
        got = e.agg(F.count("*"), F.sum(F.xxhash64("a", "b").cast("decimal(38,0)"))).collect()[0]
        log.debug("connected components round %d: %d edges", rnd, got[0])
        if tuple(got) == signature:
            break
        signature = tuple(got)
    else:
        log.warning("connected components did not converge in %d rounds", max_rounds)
    # a star: each b hangs off its component's smallest id a (the label is the least of a
    # vertex and its neighbours, which is also right should a star not have formed)
    return (
        e.select(b.alias("id"), a.alias("label"))
        .unionByName(e.select(a.alias("id"), a.alias("label")))
        .groupBy("id")
        .agg(F.min("label").alias("label"))
    )


def cluster_spark(
    records: DataFrame,
    links: DataFrame,
    guarded: set[str],
    duplicate_probability: float = 0.0,
    driver_max_links: int = 50_000_000,
    n_links: int | None = None,
) -> tuple[DataFrame, dict[str, int]]:
    """records (`__id`, `__src`), links (`__id_l`, `__id_r`, `match_probability`, and
    `__src_l`, `__src_r` when `guarded`) -> (`__id`, `__cluster`) for every record, and
    counts for the stage log.

    Up to `driver_max_links` links (8 bytes per id, a few hundred MB at that size) are
    clustered on the driver with scipy in one pass; beyond it, in Spark
    (`connected_components_spark`), and only the components the guard must split come to
    the driver."""
    from pyspark.sql import functions as F

    spark = records.sparkSession
    codes = source_codes(guarded)
    code_map = F.create_map(*[F.lit(x) for kv in codes.items() for x in kv]) if codes else None

    def code(col: str) -> Column:
        if code_map is None:
            return F.lit(-1).cast("smallint")
        return F.coalesce(F.element_at(code_map, F.col(col)), F.lit(-1)).cast("smallint")

    stats = {"guarded components": 0, "pairs refused by guard": 0}
    n = links.count() if n_links is None else n_links
    if n <= driver_max_links:
        e = links.select(
            "__id_l",
            "__id_r",
            "match_probability",
            code("__src_l").alias("g_l"),
            code("__src_r").alias("g_r"),
        ).toPandas()
        left, right = e["__id_l"].to_numpy(np.int64), e["__id_r"].to_numpy(np.int64)
        ids, labels = components(left, right)
        sources = np.full(len(ids), -1, dtype=np.int16)
        sources[np.searchsorted(ids, left)] = e["g_l"].to_numpy()
        sources[np.searchsorted(ids, right)] = e["g_r"].to_numpy()
        labels, refused, n_bad = guard_components(
            ids,
            labels,
            sources,
            (left, right, e["match_probability"].to_numpy(float)),
            set(codes.values()),
            duplicate_probability,
        )
        stats = {"guarded components": n_bad, "pairs refused by guard": refused}
        labels_df = spark.createDataFrame(
            pd.DataFrame({"id": ids, "label": labels}), "id long, label long"
        )
    else:
        edges = links.select(F.col("__id_l").alias("src"), F.col("__id_r").alias("dst"))
        labels_df = connected_components_spark(edges).localCheckpoint()
        if guarded:
            labels_df = _guard_spark(records, links, labels_df, codes, duplicate_probability, stats)
    out = (
        records.select("__id")
        .join(labels_df.withColumnRenamed("id", "__id"), "__id", "left")
        .select("__id", F.coalesce(F.col("label"), F.col("__id")).alias(CLUSTER))
    )
    return out, stats


def _guard_spark(
    records: DataFrame,
    links: DataFrame,
    labels: DataFrame,
    codes: dict[str, int],
    duplicate_probability: float,
    stats: dict[str, int],
) -> DataFrame:
    """The guard after distributed components: only the members and links of components
    with two records of a guarded source leave Spark."""
    from pyspark.sql import functions as F

    spark = records.sparkSession
    member = labels.join(records.select(F.col("__id").alias("id"), "__src"), "id")
    bad = (
        member.where(F.col("__src").isin(sorted(codes)))
        .groupBy("label", "__src")
        .count()
        .where(F.col("count") > 1)
        .select("label")
        .distinct()
    )
    bad_members = member.join(bad, "label").toPandas()
    if not len(bad_members):
        return labels
    ids = bad_members["id"].to_numpy(np.int64)
    bad_ids = spark.createDataFrame(pd.DataFrame({"__id_l": ids}), "__id_l long")
    bad_edges = (
        links.join(F.broadcast(bad_ids), "__id_l")
        .select("__id_l", "__id_r", "match_probability")
        .toPandas()
    )
    fixed, refused, n_bad = guard_components(
        ids,
        bad_members["label"].to_numpy(np.int64),
        bad_members["__src"].map(codes).fillna(-1).to_numpy(np.int16),
        (
            bad_edges["__id_l"].to_numpy(np.int64),
            bad_edges["__id_r"].to_numpy(np.int64),
            bad_edges["match_probability"].to_numpy(float),
        ),
        set(codes.values()),
        duplicate_probability,
    )
    stats.update({"guarded components": n_bad, "pairs refused by guard": refused})
    fixed_df = spark.createDataFrame(
        pd.DataFrame({"id": ids, "fixed": fixed}), "id long, fixed long"
    )
    return labels.join(F.broadcast(fixed_df), "id", "left").select(
        "id", F.coalesce(F.col("fixed"), F.col("label")).alias("label")
    )
