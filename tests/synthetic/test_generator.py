"""`leo synth` end to end: layout, determinism, chunk purity, refusal to overwrite, bad
input failing before any work, and no partial output after a crash."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from leo.cli import main
from leo.config import conf_path
from leo.errors import LeoError
from leo.schema import SOURCES
from synthetic import generator
from synthetic.config import load_synthetic_config
from tests.conftest import run_leo

TABLE_DIRS = [f"raw/{s}" for s in SOURCES] + ["truth/records", "truth/persons"]


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def args(out: Path, persons: int, seed: int, chunk: int) -> list[str]:
    return [
        *("synth", "--persons", str(persons), "--seed", str(seed)),
        *("--out", str(out), "--chunk-size", str(chunk)),
    ]


def synth(out: Path, *extra: str, persons: int = 1200, seed: int = 7, chunk: int = 500) -> int:
    """`leo synth` in this process (the same entry point as the console script)."""
    return main([*args(out, persons, seed, chunk), *extra])


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one run through a real `leo` process, as a user would."""
    out = tmp_path_factory.mktemp("synth") / "data"
    proc = run_leo(*args(out, 1200, 7, 500))
    assert proc.returncode == 0, proc.stderr
    assert "wrote 1,200 persons in 3 chunk(s)" in proc.stdout
    return out


def test_layout_one_file_per_chunk_and_table(first_run: Path) -> None:
    for d in TABLE_DIRS:
        parts = sorted(p.name for p in (first_run / d).iterdir())
        assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"], d
    rows = pq.read_table(first_run / "truth/persons").num_rows
    assert rows == 1200
    assert [p.name for p in first_run.iterdir()] in (["raw", "truth"], ["truth", "raw"])


def test_same_seed_gives_identical_files(first_run: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert synth(again) == 0
    assert files(again) == files(first_run)
    other = tmp_path / "other"
    assert synth(other, seed=8) == 0
    assert (
        files(other)["raw/ks4/part-00000.parquet"] != files(first_run)["raw/ks4/part-00000.parquet"]
    )


def test_chunk_is_the_same_whatever_the_number_of_persons(first_run: Path, tmp_path: Path) -> None:
    bigger = tmp_path / "bigger"
    assert synth(bigger, persons=2100) == 0
    a, b = files(first_run), files(bigger)
    for d in TABLE_DIRS:
        for k in ("00000", "00001"):  # full chunks in both runs
            assert a[f"{d}/part-{k}.parquet"] == b[f"{d}/part-{k}.parquet"], (d, k)
    assert len(pq.read_table(bigger / "truth/persons")) == 2100


def test_workers_write_the_same_rows(first_run: Path, tmp_path: Path) -> None:
    parallel = tmp_path / "parallel"
    assert synth(parallel, "--workers", "2") == 0
    assert files(parallel) == files(first_run)


def test_existing_output_is_refused_without_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    assert synth(out, persons=600) == 0
    before = files(out)
    assert synth(out, persons=600, seed=9) == 2
    err = capsys.readouterr().err
    assert "already hold data" in err and "--overwrite" in err
    assert files(out) == before
    (out / "work").mkdir()  # another zone in the data root is left alone
    assert synth(out, "--overwrite", persons=600, seed=9) == 0
    after = files(out)
    assert after.keys() == before.keys()
    assert after != before
    assert (out / "work").is_dir()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--persons", "-5"], "--persons must be between 1"),
        (["--persons", "0"], "--persons must be between 1"),
        (["--persons", "10", "--chunk-size", "0"], "--chunk-size must be between 1"),
        (["--persons", "10", "--seed", "-1"], "--seed must be between 0"),
        (["--persons", "10", "--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_bad_arguments_fail_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "never"
    assert main(["synth", *argv, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_bad_config_fails_before_any_work_naming_file_and_key(tmp_path: Path) -> None:
    data = yaml.safe_load(conf_path("synthetic.yaml").read_text())
    data["corruption"]["employments"]["nino"]["typo"] = 2.0
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "synthetic.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "never"
    proc = run_leo("--conf", str(conf), "synth", "--persons", "10", "--out", str(out))
    assert proc.returncode == 2  # through a real process: exit status and message
    assert str(conf / "synthetic.yaml") in proc.stderr
    assert "corruption.employments.nino.typo" in proc.stderr
    assert not out.exists()


def test_a_crash_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_synthetic_config().model_copy(update={"chunk_size": 200})
    out = tmp_path / "data"
    generator.generate(out, 400, 1, cfg)
    before = files(out)
    real = generator.generate_chunk

    def failing(cfg, seed, k, n, debug=False):  # type: ignore[no-untyped-def]
        if k == 1:
            raise RuntimeError("disk on fire")
        return real(cfg, seed, k, n, debug)

    monkeypatch.setattr(generator, "generate_chunk", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generator.generate(out, 400, 2, cfg, overwrite=True)
    assert files(out) == before  # the earlier output is intact
    assert sorted(p.name for p in out.iterdir()) == ["raw", "truth"]  # no temporary left
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        generator.generate(fresh, 400, 2, cfg)
    assert not (fresh / "raw").exists() and not (fresh / "truth").exists()


def test_out_must_be_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(LeoError, match="not a folder"):
        generator.generate(f, 10, 1, load_synthetic_config())
