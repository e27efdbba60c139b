#!/usr/bin/env bash
# Install labelcheck into ./.venv, load the bundled demo project into ./instance (SQLite)
# and start the web app with its background worker. Prints the URL and the demo sign-in;
# Ctrl-C stops it. Safe to run again: nothing is imported twice.
# Usage: bash scripts/demo.sh [labelcheck serve options, e.g. --port 8080]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "demo.sh: labelcheck needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv || {
    echo "demo.sh: could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  }
fi
# Install (again) only when pyproject.toml changed since the last install.
stamp=.venv/.labelcheck-demo-installed
if [ ! -x .venv/bin/labelcheck ] || ! cmp -s pyproject.toml "$stamp"; then
  echo "demo.sh: installing labelcheck into .venv (a minute or two the first time)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e .
  cp pyproject.toml "$stamp"
fi
.venv/bin/labelcheck demo --instance instance
exec .venv/bin/labelcheck serve --instance instance "$@"
