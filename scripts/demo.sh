#!/usr/bin/env bash
# Install labelcheck into ./.venv and analyse the bundled demo project
# (a Label Studio export of a 4-class sentiment project, 6 annotators).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
DEMO=labelcheck/demo/demo_export.json
LC=.venv/bin/labelcheck
echo "== Agreement on the demo project's sentiment field ($DEMO)"
"$LC" agreement "$DEMO" --field sentiment
echo
echo "== Per class"
"$LC" agreement "$DEMO" --field sentiment --metric fleiss_kappa --by class
echo
echo "== Per annotator (annotator vs the others, and leave-one-out)"
"$LC" agreement "$DEMO" --field sentiment --metric krippendorff_alpha --by annotator
echo
echo "== Per week"
"$LC" agreement "$DEMO" --field sentiment --metric krippendorff_alpha --by time:week
echo
echo "== Toxicity rating (interval alpha, intraclass correlation)"
"$LC" agreement "$DEMO" --field toxicity --level interval --metric krippendorff_alpha --metric icc_oneway
