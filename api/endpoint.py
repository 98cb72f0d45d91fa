"""The GraphQL endpoint: a small hand-written POST /graphql handler on graphql-core.

One request, in order:
  body (JSON, capped, one operation: a JSON array is refused) -> bearer token -> rate limit
  (requests) -> document (parsed with a token limit and validated with the spec rules plus
  depth, alias and cost limits; cached by query text) -> rate limit (cost) -> one release
  snapshot -> answer (from the response cache, or executed) -> masked errors -> audit record
  committed -> response.

Releases are immutable, so an answer is a pure function of (release, caller, day, normalised
query, operation, variables) when the query touches only `project`, `release` and
`catalogue`: such answers are cached whole, with the audit figures they carry. `me` and
`register` read changing state and are always executed. Every request is audited, refused
ones included, and no response is sent before its audit record is committed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    ValidationRule,
    execute,
    parse,
    print_ast,
    specified_rules,
    validate,
)
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from api.access import AccessDB, AuthError, Principal
from api.audit import AuditRecord, AuditWriter
from api.auth import authenticate, claimed_token_id
from api.errors import (
    BAD_USER_INPUT,
    DENIALS,
    INTERNAL,
    QUERY_TOO_COMPLEX,
    RATE_LIMITED,
    UNAUTHENTICATED,
    error_dict,
    mask,
)
from api.limits import limit_rules, measure, root_fields
from api.projects import ProjectsFile
from api.ratelimit import RateLimiter
from api.schema import RequestContext
from api.settings import ApiSettings
from api.store import LRU, ReleaseStore
from leo.catalogue import Catalogue

log = logging.getLogger(__name__)

OPERATION_NAME_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,127}$")
# Root fields whose answers depend only on (release, caller, day, query, variables).
CACHEABLE_ROOTS = frozenset({"project", "release", "catalogue", "__typename"})


@dataclass(frozen=True)
class Prepared:
    """A query text after parsing and validation (cached by text)."""

    document: DocumentNode | None
    errors: tuple[dict[str, Any], ...]
    status: int
    query_hash: str | None = None
    normalised: str | None = None
    cost: int = 0
    cacheable: bool = False
    tokens: int = 1  # what the cached document weighs (its lexical tokens)


@dataclass(frozen=True)
class Answer:
    """A response body with the audit figures it carries (cached whole when allowed)."""

    body: bytes
    status: int
    outcome: str
    projects: tuple[str, ...]
    cells_released: int
    cells_suppressed: int


class Refused(Exception):
    """Stop handling and answer with this error (status, code, message)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def error_answer(status: int, code: str, message: str, **extra: Any) -> Answer:
    return Answer(dumps({"errors": [error_dict(code, message, **extra)]}), status, code, (), 0, 0)


def json_response(body: bytes, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class GraphQLEndpoint:
    def __init__(
        self,
        *,
        schema: GraphQLSchema,
        settings: ApiSettings,
        catalogue: Catalogue,
        projects: ProjectsFile,
        store: ReleaseStore,
        access: AccessDB,
        audit: AuditWriter,
        monthly_counts: Callable[[], dict[str, list[tuple[str, int, int]]]],
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.limits = settings.limits
        self.catalogue = catalogue
        self.projects = projects
        self.store = store
        self.access = access
        self.audit = audit
        self.monthly_counts = monthly_counts
        rules: list[type[ValidationRule]] = [*specified_rules, *limit_rules(self.limits)]
        if not settings.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        rl = settings.rate_limits
        self.request_limiter = RateLimiter(rl.requests_per_minute)
        self.cost_limiter = RateLimiter(rl.cost_per_minute)
        self.anonymous_limiter = RateLimiter(rl.anonymous_requests_per_minute)
        caches = settings.caches
        self.documents = LRU(caches.documents, caches.document_tokens)
        self.answers = LRU(caches.responses, caches.response_bytes)

    # -- the handler ----------------------------------------------------------------------
    async def __call__(self, request: Request) -> Response:
        start = time.perf_counter()
        client = request.client.host if request.client else ""
        record = AuditRecord(outcome="ok", status=200, client=client)
        headers: dict[str, str] = {}
        try:
            answer = await self._answer(request, record)
        except Refused as r:
            answer = error_answer(r.status, r.code, r.message)
            headers = r.headers
        except Exception:
            incident = secrets.token_hex(6)
            log.exception("internal error %s", incident)
            answer = error_answer(
                500, INTERNAL, f"internal error (incident {incident})", incident=incident
            )
        record.outcome = answer.outcome
        record.status = answer.status
        record.projects = answer.projects
        record.cells_released = answer.cells_released
        record.cells_suppressed = answer.cells_suppressed
        record.duration_ms = (time.perf_counter() - start) * 1000
        try:
            await self.audit.write(record)
        except Exception:
            incident = secrets.token_hex(6)
            log.exception("audit write failed %s; answer withheld", incident)
            answer = error_answer(
                500,
                INTERNAL,
                f"the request could not be audited, so it is not answered (incident {incident})",
                incident=incident,
            )
            return json_response(answer.body, answer.status)
        return json_response(answer.body, answer.status, headers)

    async def _answer(self, request: Request, record: AuditRecord) -> Answer:
        principal = self._authenticate(request, record)
        payload = await self._read_json(request)
        query, variables, operation = self._operation(payload)
        record.operation = operation
        record.variables = canonical(variables)
        prepared = self._prepare(query)
        record.query_hash = prepared.query_hash
        record.query_text = prepared.normalised
        if prepared.errors:
            code = prepared.errors[0]["extensions"]["code"]
            return Answer(dumps({"errors": list(prepared.errors)}), prepared.status, code, (), 0, 0)
        wait = self.cost_limiter.take(self._limit_key(principal, record), prepared.cost)
        if wait:
            raise _rate_limited("query cost", wait)
        release = self.store.current()  # the one snapshot this request sees
        today = datetime.now(UTC).date()
        key = None
        if prepared.cacheable:
            key = (
                release.id,
                principal.analyst_id if principal else None,
                principal.accredited_until if principal else None,
                today,
                prepared.query_hash,
                operation,
                record.variables,
            )
            hit = self.answers.get(key)
            if hit is not None:
                return hit  # type: ignore[no-any-return]
        context = RequestContext(
            release=release,
            catalogue=self.catalogue,
            projects=self.projects,
            principal=principal,
            today=today,
            monthly_counts=self.monthly_counts,
        )
        assert prepared.document is not None
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation,
            is_awaitable=_never,  # every resolver is synchronous: skip the per-field check
        )
        assert isinstance(result, ExecutionResult)
        errors = [
            mask(e, hide_suggestions=not self.settings.introspection) for e in result.errors or []
        ]
        codes = [e["extensions"]["code"] for e in errors]
        out: dict[str, Any] = {}
        if errors:
            out["errors"] = errors
        denied = any(c in DENIALS for c in codes)
        # A refused request carries no data at all (not even public sibling fields), and
        # counts no cells: nothing was released.
        out["data"] = None if denied else result.data
        answer = Answer(
            dumps(out),
            200,
            codes[0] if codes else "ok",
            tuple(context.project_ids),
            0 if denied else context.cells_released,
            0 if denied else context.cells_suppressed,
        )
        if key is not None and INTERNAL not in codes:
            size = len(answer.body) + len(record.variables) + len(operation or "") + 200
            self.answers.put(key, answer, weight=size)
        return answer

    # -- steps ----------------------------------------------------------------------------
    async def _read_json(self, request: Request) -> Any:
        if request.method != "POST":
            raise Refused(
                405,
                BAD_USER_INPUT,
                "send queries with POST (GET shows GraphiQL)",
                {"Allow": "GET, POST"},
            )
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise Refused(415, BAD_USER_INPUT, "send a JSON body (Content-Type: application/json)")
        cap = self.limits.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise Refused(413, BAD_USER_INPUT, f"request body over {cap} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    raise Refused(413, BAD_USER_INPUT, f"request body over {cap} bytes")
                chunks.append(chunk)
        except ClientDisconnect:
            # No one to answer, but the attempt is audited as what it is, not as an internal
            # error with a traceback in the log.
            raise Refused(400, BAD_USER_INPUT, "the client left before sending the body") from None
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, BAD_USER_INPUT, "the body is not valid JSON") from None
        except RecursionError:
            raise Refused(400, BAD_USER_INPUT, "the body's JSON is nested too deeply") from None

    def _operation(self, payload: Any) -> tuple[str, dict[str, Any] | None, str | None]:
        if isinstance(payload, list):
            raise Refused(
                400, BAD_USER_INPUT, "batching is not supported: one operation per request"
            )
        if not isinstance(payload, dict):
            raise Refused(400, BAD_USER_INPUT, "expected a JSON object with a 'query'")
        query = payload.get("query")
        variables = payload.get("variables")
        operation = payload.get("operationName")
        if not isinstance(query, str) or not query.strip():
            raise Refused(400, BAD_USER_INPUT, "'query' must be a non-empty string")
        if len(query) > self.limits.max_query_chars:
            raise Refused(
                400, QUERY_TOO_COMPLEX, f"query over {self.limits.max_query_chars} characters"
            )
        if variables is not None and not isinstance(variables, dict):
            raise Refused(400, BAD_USER_INPUT, "'variables' must be a JSON object")
        if operation is not None and not (
            isinstance(operation, str) and OPERATION_NAME_RE.match(operation)
        ):
            # Anything else can name no operation, and is not worth a place in the audit log.
            raise Refused(
                400, BAD_USER_INPUT, "'operationName' must be a GraphQL name of at most 128 chars"
            )
        return query, variables, operation

    def _authenticate(self, request: Request, record: AuditRecord) -> Principal | None:
        principal: Principal | None = None
        failure: str | None = None
        try:
            principal = authenticate(self.access, request.headers.get("authorization"))
        except AuthError as exc:
            failure = str(exc)
            record.token = claimed_token_id(request.headers.get("authorization"))
        if principal is not None:
            record.analyst = principal.analyst_id
            record.token = principal.token_id
        # Refused tokens count against the caller's address: guessing runs into the limit.
        key = self._limit_key(principal, record)
        limiter = self.request_limiter if principal else self.anonymous_limiter
        wait = limiter.take(key)
        if wait:
            raise _rate_limited("requests", wait)
        if failure is not None:
            raise Refused(
                401,
                UNAUTHENTICATED,
                f"token refused: {failure}",
                {"WWW-Authenticate": 'Bearer realm="leo"'},
            )
        return principal

    @staticmethod
    def _limit_key(principal: Principal | None, record: AuditRecord) -> str:
        return f"token:{principal.token_id}" if principal else f"ip:{record.client}"

    def _prepare(self, query: str) -> Prepared:
        hit = self.documents.get(query)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        prepared = self._parse_and_validate(query)
        self.documents.put(query, prepared, weight=prepared.tokens)
        return prepared

    def _parse_and_validate(self, query: str) -> Prepared:
        try:
            document = parse(query, max_tokens=self.limits.max_tokens, no_location=False)
        except GraphQLError as exc:
            too_many = "tokens" in exc.message and "more than" in exc.message
            code = QUERY_TOO_COMPLEX if too_many else BAD_USER_INPUT
            # weighs its key text (a token holds ~600 bytes once parsed; text ~1 byte a char)
            weight = len(query) // 600 + 1
            return Prepared(None, (error_dict(code, exc.message),), 400, tokens=weight)
        tokens = count_tokens(document)
        normalised = print_ast(document)
        query_hash = hashlib.sha256(normalised.encode("utf-8")).hexdigest()
        errors = validate(self.schema, document, self.rules)
        if errors:
            masked = tuple(
                mask(e, hide_suggestions=not self.settings.introspection) for e in errors[:20]
            )
            # Complexity first, so a client learns the limit rather than a side effect of it.
            masked = tuple(
                sorted(masked, key=lambda e: e["extensions"]["code"] != QUERY_TOO_COMPLEX)
            )
            return Prepared(None, masked, 400, query_hash, normalised, tokens=tokens)
        return Prepared(
            document,
            (),
            200,
            query_hash,
            normalised,
            cost=measure(document).cost,
            cacheable=root_fields(document) <= CACHEABLE_ROOTS,
            tokens=tokens,
        )


def count_tokens(document: DocumentNode) -> int:
    """Lexical tokens of a parsed document (its Location keeps the whole token chain)."""
    n, token = 0, document.loc.start_token if document.loc else None
    while token is not None:
        n += 1
        token = token.next
    return max(n, 1)


def _never(value: Any) -> bool:
    return False


def canonical(variables: dict[str, Any] | None) -> str:
    return json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rate_limited(what: str, wait: float) -> Refused:
    seconds = max(1, int(wait + 0.999))
    return Refused(
        429,
        RATE_LIMITED,
        f"rate limit on {what} reached; retry in {seconds} s",
        {"Retry-After": str(seconds)},
    )
