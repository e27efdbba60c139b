#!/usr/bin/env bash
# Install everything into ./.venv and run the whole test suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
# irrCAC (a test-only reference implementation) pins scipy==1.12.0, which would drag
# numpy back to 1.x (and pyarrow with it); its code runs on current scipy/numpy, so it
# is installed without its pins.
.venv/bin/python -m pip install --quiet --no-deps 'irrCAC==0.4.4'
# crowd-kit (test-only reference for the consensus models) would pull in transformers and
# friends, which its aggregation code never imports: installed without them ([test] has
# what crowdkit.aggregation needs).
.venv/bin/python -m pip install --quiet --no-deps 'crowd-kit==1.4.2'

# System packages for the real-server tests. Without them those tests are skipped
# locally and fail under CI=true (tests/support/__init__.py).
# Browser tests: Debian's chromium, driven by Playwright (never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing chromium for the browser tests (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
      || echo "test.sh: could not install chromium; browser tests will not run" >&2
  else
    echo "test.sh: /usr/bin/chromium is missing, browser tests will not run; install it" \
         "with: sudo apt-get install -y --no-install-recommends chromium" >&2
  fi
fi
# PostgreSQL tests: initdb/pg_ctl 15 (tests/support/postgres.py also looks in these
# directories); as root the cluster runs as the `postgres` system user.
pg_path="$PATH:/usr/local/bin:/usr/lib/postgresql/15/bin"
if ! PATH="$pg_path" command -v initdb >/dev/null || ! PATH="$pg_path" command -v pg_ctl >/dev/null; then
  echo "test.sh: PostgreSQL 15 binaries (initdb, pg_ctl) not found, PostgreSQL tests will" \
       "not run; install postgresql-15 and put /usr/lib/postgresql/15/bin on PATH" >&2
elif [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "test.sh: running as root without a 'postgres' system user to run PostgreSQL as;" \
       "PostgreSQL tests will not run" >&2
fi
# Label Studio integration tests: the server in its own virtualenv in a cache folder
# outside the checkout (once per machine, ~1 GB, a few minutes); tests/conftest.py starts
# it per session on a free loopback port.
if ! bash scripts/install_label_studio.sh >/dev/null; then
  echo "test.sh: could not install Label Studio; its integration tests will not run" >&2
fi
exec .venv/bin/python -m pytest "$@"
