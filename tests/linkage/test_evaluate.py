import pandas as pd

from linkage.evaluate import cluster_scores, pair_scores, prf


def test_pair_scores_ignore_order() -> None:
    s = pair_scores([("a", "b"), ("c", "b"), ("x", "y")], [("b", "a"), ("b", "c"), ("d", "e")])
    assert s["true_positives"] == 2 and s["precision"] == 2 / 3 and s["recall"] == 2 / 3


def test_cluster_scores_count_implied_pairs() -> None:
    predicted = pd.Series(["p1", "p1", "p1", "p2"])
    true = pd.Series(["t1", "t1", "t2", "t2"])
    s = cluster_scores(predicted, true)
    # predicted pairs: 3 (within p1), true pairs: 1 (t1) + 1 (t2), correct: 1
    assert (s["predicted"], s["actual"], s["true_positives"]) == (3, 2, 1)


def test_prf_edge_cases() -> None:
    assert prf(0, 0, 0)["f1"] == 1.0
    assert prf(0, 5, 5)["f1"] == 0.0
