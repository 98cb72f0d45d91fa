import itertools

import numpy as np
import pandas as pd
import pytest

from linkage.clustering import (
    cluster_local,
    cluster_spark,
    components,
    connected_components_spark,
    guard_components,
    guarded_clusters,
)


def test_chain_through_a_weak_pair_is_cut_by_the_guard() -> None:
    # 1 and 3 are two KS4 pupils; 2 (a benefits record) links to both, 1-2 more strongly
    ids = np.array([1, 2, 3])
    src = np.array(["ks4", "benefits", "ks4"])
    out, refused = guarded_clusters(
        ids, src, np.array([1, 2]), np.array([2, 3]), np.array([0.99, 0.95]), {"ks4"}
    )
    assert out == {1: 1, 2: 1, 3: 3}
    assert refused == 1


def test_without_guard_it_is_plain_connected_components() -> None:
    ids = np.array([1, 2, 3, 4])
    src = np.array(["ks4", "benefits", "ks4", "he"])
    out, refused = guarded_clusters(
        ids, src, np.array([1, 2]), np.array([2, 3]), np.array([0.99, 0.95]), set()
    )
    assert out == {1: 1, 2: 1, 3: 1, 4: 4} and refused == 0


def test_directly_linked_duplicates_in_a_guarded_source_stay_together() -> None:
    ids = np.array([1, 2, 3])
    src = np.array(["ks4", "ks4", "he"])
    el, er, p = np.array([1, 1, 2]), np.array([2, 3, 3]), np.array([0.99, 0.98, 0.97])
    out, refused = guarded_clusters(ids, src, el, er, p, {"ks4"})
    assert set(out.values()) == {1} and refused == 0


def _reference_components(edges: list[tuple[int, int]], vertices: set[int]) -> dict[int, int]:
    """Breadth-first search: vertex -> smallest vertex of its component (the oracle)."""
    nbrs: dict[int, set[int]] = {v: set() for v in vertices}
    for a, b in edges:
        nbrs[a].add(b)
        nbrs[b].add(a)
    out: dict[int, int] = {}
    for v in sorted(vertices):
        if v in out:
            continue
        seen, todo = {v}, [v]
        while todo:
            for w in nbrs[todo.pop()] - seen:
                seen.add(w)
                todo.append(w)
        out.update({w: v for w in seen})
    return out


def _graphs(n: int = 300) -> dict[str, list[tuple[int, int]]]:
    """Hand-built graphs; `n` sets the two long paths' lengths (rounds grow with log n)."""
    rng = np.random.default_rng(3)
    path = [(i, i + 1) for i in range(n)]  # diameter n
    shuffled = rng.permutation(np.arange(1000, 1000 + n))  # a path through ids in random order
    random_path = [(int(a), int(b)) for a, b in itertools.pairwise(shuffled)]
    star = [(5000, 5000 + k) for k in range(1, 80)] + [(6000 + k, 6000) for k in range(1, 40)]
    cycle = [(7000 + k, 7000 + (k + 1) % 50) for k in range(50)]
    tree = [(8000 + k, 8000 + (k - 1) // 2) for k in range(1, 127)]  # binary tree, root 8000
    sparse = rng.integers(10_000, 10_600, size=(400, 2))  # random graph, many components
    rand = [(int(a), int(b)) for a, b in sparse if a != b]
    return {
        "path": path,
        "random path": random_path,
        "stars": star,
        "cycle": cycle,
        "tree": tree,
        "random": rand,
        "all": path + random_path + star + cycle + tree + rand,
    }


@pytest.mark.parametrize("name", list(_graphs()))
def test_components_match_breadth_first_search(name: str) -> None:
    edges = _graphs()[name]
    ids, labels = components(np.array([a for a, _ in edges]), np.array([b for _, b in edges]))
    expected = _reference_components(edges, {v for e in edges for v in e})
    assert dict(zip(ids.tolist(), labels.tolist(), strict=True)) == expected


@pytest.mark.spark
def test_spark_components_match_breadth_first_search(spark) -> None:  # type: ignore[no-untyped-def]
    edges = _graphs(40)["all"]
    df = spark.createDataFrame(pd.DataFrame(edges, columns=["src", "dst"]), "src long, dst long")
    got = dict(connected_components_spark(df).toPandas().itertuples(index=False, name=None))
    assert got == _reference_components(edges, {v for e in edges for v in e})


def _guard_case(spark):  # type: ignore[no-untyped-def]
    # a long chain 0-1-...-29 (diameter 29), a separate pair, singletons, and a guarded chain
    chain = [(i, i + 1, 0.99) for i in range(29)]
    guarded = [(100, 101, 0.99), (101, 102, 0.95)]  # 100 and 102 both ks4
    edges = pd.DataFrame(
        [*chain, (40, 41, 0.97), *guarded], columns=["__id_l", "__id_r", "match_probability"]
    )
    recs = pd.DataFrame({"__id": [*range(30), 40, 41, 50, 100, 101, 102]})
    recs["__src"] = ["x"] * 33 + ["ks4", "benefits", "ks4"]
    src = recs.set_index("__id")["__src"]
    edges["__src_l"] = src.loc[edges["__id_l"]].to_numpy()
    edges["__src_r"] = src.loc[edges["__id_r"]].to_numpy()
    schema = "__id_l long, __id_r long, match_probability double, __src_l string, __src_r string"
    return spark.createDataFrame(recs), spark.createDataFrame(edges, schema)


@pytest.mark.spark
@pytest.mark.parametrize("driver_max_links", [1000, 0], ids=["driver", "distributed"])
def test_spark_components_and_guard(spark, driver_max_links: int) -> None:  # type: ignore[no-untyped-def]
    recs, links = _guard_case(spark)
    out, stats = cluster_spark(recs, links, {"ks4"}, driver_max_links=driver_max_links)
    got = dict(out.toPandas().itertuples(index=False, name=None))
    assert {got[i] for i in range(30)} == {0}
    assert got[40] == got[41] == 40 and got[50] == 50
    assert got[100] == got[101] == 100 and got[102] == 102
    assert stats["guarded components"] == 1 and stats["pairs refused by guard"] == 1


def test_local_clusters_with_guard_and_singletons() -> None:
    big = 2**59  # record ids are 60-bit hashes: no float may pass through
    recs = pd.DataFrame(
        {"__id": [big + k for k in (1, 2, 3, 4, 9)], "__src": ["ks4", "he", "ks4", "he", "ks4"]}
    )
    links = pd.DataFrame(
        {
            "__id_l": [big + 1, big + 2],
            "__id_r": [big + 2, big + 3],
            "match_probability": [0.99, 0.95],
        }
    )
    clusters, refused = cluster_local(recs, links, {"ks4"})
    assert clusters.tolist() == [big + 1, big + 1, big + 3, big + 4, big + 9] and refused == 1


def test_two_guarded_components_are_each_kept_apart() -> None:
    # two separate families: in each, two ks4 twins joined only through a shared he record
    ids = np.array([1, 2, 3, 11, 12, 13])
    src = np.array([0, -1, 0, 0, -1, 0], dtype=np.int16)
    labels = np.array([1, 1, 1, 11, 11, 11])
    el, er = np.array([1, 2, 11, 12]), np.array([2, 3, 12, 13])
    p = np.array([0.99, 0.95, 0.95, 0.99])
    out, refused, n_bad = guard_components(ids, labels, src, (el, er, p), {0}, 0.999999)
    assert out.tolist() == [1, 1, 3, 11, 12, 12]
    assert refused == 2 and n_bad == 2


def test_twins_linked_directly_but_not_strongly_stay_apart() -> None:
    # two KS4 pupils (twins) linked to each other at 0.99, each with their own HE record
    ids = np.array([1, 2, 3, 4])
    src = np.array(["ks4", "ks4", "he", "he"])
    el, er = np.array([1, 2, 1, 1]), np.array([3, 4, 2, 4])
    p = np.array([0.9999999, 0.9999999, 0.99, 0.95])
    out, refused = guarded_clusters(ids, src, el, er, p, {"ks4"}, duplicate_probability=0.999999)
    assert out == {1: 1, 3: 1, 2: 2, 4: 2}
    assert refused == 2
