"""FEBRL4 (link two files) and FEBRL3 (dedupe one) through `leo link-tables` with the committed
settings: F1 at least 0.998 on both backends."""

from pathlib import Path

import pandas as pd
import pytest

from linkage.evaluate import cluster_scores
from linkage.settings import load_settings
from tests.conftest import REPO, persisted_rdds, run_leo
from tests.linkage.febrl import febrl3, febrl4, scores

SETTINGS = REPO / "conf" / "linkage"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "make"), [("febrl4", febrl4), ("febrl3", febrl3)])
def test_febrl_local_engine_through_the_command(tmp_path: Path, name: str, make) -> None:  # type: ignore[no-untyped-def]
    inputs, true = make(tmp_path)
    out = tmp_path / "out"
    settings = SETTINGS / f"{name}.yaml"
    proc = run_leo(
        "link-tables", *inputs, "--settings", str(settings), "--out", str(out), "--engine", "local"
    )
    assert proc.returncode == 0, proc.stderr
    s = scores(out, true, load_settings(settings).threshold.match_probability)
    assert s["f1"] >= 0.998, s
    assert "stage block and compare" in proc.stderr  # progress, one line per stage
    clusters = pd.read_parquet(out / "clusters")
    assert clusters["rec_id"].is_unique


@pytest.mark.spark
@pytest.mark.slow
def test_febrl4_spark_engine(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from spark_jobs.link import link_tables

    inputs, true = febrl4(tmp_path)
    out = tmp_path / "out"
    settings = load_settings(SETTINGS / "febrl4.yaml")
    cached_before = persisted_rdds(spark)
    summary = link_tables(spark, inputs, settings, str(out))
    assert persisted_rdds(spark) == cached_before  # the run freed every frame it cached
    s = scores(out, true, settings.threshold.match_probability)
    assert s["f1"] >= 0.998, s
    clusters = pd.read_parquet(out / "clusters")
    truth = clusters["rec_id"].str.extract(r"rec-(\d+)-")[0]
    assert cluster_scores(clusters["cluster_id"], truth)["f1"] >= 0.998
    assert summary["counts"]["candidate_pairs"] > 5000
    hist = summary["match_weight_histogram"]
    assert sum(hist["pairs"]) == summary["counts"]["candidate_pairs"]
