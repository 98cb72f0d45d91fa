"""The committed SDL is the contract: it must match the code."""

from __future__ import annotations

from graphql import build_schema

from api.schema import sdl
from leo.schema import CELL_STATUSES
from tests.conftest import REPO, run_leo


def test_committed_sdl_matches_the_code() -> None:
    committed = (REPO / "api" / "schema.graphql").read_text()
    assert committed == sdl(), "run: leo graphql-schema --out api/schema.graphql"


def test_sdl_is_valid_and_carries_the_contract() -> None:
    schema = build_schema(sdl())
    query = schema.query_type
    assert query is not None
    assert set(query.fields) == {"catalogue", "register", "release", "me", "project"}
    project = schema.get_type("Project")
    assert {"table", "outcomeSummary", "dimensions", "measures", "dataPackages"} <= set(
        project.fields  # type: ignore[union-attr]
    )
    status = schema.get_type("CellStatus")
    assert {v.lower() for v in status.values} == set(CELL_STATUSES)  # type: ignore[union-attr]
    assert schema.mutation_type is None


def test_schema_command_prints_sdl() -> None:
    proc = run_leo("graphql-schema", check=True)
    assert proc.stdout == sdl()
