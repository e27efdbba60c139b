"""One error shape: JSON ``{"ok": false, "error": ..., "problems": [...]}`` for API
routes (``/api/`` or a JSON request) and one HTML page for the rest."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from labelcheck.errors import InvalidInput, LabelcheckError


def error_payload(message: str, problems: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"ok": False, "error": message, "problems": problems or []}


def _wants_json() -> bool:
    return request.path.endswith(".json") or "/api/" in request.path or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return _render(400, "The form expired or was not sent from this site; reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        messages = {403: "Your role may not open this page.", 404: "Not found."}
        return _render(error.code or 500, messages.get(error.code or 500, error.description or error.name))

    @app.errorhandler(LabelcheckError)
    def labelcheck_error(error: LabelcheckError) -> Any:
        problems = [p.to_dict() for p in error.problems] if isinstance(error, InvalidInput) else []
        return _render(400, str(error).splitlines()[0], problems)


def _render(status: int, message: str, problems: list[dict[str, Any]] | None = None) -> Any:
    if _wants_json():
        return jsonify(error_payload(message, problems)), status
    return render_template("error.html", status=status, message=message, problems=problems or []), status
