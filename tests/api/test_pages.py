"""The web pages (api/pages.py) over HTTP and in a real browser: Debian's Chromium, driven by
Playwright, against the app under uvicorn on 127.0.0.1 with a hand-built release.

The explorer is driven as a policy user would: paste a token, choose project, cohort and
breakdown, read the charts and the table, find why a cell is withheld (hover and keyboard),
download the CSV. Every browser test also checks that no request leaves 127.0.0.1 and that
the page logs no error (a Content-Security-Policy violation is logged as one). Screenshots
of each page at 1280 and 390 px go to $LEO_TEST_ARTIFACTS (default test-artifacts/).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.access import AccessDB
from leo.schema import CELL_FLAG_MEANINGS, CELL_FLAGS
from tests.api.conftest import Env, LiveServer, serve
from tests.api.releases import Cell, cell, suppressed, write_release
from tests.conftest import REPO

PROJECTS_YAML = """
projects:
  - id: p-policy
    title: Post-16 routes and early-career outcomes
    organisation: Department for Education, Policy Analysis
    purpose: Employment and earnings after Key Stage 4 by region, for 16-19 funding policy.
    lawful_basis: "UK GDPR Article 6(1)(e) public task"
    approved: 2024-01-01
    expires: 2099-12-31
    retain_until: 2099-12-31
    packages: [demographics, attainment, employment, earnings]
    members: [policy.user]
    outputs:
      - {title: "Early-career outcomes: first findings", published: 2025-06-12,
         url: "https://example.org/findings"}
  - id: p-benefits
    title: Out-of-work benefits after Key Stage 4
    organisation: Education Policy Institute
    purpose: Benefit receipt by sex and region.
    lawful_basis: "UK GDPR Article 6(1)(f) legitimate interests"
    approved: 2024-01-01
    expires: 2099-12-31
    retain_until: 2099-12-31
    packages: [demographics, benefits]
    members: [policy.user]
  - id: p-ended
    title: A finished project
    organisation: University of Testing
    purpose: "Finished work. <img src=x onerror=alert(1)>"
    lawful_basis: "UK GDPR Article 6(1)(e) public task"
    approved: 2019-01-01
    expires: 2020-12-31
    retain_until: 2021-12-31
    packages: [demographics]
    members: [policy.user]
"""

KS4 = ("ks4", "2014/15")
NORTH_EAST, LONDON = "E12000001", "E12000007"
# Activity shares per years after (they add up to 100), and earnings quartiles.
SHARES = {
    1: {"employment_only": 38, "employment_and_study": 22, "study_only": 25,
        "no_sustained_destination": 9, "not_captured": 6},
    3: {"employment_only": 45, "employment_and_study": 18, "study_only": 20,
        "no_sustained_destination": 10, "not_captured": 7},
    5: {"employment_only": 55, "employment_and_study": 12, "study_only": 12,
        "no_sustained_destination": 12, "not_captured": 9},
}  # fmt: skip
EARNINGS = {1: (9000, 14500, 20500), 3: (12000, 18000, 24500), 5: (15500, 22000, 30000)}
GROUPS: dict[str, tuple[dict[str, str], int, float]] = {
    # group: (dimension values, cohort size, earnings and share shift)
    "all": ({}, 1200, 0),
    "F": ({"sex": "F"}, 610, -1),
    "M": ({"sex": "M"}, 590, 1),
    "NE": ({"region": NORTH_EAST}, 40, -3),
    "LDN": ({"region": LONDON}, 1160, 2),
}


def explorer_release_cells() -> list[Cell]:
    """KS4 2014/15 at 1, 3 and 5 years after, overall and by sex and by region, every measure
    the explorer charts; the North East is small, so its earnings are withheld ([c]) or of low
    reliability ([u]) and two of its activity shares are withheld. One count is unavailable
    ([x]). Graduates 2016/17 at 1 year after, overall and by subject only."""
    rows: list[Cell] = []
    for ya, shares in SHARES.items():
        for name, (dims, size, shift) in GROUPS.items():
            ne = name == "NE"

            def put(measure: str, value: float, **kw: Any) -> None:
                rows.append(cell(*KS4, ya, measure, value, **kw, **dims))  # noqa: B023

            put("cohort_count", size)
            if name == "F" and ya == 5:
                rows.append(
                    cell(*KS4, ya, "linked_count", None, "unavailable", "x",
                         "source not linked for this year", **dims)
                )  # fmt: skip
            else:
                put("linked_count", size - 25)
            s = dict(shares)
            s["employment_only"] += shift
            s["not_captured"] -= shift
            put("sustained_employment_rate", s["employment_only"] + s["employment_and_study"])
            put("share_employment_with_or_without_study",
                s["employment_only"] + s["employment_and_study"])  # fmt: skip
            for activity, value in s.items():
                measure = f"share_{activity}"
                if ne and ya == 5 and activity == "study_only":
                    rows.append(suppressed(*KS4, ya, measure, "fewer than 10 people", **dims))
                elif ne and ya == 5 and activity == "no_sustained_destination":
                    rows.append(
                        suppressed(*KS4, ya, measure, "secondary suppression (differencing)",
                                   **dims)
                    )  # fmt: skip
                else:
                    put(measure, float(value))
            lq, med, uq = (v + 500 * shift for v in EARNINGS[ya])
            if ne and ya == 1:
                for measure in ("earnings_lower_quartile", "earnings_upper_quartile"):
                    rows.append(suppressed(*KS4, ya, measure, "fewer than 40 contributors", **dims))
                rows.append(
                    suppressed(*KS4, ya, "earnings_median", "fewer than 20 contributors", **dims)
                )
                rows.append(suppressed(*KS4, ya, "earnings_mean", "dominance", **dims))
            elif ne:
                for measure in ("earnings_lower_quartile", "earnings_upper_quartile"):
                    rows.append(suppressed(*KS4, ya, measure, "fewer than 40 contributors", **dims))
                rows.append(
                    cell(*KS4, ya, "earnings_median", med, "low_reliability", "u",
                         "fewer than 50 contributors", **dims)
                )  # fmt: skip
                rows.append(suppressed(*KS4, ya, "earnings_mean", "dominance", **dims))
            else:
                put("earnings_lower_quartile", lq)
                put("earnings_median", med)
                put("earnings_upper_quartile", uq)
                put("earnings_mean", round(med * 1.1))
    g = ("graduate", "2016/17")
    rows += [
        cell(*g, 1, "cohort_count", 800),
        cell(*g, 1, "earnings_median", 21000.0),
        cell(*g, 1, "cohort_count", 300, subject_cah2="CAH09-01"),
    ]
    return rows


def make_pages_env(base: Path) -> Env:
    root, conf = base / "data", base / "conf"
    conf.mkdir(parents=True)
    (conf / "projects.yaml").write_text(PROJECTS_YAML)
    write_release(root, "2026-11-r1", explorer_release_cells())
    env = Env(root, conf)
    db = AccessDB(root / "access" / "access.db")
    db.add_analyst("policy.user", "Priya Policy", "DfE Policy Analysis", date(2099, 12, 31))
    env.token_ids["policy"], env.tokens["policy"] = db.issue_token("policy.user", days=30)
    env.token_ids["expired"], env.tokens["expired"] = db.issue_token(
        "policy.user", days=1, now=datetime(2021, 1, 1, tzinfo=UTC)
    )
    db.close()
    return env


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages_env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_pages_env(tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def site(pages_env: Env) -> Iterator[LiveServer]:
    roomy = {"requests_per_minute": 100_000, "anonymous_requests_per_minute": 100_000}
    with serve(pages_env, rate_limits=roomy) as s:
        yield s


@pytest.fixture(scope="module")
def artifacts() -> Path:
    out = Path(os.environ.get("LEO_TEST_ARTIFACTS") or REPO / "test-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "the browser tests need Debian's chromium (scripts/test.sh installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield b
        b.close()


class Tab:
    """A page in its own browser context that refuses (and records) any request to a host
    other than the test server, and records page errors and console errors."""

    def __init__(self, browser: Any, site: LiveServer, width: int) -> None:
        self.base = site.url
        self.host = urlsplit(site.url).netloc
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, accept_downloads=True
        )
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # Chromium logs every non-2xx fetch; the pages handle those (401, 403) themselves.
        # Anything else, a CSP violation above all, is an error.
        if message.type == "error" and not message.text.startswith(
            "Failed to load resource: the server responded with a status of 4"
        ):
            self.errors.append(f"console: {message.text}")

    def _guard(self, route: Any) -> None:
        url = route.request.url
        netloc = urlsplit(url.removeprefix("blob:")).netloc
        if url.startswith("data:") or netloc == self.host:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def goto(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def close(self) -> None:
        self.context.close()
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        assert self.errors == [], self.errors


@pytest.fixture()
def tabs(browser: Any, site: LiveServer) -> Iterator[Any]:
    opened: list[Tab] = []

    def open_tab(width: int = 1280) -> Tab:
        tab = Tab(browser, site, width)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()


# -- helpers ------------------------------------------------------------------------------


def shot(page: Any, artifacts: Path, name: str, full: bool = True) -> None:
    page.screenshot(path=str(artifacts / name), full_page=full)


def no_horizontal_scroll(page: Any) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def sign_in(page: Any, token: str) -> None:
    page.fill("#token", token)
    page.click("#token-form button[type=submit]")


def choose(page: Any, **selects: str) -> None:
    for sel, value in selects.items():
        page.select_option(f"#{sel.replace('_', '-')}", value)
    page.click("#choose-form button[type=submit]")


def table_grid(page: Any) -> list[list[str]]:
    """What the table shows: each row's header and data cells as rendered text."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#table tr')].map(
            tr => [...tr.children].map(c => c.innerText.trim()))"""
    )


# A readable, unique name for a focus stop: tag, id or class, text, and a serial number.
STOP_NAME = """() => { window.stopName = (e) => {
  window.stopSerial = (window.stopSerial || 0) + 1;
  return `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}`
    + `${e.className ? '.' + e.className : ''}`
    + `:${(e.innerText || e.value || '').replace(/\\s+/g, ' ').trim().slice(0, 24)}`
    + `:${window.stopSerial}`; }; }"""


def tab_through(page: Any, limit: int = 300) -> list[str]:
    """Press Tab until focus comes round again; a name per stop, in the order reached,
    rotated to start at the skip link."""
    page.evaluate(STOP_NAME)
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => { const e = document.activeElement;
                 if (!e || e === document.body) return null;
                 if (!e.dataset.stop) e.dataset.stop = stopName(e);
                 return e.dataset.stop; }"""
        )
        if stop in stops:
            break
        if stop is not None:  # None: focus left the page on its way round
            stops.append(stop)
    skip = [i for i, s in enumerate(stops) if s.startswith("a.skip-link")]
    assert skip, f"Tab never reached the skip link: {stops}"
    return stops[skip[0] :] + stops[: skip[0]]


def focusables(page: Any) -> list[str]:
    """Every visible control a keyboard user must reach, in document order."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
              'a[href], button, input, select, textarea, summary, [tabindex]')]
            .filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length > 0
                         && getComputedStyle(e).visibility !== 'hidden')
            .map(e => { if (!e.dataset.stop) e.dataset.stop = stopName(e);
                        return e.dataset.stop; })"""
    )


def check_keyboard(page: Any) -> None:
    """Tab reaches every control once, in document order, the skip link first, and each
    focused control is visibly marked."""
    stops = tab_through(page)
    wanted = focusables(page)
    assert stops == wanted, f"Tab order differs from the controls:\n{stops}\n{wanted}"
    assert wanted[0].startswith("a.skip-link")  # the first control on the page
    # A visible focus indicator: an outline or a box shadow on every control.
    for stop in stops[:40]:
        style = page.evaluate(
            """(s) => { const e = [...document.querySelectorAll('[data-stop]')]
                   .find((x) => x.dataset.stop === s); e.focus();
                 const c = getComputedStyle(e);
                 return [c.outlineStyle, c.outlineWidth, c.boxShadow, c.backgroundColor]; }""",
            stop,
        )
        assert style[0] != "none" or style[2] != "none", style


CONTRAST = """() => {
  const parse = (c) => { const m = /rgba?\\(([^)]+)\\)/.exec(c || ''); if (!m) return null;
    const p = m[1].split(',').map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = ({ r, g, b }) => { const f = (v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const background = (e) => { for (let n = e; n; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor); if (c && c.a > 0) return c; }
    return { r: 255, g: 255, b: 255, a: 1 }; };
  const bad = []; const seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const e = walk.currentNode.parentElement;
    if (!walk.currentNode.textContent.trim() || seen.has(e)) continue;
    seen.add(e);
    if (!e.getClientRects().length || e.closest(':disabled, [hidden], noscript')) continue;
    const cs = getComputedStyle(e);
    if (cs.visibility === 'hidden') continue;
    const fg = parse(e instanceof SVGElement ? cs.fill : cs.color);
    const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    const got = ratio(fg, background(e));
    const text = e.textContent.trim().slice(0, 30);
    if (got < need) bad.push(`${e.tagName} "${text}" ${got.toFixed(2)}`);
  }
  return bad; }"""


def check_contrast(page: Any) -> None:
    """Every rendered text meets WCAG AA contrast against its background (4.5:1; 3:1 for
    large text), chart labels included."""
    assert page.evaluate(CONTRAST) == []


def read_download(download: Any) -> list[list[str]]:
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    assert "\r\n" in text  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(text)))


# -- HTTP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/catalogue", "/register"])
def test_pages_are_local_and_under_a_strict_csp(site: LiveServer, path: str) -> None:
    with httpx.Client(base_url=site.url) as http:
        r = http.get(path)
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert re.search(r"<script(?![^>]*\ssrc=)", r.text) is None  # no inline script
        assert " style=" not in r.text  # no inline style either
        refs = re.findall(r'(?:src|href)="([^"#]+)"', r.text)
        assets = [x for x in refs if x.startswith("/static/")]
        assert len(assets) == 3  # stylesheet, common.js, the page's script
        for ref in refs:
            assert ref.startswith("/"), ref  # nothing from another host
        for ref in assets:
            assert http.get(ref).status_code == 200, ref
        if path == "/":
            for flag in CELL_FLAGS:
                assert f'data-flag="{flag}"' in r.text  # the legend explains every symbol


def test_every_symbol_has_a_meaning() -> None:
    assert tuple(CELL_FLAG_MEANINGS) == CELL_FLAGS


# -- the explorer -------------------------------------------------------------------------


@pytest.mark.browser
def test_explorer_charts_table_symbols_and_csv(tabs: Any, pages_env: Env, artifacts: Path) -> None:
    tab = tabs(1280)
    page = tab.goto("/")
    sign_in(page, pages_env.tokens["policy"])
    page.wait_for_selector("#status:has-text('Showing')")
    # The first active project is chosen and its whole cohort shown straight away.
    assert page.input_value("#project") == "p-policy"
    assert page.inner_text("#results-h") == "Key Stage 4 cohort 2014/15"
    assert page.locator("#earnings-charts figure").count() == 1
    shot(page, artifacts, "explorer-whole-cohort-1280.png")
    assert sorted(o for o in page.locator("#by option").all_inner_texts()) == [
        "None (all pupils)",
        "Region at Key Stage 4",
        "Sex",
    ]  # the project's dimensions that the release publishes

    choose(page, by="region")
    page.wait_for_selector("#results-h:has-text('by region')")
    assert page.locator("#earnings-charts figure").count() == 2
    assert page.locator("#activity-charts figure").count() == 2
    captions = page.locator("#earnings-charts figcaption").all_inner_texts()
    assert captions == ["North East", "London"]
    # Charts: London has a quartile bar and a median dot per year; the North East's
    # withheld earnings are marked [c] in the chart and said in its text alternative.
    london = page.locator("#earnings-charts figure").nth(1).locator("svg")
    assert london.locator("rect").count() == 3 and london.locator("circle").count() == 3
    ne_label = (
        page.locator("#earnings-charts figure").first.locator("svg").get_attribute("aria-label")
    )
    assert ne_label is not None
    assert "1 year after: median not published" in ne_label
    assert "Earnings, median [c]" in ne_label
    assert "3 years after: median £16,500" in ne_label
    assert page.locator("#earnings-charts figure").first.locator("svg text", has_text="[c]").count()
    activity = page.locator("#activity-charts figure").nth(1).locator("svg")
    assert activity.locator("rect").count() == 3 * 5  # five activities, three years
    ne_activity = page.locator("#activity-charts figure").first.locator("svg")
    assert ne_activity.locator("rect[stroke-dasharray]").count() == 1  # withheld at 5 years
    assert "Further study only not published [c]" in (ne_activity.get_attribute("aria-label") or "")

    grid = table_grid(page)
    header, rows = grid[0], grid[1:]
    assert header[:2] == ["Years after Key Stage 4", "Region at Key Stage 4"]
    assert "Earnings, median (£)" in header and "Sustained employment (%)" in header
    assert [r[:2] for r in rows] == [
        [str(ya), region] for ya in (1, 3, 5) for region in ("North East", "London")
    ]
    col = header.index("Earnings, median (£)")
    assert rows[0][col] == "[c]"  # North East, 1 year after
    assert rows[1][col] == "15,500"  # London, 1 year after: 14,500 + 2 x 500
    assert rows[2][col] == "16,500 [u]"  # North East, 3 years after: of low reliability
    assert page.locator("#table th[scope=col]").count() == len(header)
    assert page.locator("#table tbody th[scope=row]").count() == 2 * len(rows)
    assert "2026-11-r1" in page.inner_text("#table caption")

    # The reason for a withheld cell: on hover ...
    sym = page.locator("#table tbody tr").first.locator(".sym").first  # North East, 1 year
    sym.hover()
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    assert "Confidential" in tip.inner_text()
    shot(page, artifacts, "explorer-symbol-hover-1280.png", full=False)
    page.mouse.move(5, 5)
    tip.wait_for(state="hidden")
    # ... and on keyboard focus (Tab from the table's scroll region), dismissed with Escape.
    page.focus("#table-wrap")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.className")
    assert focused == "sym"
    tip.wait_for(state="visible")
    median_sym = page.locator(f"#table tbody tr >> nth=0 >> td >> nth={col - 2} >> .sym")
    median_sym.focus()
    assert "fewer than 20 contributors" in tip.inner_text()
    assert "[c]" in tip.inner_text()
    # Screen readers get the same reason as the symbol's description.
    described = median_sym.get_attribute("aria-describedby")
    reason = page.evaluate("(id) => document.getElementById(id).textContent", described)
    assert reason.startswith("Confidential") and "fewer than 20 contributors" in reason
    shot(page, artifacts, "explorer-symbol-focus-1280.png", full=False)
    page.keyboard.press("Escape")
    tip.wait_for(state="hidden")

    # The CSV is exactly the table: same rows, columns, values and symbols.
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "leo_p-policy_ks4_2014-15_region_2026-11-r1.csv"
    assert read_download(download) == grid

    # The token is in this tab's sessionStorage only.
    storage = page.evaluate(
        "() => [sessionStorage.getItem('leo.token'), localStorage.length, document.cookie]"
    )
    assert storage == [pages_env.tokens["policy"], 0, ""]
    assert tab.context.cookies() == []
    page.evaluate("() => { window.scrollTo(0, 0); document.activeElement.blur(); }")
    page.evaluate("() => { document.querySelector('#table-wrap').scrollLeft = 0; }")
    shot(page, artifacts, "explorer-by-region-1280.png")
    # A reload in the same tab signs in again from sessionStorage.
    page.reload()
    page.wait_for_selector("#status:has-text('Showing')")
    assert page.is_visible("#who") and page.is_hidden("#token")


@pytest.mark.browser
def test_explorer_explains_refusals_and_empty_selections(
    tabs: Any, pages_env: Env, artifacts: Path
) -> None:
    tab = tabs(1280)
    page = tab.goto("/")
    page.click("#token-form button[type=submit]")
    assert "Enter your access token" in page.inner_text("#message")

    sign_in(page, "leo_pat_" + "a" * 10 + "_" + "x" * 43)  # well formed, never issued
    page.wait_for_selector("#message:has-text('Your token was not accepted')")
    assert "unknown token" in page.inner_text("#message")
    assert page.evaluate("() => sessionStorage.getItem('leo.token')") is None
    assert page.evaluate("() => document.activeElement.id") == "token"

    sign_in(page, pages_env.tokens["expired"])
    page.wait_for_selector("#message:has-text('expired on 2021-01-02')")
    assert page.is_hidden("#choose")
    shot(page, artifacts, "explorer-expired-token-1280.png")

    sign_in(page, pages_env.tokens["policy"])
    page.wait_for_selector("#status:has-text('Showing')")
    options = page.locator("#project option").all_inner_texts()
    assert "A finished project (p-ended) - expired" in options

    # A project whose packages hold neither earnings nor activity: the charts say so.
    page.select_option("#project", "p-benefits")
    page.wait_for_selector("#results-h:has-text('Key Stage 4')")
    page.wait_for_selector("#status:has-text('Showing')")
    assert "not in this project's data packages" in page.inner_text("#earnings-charts")
    assert "not in this project's data packages" in page.inner_text("#activity-charts")
    assert "Out-of-work benefits (%)" in table_grid(page)[0]

    # FORBIDDEN: the project has expired.
    page.select_option("#project", "p-ended")
    page.wait_for_selector("#message:has-text('You do not have access')")
    assert "project p-ended expired on 2020-12-31" in page.inner_text("#message")
    assert page.is_hidden("#results")
    assert page.is_disabled("#choose-form button[type=submit]")
    shot(page, artifacts, "explorer-forbidden-1280.png")

    # An empty selection: the release has no graduate cells by sex.
    page.select_option("#project", "p-policy")
    page.wait_for_selector("#status:has-text('Showing')")
    page.select_option("#cohort-type", "GRADUATE")
    choose(page, by="sex")
    page.wait_for_selector("#message:has-text('No figures for this selection')")
    assert "Graduate cohort 2016/17, by sex" in page.inner_text("#message")
    assert page.is_hidden("#results")
    shot(page, artifacts, "explorer-empty-selection-1280.png")

    # Forgetting the token clears it from the tab.
    page.click("#forget")
    assert page.evaluate("() => sessionStorage.getItem('leo.token')") is None
    assert page.is_visible("#token")


@pytest.mark.browser
def test_explorer_keyboard_and_narrow_screen(tabs: Any, pages_env: Env, artifacts: Path) -> None:
    tab = tabs(1280)
    page = tab.goto("/")
    check_keyboard(page)  # before signing in: skip link, navigation, token field, button
    # The skip link (the first stop) moves focus to the main content.
    page.focus(".skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    sign_in(page, pages_env.tokens["policy"])
    page.wait_for_selector("#status:has-text('Showing')")
    choose(page, by="region")
    page.wait_for_selector("#results-h:has-text('by region')")
    check_keyboard(page)  # every select, button, symbol and the table's scroll region
    check_contrast(page)
    assert page.locator("#table .sym").count() >= 6

    narrow = tabs(390)
    page = narrow.goto("/")
    shot(page, artifacts, "explorer-signed-out-390.png")
    sign_in(page, pages_env.tokens["policy"])
    page.wait_for_selector("#status:has-text('Showing')")
    choose(page, by="region")
    page.wait_for_selector("#results-h:has-text('by region')")
    no_horizontal_scroll(page)
    # The wide table scrolls inside its own container, not the page.
    wrap = page.evaluate(
        "() => { const w = document.querySelector('#table-wrap'); "
        "return [w.scrollWidth, w.clientWidth]; }"
    )
    assert wrap[0] > wrap[1]
    shot(page, artifacts, "explorer-by-region-390.png")


# -- Find & Explore -----------------------------------------------------------------------


@pytest.mark.browser
def test_catalogue_search(tabs: Any, artifacts: Path) -> None:
    tab = tabs(1280)
    page = tab.goto("/catalogue")
    page.wait_for_selector("#status:has-text('results')")
    assert page.locator("#dataset-list .card").count() == 7
    assert page.locator("#package-list .card").count() == 8
    page.click("#tiers summary")
    assert "Sensitive personal characteristics" in page.inner_text("#tier-list")
    shot(page, artifacts, "catalogue-1280.png")

    page.fill("#q", "earnings median")
    page.wait_for_selector("#status:has-text('matching')")
    variables = page.locator("#variable-list .card h3").all_inner_texts()
    assert variables == ["Earnings, median earnings_median"]
    card = page.locator("#variable-list .card").first.inner_text()
    assert "Median annualised PAYE earnings" in card  # the definition
    assert "Tier 3 - sensitive" in card and "Earnings" in card
    assert "LEO Key Stage 4 cohort outcomes" in card and "LEO graduate outcomes" in card
    assert page.url.endswith("?q=earnings+median")
    shot(page, artifacts, "catalogue-search-earnings-1280.png")

    page.fill("#q", "surname")
    page.wait_for_selector("#status:has-text('matching \"surname\"')")
    assert "Direct identifier: identity zone only" in page.inner_text("#variable-list")
    assert page.is_hidden("#packages")

    page.fill("#q", "")
    page.select_option("#kind", "package")
    page.select_option("#tier", "3")
    assert page.locator("#package-list .card h3").all_inner_texts() == [
        "Sensitive characteristics",
        "Earnings",
        "Out-of-work benefits",
    ]
    assert page.is_hidden("#datasets") and page.is_hidden("#variables")

    page.select_option("#kind", "all")
    page.select_option("#tier", "")
    page.fill("#q", "zzzz nothing")
    page.wait_for_selector("#status:has-text('No results')")
    check_keyboard(page)
    page.fill("#q", "")
    page.click("#tiers summary")
    check_contrast(page)

    narrow = tabs(390)
    page = narrow.goto("/catalogue?q=region")
    page.wait_for_selector("#status:has-text('matching')")
    assert page.input_value("#q") == "region"
    no_horizontal_scroll(page)
    shot(page, artifacts, "catalogue-search-region-390.png")


# -- the register -------------------------------------------------------------------------


@pytest.mark.browser
def test_register_and_its_csv(tabs: Any, site: LiveServer, pages_env: Env, artifacts: Path) -> None:
    with httpx.Client(base_url=site.url) as http:
        # One answered and one refused query for p-policy this month, so the counts show.
        refused = (  # benefits are not in the project's packages: FORBIDDEN
            '{ project(id: "p-policy") { table(cohort: {type: KS4, cohort: "2014/15"}, '
            'measures: ["out_of_work_benefit_rate"]) { release } } }'
        )
        for q in ('{ project(id: "p-policy") { id } }', refused):
            http.post(
                "/graphql",
                json={"query": q},
                headers={"Authorization": f"Bearer {pages_env.tokens['policy']}"},
            )
        tab = tabs(1280)
        page = tab.goto("/register")
        page.wait_for_selector("#status:has-text('approved projects')")
        api = http.post(
            "/graphql",
            json={"query": "{ register { id queriesPerMonth { month answered refused } } }"},
        ).json()
    assert page.inner_text("#status") == "3 approved projects: 2 active, 1 expired."
    articles = page.locator("#register article")
    assert articles.count() == 3
    first = articles.first.inner_text()
    for text in (
        "Post-16 routes and early-career outcomes",
        "Department for Education, Policy Analysis",
        "for 16-19 funding policy",
        "UK GDPR Article 6(1)(e) public task",
        "1 January 2024",
        "31 December 2099",
        "Earnings",
        "Tier 3 - sensitive",
        "Core cohort counts",  # always included
        "Early-career outcomes: first findings",
    ):
        assert text in first, text
    # The page shows the API's monthly counts, and members are never shown.
    months = {e["id"]: e["queriesPerMonth"] for e in api["data"]["register"]}
    this_month = datetime.now(UTC).strftime("%Y-%m")
    policy = {m["month"]: m for m in months["p-policy"]}[this_month]
    assert policy["answered"] >= 1 and policy["refused"] >= 1
    shown = articles.first.locator("table.months tbody tr").last.inner_text().split("\t")
    assert [s.strip() for s in shown[1:]] == [str(policy["answered"]), str(policy["refused"])]
    assert "policy.user" not in page.content()
    # Text from the API is shown as text, never parsed as HTML.
    assert "Finished work. <img src=x onerror=alert(1)>" in articles.nth(2).inner_text()
    assert page.locator("#register img").count() == 0
    for i, ms in enumerate(months.values()):
        text = articles.nth(i).inner_text()
        assert ("None recorded yet." in text) == (not ms)
        assert articles.nth(i).locator("table.months tbody tr").count() == len(ms)

    with page.expect_download() as info:
        page.click("#download-projects")
    projects = read_download(info.value)
    assert projects[0][:6] == [
        "project_id",
        "title",
        "organisation",
        "purpose",
        "lawful_basis",
        "status",
    ]
    assert [r[0] for r in projects[1:]] == ["p-policy", "p-benefits", "p-ended"]
    shown_dates = (
        page.locator("#register article")
        .first.locator("time")
        .evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    )
    assert projects[1][6:9] == shown_dates[:3] == ["2024-01-01", "2099-12-31", "2099-12-31"]
    assert projects[1][5] == "Active" and projects[3][5] == "Expired"
    assert "Earnings (Tier 3 - sensitive)" in projects[1][9]
    with page.expect_download() as info:
        page.click("#download-months")
    counts = read_download(info.value)
    assert counts[0] == ["project_id", "month", "answered", "refused"]
    expected = [[pid, m["month"], str(m["answered"]), str(m["refused"])]
                for pid, ms in months.items() for m in ms]  # fmt: skip
    assert counts[1:] == expected
    shot(page, artifacts, "register-1280.png")
    check_keyboard(page)
    check_contrast(page)

    narrow = tabs(390)
    page = narrow.goto("/register")
    page.wait_for_selector("#status:has-text('approved projects')")
    no_horizontal_scroll(page)
    shot(page, artifacts, "register-390.png")
