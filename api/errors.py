"""The API's error codes and their masking.

Every error a client sees carries one of a few stable codes in `extensions.code`. Errors the
API raises on purpose (ApiError) keep their message; anything else is an INTERNAL error whose
message is replaced, with an id that matches the server log line holding the traceback.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from graphql import GraphQLError
from graphql.validation.validate import ValidationAbortedError

log = logging.getLogger(__name__)

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
BAD_USER_INPUT = "BAD_USER_INPUT"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
RATE_LIMITED = "RATE_LIMITED"
INTERNAL = "INTERNAL"
CODES = (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, QUERY_TOO_COMPLEX, RATE_LIMITED, INTERNAL)
# A response holding any of these carries no data at all, not even sibling fields.
DENIALS = frozenset({UNAUTHENTICATED, FORBIDDEN})

ABORTED = "Validation aborted."  # graphql-core's message when its budget or stack runs out
_SUGGESTION = re.compile(r"\s*Did you mean .*\?$")


class ApiError(Exception):
    code = INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(ApiError):
    code = UNAUTHENTICATED


class Forbidden(ApiError):
    code = FORBIDDEN


class BadInput(ApiError):
    code = BAD_USER_INPUT


class TooComplex(ApiError):
    code = QUERY_TOO_COMPLEX


class RateLimited(ApiError):
    code = RATE_LIMITED

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_dict(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


def mask(error: GraphQLError, *, hide_suggestions: bool) -> dict[str, Any]:
    """A client-safe dict for an error raised while executing (or validating) a query."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        # a validation or variable-coercion error: about the client's own query
        message = error.message
        if hide_suggestions:
            message = _SUGGESTION.sub("", message)
        code = (error.extensions or {}).get("code")
        if message.startswith("Maximum introspection depth"):  # graphql-core's own rule
            code = QUERY_TOO_COMPLEX
        if isinstance(error, ValidationAbortedError) and message == ABORTED:
            # graphql-core ran out of its validation budget (api/limits.py, MERGE_BUDGET) or
            # of stack: a query shaped to be expensive to check, not a mistake to correct.
            code = QUERY_TOO_COMPLEX
            message = (
                "validation aborted: the query repeats fields or fragments too often, or "
                "nests fragments too deeply, to be checked; ask for each field once"
            )
        out = error_dict(code if code in CODES else BAD_USER_INPUT, message)
    elif isinstance(original, ApiError):
        out = error_dict(original.code, original.message)
    else:
        incident = secrets.token_hex(6)
        log.error("internal error %s at %s", incident, error.path, exc_info=original)
        out = error_dict(INTERNAL, f"internal error (incident {incident})", incident=incident)
    if error.path is not None:
        out["path"] = list(error.path)
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return out
