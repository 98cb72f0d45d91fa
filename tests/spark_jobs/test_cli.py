"""`leo build` argument handling that needs no Spark."""

from pathlib import Path

from tests.conftest import leo_env, run_leo


def test_truth_needs_the_key_before_spark_starts(tmp_path: Path) -> None:
    env = leo_env()
    env.pop("LEO_PSEUDONYMISATION_KEY", None)
    proc = run_leo("build", "--data", str(tmp_path), "--truth", env=env)
    assert proc.returncode == 2, proc.stderr
    assert "no pseudonymisation key" in proc.stderr
    assert not (tmp_path / "linked").exists()


def test_run_and_truth_are_exclusive(tmp_path: Path) -> None:
    proc = run_leo("build", "--data", str(tmp_path), "--truth", "--run", "x")
    assert proc.returncode == 2
    assert "not allowed with argument" in proc.stderr
