"""Hotspots: "what to fix first" (every hotspot kind of a field in one ranked table),
each hotspot's drill-down with a plot and its example items, and for confused label pairs
a guideline suggestion the lead accepts into the draft or dismisses with a reason.

Everything is read from the analysis stored for the project's current snapshot
(:mod:`labelcheck.analysis.hotspots`); the suggestion text is written at request time
against the guideline in force (:mod:`labelcheck.guidelines.suggestions`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from labelcheck.errors import LabelcheckError
from labelcheck.guidelines.suggestions import suggest_for_pair, suggestion_reference
from labelcheck.rendering import render_markdown
from labelcheck.storage import guidelines as store
from labelcheck.storage.database import Database
from labelcheck.storage.models import Result
from labelcheck.storage.results import load_result
from labelcheck.web.access import STAFF, roles_required
from labelcheck.web.projects import ActionForm, get_project

blueprint = Blueprint("hotspots", __name__)

KIND_NAMES = {"label_pair": "Label pair", "annotator": "Annotator", "annotator_bias": "Annotator bias",
              "slice": "Slice", "period": "Period", "item": "Item"}
#: What each column of "what to fix first" means (shown on the page).
COLUMNS = [
    ("Share", "the part of the field's answers (pairable items for slices and periods) the hotspot covers."),
    ("Agreement", "Krippendorff's alpha inside the hotspot (for a label pair: alpha of the two labels "
                  "against each other), with its confidence interval."),
    ("Gap", "the project's target minus that agreement: how far the hotspot is from good enough."),
    ("Gain", "how much the field's overall alpha would rise if this hotspot reached the target: "
             "the ranking key, discounted when the evidence is weak."),
    ("q", "the Benjamini-Hochberg adjusted p-value of the hotspot's test; significant when below the "
          "false discovery rate."),
]


def _db() -> Database:
    from labelcheck.web import database

    return database()


def key_text(kind: str, key: Any) -> str:
    if kind == "label_pair":
        return " ↔ ".join(map(str, key))
    if kind == "slice" and isinstance(key, dict):
        return f"{key.get('column')} = {key.get('value')}"
    if kind == "period":
        return f"from {key}"
    return str(key)


def _reports(project_id: int, snapshot: int) -> dict[str, dict[str, Any]]:
    with _db().session() as session:
        keys = list(session.execute(select(Result.key).where(
            Result.project_id == project_id, Result.snapshot == snapshot, Result.kind == "hotspots")).scalars())
    return {k: load_result(_db(), project_id, snapshot, "hotspots", k) for k in keys}


def _field(project_id: int) -> tuple[Any, dict[str, dict[str, Any]], str | None]:
    project = get_project(project_id)
    reports = _reports(project_id, project.snapshot) if project.snapshot else {}
    names = sorted(reports)
    name = request.args.get("field") or (names[0] if names else None)
    if name is not None and name not in reports:
        abort(404)
    return project, reports, name


def _suggestion(project_id: int, report: dict[str, Any], hotspot: dict[str, Any], field: str) -> Any:
    if hotspot["kind"] != "label_pair":
        return None
    reference = suggestion_reference(field, hotspot["key"])
    evidence = (report.get("pairs") or {}).get(reference)
    if evidence is None:
        return None
    versions = store.versions(_db(), project_id)
    return suggest_for_pair(evidence, field, versions[-1].body if versions else None)


@blueprint.route("/projects/<int:project_id>/hotspots")
@roles_required(*STAFF)
def ranked(project_id: int) -> Any:
    project, reports, name = _field(project_id)
    report = reports.get(name) if name else None
    decisions = store.suggestion_decisions(_db(), project_id)
    rows = []
    limit = None if request.args.get("all") else 40
    for rank, hotspot in enumerate((report or {}).get("hotspots", []), 1):
        reference = suggestion_reference(name, hotspot["key"]) if hotspot["kind"] == "label_pair" else None
        has_suggestion = reference is not None and reference in (report.get("pairs") or {})  # type: ignore[union-attr]
        rows.append({"rank": rank, "h": hotspot, "kind": KIND_NAMES.get(hotspot["kind"], hotspot["kind"]),
                     "key": key_text(hotspot["kind"], hotspot["key"]), "suggestion": has_suggestion,
                     "decision": (decisions.get(reference) or [None])[0] if reference else None})
    shown = rows if limit is None else rows[:limit]
    return render_template("hotspots/ranked.html", project=project, fields=sorted(reports), field=name,
                           report=report, rows=shown, n_rows=len(rows), columns=COLUMNS)


@blueprint.route("/projects/<int:project_id>/hotspots/<int:rank>")
@roles_required(*STAFF)
def detail(project_id: int, rank: int) -> Any:
    project, reports, name = _field(project_id)
    report = reports.get(name) if name else None
    hotspots = (report or {}).get("hotspots", [])
    if not 1 <= rank <= len(hotspots):
        abort(404)
    hotspot = hotspots[rank - 1]
    suggestion = _suggestion(project_id, report, hotspot, name)  # type: ignore[arg-type]
    decisions = store.suggestion_decisions(_db(), project_id).get(suggestion.reference, []) if suggestion else []
    plot = {"agreement": hotspot.get("agreement"), "ci": hotspot.get("ci"),
            "overall": (report or {}).get("overall", {}).get("agreement"),
            "target": (report or {}).get("target"), "label": key_text(hotspot["kind"], hotspot["key"]),
            "rest": (hotspot.get("evidence") or {}).get("rest_agreement")}
    return render_template(
        "hotspots/detail.html", project=project, field=name, rank=rank, h=hotspot, report=report,
        kind=KIND_NAMES.get(hotspot["kind"], hotspot["kind"]), key=key_text(hotspot["kind"], hotspot["key"]),
        suggestion=suggestion, passages=[render_markdown(p) for p in suggestion.passages] if suggestion else [],
        proposal_html=render_markdown(suggestion.proposal) if suggestion else None, decisions=decisions,
        plot=plot, action_form=ActionForm())


@blueprint.route("/projects/<int:project_id>/hotspots/<int:rank>/decide", methods=["POST"])
@roles_required("lead")
def decide(project_id: int, rank: int) -> Any:
    """Accept the hotspot's suggestion into the guideline draft, or dismiss it with a
    reason; both are recorded."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    project, reports, name = _field(project_id)
    report = reports.get(name) if name else None
    hotspots = (report or {}).get("hotspots", [])
    if not 1 <= rank <= len(hotspots):
        abort(404)
    suggestion = _suggestion(project_id, report, hotspots[rank - 1], name)  # type: ignore[arg-type]
    if suggestion is None:
        abort(404)
    action = request.form.get("action")
    reason = request.form.get("reason", "")
    db = _db()
    try:
        if action == "accept":
            text = request.form.get("proposal") or suggestion.proposal
            store.accept_into_draft(db, project_id, current_user.id, reference=suggestion.reference, text=text,
                                    labels=list(suggestion.labels), example_task_ids=suggestion.example_item_ids)
            store.decide_suggestion(db, project_id, suggestion.reference, "accepted", reason, current_user.id,
                                    project.snapshot)
            flash("Added to the guideline draft: complete the blanks, then publish it.", "success")
            return redirect(url_for("guidelines.edit", project_id=project_id))
        if action == "dismiss":
            store.decide_suggestion(db, project_id, suggestion.reference, "dismissed", reason, current_user.id,
                                    project.snapshot)
            flash("Suggestion dismissed.", "success")
        else:
            abort(400)
    except LabelcheckError as err:
        flash(str(err), "error")
    return redirect(url_for("hotspots.detail", project_id=project_id, rank=rank, field=name))
