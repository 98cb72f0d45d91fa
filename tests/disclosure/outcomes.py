"""Random small cohort_outcomes tables for property tests (hypothesis strategies)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from leo.schema import COHORT_OUTCOMES
from synthetic.cohort_outcomes import ACTIVITIES

VALUES = {
    "sex": ["F", "M", "unknown"],
    "fsm": ["fsm", "not_fsm"],
    "sen": ["none", "sen_support", "ehcp"],
}


@st.composite
def cohort_outcomes(draw: st.DrawFn, max_people: int = 400) -> pd.DataFrame:
    """KS4 people of one cohort at one or two years after, with skewed categories (so that
    small and empty groups are common) and random outcomes."""
    n = draw(st.integers(1, max_people))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    skew = draw(st.floats(0.5, 5.0))
    years = draw(st.sampled_from([[1], [1, 3]]))
    rows = []
    for ya in years:
        cols = {
            d: np.array(v)[np.minimum(rng.geometric(1 / (1 + skew), n) - 1, len(v) - 1)]
            for d, v in VALUES.items()
        }
        act = rng.integers(0, len(ACTIVITIES), n)
        sustained = act <= 1
        earnings = np.where(sustained, rng.lognormal(9.8, 0.6, n), np.nan)
        big = rng.random(n) < draw(st.floats(0, 0.05))
        earnings = np.where(big & sustained, earnings * 40, earnings)  # dominance cases
        rows.append(
            pd.DataFrame(
                {
                    "person_pid": [f"p{i:05d}-{seed}" for i in range(n)],
                    "cohort_type": "ks4",
                    "cohort": "2014/15",
                    "years_after": np.int8(ya),
                    "tax_year": np.int16(2015 + ya),
                    **cols,
                    "ethnicity_major": "white",
                    "prior_attainment_band": "middle",
                    "region": "E12000001",
                    "subject_cah2": "n/a",
                    "provider_id": "n/a",
                    "qualification": "n/a",
                    "activity": np.array(ACTIVITIES)[act],
                    "sustained_employment": sustained,
                    "in_education": (act == 1) | (act == 2),
                    "out_of_work_benefit": rng.random(n) < draw(st.floats(0, 0.5)),
                    "annualised_earnings": earnings,
                    "linked": rng.random(n) < 0.95,
                    "min_match_probability": 1.0,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)[COHORT_OUTCOMES.names]
