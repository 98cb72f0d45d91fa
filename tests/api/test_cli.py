"""The `leo access`, `leo serve` and `leo audit` commands, as a user runs them."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.releases import small_release_cells, write_release
from tests.conftest import REPO, leo_env, run_leo


@pytest.mark.slow
def test_access_commands(tmp_path: Path) -> None:
    data = str(tmp_path)
    proc = run_leo(
        "access",
        "add-analyst",
        "a.patel",
        "--name",
        "Asha Patel",
        "--organisation",
        "IFS",
        "--accredited-until",
        "2099-01-31",
        "--data",
        data,
    )
    assert proc.returncode == 0 and "added analyst a.patel" in proc.stdout
    proc = run_leo(
        "access", "issue-token", "a.patel", "--days", "7", "--label", "laptop", "--data", data
    )
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip()
    assert token.startswith("leo_pat_") and "shown only once" in proc.stderr
    token_id = token.split("_")[2]
    listing = run_leo("access", "list", "--data", data, check=True).stdout
    assert "a.patel" in listing and token_id in listing and "valid" in listing
    assert token not in listing and token.rsplit("_", 1)[1] not in listing
    assert run_leo("access", "revoke-token", token_id, "--data", data).returncode == 0
    assert "revoked" in run_leo("access", "list", "--data", data, check=True).stdout
    again = run_leo("access", "revoke-token", token_id, "--data", data)
    assert again.returncode == 2 and "already revoked" in again.stderr
    bad = run_leo("access", "issue-token", "nobody", "--data", data)
    assert bad.returncode == 2 and "no analyst 'nobody'" in bad.stderr
    bad = run_leo(
        "access",
        "add-analyst",
        "x.y",
        "--name",
        "X",
        "--organisation",
        "O",
        "--accredited-until",
        "31/01/2099",
        "--data",
        data,
    )
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_serve_without_release_fails_clearly(tmp_path: Path) -> None:
    run_leo(
        "access",
        "add-analyst",
        "a.b",
        "--name",
        "A",
        "--organisation",
        "O",
        "--accredited-until",
        "2099-01-01",
        "--data",
        str(tmp_path),
        check=True,
    )
    proc = run_leo("serve", "--data", str(tmp_path), timeout=60)
    assert proc.returncode == 2
    assert "no release is published yet" in proc.stderr


@pytest.mark.slow
def test_serve_answers_over_http(tmp_path: Path) -> None:
    data = str(tmp_path)
    write_release(tmp_path, "r1", small_release_cells())
    run_leo(
        "access",
        "add-analyst",
        "demo.analyst",
        "--name",
        "Demo",
        "--organisation",
        "DfE",
        "--accredited-until",
        "2099-01-01",
        "--data",
        data,
        check=True,
    )
    token = run_leo(
        "access", "issue-token", "demo.analyst", "--data", data, check=True
    ).stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "leo", "serve", "--data", data, "--port", str(port)],
        cwd=REPO,
        env=leo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        # conf/projects.yaml (the packaged default) makes demo.analyst a member of this one
        query = """{ me { id projects { id } } project(id: "dfe-2024-017") {
          outcomeSummary(cohort: {type: KS4, cohort: "2014/15"}, by: "region") {
            release suppressedCells } } }"""
        r = httpx.post(
            f"{url}/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        body = r.json()
        assert "errors" not in body, body
        assert body["data"]["project"]["outcomeSummary"]["release"] == "r1"
        assert body["data"]["project"]["outcomeSummary"]["suppressedCells"] == 2
    finally:
        server.terminate()
        server.wait(timeout=30)
    proc = run_leo("audit", "verify", "--data", data)
    assert proc.returncode == 0 and "1 row(s)" in proc.stdout
    export = run_leo("audit", "export", "--data", data, check=True).stdout
    assert export.splitlines()[1].startswith("dfe-2024-017,")
