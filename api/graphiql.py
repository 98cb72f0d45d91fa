"""GraphiQL at GET /graphql, working offline: the page loads React, ReactDOM and GraphiQL from
this app's /static/ (vendored from npm, see api/static/graphiql/VENDOR.md), never from a CDN,
and a Content-Security-Policy keeps it that way."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"

ASSETS = (
    "graphiql/react.production.min.js",
    "graphiql/react-dom.production.min.js",
    "graphiql/graphiql.min.js",
    "graphiql-init.js",
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LEO GraphQL API</title>
<link rel="stylesheet" href="/static/graphiql/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL...</div>
{scripts}
</body>
</html>
"""

# Only this origin: scripts, styles, fonts, images and fetches. GraphiQL sets inline styles.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def page() -> str:
    scripts = "\n".join(f'<script src="/static/{a}"></script>' for a in ASSETS)
    return PAGE.format(scripts=scripts)


_PAGE = page()


async def graphiql(request: Request) -> HTMLResponse:
    return HTMLResponse(
        _PAGE,
        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
    )
