"""The Starlette app: POST /graphql (the API), GET /graphql (GraphiQL), the web pages (`/`,
`/catalogue`, `/register`: ordinary clients of the API, see api/pages.py), /static (their
assets), GET /healthz (the release being served).

`create_app(data_root)` loads the catalogue, projects and settings, opens the access database
read-only and loads the release CURRENT names, so a bad config or a missing release fails
before the server listens. The lifespan starts the audit writer and the release watcher.
The app is given the output zone and the access database, nothing else, and never imports
Spark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api.access import AccessDB
from api.audit import AuditWriter, monthly_counts, open_readonly
from api.endpoint import GraphQLEndpoint
from api.graphiql import STATIC_DIR, graphiql
from api.pages import routes as page_routes
from api.projects import load_projects
from api.schema import schema
from api.settings import ApiSettings, load_settings
from api.store import ReleaseStore
from leo.catalogue import load_catalogue
from leo.layout import DataRoot, resolve_data_root

MONTHLY_TTL = 5.0  # seconds the register's counts may lag the audit log


class MonthlyCounts:
    """Per-project monthly counts for `register`, read from the audit DB, briefly cached."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = None
        self._value: dict[str, list[tuple[str, int, int]]] = {}
        self._stamp = -MONTHLY_TTL
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, list[tuple[str, int, int]]]:
        with self._lock:
            if time.monotonic() - self._stamp >= MONTHLY_TTL:
                if self._conn is None:
                    self._conn = open_readonly(self.path)  # type: ignore[assignment]
                if self._conn is not None:
                    self._value = monthly_counts(self._conn)
                self._stamp = time.monotonic()
            return self._value

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def create_app(
    data: str | DataRoot,
    *,
    conf_dir: str | Path | None = None,
    settings: ApiSettings | None = None,
) -> Starlette:
    root = data if isinstance(data, DataRoot) else resolve_data_root(str(data))
    settings = settings or load_settings(conf_dir)
    catalogue = load_catalogue(conf_dir)
    projects = load_projects(catalogue, conf_dir)
    caches = settings.caches
    store = ReleaseStore(root, catalogue, memo_size=caches.tables, memo_cells=caches.table_cells)
    store.refresh()  # raises with a clear message when there is no usable release
    access = AccessDB(root.access_db(), readonly=True)
    audit = AuditWriter(root.audit_db(), settings.audit.synchronous, settings.audit.max_batch)
    counts = MonthlyCounts(root.audit_db())
    endpoint = GraphQLEndpoint(
        schema=schema.graphql_schema,
        settings=settings,
        catalogue=catalogue,
        projects=projects,
        store=store,
        access=access,
        audit=audit,
        monthly_counts=counts,
    )

    async def graphql(request: Request) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return await graphiql(request)
        return await endpoint(request)

    async def healthz(request: Request) -> Response:
        release = store.current()
        return JSONResponse({"status": "ok", "release": release.id, "cells": release.n_cells})

    async def no_content(request: Request) -> Response:
        return Response(status_code=204)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await audit.start()
        watcher = asyncio.create_task(store.watch(settings.release_poll_seconds))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await audit.stop()
            counts.close()
            access.close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/favicon.ico", no_content, methods=["GET"]),
            *(Route(path, page, methods=["GET"]) for path, page in page_routes()),
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.endpoint = endpoint
    app.state.store = store
    app.state.audit = audit
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` (used by `leo serve`, one per worker process)."""
    return create_app(os.environ.get("LEO_DATA", "./data"), conf_dir=os.environ.get("LEO_CONF"))
