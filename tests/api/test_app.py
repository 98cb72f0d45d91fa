"""The separation principle, tested: the API process never imports Spark and opens nothing
under the data root but the release it serves, CURRENT and the access databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, leo_env

PROBE = r"""
import json, os, sys
from pathlib import Path

from tests.api.conftest import TABLE_QUERY, Client, make_env, serve
from tests.api.releases import set_current, small_release_cells, write_release

env = make_env(Path(sys.argv[1]))
write_release(env.root, "r2", small_release_cells(1000.0), make_current=False)
for zone in ("raw/ks4", "linked/run1", "work/run1", "truth/records"):
    (env.root / zone).mkdir(parents=True)
    (env.root / zone / "decoy.parquet").write_bytes(b"not for the API")
root = str(env.root)
opened = []
recording = [True]  # off while the test itself switches CURRENT

def hook(event, args):
    if not recording[0]:
        return
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.fsdecode(args[0]))
    elif event == "sqlite3.connect":
        opened.append(os.fsdecode(args[0]))
    elif event in ("os.listdir", "os.scandir") and args and args[0] is not None:
        opened.append(os.fsdecode(args[0]))

sys.addaudithook(hook)
import time
with serve(env, release_poll_seconds=0.05) as s:
    c = Client(s.url)
    v = {"cohort": {"type": "KS4", "cohort": "2014/15"}, "measures": ["earnings_median"],
         "by": ["region"]}
    assert "errors" not in c.gql(TABLE_QUERY, v, token=env.tokens["alice"])
    assert "errors" not in c.gql("{ register { id queriesPerMonth { month } } me { id } }",
                                 token=env.tokens["alice"])
    recording[0] = False
    set_current(env.root, "r2")
    recording[0] = True
    time.sleep(0.5)
    assert c.http.get("/healthz").json()["release"] == "r2"
    assert "errors" not in c.gql(TABLE_QUERY, v, token=env.tokens["alice"])
    assert c.http.get("/graphql", headers={"accept": "text/html"}).status_code == 200
prefix = root.rstrip("/") + "/"
under = sorted({p for p in opened if p.startswith(prefix) or p.startswith("file:" + prefix)})
print(json.dumps({"under_root": [p.replace("file:", "").split("?")[0][len(prefix):]
                                 for p in under],
                  "pyspark": any(m.split(".")[0] == "pyspark" for m in sys.modules)}))
"""


@pytest.mark.slow
def test_api_opens_only_its_release_and_access_dbs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        env=leo_env(),
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["pyspark"] is False
    touched = report["under_root"]
    assert any(p.startswith("published/r1/cells") for p in touched)
    assert any(p.startswith("published/r2/cells") for p in touched)
    assert "access/access.db" in touched and "access/audit.db" in touched
    allowed = ("published/CURRENT", "published/r1/", "published/r2/", "access/")
    assert [p for p in touched if not p.startswith(allowed)] == []


def test_importing_the_api_does_not_import_spark() -> None:
    code = (
        "import sys, api.app, api.cli, api.endpoint, api.schema, leo.cli\n"
        "leo.cli.build_parser()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=leo_env(),
        cwd=REPO,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "[]"
