"""Load YAML configuration into pydantic models, with errors that name the file, the key and
what was expected.

Each config file's model lives with the code that owns it (synthetic/config.py,
linkage/settings.py, ...); this module only holds the loader and the strict base model.
Defaults ship inside the package as `conf/*.yaml`; `--conf DIR` (or LEO_CONF) points at a
folder whose files take precedence, file by file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from leo.errors import ConfigError

CONF_ENV = "LEO_CONF"

T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def default_conf_dir() -> Traversable:
    """The packaged `conf/` folder: a Path from a checkout or an installed wheel, a zip entry
    when the project is imported from a zip (`spark-submit --py-files leo_platform.whl`)."""
    return resources.files("conf")


def conf_path(name: str, conf_dir: str | Path | None = None) -> Traversable:
    """The file to read for config `name` (e.g. "synthetic.yaml"): from `conf_dir`, else
    LEO_CONF, when it holds that file; else the packaged default."""
    for folder in (conf_dir, os.environ.get(CONF_ENV)):
        if folder:
            candidate = Path(folder) / name
            if candidate.is_file():
                return candidate
    return default_conf_dir() / name


def _format_location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def format_validation_error(source: str, err: ValidationError) -> str:
    lines = [f"{source}: invalid configuration ({err.error_count()} problem(s))"]
    for e in err.errors():
        got = e.get("input")
        shown = repr(got)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        where = _format_location(tuple(e["loc"]))
        lines.append(f"  - key '{where}': {e['msg']} (got {shown})")
    return "\n".join(lines)


def parse_yaml_text(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None


def validate(model: type[T], data: Any, source: str) -> T:
    """Validate already-parsed data against `model`; `source` names it in errors."""
    if data is None:
        raise ConfigError(f"{source}: the file is empty; expected a mapping of settings")
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: expected a mapping of settings at the top level, got {type(data).__name__}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from None


def load_model(model: type[T], path: str | Traversable) -> T:
    """Read a YAML file and validate it. Every failure is a ConfigError naming the file."""
    if isinstance(path, str):
        path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return validate(model, parse_yaml_text(text, str(path)), str(path))


def load_conf(model: type[T], name: str, conf_dir: str | Path | None = None) -> T:
    """Load config `name` (e.g. "synthetic.yaml") from --conf DIR / LEO_CONF / the package."""
    return load_model(model, conf_path(name, conf_dir))
