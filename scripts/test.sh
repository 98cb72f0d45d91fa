#!/usr/bin/env bash
# The whole test suite from a fresh clone: virtual environment, packages, Chromium for the
# browser tests, lint, then every test (fast ones first). Extra arguments go to pytest,
# e.g. `bash scripts/test.sh -m "not slow"` or `bash scripts/test.sh tests/leo`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${LEO_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
echo "== installing the project and its test dependencies"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Browser tests drive Debian's Chromium (Playwright's own browser download is not possible
# on a machine that reaches only package registries).
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Chromium (Debian package) for the browser tests"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "== lint (ruff)"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .

echo "== tests"
status=0
"$VENV/bin/python" -m pytest "$@" || status=$?

# The run's reliability table beside the rows the tests recorded (docs/reliability.md is
# rendered the same way, from a full run); a run that recorded no rows has none.
ARTIFACTS="${LEO_TEST_ARTIFACTS:-test-artifacts}"
if [ -f "$ARTIFACTS/reliability.json" ]; then
  if ! "$VENV/bin/python" scripts/reliability_table.py --input "$ARTIFACTS/reliability.json" \
    --out "$ARTIFACTS/reliability.md"; then
    [ "$status" -ne 0 ] || status=1
  fi
fi
exit $status
