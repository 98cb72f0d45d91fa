"""The web pages: the outcome explorer (`/`), Find & Explore (`/catalogue`) and the public
data-sharing register (`/register`).

Each page is a small HTML shell rendered here (headings, labelled controls, the symbol
legend) plus hand-written JavaScript and CSS under `api/static/pages/`. The scripts fetch
every figure from `POST /graphql` like any other client, so the pages have no privileged path
to data. A strict Content-Security-Policy (this origin only, no inline script or style) keeps
the pages offline and shuts out injected code; the scripts build the DOM with textContent,
never from HTML strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from leo.schema import CELL_FLAG_MEANINGS

ASSET_DIR = Path(__file__).resolve().parent / "static" / "pages"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Page:
    path: str
    nav: str  # link text in the header
    title: str
    script: str
    body: str


def _asset(name: str) -> str:
    """The asset's URL with a content hash, so a browser never runs a stale script."""
    digest = hashlib.sha256((ASSET_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/pages/{name}?v={digest}"


def legend() -> str:
    """The GSS symbols, explained; the explorer's tooltips read their meanings from here."""
    items = "".join(
        f'<div><dt data-flag="{escape(flag)}">[{escape(flag)}]</dt><dd>{escape(meaning)}</dd></div>'
        for flag, meaning in CELL_FLAG_MEANINGS.items()
    )
    return (
        '<section class="legend" aria-labelledby="legend-h">'
        '<h2 id="legend-h">Symbols in the tables</h2>'
        "<p>A cell that is not published shows a symbol instead of a number (Government "
        "Statistical Service style). Hover over a symbol, or move to it with the Tab key, to "
        "see why.</p>"
        f'<dl id="legend">{items}</dl></section>'
    )


EXPLORER = """
<h1>Outcome explorer</h1>
<p class="lead">Employment, further study and earnings of Key Stage 4 and graduate cohorts
in the years after they left, from the current release. For members of approved projects.</p>

<section class="panel" aria-labelledby="token-h">
  <h2 id="token-h">Your access token</h2>
  <form id="token-form" novalidate>
    <label for="token">Access token</label>
    <p class="hint" id="token-hint">It starts with <code>leo_pat_</code>; your project's data
    manager issues it. It is kept in this browser tab only, and forgotten when you close the
    tab.</p>
    <div class="inline">
      <input id="token" name="token" type="password" autocomplete="off" spellcheck="false"
        autocapitalize="off" aria-describedby="token-hint">
      <button type="submit">Use token</button>
    </div>
  </form>
  <div id="who" hidden>
    <p>Signed in as <strong id="who-name"></strong> <span id="who-org"></span>.</p>
    <button id="forget" type="button" class="secondary">Forget token</button>
  </div>
</section>

<section class="panel" id="choose" aria-labelledby="choose-h" hidden>
  <h2 id="choose-h">Choose figures</h2>
  <form id="choose-form" novalidate>
    <div class="fields">
      <div class="field grow"><label for="project">Project</label>
        <select id="project" name="project"></select></div>
      <div class="field"><label for="cohort-type">Cohort type</label>
        <select id="cohort-type" name="cohort-type"></select></div>
      <div class="field"><label for="cohort">Cohort (academic year)</label>
        <select id="cohort" name="cohort"></select></div>
      <div class="field"><label for="by">Breakdown</label>
        <select id="by" name="by"></select></div>
    </div>
    <button type="submit">Show outcomes</button>
  </form>
</section>

<div id="message" class="message" role="alert" hidden></div>
<p id="status" class="status" role="status" aria-live="polite"></p>

<section id="results" aria-labelledby="results-h" hidden>
  <div class="results-head">
    <h2 id="results-h"></h2>
    <button id="download" type="button">Download table (CSV)</button>
  </div>
  <p id="summary"></p>
  <div id="charts" class="charts">
  <figure id="earnings" class="chart">
    <figcaption><h3>Earnings</h3>
      <p>Annualised PAYE earnings of those in sustained employment, by years after.
      The bar runs from the lower to the upper quartile; the dot is the median.</p>
    </figcaption>
    <div class="chart-legend" id="earnings-legend"></div>
    <div class="minis" id="earnings-charts"></div>
  </figure>
  <figure id="activity" class="chart">
    <figcaption><h3>Activity</h3>
      <p>What cohort members were doing in each tax year, as a share of the cohort.</p>
    </figcaption>
    <div class="chart-legend" id="activity-legend"></div>
    <div class="minis" id="activity-charts"></div>
  </figure>
  </div>
  <h3 id="table-h">Table</h3>
  <p>Every figure in the charts, and the rest of the project's measures. The download
  holds exactly these rows, columns and symbols.</p>
  <p class="hint" id="scroll-hint" hidden>The table is wider than the screen: scroll it
  sideways to see every column.</p>
  <div class="table-wrap" id="table-wrap" role="region" aria-labelledby="table-h" tabindex="0">
    <table id="table"></table>
  </div>
  <ul id="notes" class="notes"></ul>
  <details id="definitions"><summary>What the measures mean</summary><dl></dl></details>
</section>

{legend}
<div id="tip" class="tip" role="tooltip" hidden></div>
"""

CATALOGUE = """
<h1>Find &amp; Explore</h1>
<p class="lead">What data the platform holds: the datasets, the data packages a project can
be approved for, and every variable, with definitions and sensitivity tiers. Source datasets
are held in a secure identity zone and are never released; only disclosure-controlled
tables of outcomes are published.</p>

<form id="search-form" class="panel search" role="search" novalidate>
  <div class="fields">
    <div class="field grow"><label for="q">Search</label>
      <input id="q" name="q" type="search" autocomplete="off"
        placeholder="for example: earnings, region, free school meals"></div>
    <div class="field"><label for="kind">Show</label>
      <select id="kind" name="kind">
        <option value="all">Everything</option>
        <option value="dataset">Datasets</option>
        <option value="package">Data packages</option>
        <option value="variable">Variables</option>
      </select></div>
    <div class="field"><label for="tier">Sensitivity tier</label>
      <select id="tier" name="tier"><option value="">Any tier</option></select></div>
  </div>
</form>
<div id="message" class="message" role="alert" hidden></div>
<p id="status" class="status" role="status" aria-live="polite">Loading the catalogue...</p>

<details id="tiers" class="tiers" hidden>
  <summary>What the sensitivity tiers mean</summary>
  <dl id="tier-list"></dl>
</details>
<section id="datasets" aria-labelledby="datasets-h" hidden>
  <h2 id="datasets-h">Datasets</h2><div class="cards" id="dataset-list"></div>
</section>
<section id="packages" aria-labelledby="packages-h" hidden>
  <h2 id="packages-h">Data packages</h2><div class="cards" id="package-list"></div>
</section>
<section id="variables" aria-labelledby="variables-h" hidden>
  <h2 id="variables-h">Variables</h2><div class="cards" id="variable-list"></div>
</section>
"""

REGISTER = """
<h1>Data-sharing register</h1>
<p class="lead">Every project approved to use these data: who runs it, why, under which
lawful basis, which data packages it may query and until when, and how many queries it made
each month (counted from the audit log).</p>

<div class="actions">
  <button id="download-projects" type="button" disabled>Download the register (CSV)</button>
  <button id="download-months" type="button" class="secondary" disabled>Download queries
    per month (CSV)</button>
</div>
<div id="message" class="message" role="alert" hidden></div>
<p id="status" class="status" role="status" aria-live="polite">Loading the register...</p>
<div id="register" class="register"></div>
"""

PAGES = (
    Page("/", "Outcome explorer", "Outcome explorer", "explorer.js", EXPLORER),
    Page(
        "/catalogue",
        "Find & Explore",
        "Find & Explore: the data catalogue",
        "catalogue.js",
        CATALOGUE,
    ),
    Page("/register", "Data-sharing register", "Data-sharing register", "register.js", REGISTER),
)

SHELL = """<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - LEO</title>
<link rel="stylesheet" href="{css}">
<script src="{common}" defer></script>
<script src="{script}" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site">
  <div class="wrap">
    <a class="brand" href="/">LEO <span>Longitudinal Education Outcomes</span></a>
    <nav aria-label="Site"><ul>{nav}</ul></nav>
  </div>
</header>
<main id="main" class="wrap" tabindex="-1">
<noscript><p class="message">These pages fetch their figures from the platform's GraphQL
API with JavaScript, which is switched off. The API itself is at <a href="/graphql">/graphql</a>.
</p></noscript>
{body}
</main>
<footer class="site"><div class="wrap">
  <p>Figures come from the GraphQL API at <a href="/graphql">/graphql</a>, which any approved
  analyst can query directly. Cells are disclosure-controlled before publication.</p>
</div></footer>
</body>
</html>
"""


def render(page: Page) -> str:
    current = ' aria-current="page"'
    nav = "".join(
        f'<li><a href="{p.path}"{current if p is page else ""}>{escape(p.nav)}</a></li>'
        for p in PAGES
    )
    nav += '<li><a href="/graphql">GraphQL API</a></li>'
    return SHELL.format(
        title=escape(page.title),
        css=_asset("pages.css"),
        common=_asset("common.js"),
        script=_asset(page.script),
        nav=nav,
        body=page.body.replace("{legend}", legend()),
    )


Endpoint = Callable[[Request], Awaitable[Response]]


def routes() -> list[tuple[str, Endpoint]]:
    """(path, endpoint) for each page; the HTML is rendered once, at start-up."""
    out: list[tuple[str, Endpoint]] = []
    for page in PAGES:
        html = render(page)

        async def endpoint(request: Request, html: str = html) -> HTMLResponse:
            return HTMLResponse(html, headers=HEADERS)

        out.append((page.path, endpoint))
    return out
