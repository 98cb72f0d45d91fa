"""The API's settings (conf/api.yaml): request limits, rate limits, cache sizes, and how often
the server looks for a new release. One model, loaded with leo.config like every other file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from leo.config import StrictModel, load_conf


class Limits(StrictModel):
    """What one request may ask for. Defaults follow graphql-armor's production defaults
    (references.md): depth 6, 15 aliases, 1000 tokens, 15,000 characters."""

    max_body_bytes: int = Field(default=65_536, ge=1024)
    max_query_chars: int = Field(default=15_000, ge=100)
    max_tokens: int = Field(default=1000, ge=10)
    max_depth: int = Field(default=6, ge=2)
    max_aliases: int = Field(default=15, ge=0)
    max_cost: int = Field(default=1000, ge=1)
    # Introspection (GraphiQL) nests deeper than data queries but must not fan out:
    # `types { fields { type { fields ... } } }` grows geometrically, so list fields on one
    # path are capped separately.
    max_introspection_depth: int = Field(default=15, ge=2)
    max_introspection_lists: int = Field(default=3, ge=1)


class RateLimits(StrictModel):
    """Per token (or per client address for anonymous requests), per minute."""

    requests_per_minute: int = Field(default=600, ge=1)
    cost_per_minute: int = Field(default=30_000, ge=1)
    anonymous_requests_per_minute: int = Field(default=120, ge=1)


class Caches(StrictModel):
    """Each cache is bounded by its entries and by their total size, since one entry can be a
    thousand times another (a parsed document holds about 600 bytes per token, a table in
    Python 150-500 bytes per cell): the size bounds are what bound memory."""

    documents: int = Field(default=1000, ge=0)  # validated documents, keyed by query text
    document_tokens: int = Field(default=100_000, ge=1)  # their tokens, all together
    responses: int = Field(default=20_000, ge=0)  # whole answers (releases are immutable)
    response_bytes: int = Field(default=64 * 2**20, ge=1)  # their bodies and keys
    tables: int = Field(default=2000, ge=0)  # computed tables and cell lists per release
    table_cells: int = Field(default=500_000, ge=1)  # their cells, all together


class AuditSettings(StrictModel):
    # FULL: a response is sent only after its audit record is on disk (fsync of the WAL);
    # records are committed in groups, so the cost is one fsync per batch, not per request.
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    max_batch: int = Field(default=256, ge=1)


class ApiSettings(StrictModel):
    limits: Limits = Limits()
    rate_limits: RateLimits = RateLimits()
    caches: Caches = Caches()
    audit: AuditSettings = AuditSettings()
    # Public schema: the SDL is committed and published, so introspection hides nothing;
    # switch it off to also hide field suggestions in error messages.
    introspection: bool = True
    release_poll_seconds: float = Field(default=1.0, gt=0)
    default_token_days: int = Field(default=90, ge=1)


def load_settings(conf_dir: str | Path | None = None) -> ApiSettings:
    return load_conf(ApiSettings, "api.yaml", conf_dir)
