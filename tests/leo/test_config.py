from pathlib import Path

import pytest

from leo.catalogue import Catalogue, load_catalogue
from leo.config import StrictModel, conf_path, load_model
from leo.errors import ConfigError


class Sample(StrictModel):
    persons: int
    rate: float = 0.5


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sample.yaml"
    p.write_text(text)
    return p


def test_valid_file_loads(tmp_path: Path) -> None:
    assert load_model(Sample, write(tmp_path, "persons: 3\n")).persons == 3


def test_wrong_type_names_file_key_and_expectation(tmp_path: Path) -> None:
    p = write(tmp_path, "persons: many\n")
    with pytest.raises(ConfigError) as exc:
        load_model(Sample, p)
    msg = str(exc.value)
    assert str(p) in msg and "'persons'" in msg and "integer" in msg and "'many'" in msg


def test_unknown_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="persns"):
        load_model(Sample, write(tmp_path, "persons: 1\npersns: 2\n"))


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line 2"):
        load_model(Sample, write(tmp_path, "persons: 1\n  bad: [\n"))


@pytest.mark.parametrize("text", ["", "- 1\n- 2\n"])
def test_empty_or_non_mapping_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"sample\.yaml"):
        load_model(Sample, write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_model(Sample, tmp_path / "absent.yaml")


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "latin.yaml"
    p.write_bytes(b"persons: 1\nname: caf\xe9\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_model(Sample, p)


def test_conf_dir_overrides_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "catalogue.yaml").write_text("x: 1\n")
    assert conf_path("catalogue.yaml", tmp_path) == tmp_path / "catalogue.yaml"
    assert conf_path("disclosure.yaml", tmp_path).parent.name == "conf"


def test_packaged_catalogue_is_consistent() -> None:
    cat = load_catalogue()
    dims, measures = cat.scope(["earnings"])
    assert dims == set()
    assert {"cohort_count", "earnings_median"} <= measures
    assert "sustained_employment_rate" not in measures


def test_catalogue_rejects_unknown_dimension_in_package(tmp_path: Path) -> None:
    text = (
        (conf_path("catalogue.yaml"))
        .read_text()
        .replace("dimensions: [sex, region]", "dimensions: [sex, regoin]")
    )
    p = tmp_path / "catalogue.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match="regoin"):
        load_model(Catalogue, p)
