import os
import stat
from pathlib import Path

import pytest

from linkage.pseudonymise import KEY_ENV, PseudonymisationKeyError, load_key, write_new_key
from tests.conftest import leo_env, run_leo

KEY = "k" * 40


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(PseudonymisationKeyError, match=f"set {KEY_ENV}.*--key-file"):
        load_key()


def test_short_key_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "short-secret")
    with pytest.raises(PseudonymisationKeyError) as exc:
        load_key()
    assert "12 bytes" in str(exc.value) and "at least 32" in str(exc.value)
    assert "short-secret" not in str(exc.value)


def test_key_file_wins_and_hmac_is_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    path = write_new_key(tmp_path / "leo.key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = load_key(path)
    assert "file" in key.origin and path.read_text().strip() not in repr(key)
    env_key = load_key()
    assert key.digest("ks4", "P1") == load_key(path).digest("ks4", "P1")
    assert key.digest("ks4", "P1") != env_key.digest("ks4", "P1")
    assert len(key.digest("ks4", "P1")) == 64
    assert key.digest("ks4", "P1") != key.digest("ks5", "P1")


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(PseudonymisationKeyError, match="not found"):
        load_key(tmp_path / "nope.key")


def test_keygen_command_writes_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "secrets" / "leo.key"
    proc = run_leo("keygen", "--out", str(out), check=True)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert len(out.read_text().strip()) == 64
    assert out.read_text().strip() not in proc.stdout + proc.stderr
    again = run_leo("keygen", "--out", str(out))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


def test_link_without_key_fails_before_spark(tmp_path: Path) -> None:
    env = leo_env()
    env.pop(KEY_ENV, None)
    proc = run_leo("link", "--data", str(tmp_path), env=env)
    assert proc.returncode == 2 and KEY_ENV in proc.stderr


# (what, env value or None, key file content: None = no --key-file, b"<dir>" = a folder,
#  b"<absent>" = a path to nothing, else the bytes), expected message
KEY_CASES = [
    (
        "no key at all (no variable, no --key-file)",
        None,
        None,
        f"no pseudonymisation key: set {KEY_ENV}",
    ),
    (f"{KEY_ENV} empty", "", None, f"no pseudonymisation key: set {KEY_ENV}"),
    (
        f"{KEY_ENV} of 12 bytes",
        "short-secret",
        None,
        f"key from {KEY_ENV} is 12 bytes; at least 32",
    ),
    (f"{KEY_ENV} of spaces only", "     ", None, f"key from {KEY_ENV} is 0 bytes"),
    ("--key-file to a missing file", None, b"<absent>", "leo.key not found"),
    ("--key-file of 12 bytes", None, b"short-secret\n", "leo.key is 12 bytes; at least 32"),
    ("--key-file empty", None, b"", "leo.key is 0 bytes"),
    ("--key-file naming a folder", None, b"<dir>", "leo.key: cannot read"),
    ("--key-file short, a good variable beside it", KEY, b"short-secret", "leo.key is 12 bytes"),
]


@pytest.mark.parametrize(
    ("what", "env_value", "content", "message"), KEY_CASES, ids=[c[0] for c in KEY_CASES]
)
def test_bad_key_stops_leo_link_before_spark(  # type: ignore[no-untyped-def]
    tmp_path: Path,
    what: str,
    env_value: str | None,
    content: bytes | None,
    message: str,
    reliability,
) -> None:
    row = reliability.row(
        "input",
        tried=f"leo link with {what}",
        expected="exit 2 naming the variable or file and the 32-byte minimum; the key not "
        "shown; Spark not started; nothing written",
    )
    env = leo_env()
    env.pop(KEY_ENV, None)
    if env_value is not None:
        env[KEY_ENV] = env_value
    args = ["link", "--data", str(tmp_path / "data")]
    if content is not None:
        path = tmp_path / "leo.key"
        if content == b"<dir>":
            path.mkdir()
        elif content != b"<absent>":
            path.write_bytes(content)
        args += ["--key-file", str(path)]
    proc = run_leo(*args, env=env, timeout=120)
    line = next((x for x in proc.stderr.splitlines() if x.startswith("leo: error:")), "")
    row.observed = f"exit {proc.returncode}: " + line.replace(str(tmp_path) + "/", "")[:200]
    assert proc.returncode == 2 and message in line, proc.stderr
    assert "short-secret" not in proc.stderr + proc.stdout
    assert "SparkContext" not in proc.stderr and not (tmp_path / "data").exists()
