"""Bearer header parsing (the HTTP side of authentication)."""

from __future__ import annotations

import pytest

from api.access import AccessDB, AuthError
from api.auth import authenticate, bearer_token
from tests.api.conftest import Env


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc ") == "abc"
    for bad in ("Basic abc", "Bearer", "Bearer ", "abc", "Token abc"):
        with pytest.raises(AuthError, match="expected 'Authorization: Bearer"):
            bearer_token(bad)


def test_authenticate_header(env: Env) -> None:
    db = AccessDB(env.root / "access" / "access.db", readonly=True)
    assert authenticate(db, None) is None
    principal = authenticate(db, f"Bearer {env.tokens['bob']}")
    assert principal is not None and principal.analyst_id == "bob"
    assert principal.token_id == env.token_ids["bob"]
    with pytest.raises(AuthError, match="unknown token"):
        authenticate(db, "Bearer leo_pat_aaaaaaaaaa_" + "A" * 43)
    db.close()
