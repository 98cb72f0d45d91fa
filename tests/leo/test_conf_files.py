"""A bad file of every kind under conf/: invalid YAML, a value of the wrong type, an unknown
key, a missing key. Each is an error naming the file, the key and what was expected; through
the command that reads the file, exit 2 before any work (for `leo link`: before Spark).

FILES holds one entry per config file; a file under conf/ without an entry fails
`test_every_conf_file_has_an_entry`."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from leo.config import default_conf_dir
from leo.errors import ConfigError
from tests.conftest import leo_env, run_leo

Key = tuple[str | int, ...]


def _synthetic(folder: Path, name: str) -> object:
    from synthetic.config import load_synthetic_config

    return load_synthetic_config(folder)


def _linkage(folder: Path, name: str) -> object:
    from spark_jobs.link import load_linkage_conf

    return load_linkage_conf(str(folder))


def _catalogue(folder: Path, name: str) -> object:
    from leo.catalogue import load_catalogue

    return load_catalogue(folder)


def _projects(folder: Path, name: str) -> object:
    from api.projects import load_projects
    from leo.catalogue import load_catalogue

    return load_projects(load_catalogue(), folder)


def _api(folder: Path, name: str) -> object:
    from api.settings import load_settings

    return load_settings(folder)


def _disclosure(folder: Path, name: str) -> object:
    from disclosure.policy import load_policy

    return load_policy(folder)


def _settings_file(folder: Path, name: str) -> object:
    from linkage.settings import load_settings

    return load_settings(folder / name)


@dataclass(frozen=True)
class ConfFile:
    load: Callable[[Path, str], object]  # from a --conf folder holding the (changed) file
    wrong: tuple[Key, object, str]  # a key, a value of the wrong type, what is expected
    missing: Key | None  # a required key; None: every key is optional
    unknown_in: Key  # a mapping to add an unknown key to
    command: tuple[str, ...] | None = None  # `leo` arguments that read it ({data}: a root)


FILES = {
    "synthetic.yaml": ConfFile(
        _synthetic,
        (("chunk_size",), "many", "valid integer"),
        ("cohorts",),
        ("population",),
        ("synth", "--persons", "10", "--out", "{data}"),
    ),
    "linkage.yaml": ConfFile(
        _linkage,
        (("settings", "threshold", "match_probability"), "high", "valid number"),
        ("identity_columns",),
        ("settings",),
        ("link", "--data", "{data}"),
    ),
    "catalogue.yaml": ConfFile(
        _catalogue,
        (("tiers", 0, "id"), "top", "valid integer"),
        ("measures",),
        ("dimensions", 0),
        ("serve", "--data", "{data}"),
    ),
    "projects.yaml": ConfFile(
        _projects,
        (("projects", 0, "approved"), "soon", "valid date"),
        ("projects", 0, "lawful_basis"),
        ("projects", 0),
        ("serve", "--data", "{data}"),
    ),
    "api.yaml": ConfFile(
        _api,
        (("limits", "max_depth"), "deep", "valid integer"),
        None,
        ("limits",),
        ("serve", "--data", "{data}"),
    ),
    "disclosure.yaml": ConfFile(
        _disclosure,
        (("rounding", "count_base"), "five", "valid integer"),
        ("differencing",),
        ("dominance",),
        ("publish", "--data", "{data}"),
    ),
    "linkage/febrl4.yaml": ConfFile(
        _settings_file,
        (("comparisons", 0, "kind"), "fuzzy", "'name', 'string', 'date'"),
        ("threshold",),
        ("threshold",),
    ),
    "linkage/febrl3.yaml": ConfFile(
        _settings_file,
        (("u_sample_pairs",), [1], "valid integer"),
        ("blocking_rules",),
        (),
    ),
}


def packaged(name: str) -> Any:
    return yaml.safe_load((default_conf_dir() / name).read_text(encoding="utf-8"))


def dotted(key: Key) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def at(data: Any, key: Key) -> Any:
    for part in key:
        data = data[part]
    return data


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def changed(name: str, case: str) -> tuple[str, str, list[str]]:
    """(file text, what was done, what the error must say besides the file)."""
    spec = FILES[name]
    data = copy.deepcopy(packaged(name))
    if case == "invalid YAML":
        text = (default_conf_dir() / name).read_text(encoding="utf-8") + "\n  broken: [\n"
        return text, "an unclosed bracket after the last line", ["not valid YAML at line"]
    if case == "wrong type":
        key, value, expected = spec.wrong
        at(data, key[:-1])[key[-1]] = value
        return yaml.safe_dump(data), f"{dotted(key)}: {value!r}", [f"'{dotted(key)}'", expected]
    if case == "unknown key":
        at(data, spec.unknown_in)["colour"] = "blue"
        key = (*spec.unknown_in, "colour")
        return yaml.safe_dump(data), f"{dotted(key)} added", [f"'{dotted(key)}'", "Extra inputs"]
    assert case == "missing key" and spec.missing is not None
    del at(data, spec.missing[:-1])[spec.missing[-1]]
    return (
        yaml.safe_dump(data),
        f"{dotted(spec.missing)} left out",
        [
            f"'{dotted(spec.missing)}'",
            "Field required",
        ],
    )


CASES = ("invalid YAML", "wrong type", "unknown key", "missing key")


def test_every_conf_file_has_an_entry() -> None:
    root = Path(str(default_conf_dir()))
    found = sorted(str(p.relative_to(root)) for p in root.rglob("*.yaml"))
    assert found == sorted(FILES), "add an entry to FILES for each config file"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", list(FILES))
def test_bad_config_file_names_file_key_and_expectation(  # type: ignore[no-untyped-def]
    tmp_path: Path, name: str, case: str, reliability
) -> None:
    spec = FILES[name]
    if case == "missing key" and spec.missing is None:
        row = reliability.row(
            "input",
            tried=f"conf/{name}: every key left out",
            expected="the defaults of its model (every key of this file is optional)",
        )
        write(tmp_path, name, "{}\n")
        loaded = spec.load(tmp_path, name)
        assert loaded == type(loaded)()  # type: ignore[call-arg]
        row.observed = "loaded, equal to the model's defaults"
        return
    text, what, expected = changed(name, case)
    row = reliability.row(
        "input",
        tried=f"conf/{name}: {case} ({what})",
        expected="an error naming the file, the key and what was expected",
    )
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError) as exc:
        spec.load(tmp_path, name)
    msg = str(exc.value)
    row.observed = " ".join(msg.replace(str(tmp_path) + "/", "").split())[:240]
    assert str(path) in msg
    for part in expected:
        assert part in msg, (part, msg)


@pytest.mark.parametrize("name", [n for n in FILES if FILES[n].command])
def test_the_command_reading_it_exits_2_before_any_work(  # type: ignore[no-untyped-def]
    tmp_path: Path, name: str, reliability
) -> None:
    spec = FILES[name]
    assert spec.command is not None
    text, _, _ = changed(name, "wrong type")
    conf = tmp_path / "conf"
    write(conf, name, text)
    data = tmp_path / "data"
    args = [a.replace("{data}", str(data)) for a in spec.command]
    row = reliability.row(
        "input",
        tried=f"`leo --conf DIR {' '.join(spec.command[:1])}` with a wrong type in {name}",
        expected="exit 2, the file and key named; nothing written"
        + (", Spark not started" if spec.command[0] in ("link", "publish") else ""),
    )
    env = leo_env(LEO_PSEUDONYMISATION_KEY="c" * 40)
    proc = run_leo("--conf", str(conf), *args, env=env, timeout=120)
    lines = proc.stderr.replace(str(tmp_path) + "/", "").splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("leo: error:")), None)
    shown = " ".join(lines[first : first + 2]) if first is not None else proc.stderr[-200:]
    row.observed = f"exit {proc.returncode}: " + " ".join(shown.split())[:240]
    assert proc.returncode == 2
    assert str(conf / name) in proc.stderr and dotted(spec.wrong[0]) in proc.stderr
    assert not data.exists()
    assert "Traceback" not in proc.stderr and "SparkContext" not in proc.stderr
