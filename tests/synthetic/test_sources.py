"""The extracts follow the contract (leo/schema.py) exactly, the truth covers every row, record
ids are opaque and unique, identities behave per source, and the hard negatives exist."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leo.schema import SOURCES, TRUTH
from synthetic.sources import SOURCE_NAMES, record_ids
from tests.synthetic.conftest import PERSONS, Sample


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_source_schema_is_the_contract(sample: Sample, source: str) -> None:
    table = sample.tables[source]
    assert table.schema.equals(SOURCES[source].arrow_schema), table.schema
    assert table.num_rows > 0
    rid = SOURCES[source].record_id
    assert table.column(rid).null_count == 0
    assert pd.Series(table.column(rid).to_pylist()).is_unique


def test_truth_schemas_and_coverage_of_every_row(sample: Sample) -> None:
    records = sample.tables["truth/records"]
    persons = sample.tables["truth/persons"]
    assert records.schema.equals(TRUTH["records"].arrow_schema)
    assert persons.schema.equals(TRUTH["persons"].arrow_schema)
    assert persons.num_rows == PERSONS
    assert pd.Series(persons.column("person_id").to_pylist()).is_unique
    truth = records.to_pandas()
    assert not truth.duplicated(["source", "record_id"]).any()
    for source in SOURCE_NAMES:
        ids = sample.tables[source].column(SOURCES[source].record_id).to_pandas()
        mine = truth[truth.source == source].set_index("record_id").person_id
        assert len(mine) == len(ids)
        assert (mine.loc[ids].to_numpy() == sample.frame(source).person_id.to_numpy()).all()
    assert set(truth.person_id) <= set(persons.column("person_id").to_pylist())


def test_record_ids_are_opaque_and_unique_across_chunks() -> None:
    a = record_ids("employments", 0, 50_000).to_pylist()
    b = record_ids("employments", 1, 50_000).to_pylist()
    assert len(set(a) | set(b)) == 100_000
    assert all(x[0] == "E" and len(x) == 13 for x in a[:100])
    assert a[:3] != sorted(a[:3]) or a[3:6] != sorted(a[3:6])  # no visible sequence
    assert record_ids("ks4", 0, 1).to_pylist() != record_ids("ks5", 0, 1).to_pylist()


def test_truth_persons_attributes(sample: Sample) -> None:
    persons = sample.tables["truth/persons"].to_pandas()
    pupils = persons.ks4_academic_year.notna()
    assert persons.ks4_academic_year[pupils].between(2005, 2014).all()
    assert persons.region[pupils].str.fullmatch(r"E1200000[1-9]").all()
    assert persons.region[~pupils].isna().all() and persons.fsm_eligible[~pupils].isna().all()
    assert set(persons.sex) == {"F", "M"}
    ks4 = sample.frame("ks4").drop_duplicates("person_id").set_index("person_id")
    same = persons.set_index("person_id").loc[ks4.index]
    assert (same.fsm_eligible == ks4.fsm_eligible).all()
    assert (same.ethnicity_major == ks4.ethnicity_major).all()
    assert (same.ks4_academic_year == ks4.academic_year).all()


def test_pupils_born_in_the_academic_year_sixteen_years_before_ks4(sample: Sample) -> None:
    f = sample.flags("ks4")
    ks4 = sample.frame("ks4")
    dob = pd.to_datetime(f.true_date_of_birth)
    born_ay = dob.dt.year - (dob.dt.month < 9)
    assert (ks4.academic_year - born_ay == 16).all()


def test_employment_rows_of_one_employment_share_an_identity(sample: Sample) -> None:
    rec = sample.frame("employments")
    f = sample.flags("employments")
    rec["unit"] = f.unit.to_numpy()
    # (a name-order swap puts the surname, which may change at marriage, in `forename`)
    unswapped = rec[~f.name_order_swap.to_numpy()]
    assert (unswapped.groupby("unit").forename.nunique(dropna=False) == 1).all()
    for col in ("middle_names", "date_of_birth", "sex"):
        assert (rec.groupby("unit")[col].nunique(dropna=False) == 1).all(), col
    issued = rec[f.true_nino.notna()]
    assert (issued.groupby("unit").nino.nunique(dropna=False) == 1).all()
    # The postcode follows moves: some employments carry more than one.
    assert (rec.groupby("unit").postcode.nunique() > 1).mean() > 0.05


def test_married_names_appear_in_later_records(sample: Sample) -> None:
    persons = sample.debug["persons"].to_pandas()
    married = persons[persons.married_surname.notna()].set_index("person_id")
    women = sample.tables["truth/persons"].to_pandas().set_index("person_id").sex
    assert women.loc[married.index].eq("F").mean() > 0.9  # mostly women
    assert married.surname.ne(married.married_surname).all()
    f = sample.flags("employments")
    mine = f[f.person_id.isin(married.index)]
    after = mine.true_surname == married.married_surname.loc[mine.person_id].to_numpy()
    assert 0.05 < after.mean() < 0.95  # both names appear over a career
    ks4 = sample.flags("ks4")
    ks4 = ks4[ks4.person_id.isin(married.index)]
    assert (ks4.true_surname == married.surname.loc[ks4.person_id].to_numpy()).all()


def test_hard_negatives_twins_relatives_and_common_names(sample: Sample) -> None:
    persons = sample.debug["persons"].to_pandas()
    pupils = persons[persons.kind == 0]
    n = len(pupils)
    # Twins: same surname, date of birth and home postcode, different forenames.
    key = ["surname", "date_of_birth", "home_postcode"]
    twins = pupils[pupils.duplicated(key, keep=False)]
    assert len(twins) >= 0.005 * n
    assert (twins.groupby(key).forename.nunique() > 1).mean() > 0.95
    # Relatives at one address: same surname and home postcode, born years apart.
    family = pupils.groupby(["surname", "home_postcode"]).date_of_birth.nunique()
    assert (family > 1).sum() >= 0.03 * n
    # Parents living at their child's home, under the family surname.
    parents = persons[persons.kind == 1]
    home = set(zip(pupils.surname, pupils.home_postcode, strict=True))
    at_home = [(s, p) in home for s, p in zip(parents.surname, parents.home_postcode, strict=True)]
    assert np.mean(at_home) > 0.7
    # Unrelated people sharing a common name and a date of birth.
    same = pupils[pupils.duplicated(["forename", "surname", "date_of_birth"], keep=False)]
    distinct_homes = same.groupby(["forename", "surname", "date_of_birth"]).home_postcode.nunique()
    assert (distinct_homes > 1).sum() >= 5


def test_duplicate_records_are_copies_under_new_ids(sample: Sample) -> None:
    for source in ("ks4", "he", "benefits"):
        rec = sample.frame(source)
        f = sample.flags(source)
        dup = f.duplicate.to_numpy()
        assert dup.any(), source
        content = [
            c.name
            for c in SOURCES[source].columns
            if c.role == "content" and c.name not in ("sex",)
        ]
        originals = rec[~dup].assign(unit=f.unit[~dup].to_numpy())
        copies = rec[dup]
        merged = copies.merge(originals, on=["person_id", *content], how="left", indicator=True)
        assert (merged["_merge"] == "both").mean() > 0.99, source


def test_names_diverse_zipf_distributed_with_spelling_variants(sample: Sample) -> None:
    persons = sample.debug["persons"].to_pandas()
    surnames = persons.surname.value_counts(normalize=True)
    assert 0.005 < surnames.iloc[0] < 0.03  # the most common surname (Smith ~1.3% in the UK)
    assert surnames.index[0] in {"Smith", "Jones", "Williams", "Khan", "Patel", "Taylor"}
    assert persons.surname.nunique() > 2000
    forenames = set(persons.forename)
    assert {"Katie", "Katy"} <= forenames or {"Mohammed", "Muhammad"} <= forenames
    assert {"Zając", "Nowak", "Khan", "Okafor", "Chen"} & set(persons.surname)
    assert persons.surname.str.contains("-").mean() > 0.01  # double-barrelled
