"""conf/projects.yaml: validated on load, errors name the file and the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from api.projects import load_projects
from leo.catalogue import load_catalogue
from leo.errors import ConfigError

CATALOGUE = load_catalogue()
ONE = """projects:
  - id: p1
    title: T
    organisation: O
    purpose: P
    lawful_basis: L
    approved: 2024-01-01
    expires: 2026-01-01
    retain_until: 2027-01-01
    packages: [demographics]
    members: [a]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "projects.yaml"
    path.write_text(text)
    return path


def test_packaged_projects_load_and_one_is_active() -> None:
    projects = load_projects(CATALOGUE)
    assert len(projects.projects) >= 2
    assert any(p.active_on(date.today()) for p in projects.projects)
    assert any("demo.analyst" in p.members for p in projects.projects)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ONE.replace("[demographics]", "[demographics, nonsense]"),
            "key 'projects[0].packages[1]': unknown data package 'nonsense'",
        ),
        (ONE.replace("expires: 2026-01-01", "expires: 2023-01-01"), "approved <= expires"),
        (ONE + ONE.split("projects:\n", 1)[1], "project ids must be unique"),
        (ONE.replace("    lawful_basis: L\n", ""), "projects[0].lawful_basis"),
        (ONE.replace("members: [a]", "members: [a]\n    colour: blue"), "colour"),
    ],
)
def test_bad_projects_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_projects(CATALOGUE, path=path)
    assert str(path) in str(exc.value)
    assert message in str(exc.value)
