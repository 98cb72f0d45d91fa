from pathlib import Path

from leo.schema import data_dictionary
from tests.conftest import REPO, run_leo


def test_help_lists_commands_and_flow() -> None:
    out = run_leo("--help", check=True).stdout
    assert "Typical flow" in out
    assert "data-dictionary" in out


def test_committed_data_dictionary_matches_the_code() -> None:
    committed = (REPO / "docs" / "data-dictionary.md").read_text()
    assert committed == data_dictionary(), "run: leo data-dictionary --out docs/data-dictionary.md"


def test_data_dictionary_command_writes_file(tmp_path: Path) -> None:
    out = tmp_path / "dd.md"
    run_leo("data-dictionary", "--out", str(out), check=True)
    assert "`employments`" in out.read_text()
    assert "`nino`" in out.read_text()


def test_user_error_exit_status_and_message(tmp_path: Path) -> None:
    proc = run_leo("--conf", str(tmp_path), "data-dictionary", "--out", "/proc/forbidden/x")
    assert proc.returncode != 0
