"""Item browser and item page (being written)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("items", __name__)
