"""The HTTP surface around /graphql: the static files cannot be left by a path, raw or
encoded, and what the server serves is only what it means to."""

from __future__ import annotations

import socket

from tests.api.conftest import LiveServer
from tests.reliability import Reliability

TRAVERSALS = [
    "/static/../app.py",
    "/static/..%2fapp.py",
    "/static/%2e%2e/app.py",
    "/static/%2e%2e%2fapp.py",
    "/static/graphiql/../../app.py",
    "/static/pages/%2e%2e/%2e%2e/app.py",
    "/static/pages/..%5c..%5capp.py",
    "/static//etc/passwd",
    "/static/%00",
    "/static/" + "a" * 5000,
]


def raw_get(server: LiveServer, path: str) -> bytes:
    """A GET sent as written (HTTP clients normalise `..` away before sending)."""
    host, port = server.url.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_static_files_cannot_be_left(server: LiveServer, reliability: Reliability) -> None:
    row = reliability.row(
        "attack",
        tried=f"{len(TRAVERSALS)} paths out of /static (.., encoded .., backslashes, NUL, "
        "absolute, 5,000 characters), sent raw",
        expected="404 for each; no file outside api/static served",
    )
    assert raw_get(server, "/static/graphiql-init.js").startswith(b"HTTP/1.1 200")
    statuses = []
    for path in TRAVERSALS:
        data = raw_get(server, path)
        status = data.split(b"\r\n", 1)[0].decode()
        statuses.append(status.split(" ", 2)[1])
        assert status.startswith("HTTP/1.1 404"), (path, status)
        assert b"create_app" not in data and b"root:" not in data
    row.observed = f"{statuses.count('404')} x 404 of {len(TRAVERSALS)}"
