"""Small hand-built Spark frames shaped as the build's inputs, for the definition tests."""

from __future__ import annotations

from datetime import date
from typing import Any

EMPLOYMENTS = (
    "person_pid string, employer_ref string, tax_year smallint, start_date date, "
    "end_date date, pay double"
)
BENEFITS = "person_pid string, out_of_work boolean, start_date date, end_date date"
SPANS = "person_pid string, first_year int, last_year int"


def frame(spark: Any, schema: str, rows: list[tuple[Any, ...]]) -> Any:
    return spark.createDataFrame(rows, schema)


def by_key(df: Any, *keys: str) -> dict[Any, dict[str, Any]]:
    """Collect rows into {key tuple (or single key): row dict}."""
    out = {}
    for r in df.collect():
        d = r.asDict()
        k = tuple(d[x] for x in keys)
        out[k[0] if len(k) == 1 else k] = d
    return out


def d(text: str) -> date:
    return date.fromisoformat(text)


KS4 = (
    "person_pid string, record_id string, academic_year smallint, la_code string, "
    "fsm_eligible boolean, sen_provision string, ethnicity_major string, attainment8 double, "
    "sex string"
)
HE = (
    "person_pid string, record_id string, qualification string, subject_cah2 string, "
    "provider_id string, start_year smallint, graduation_year smallint"
)
PERSONS = "person_pid string, sources string, n_records bigint, min_match_probability double"
RECORDS = "person_pid string, sex string, birth_year smallint, birth_month tinyint"
