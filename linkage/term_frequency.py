"""Term-frequency adjustment (design section 5, step 5): agreeing on a rare name is stronger
evidence than agreeing on a common one.

For a comparison with the adjustment, each record carries the frequency of its value among
all records (`<column>__tf`). On exact agreement the pair's weight for that comparison
becomes log2(m_exact / tf) instead of log2(m_exact / u_exact), i.e. it gains
log2(u_exact / tf) (Splink's formulation; tf taken as the larger of the two sides).

The Spark backend computes the frequencies in the same aggregation that builds its value
dictionaries (linker.encode_spark); `add_tf_local` is the single-node equivalent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.comparisons import tf_column
from linkage.settings import Settings


def add_tf_local(records: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    out = records.copy()
    for comp in settings.comparisons:
        if comp.tf:
            values = out[comp.column]
            freq = values.value_counts(normalize=True, dropna=True)
            out[tf_column(comp)] = values.map(freq).astype("float64")
    return out


def tf_adjustment(u_exact: float, tf: np.ndarray, min_tf: float) -> np.ndarray:
    """Extra weight (bits) for exact agreement on a value of frequency `tf` (NaN -> 0)."""
    adj = np.log2(u_exact / np.maximum(tf, min_tf))
    return np.where(np.isnan(tf), 0.0, adj)
