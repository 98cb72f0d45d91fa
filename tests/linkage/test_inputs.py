"""Bad input: whole-table and whole-column problems are errors naming table, column and row
count; records that cannot be linked at all are quarantined with a reason and counted."""

from pathlib import Path

import pandas as pd
import pytest

from leo.errors import InputError
from linkage.inputs import NO_ID, NO_IDENTIFIERS, check_pandas, check_spark
from linkage.settings import Settings
from tests.conftest import run_leo

S = Settings.model_validate(
    {
        "link_type": "dedupe_only",
        "unique_id_column": "id",
        "blocking_rules": [["surname"]],
        "comparisons": [{"column": "surname", "kind": "name"}, {"column": "dob", "kind": "date"}],
        "threshold": {"match_probability": 0.9},
    }
)


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "surname", "dob"]).astype(object)


GOOD = [("1", "Smith", "2000-01-01"), ("2", "Jones", "2000-02-30"), ("3", None, "2001-01-01")]


def check(df: pd.DataFrame, spark: object | None) -> tuple[pd.DataFrame, object]:
    if spark is None:
        return check_pandas("people", df, S)
    schema = ", ".join(f"{c} string" for c in df.columns)
    sdf = spark.createDataFrame(df.where(pd.notna(df), None), schema)  # type: ignore[attr-defined]
    out, rep = check_spark("people", sdf, S)
    return out.toPandas(), rep


@pytest.fixture(params=["pandas", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> object | None:
    return request.getfixturevalue("spark") if request.param == "spark" else None


def test_missing_column(engine: object | None) -> None:
    with pytest.raises(InputError, match=r"input people: missing column\(s\) dob"):
        check(frame(GOOD).drop(columns="dob"), engine)


def test_empty_input(engine: object | None) -> None:
    with pytest.raises(InputError, match="input people: no rows"):
        check(frame([]), engine)


def test_all_null_identifier_column(engine: object | None) -> None:
    rows = [(i, s, None) for i, s, _ in GOOD]
    with pytest.raises(InputError, match="column 'dob' is empty in all 3 rows"):
        check(frame(rows), engine)


def test_duplicate_unique_ids(engine: object | None) -> None:
    with pytest.raises(InputError, match="column 'id' has 1 value"):
        check(frame([*GOOD, ("1", "Brown", "1999-01-01")]), engine)


def test_unlinkable_records_are_quarantined_with_reasons(engine: object | None) -> None:
    rows = [*GOOD, (None, "Brown", "1999-01-01"), ("9", None, " ")]
    out, rep = check(frame(rows), engine)
    assert len(out) == 5  # nothing dropped
    assert rep.quarantined == {NO_ID: 1, NO_IDENTIFIERS: 1}  # type: ignore[attr-defined]
    assert out["__reason"].isna().sum() == 3


@pytest.mark.spark
def test_wrong_type_is_named(spark) -> None:  # type: ignore[no-untyped-def]
    sdf = spark.createDataFrame(
        [("1", "Smith", [1, 2])], "id string, surname string, dob array<int>"
    )
    with pytest.raises(InputError, match="input people: column 'dob' has type array<int>"):
        check_spark("people", sdf, S)


def test_csv_values_stay_text_and_bad_values_are_counted(tmp_path: Path) -> None:
    """Through the command: 0123 is not turned into 123, an impossible date is counted and the
    record still linked, a record without identifiers is quarantined."""
    settings = tmp_path / "s.yaml"
    settings.write_text(
        "link_type: dedupe_only\nunique_id_column: id\nblocking_rules: [[code]]\n"
        "comparisons:\n  - {column: code, kind: identifier}\n  - {column: dob, kind: date}\n"
        "threshold: {match_probability: 0.5}\nu_sample_pairs: 1000\n"
    )
    csv = tmp_path / "people.csv"
    csv.write_text(
        "id,code,dob\n"
        + "".join(f"r{i},{i:04d},19{50 + i % 40}-0{1 + i % 9}-1{i % 9}\n" for i in range(60))
        + "a,0123,2001-02-31\nb,0123,2001-02-31\nq,,\n"
    )
    out = tmp_path / "out"
    proc = run_leo(
        "link-tables", str(csv), "--settings", str(settings), "--out", str(out), "--engine", "local"
    )
    assert proc.returncode == 0, proc.stderr
    pairs = pd.read_parquet(out / "pairs")
    assert {("a", "b")} <= set(zip(pairs["id_l"], pairs["id_r"], strict=True)) | set(
        zip(pairs["id_r"], pairs["id_l"], strict=True)
    )
    clusters = pd.read_parquet(out / "clusters")
    assert (
        clusters.set_index("id").loc["a", "cluster_id"]
        == clusters.set_index("id").loc["b", "cluster_id"]
    )
    summary = pd.read_json(out / "summary.json", typ="series")
    assert summary["counts"]["unreadable_values"]["dob"] == 2
    q = pd.read_parquet(out / "quarantined")
    assert q.to_dict("records") == [{"source": "people", "id": "q", "reason": NO_IDENTIFIERS}]
    model = (out / "model.json").read_text()
    assert '"0123"' not in model and "Smith" not in model  # parameters only, no values


RANGED = Settings.model_validate(
    {
        **S.model_dump(exclude_none=True),
        "comparisons": [
            {"column": "surname", "kind": "name"},
            {"column": "dob", "kind": "date", "earliest": "1900-01-01", "latest": "2030-12-31"},
        ],
        "max_value_length": 20,
    }
)


def test_values_that_cannot_be_identifiers_are_set_aside_and_counted(
    engine: object | None,
) -> None:
    rows = [
        *GOOD,
        ("4", "Smith", "1850-01-01"),  # before the range
        ("5", "Smith", "2091-05-04"),  # after it
        ("6", "S" * 10_000, "2000-01-01"),  # a surname of 10,000 characters
        ("7", "T" * 10_000, "9999-12-31"),  # nothing left: quarantined
        ("8", "Jones", "2001-02-31"),  # impossible but in range: kept (standardise counts it)
    ]
    df = frame(rows)
    if engine is None:
        out, rep = check_pandas("people", df, RANGED)
    else:
        sdf = engine.createDataFrame(
            df.where(pd.notna(df), None), "id string, surname string, dob string"
        )  # type: ignore[attr-defined]
        o, rep = check_spark("people", sdf, RANGED)
        out = o.toPandas()
    assert rep.values == {
        "dob": {"before 1900-01-01: set aside": 1, "after 2030-12-31: set aside": 2},
        "surname": {"over 20 characters: set aside": 2},
    }
    assert rep.quarantined == {NO_IDENTIFIERS: 1}
    got = out.set_index("id")
    assert pd.isna(got.loc["4", "dob"]) and pd.isna(got.loc["6", "surname"])
    assert got.loc["6", "dob"] == "2000-01-01" and got.loc["8", "dob"] == "2001-02-31"
    assert got.loc["7", "__reason"] == NO_IDENTIFIERS and pd.isna(got.loc["4", "__reason"])


def test_a_column_with_every_value_set_aside_is_an_error(engine: object | None) -> None:
    rows = [(i, s, "1800-01-01") for i, s, _ in GOOD]
    df = frame(rows)
    with pytest.raises(InputError, match="column 'dob' has no usable value in any of its 3 rows"):
        if engine is None:
            check_pandas("people", df, RANGED)
        else:
            sdf = engine.createDataFrame(df, "id string, surname string, dob string")  # type: ignore[attr-defined]
            check_spark("people", sdf, RANGED)


@pytest.mark.spark
def test_invalid_utf8_is_replaced_in_names_and_quarantined_in_ids(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Parquet strings may hold any bytes: a name keeps its readable part, an id is not
    guessed at."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def text(values: list[bytes]) -> pa.Array:
        return pa.array(values, pa.binary()).view(pa.string())

    t = pa.table(
        {
            "id": text([b"1", b"2", b"\xff3"]),
            "surname": text([b"Zo\xebe", b"Smith", b"Jones"]),
            "dob": text([b"2000-01-01"] * 3),
        }
    )
    pq.write_table(t, tmp_path / "p.parquet")
    out, rep = check_spark("people", spark.read.parquet(str(tmp_path / "p.parquet")), S)
    assert rep.values == {"surname": {"not valid UTF-8: invalid bytes replaced": 1}}
    assert rep.quarantined == {"unique id not valid UTF-8": 1}
    rows = {r["surname"]: r["__reason"] for r in out.collect()}
    assert rows == {"Zo\ufffde": None, "Smith": None, "Jones": "unique id not valid UTF-8"}
