"""Annotator pages: per field, each annotator's reliability from the consensus model
(Dawid-Skene's expected accuracy and confusion matrix) beside the agreement figures of
the overview (agreement with peers, alpha without them) and the annotator's hotspots.

Read from the results stored for the current snapshot (``consensus``, ``overview`` and
``hotspots``; :mod:`labelcheck.analysis`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from labelcheck.storage.database import Database
from labelcheck.storage.models import Result
from labelcheck.storage.results import load_result
from labelcheck.web.access import STAFF, roles_required
from labelcheck.web.hotspots import KIND_NAMES
from labelcheck.web.projects import get_project

blueprint = Blueprint("annotators", __name__)

RELIABILITY_NAMES = {
    "expected_accuracy": "expected accuracy (Dawid-Skene: sum over true classes of prior x the "
                         "probability of answering that class correctly)",
    "competence": "competence (MACE: probability of answering from knowledge, not spamming)",
    "agreement_with_consensus": "agreement with the majority label",
}


def _db() -> Database:
    from labelcheck.web import database

    return database()


def _consensus_fields(project_id: int, snapshot: int) -> list[str]:
    with _db().session() as session:
        return sorted(session.execute(select(Result.key).where(
            Result.project_id == project_id, Result.snapshot == snapshot,
            Result.kind == "consensus")).scalars())


def _context(project_id: int) -> tuple[Any, list[str], str | None, dict[str, Any] | None]:
    project = get_project(project_id)
    names = _consensus_fields(project_id, project.snapshot) if project.snapshot else []
    field = request.args.get("field") or (names[0] if names else None)
    if field is not None and field not in names:
        abort(404)
    payload = load_result(_db(), project_id, project.snapshot, "consensus", field) if field else None
    return project, names, field, payload


def _overview_annotators(project_id: int, snapshot: int, field: str) -> dict[str, dict[str, Any]]:
    overview = load_result(_db(), project_id, snapshot, "overview") or {}
    spec = next((f for f in overview.get("fields", []) if f.get("name") == field), {})
    rows = spec.get("annotators")
    return {str(r["annotator"]): r for r in rows} if isinstance(rows, list) else {}


@blueprint.route("/projects/<int:project_id>/annotators")
@roles_required(*STAFF)
def index(project_id: int) -> Any:
    project, names, field, payload = _context(project_id)
    rows: list[dict[str, Any]] = []
    if payload and "annotators" in payload:
        peers = _overview_annotators(project_id, project.snapshot, field or "")
        for entry in payload["annotators"]:
            rows.append({**entry, "overview": peers.get(entry["annotator_id"], {})})
        rows.sort(key=lambda r: (r["reliability"] is None, r["reliability"] or 0.0))
    return render_template("annotators/index.html", project=project, fields=names, field=field,
                           payload=payload, rows=rows,
                           reliability_name=RELIABILITY_NAMES.get((payload or {}).get("reliability_name", ""), ""))


@blueprint.route("/projects/<int:project_id>/annotators/<path:annotator_id>")
@roles_required(*STAFF)
def detail(project_id: int, annotator_id: str) -> Any:
    project, names, field, payload = _context(project_id)
    if not payload or "annotators" not in payload:
        abort(404)
    entry = next((a for a in payload["annotators"] if a["annotator_id"] == annotator_id), None)
    if entry is None:
        abort(404)
    peers = _overview_annotators(project_id, project.snapshot, field or "").get(annotator_id, {})
    report = load_result(_db(), project_id, project.snapshot, "hotspots", field or "") or {}
    hotspots = [{"rank": rank, "kind": KIND_NAMES.get(h["kind"], h["kind"]), "h": h}
                for rank, h in enumerate(report.get("hotspots", []), 1)
                if h["kind"] in ("annotator", "annotator_bias") and str(h["key"]) == annotator_id]
    confusion = entry.get("confusion")
    categories = payload.get("categories") or []
    off_diagonal = []
    if confusion:
        for i, true in enumerate(categories):
            for j, given in enumerate(categories):
                if i != j and confusion[i][j] >= 0.05:
                    off_diagonal.append({"true": true, "given": given, "p": confusion[i][j]})
        off_diagonal.sort(key=lambda x: -x["p"])
    return render_template("annotators/detail.html", project=project, field=field, fields=names,
                           annotator=entry, peers=peers, categories=categories, confusion=confusion,
                           mistakes=off_diagonal, hotspots=hotspots, payload=payload,
                           reliability_name=RELIABILITY_NAMES.get(payload.get("reliability_name", ""), ""))


__all__ = ["blueprint"]
