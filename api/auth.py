"""Bearer-token authentication of one HTTP request: `Authorization: Bearer leo_pat_...`.

No header means an anonymous caller (public fields only). A header that is present but
unusable (wrong scheme, malformed, unknown, revoked or expired token) is an AuthError whose
message says why without echoing the token; the endpoint answers it UNAUTHENTICATED.
Tokens themselves (format, hashing, constant-time comparison) live in api/access.py.
"""

from __future__ import annotations

from api.access import TOKEN_RE, AccessDB, AuthError, Principal


def bearer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("expected 'Authorization: Bearer <token>'")
    return token


def authenticate(access: AccessDB, header: str | None) -> Principal | None:
    """The analyst behind the request, None when anonymous; AuthError when refused."""
    if header is None:
        return None
    return access.authenticate(bearer_token(header))


def claimed_token_id(header: str | None) -> str | None:
    """The token id a well-formed bearer token names (public, like a user name), so the audit
    log can show which token a refused guess was aimed at; None for anything else."""
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    m = TOKEN_RE.match(token.strip()) if scheme.lower() == "bearer" else None
    return m.group(1) if m else None
