"""Match weights and probabilities (design section 5, step 6).

match weight = log2(prior odds) + sum over comparisons of log2(m/u) at the pair's level
               (+ the term-frequency adjustment on exact agreement; 0 for a missing value)
match probability = 2^w / (1 + 2^w)

`match_weights` works on a pandas frame of levels (single node, and tests); `weight_column`
builds the same arithmetic as a Spark expression (no Python in the loop). Both read the same
per-level weight tables from the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from linkage.comparisons import gamma_column, tf_output_column
from linkage.model import Model
from linkage.settings import Settings
from linkage.term_frequency import tf_adjustment

if TYPE_CHECKING:
    from pyspark.sql import Column

HIST_LOW, HIST_HIGH, HIST_STEP = -40.0, 60.0, 0.5


def match_weights(levels: pd.DataFrame, model: Model, settings: Settings) -> np.ndarray:
    w = np.full(len(levels), model.prior_weight)
    for comp in settings.comparisons:
        cm = model.by_name(comp.name)
        table = np.array(cm.weights())
        g = levels[gamma_column(comp)].to_numpy(dtype=np.int64)
        w += np.where(g >= 0, table[np.maximum(g, 0)], 0.0)
        if comp.tf:
            tf = levels[tf_output_column(comp)].to_numpy(dtype=float)
            w += tf_adjustment(cm.u[0], tf, model.tf_floor)
    return w


def probability(weight: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))


def weight_column(model: Model, settings: Settings) -> Column:
    from pyspark.sql import functions as F

    w = F.lit(model.prior_weight)
    for comp in settings.comparisons:
        cm = model.by_name(comp.name)
        g = F.col(gamma_column(comp)).cast("int")
        table = F.array(*[F.lit(float(x)) for x in cm.weights()])
        w = w + F.when(g >= 0, F.element_at(table, g + 1)).otherwise(F.lit(0.0))
        if comp.tf:
            tf = F.col(tf_output_column(comp))
            adj = F.log2(F.lit(cm.u[0]) / F.greatest(tf, F.lit(model.tf_floor)))
            w = w + F.when(tf.isNotNull() & ~F.isnan(tf), adj).otherwise(F.lit(0.0))
    return w


def probability_column(weight: Column) -> Column:
    from pyspark.sql import functions as F

    return F.lit(1.0) / (F.lit(1.0) + F.pow(F.lit(2.0), -weight))


def histogram_bin(weight: np.ndarray) -> np.ndarray:
    """Lower edge of each weight's bin (clamped to the histogram's range)."""
    clipped = np.clip(weight, HIST_LOW, HIST_HIGH - HIST_STEP)
    return np.floor(clipped / HIST_STEP) * HIST_STEP


def histogram_bin_column(weight: Column) -> Column:
    from pyspark.sql import functions as F

    clipped = F.least(F.greatest(weight, F.lit(HIST_LOW)), F.lit(HIST_HIGH - HIST_STEP))
    return F.floor(clipped / HIST_STEP) * HIST_STEP
