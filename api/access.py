"""The access database (access/access.db, SQLite): analysts with an accreditation expiry, and
their API tokens, stored only as hashes.

A token looks like `leo_pat_<id>_<secret>`: the fixed prefix lets secret scanners recognise a
leaked token, the id finds the row (and names the token in listings and revocation), and the
SHA-256 of the whole token is compared in constant time. The secret has 256 random bits, so a
fast hash is enough (a slow password hash protects low-entropy secrets, not these).

The `leo access` commands write this database; the API opens it read-only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from leo.errors import LeoError

TOKEN_PREFIX = "leo_pat_"  # noqa: S105 (a public prefix, not a secret)
TOKEN_RE = re.compile(r"^leo_pat_([a-z2-7]{10})_([A-Za-z0-9_-]{43})$")
ANALYST_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS analysts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    organisation TEXT NOT NULL,
    accredited_until TEXT NOT NULL,   -- ISO date; accredited through the end of that day (UTC)
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    analyst_id TEXT NOT NULL REFERENCES analysts(id),
    hash TEXT NOT NULL,               -- SHA-256 hex of the whole token; the token is not kept
    label TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    expires TEXT NOT NULL,            -- ISO timestamp, UTC
    revoked TEXT                      -- ISO timestamp, UTC; null while valid
);
"""


class AuthError(Exception):
    """The bearer token cannot be used; the message says why (never echoes the token)."""


@dataclass(frozen=True)
class Principal:
    analyst_id: str
    name: str
    organisation: str
    accredited_until: date
    token_id: str

    def accredited_on(self, day: date) -> bool:
        return day <= self.accredited_until


@dataclass(frozen=True)
class AnalystRow:
    id: str
    name: str
    organisation: str
    accredited_until: date


@dataclass(frozen=True)
class TokenRow:
    id: str
    analyst_id: str
    label: str
    created: datetime
    expires: datetime
    revoked: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked is not None:
            return "revoked"
        return "expired" if now >= self.expires else "valid"


def utcnow() -> datetime:
    return datetime.now(UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """(token id, token). The id is 50 random bits in lower-case base32, the secret 256 bits."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    token_id = "".join(secrets.choice(alphabet) for _ in range(10))
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


class AccessDB:
    """Thin typed wrapper over one SQLite connection."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.is_file():
                raise LeoError(
                    f"{self.path}: no access database; create it with `leo access add-analyst`"
                )
            self.conn = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(SCHEMA)
        self.conn.execute("PRAGMA foreign_keys=ON")

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.conn:
            yield self.conn

    # -- analysts -------------------------------------------------------------------------
    def add_analyst(
        self, analyst_id: str, name: str, organisation: str, accredited_until: date
    ) -> bool:
        """Add an analyst, or update an existing one (e.g. renewed accreditation). True if new."""
        if not ANALYST_ID_RE.match(analyst_id):
            raise LeoError(
                f"analyst id {analyst_id!r}: expected 2-64 characters of a-z, 0-9, '.', '_', '-'"
            )
        with self._tx() as c:
            existed = c.execute("SELECT 1 FROM analysts WHERE id = ?", (analyst_id,)).fetchone()
            c.execute(
                "INSERT INTO analysts (id, name, organisation, accredited_until, created) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                "organisation = excluded.organisation, "
                "accredited_until = excluded.accredited_until",
                (analyst_id, name, organisation, accredited_until.isoformat(), _iso(utcnow())),
            )
        return existed is None

    def analyst(self, analyst_id: str) -> AnalystRow | None:
        row = self.conn.execute(
            "SELECT id, name, organisation, accredited_until FROM analysts WHERE id = ?",
            (analyst_id,),
        ).fetchone()
        return None if row is None else AnalystRow(row[0], row[1], row[2], _date(row[3]))

    def analysts(self) -> list[AnalystRow]:
        rows = self.conn.execute(
            "SELECT id, name, organisation, accredited_until FROM analysts ORDER BY id"
        ).fetchall()
        return [AnalystRow(r[0], r[1], r[2], _date(r[3])) for r in rows]

    # -- tokens ---------------------------------------------------------------------------
    def issue_token(
        self, analyst_id: str, *, days: int, label: str = "", now: datetime | None = None
    ) -> tuple[str, str]:
        """(token id, token). The token is returned once and only its hash is stored."""
        if self.analyst(analyst_id) is None:
            raise LeoError(f"no analyst {analyst_id!r}; add one with `leo access add-analyst`")
        now = now or utcnow()
        token_id, token = new_token()
        with self._tx() as c:
            c.execute(
                "INSERT INTO tokens (id, analyst_id, hash, label, created, expires) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token_id,
                    analyst_id,
                    hash_token(token),
                    label,
                    _iso(now),
                    _iso(now + timedelta(days=days)),
                ),
            )
        return token_id, token

    def revoke_token(self, token_id: str) -> bool:
        with self._tx() as c:
            cur = c.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (_iso(utcnow()), token_id),
            )
        return cur.rowcount == 1

    def tokens(self, analyst_id: str | None = None) -> list[TokenRow]:
        sql = "SELECT id, analyst_id, label, created, expires, revoked FROM tokens"
        args: tuple[str, ...] = ()
        if analyst_id is not None:
            sql += " WHERE analyst_id = ?"
            args = (analyst_id,)
        rows = self.conn.execute(sql + " ORDER BY created, id", args).fetchall()
        return [
            TokenRow(r[0], r[1], r[2], _ts(r[3]), _ts(r[4]), _ts(r[5]) if r[5] else None)
            for r in rows
        ]

    # -- authentication -------------------------------------------------------------------
    def authenticate(self, token: str, now: datetime | None = None) -> Principal:
        """The analyst a bearer token belongs to; AuthError with a clear reason otherwise.
        An expired accreditation is not an authentication failure: the caller decides
        (authenticated fields answer FORBIDDEN, naming the expiry)."""
        m = TOKEN_RE.match(token)
        if m is None:
            raise AuthError(f"malformed token: expected {TOKEN_PREFIX}<id>_<secret>")
        row = self.conn.execute(
            "SELECT t.hash, t.expires, t.revoked, a.id, a.name, a.organisation, "
            "a.accredited_until FROM tokens t JOIN analysts a ON a.id = t.analyst_id "
            "WHERE t.id = ?",
            (m.group(1),),
        ).fetchone()
        # Hash and compare even when the id is unknown, so timing does not tell ids apart.
        stored = row[0] if row else "0" * 64
        if not hmac.compare_digest(hash_token(token), stored) or row is None:
            raise AuthError("unknown token")
        if row[2] is not None:
            raise AuthError(f"token {m.group(1)} was revoked on {row[2][:10]}")
        expires = _ts(row[1])
        if (now or utcnow()) >= expires:
            raise AuthError(f"token {m.group(1)} expired on {expires.date().isoformat()}")
        return Principal(row[3], row[4], row[5], _date(row[6]), m.group(1))


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds")


def _ts(text: str) -> datetime:
    ts = datetime.fromisoformat(text)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _date(text: str) -> date:
    return date.fromisoformat(text)
