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
exec .venv/bin/python -m pytest "$@"
