"""The comparison functions of linkage/comparisons.py as `recordlinkage` compare features, for
the single-node backend: `recordlinkage.Compare(features=[LevelsFeature(c, dicts), ...])`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from recordlinkage.base import BaseCompareFeature

from linkage.comparisons import (
    Dictionaries,
    coded_columns,
    codes_of,
    gamma,
    gamma_column,
    numbers_of,
    numeric_columns,
    tf_column,
    tf_output_column,
)
from linkage.settings import Comparison


class LevelsFeature(BaseCompareFeature):
    """A comparison as a `recordlinkage.Compare` feature: one column of levels."""

    name = "levels"
    description = "Fellegi-Sunter comparison levels"

    def __init__(self, comp: Comparison, dicts: Dictionaries) -> None:
        self.comp = comp
        self.dicts = dicts
        self.cols = coded_columns(comp) + [
            c for c in numeric_columns(comp) if not c.endswith("__tf")
        ]
        super().__init__(self.cols, self.cols, label=gamma_column(comp))

    def _compute_vectorized(self, *series: pd.Series) -> np.ndarray:
        n = len(self.cols)
        left = {c: s.to_numpy() for c, s in zip(self.cols, series[:n], strict=True)}
        right = {c: s.to_numpy() for c, s in zip(self.cols, series[n:], strict=True)}
        return gamma(self.comp, left, right, self.dicts)


class TermFrequencyFeature(BaseCompareFeature):
    """The frequency of the agreed value where a comparison agrees exactly, else NaN."""

    name = "term_frequency"
    description = "term frequency of an exactly agreeing value"

    def __init__(self, comp: Comparison) -> None:
        self.comp = comp
        cols = [comp.column, tf_column(comp)]
        super().__init__(cols, cols, label=tf_output_column(comp))

    def _compute_vectorized(
        self, a: pd.Series, tf_a: pd.Series, b: pd.Series, tf_b: pd.Series
    ) -> np.ndarray:
        ca, cb = codes_of(a), codes_of(b)
        agree = (ca >= 0) & (ca == cb)
        tf = np.fmax(numbers_of(tf_a), numbers_of(tf_b))
        return np.where(agree, tf, np.nan)
