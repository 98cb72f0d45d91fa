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
