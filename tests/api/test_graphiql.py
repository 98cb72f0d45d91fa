"""GraphiQL works offline: every asset the page names is served by the app itself, and
the vendored files are the ones VENDOR.md records."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from api.graphiql import STATIC_DIR
from tests.api.conftest import Client


def test_page_loads_only_local_assets(client: Client) -> None:
    r = client.http.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert len(refs) == 5  # css + react + react-dom + graphiql + init
    for ref in refs:
        assert ref.startswith("/static/"), ref  # no CDN, no other host
        asset = client.http.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 1000 or ref.endswith("init.js")
    assert "<script>" not in r.text  # no inline script (CSP forbids it)


def test_vendored_files_match_their_record() -> None:
    record = (STATIC_DIR / "graphiql" / "VENDOR.md").read_text()
    sums = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", record, re.M)
    )
    assert set(sums) == {
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    }
    for name, digest in sums.items():
        data = (STATIC_DIR / "graphiql" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
    for lic in ("LICENSE-graphiql", "LICENSE-react", "LICENSE-react-dom"):
        assert "MIT License" in (STATIC_DIR / "graphiql" / lic).read_text()


@pytest.mark.browser
def test_graphiql_runs_offline_in_a_browser(client: Client, tmp_path: Path) -> None:
    """Chromium loads GraphiQL, runs the default query, and asks no host but ours."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "the browser tests need Debian's chromium (scripts/test.sh installs it)"
    base = str(client.http.base_url).rstrip("/")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        hosts: set[str] = set()
        page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
        failures: list[str] = []
        page.on("pageerror", lambda e: failures.append(str(e)))
        page.goto(base + "/graphql")
        page.wait_for_selector(".graphiql-container", timeout=20_000)
        page.click(".graphiql-execute-button")
        page.wait_for_selector(".result-window :text('catalogue')", timeout=20_000)
        page.screenshot(path=str(tmp_path / "graphiql.png"))
        browser.close()
    assert hosts == {base.split("/")[2]}
    assert failures == []
