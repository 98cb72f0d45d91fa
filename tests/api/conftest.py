"""Fixtures for the API tests: a data root with a hand-written release, an access database
with analysts and tokens in every state, test projects, and the real app served by uvicorn
on 127.0.0.1 (in a thread), driven over HTTP with httpx."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.access import AccessDB
from api.app import create_app
from api.cli import uvicorn_options
from api.settings import ApiSettings
from tests.api.releases import small_release_cells, write_release

PROJECTS_YAML = """
projects:
  - id: p-active
    title: Active project
    organisation: University of Testing
    purpose: Earnings by region.
    lawful_basis: public task
    approved: 2024-01-01
    expires: 2099-12-31
    retain_until: 2099-12-31
    packages: [demographics, employment, earnings]
    members: [alice, old.analyst]
    outputs:
      - {title: First report, published: 2025-01-15, url: "https://example.org/r1"}
  - id: p-other
    title: Another project
    organisation: Another Org
    purpose: Benefits by FSM.
    lawful_basis: public task
    approved: 2024-01-01
    expires: 2099-12-31
    retain_until: 2099-12-31
    packages: [demographics, sensitive, benefits, higher_education]
    members: [bob]
  - id: p-expired
    title: Expired project
    organisation: University of Testing
    purpose: Finished work.
    lawful_basis: public task
    approved: 2019-01-01
    expires: 2020-12-31
    retain_until: 2021-12-31
    packages: [demographics]
    members: [alice]
"""

TABLE_QUERY = """
query T($cohort: CohortInput!, $measures: [String!]!, $by: [String!], $where: [FilterInput!]) {
  project(id: "p-active") {
    table(cohort: $cohort, measures: $measures, by: $by, where: $where) {
      release suppressedCells notes
      rows { yearsAfter group { dimension value label } cells { measure value status flag reason } }
    }
  }
}
"""


@dataclass
class Env:
    root: Path
    conf: Path
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, str] = field(default_factory=dict)


def make_env(base: Path) -> Env:
    root, conf = base / "data", base / "conf"
    conf.mkdir(parents=True)
    (conf / "projects.yaml").write_text(PROJECTS_YAML)
    write_release(root, "r1", small_release_cells())
    env = Env(root, conf)
    db = AccessDB(root / "access" / "access.db")
    db.add_analyst("alice", "Alice Analyst", "University of Testing", date(2099, 12, 31))
    db.add_analyst("bob", "Bob Analyst", "Another Org", date(2099, 12, 31))
    db.add_analyst("old.analyst", "Old Analyst", "University of Testing", date(2020, 1, 1))
    for name, analyst in (("alice", "alice"), ("bob", "bob"), ("old", "old.analyst")):
        env.token_ids[name], env.tokens[name] = db.issue_token(analyst, days=30)
    env.token_ids["expired"], env.tokens["expired"] = db.issue_token(
        "alice", days=1, now=datetime(2021, 1, 1, tzinfo=UTC)
    )
    env.token_ids["revoked"], env.tokens["revoked"] = db.issue_token("alice", days=30)
    db.revoke_token(env.token_ids["revoked"])
    db.close()
    return env


class LiveServer:
    """The app under uvicorn on 127.0.0.1, on a port the OS picks, in a thread."""

    def __init__(self, app: Any, forwarded_allow_ips: str | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        options = uvicorn_options(forwarded_allow_ips)  # as `leo serve` runs it
        config = uvicorn.Config(app, log_level="warning", lifespan="on", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@contextmanager
def serve(
    env: Env, forwarded_allow_ips: str | None = None, **settings: Any
) -> Iterator[LiveServer]:
    app = create_app(str(env.root), conf_dir=env.conf, settings=ApiSettings(**settings))
    with LiveServer(app, forwarded_allow_ips) as server:
        yield server


class Client:
    """POSTs GraphQL over real HTTP."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body: dict[str, Any] = {"query": query, **extra}
        if variables is not None:
            body["variables"] = variables
        return self.http.post("/graphql", json=body, headers=headers)

    def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return self.post(query, variables, token, **extra).json()  # type: ignore[no-any-return]


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    return make_env(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def server(env: Env) -> Iterator[LiveServer]:
    # Rate limits are tested on their own server (test_ratelimit.py); here they would only
    # make the suite depend on how many requests its tests happen to send.
    roomy = {"requests_per_minute": 100_000, "anonymous_requests_per_minute": 100_000}
    with serve(env, release_poll_seconds=0.1, rate_limits=roomy) as s:
        yield s


@pytest.fixture()
def client(server: LiveServer) -> Iterator[Client]:
    c = Client(server.url)
    yield c
    c.http.close()
