#!/usr/bin/env bash
# The README's first command as written, from a clean copy of this checkout: a fresh virtual
# environment, a plain (non-editable) install, `leo demo --no-serve`; then the demo again
# (it must reuse the release), and the API it would serve asked with the printed token.
# Run by .ci/run after the test suite. Everything lives in one temporary folder, removed at
# the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/leo-demo-smoke.XXXXXX")
SERVER=""
cleanup() {
  [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== demo smoke: clean copy, python3 -m venv .venv && .venv/bin/pip install . && leo demo"
git ls-files -z | tar --null -T - -cf - | (mkdir -p "$WORK/clone" && tar -xf - -C "$WORK/clone")
cd "$WORK/clone"
"$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check .
export LEO_SPARK_LOCAL_DIR="$WORK/spark"
start=$(date +%s)
.venv/bin/leo demo --no-serve | tee "$WORK/demo.log"
echo "== first demo run: $(( $(date +%s) - start )) s"
test -f data/published/CURRENT || { echo "demo smoke: no published/CURRENT" >&2; exit 1; }

.venv/bin/leo demo --no-serve > "$WORK/demo2.log"
grep -q "reusing the demo release" "$WORK/demo2.log" \
  || { echo "demo smoke: the second run did not reuse the release" >&2; exit 1; }
TOKEN=$(grep -Eo 'leo_pat_[A-Za-z0-9_-]+' "$WORK/demo2.log" | head -1)
test -n "$TOKEN" || { echo "demo smoke: no token printed" >&2; exit 1; }

PORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/leo --conf data/demo-conf serve --data data --port "$PORT" > "$WORK/serve.log" 2>&1 &
SERVER=$!
# the demo's own example query, with the token the second run printed (the first's is revoked)
.venv/bin/python - "$PORT" "$TOKEN" <<'PY'
import sys
import time

import httpx

from leo.demo import EXAMPLE_QUERY

port, token = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/graphql"
for _ in range(100):
    try:
        httpx.get(f"http://127.0.0.1:{port}/catalogue", timeout=2)
        break
    except httpx.TransportError:
        time.sleep(0.2)
r = httpx.post(
    url, json={"query": EXAMPLE_QUERY}, headers={"Authorization": f"Bearer {token}"}, timeout=30
)
body = r.json()
assert r.status_code == 200 and "errors" not in body, body
rows = body["data"]["project"]["outcomeSummary"]["rows"]
cells = [c for row in rows for c in row["cells"]]
published = [c for c in cells if c["value"] is not None]
assert published, "the demo release published no cell of its example query"
print(f"demo smoke: the example query answered {len(cells)} cells, {len(published)} published")
PY
echo "== demo smoke passed"
