"""GraphiQL works offline: every asset the page names is served by the app itself, and
the vendored files are the ones VENDOR.md records."""

from __future__ import annotations

import hashlib
import re

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
