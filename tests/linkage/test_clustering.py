import numpy as np
import pandas as pd
import pytest

from linkage.clustering import cluster_spark, guarded_clusters


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


@pytest.mark.spark
def test_spark_components_and_guard(spark) -> None:  # type: ignore[no-untyped-def]
    # a long chain 0-1-...-29 (diameter 29), a separate pair, singletons, and a guarded chain
    chain = [(i, i + 1, 0.99) for i in range(29)]
    guarded = [(100, 101, 0.99), (101, 102, 0.95)]  # 100 and 102 both ks4
    edges = pd.DataFrame(
        [*chain, (40, 41, 0.97), *guarded], columns=["__id_l", "__id_r", "match_probability"]
    )
    recs = pd.DataFrame({"__id": [*range(30), 40, 41, 50, 100, 101, 102]})
    recs["__src"] = ["x"] * 33 + ["ks4", "benefits", "ks4"]
    edges["__id_l"] = edges["__id_l"].astype("int64")
    edges["__id_r"] = edges["__id_r"].astype("int64")
    out, stats = cluster_spark(spark.createDataFrame(recs), spark.createDataFrame(edges), {"ks4"})
    got = dict(out.toPandas().itertuples(index=False, name=None))
    assert {got[i] for i in range(30)} == {0}
    assert got[40] == got[41] == 40 and got[50] == 50
    assert got[100] == got[101] == 100 and got[102] == 102
    assert stats["guarded components"] == 1 and stats["pairs refused by guard"] == 1


def test_twins_linked_directly_but_not_strongly_stay_apart() -> None:
    # two KS4 pupils (twins) linked to each other at 0.99, each with their own HE record
    ids = np.array([1, 2, 3, 4])
    src = np.array(["ks4", "ks4", "he", "he"])
    el, er = np.array([1, 2, 1, 1]), np.array([3, 4, 2, 4])
    p = np.array([0.9999999, 0.9999999, 0.99, 0.95])
    out, refused = guarded_clusters(ids, src, el, er, p, {"ks4"}, duplicate_probability=0.999999)
    assert out == {1: 1, 3: 1, 2: 2, 4: 2}
    assert refused == 2
