"""Pseudonymisation (design section 5, step 2): source record keys and person ids become
HMAC-SHA256 under a secret key, so the research zone holds no source record id.

The key (contract): the environment variable LEO_PSEUDONYMISATION_KEY, or a key file given
with --key-file (which wins). At least 32 bytes. Never read from the repository, never
logged, never written anywhere but the key file `leo keygen` creates (mode 0600).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from leo.errors import LeoError

KEY_ENV = "LEO_PSEUDONYMISATION_KEY"
MIN_KEY_BYTES = 32


class PseudonymisationKeyError(LeoError):
    """The pseudonymisation key is missing, unreadable or too short."""


class PseudonymisationKey:
    """Holds the key bytes; its repr never shows them."""

    __slots__ = ("_key", "origin")

    def __init__(self, key: bytes, origin: str) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise PseudonymisationKeyError(
                f"pseudonymisation key from {origin} is {len(key)} bytes; at least "
                f"{MIN_KEY_BYTES} are required (create one with `leo keygen --out FILE`)"
            )
        self._key = key
        self.origin = origin

    def __repr__(self) -> str:
        return f"PseudonymisationKey(from {self.origin})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:  # picklable for Spark workers, still no repr
        return (PseudonymisationKey, (self._key, self.origin))

    def digest(self, *parts: str) -> str:
        """HMAC-SHA256 of the parts (joined by the unit separator), as 64 hex digits."""
        msg = "\x1f".join(parts).encode("utf-8")
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def series(self, prefix: str, a: pd.Series, b: pd.Series | None = None) -> pd.Series:
        """Vectorised over pandas columns: digest(prefix, a[i] [, b[i]])."""
        if b is None:
            values = [self.digest(prefix, str(x)) for x in a]
        else:
            values = [self.digest(prefix, str(x), str(y)) for x, y in zip(a, b, strict=True)]
        return pd.Series(values, index=a.index, dtype=object)


def load_key(key_file: str | Path | None = None) -> PseudonymisationKey:
    if key_file is not None:
        path = Path(key_file)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise PseudonymisationKeyError(
                f"key file {path} not found (create one with `leo keygen --out {path}`)"
            ) from None
        except OSError as exc:
            raise PseudonymisationKeyError(
                f"key file {path}: cannot read: {exc.strerror}"
            ) from None
        return PseudonymisationKey(data.strip(), f"key file {path}")
    value = os.environ.get(KEY_ENV)
    if not value:
        raise PseudonymisationKeyError(
            f"no pseudonymisation key: set {KEY_ENV} (at least {MIN_KEY_BYTES} bytes) or pass "
            "--key-file PATH (create one with `leo keygen --out PATH`)"
        )
    return PseudonymisationKey(value.strip().encode("utf-8"), KEY_ENV)


def write_new_key(path: str | Path) -> Path:
    """A new random key (64 hex characters = 32 random bytes) in a new file, mode 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise LeoError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
    os.chmod(path, 0o600)  # whatever the umask
    return path
