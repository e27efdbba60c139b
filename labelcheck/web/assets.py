"""Assets served by the app itself (nothing from a CDN): plotly.js from the installed
``plotly`` package; Pico CSS, sortable tables and our own CSS/JS are in ``web/static``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, send_file

from labelcheck.web.access import public

blueprint = Blueprint("assets", __name__)


@lru_cache(maxsize=1)
def plotly_js() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed; it ships the plotly.min.js the pages use")
    return Path(list(spec.submodule_search_locations)[0]) / "package_data" / "plotly.min.js"


@blueprint.route("/assets/plotly.min.js")
@public
def plotly() -> Any:
    return send_file(plotly_js(), mimetype="text/javascript", max_age=86400)
