from pathlib import Path

import pytest

from leo.config import conf_path
from leo.errors import ConfigError
from linkage.settings import Settings, load_settings, parse_term

REPO = Path(__file__).resolve().parents[2]

BASE = """
link_type: link_and_dedupe
unique_id_column: record_id
source_column: source
blocking_rules:
  - [date_of_birth]
  - ["soundex(surname)", "year(date_of_birth)"]
comparisons:
  - {column: forename, kind: name}
  - {column: surname, kind: name}
  - {column: date_of_birth, kind: date, format: "%Y-%m-%d"}
threshold: {match_probability: 0.9}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "settings.yaml"
    p.write_text(text)
    return p


def test_contract_example_loads(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, BASE))
    assert s.link_type == "link_and_dedupe"
    assert [t.text for t in s.parsed_rules[1]] == ["soundex(surname)", "year(date_of_birth)"]
    assert s.comparisons[0].tf and not s.comparisons[2].tf  # names get term frequencies


def test_committed_settings_files_load() -> None:
    for name in ("febrl3.yaml", "febrl4.yaml"):
        assert isinstance(load_settings(REPO / "conf" / "linkage" / name), Settings)
    assert conf_path("linkage.yaml").is_file()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("kind: name}", "kind: fuzzy}"), ["comparisons[0].kind", "'fuzzy'"]),
        (("soundex(surname)", "sndx(surname)"), ["blocking_rules", "unknown transform 'sndx'"]),
        (("source_column: source\n", ""), ["source_column", "link_and_dedupe"]),
        (("match_probability: 0.9", "match_probability: 1.5"), ["threshold.match_probability"]),
        (("  - [date_of_birth]\n", "  - []\n"), ["blocking_rules", "empty"]),
    ],
)
def test_errors_name_file_key_and_expectation(
    tmp_path: Path, edit: tuple[str, str], expected: list[str]
) -> None:
    p = write(tmp_path, BASE.replace(*edit))
    with pytest.raises(ConfigError) as exc:
        load_settings(p)
    msg = str(exc.value)
    assert str(p) in msg
    for part in expected:
        assert part in msg


def test_year_transform_needs_a_date_comparison(tmp_path: Path) -> None:
    text = BASE.replace('format: "%Y-%m-%d"}', 'format: "%Y-%m-%d"}').replace(
        "kind: date, format", "kind: string, format"
    )
    with pytest.raises(ConfigError, match="format"):
        load_settings(write(tmp_path, text))
    text = BASE.replace('  - {column: date_of_birth, kind: date, format: "%Y-%m-%d"}\n', "")
    with pytest.raises(
        ConfigError, match="year\\(date_of_birth\\) needs a comparison of kind date"
    ):
        load_settings(write(tmp_path, text))


def test_thresholds_must_descend_for_similarities(tmp_path: Path) -> None:
    text = BASE.replace(
        "{column: forename, kind: name}", "{column: forename, kind: name, thresholds: [0.7, 0.9]}"
    )
    with pytest.raises(ConfigError, match="descending"):
        load_settings(write(tmp_path, text))


def test_parse_term() -> None:
    assert parse_term("substr(surname, 1, 3)").args == (1, 3)
    with pytest.raises(ValueError, match="takes 2"):
        parse_term("substr(surname)")


@pytest.mark.parametrize(
    "line, message",
    [
        ("{column: forename, kind: name, earliest: 1900-01-01}", "apply to kind date only"),
        (
            "{column: date_of_birth, kind: date, earliest: 2001-01-01, latest: 2000-01-01}",
            "'earliest' 2001-01-01 is after 'latest' 2000-01-01",
        ),
        (
            "{column: date_of_birth, kind: date, latest: tomorrow}",
            r"comparisons\[2\]\.latest.*Input should be 'today' \(got 'tomorrow'\)",
        ),
    ],
)
def test_date_range_is_checked(tmp_path: Path, line: str, message: str) -> None:
    text = BASE.replace('{column: date_of_birth, kind: date, format: "%Y-%m-%d"}', line)
    if "forename" in line:
        text = BASE.replace("{column: forename, kind: name}", line)
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text))


def test_date_range_today_is_the_run_date(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime

    text = BASE.replace('format: "%Y-%m-%d"}', "earliest: 1900-01-01, latest: today}")
    comp = load_settings(write(tmp_path, text)).comparisons[2]
    assert comp.date_range() == (date(1900, 1, 1), datetime.now(UTC).date())


def test_unordered_pair_term() -> None:
    t = parse_term("unordered(forename, surname)")
    assert (t.transform, t.columns, t.text) == (
        "unordered",
        ("forename", "surname"),
        "unordered(forename, surname)",
    )
    for bad in ("unordered(forename)", "unordered(forename, 2)", "unordered(surname, surname)"):
        with pytest.raises(ValueError, match="two different columns"):
            parse_term(bad)
    with pytest.raises(ValueError, match="number arguments"):
        parse_term("substr(surname, forename, 3)")


def test_unordered_pair_columns_are_rule_and_input_columns(tmp_path: Path) -> None:
    text = BASE.replace(
        "  - [date_of_birth]\n",
        '  - [date_of_birth]\n  - [date_of_birth, "unordered(forename, middle_names)"]\n',
    )
    s = load_settings(write(tmp_path, text))
    # both columns are blocked on, so EM on that rule trains neither; the inputs need both
    assert s.rule_columns(1) == {"date_of_birth", "forename", "middle_names"}
    assert "middle_names" in s.input_columns()
