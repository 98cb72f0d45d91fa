"""The definitions' plain-English statements (conf/catalogue.yaml `definitions:`) and the
code that implements them cannot drift: every definition is implemented, every implemented
definition is stated, and every phrase the code builds from its own constants (`STATED`) is
in the statement."""

from leo.catalogue import load_catalogue
from spark_jobs import cohorts, outcomes, person

CATALOGUE = load_catalogue()


def _stated() -> dict[str, tuple[str, ...]]:
    merged: dict[str, tuple[str, ...]] = {}
    for module in (outcomes, cohorts, person):
        for key, phrases in module.STATED.items():
            assert key not in merged, f"{key} stated by two modules"
            merged[key] = phrases
    return merged


def _statement(def_id: str) -> str:
    if def_id in CATALOGUE.definition_by_id:
        return CATALOGUE.definition_by_id[def_id].definition
    dim = CATALOGUE.dimension_by_id[def_id]  # prior_attainment_band is a dimension's
    assert dim.definition, def_id
    return dim.definition


def test_every_definition_is_implemented_and_every_implementation_stated() -> None:
    stated = _stated()
    defined = set(CATALOGUE.definition_by_id)
    assert defined - set(stated) == set(), "catalogue definitions nothing implements"
    missing = {k for k in stated if k not in defined and k not in CATALOGUE.dimension_by_id}
    assert missing == set(), "code states definitions the catalogue lacks"


def test_statements_contain_the_numbers_the_code_uses() -> None:
    for def_id, phrases in _stated().items():
        text = " ".join(_statement(def_id).split())
        for phrase in phrases:
            assert phrase in text, f"{def_id}: catalogue text lacks {phrase!r}: {text}"


def test_measures_name_the_activity_categories_the_build_writes() -> None:
    shares = {a for m in CATALOGUE.measures for a in m.activity}
    assert shares == set(outcomes.ACTIVITIES)
