#!/usr/bin/env bash
# Install Label Studio (the server, for the integration tests and the bench) into its own
# virtual environment in a cache folder outside the checkout. Done once per machine
# (about 1 GB, a few minutes); later runs only check it and print its path.
#
#   bash scripts/install_label_studio.sh        # prints the label-studio executable
#
# LABELCHECK_CACHE (default ~/.cache/labelcheck) sets the cache folder. The product
# itself depends only on label-studio-sdk; this server never goes into .venv.
set -euo pipefail
LS_VERSION=${LABEL_STUDIO_VERSION:-1.23.2}
CACHE=${LABELCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/labelcheck}
VENV="$CACHE/label-studio-$LS_VERSION"
PYTHON=${PYTHON:-python3}
EXE="$VENV/bin/label-studio"
if [ -x "$EXE" ] && [ -f "$VENV/.installed" ]; then
  echo "$EXE"
  exit 0
fi
mkdir -p "$CACHE"
echo "install_label_studio.sh: installing label-studio==$LS_VERSION into $VENV (once per machine)" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
"$VENV/bin/python" -m pip install --quiet "label-studio==$LS_VERSION" >&2
# (not `label-studio --version`: it waits on the network for the latest release)
"$VENV/bin/python" -c "import label_studio" >&2
touch "$VENV/.installed"
echo "$EXE"
