"""Adjudication: the queue of items that most need a lead's decision, and the decision
itself (posted from the item page).

The queue reads ``item_stat`` of the current snapshot (the analysis stores each item's
Dawid-Skene label and posterior and its *need*, see :mod:`labelcheck.analysis.consensus`)
and leaves out the items already decided.  A decision is a new ``adjudication`` row
(:mod:`labelcheck.storage.adjudications`): the latest is in force and overrides every
model in exports, the earlier ones stay as history.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, exists, func, select
from wtforms import HiddenField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from labelcheck.analysis.items import label_string
from labelcheck.errors import LabelcheckError
from labelcheck.storage import adjudications as store
from labelcheck.storage.database import Database
from labelcheck.storage.models import Adjudication, Field, Item, ItemStat
from labelcheck.storage.results import load_result
from labelcheck.web.access import STAFF, roles_required
from labelcheck.web.projects import get_project

blueprint = Blueprint("adjudication", __name__)

QUEUE_PAGE = 50
#: Answer types whose final label is not one category: on the item page a lead marks
#: their items ambiguous or excluded; a final span set or box list comes from the
#: adjudication CSV of ``labelcheck export`` (its ``label`` column holds the JSON).
STRUCTURED_TYPES = ("multichoice", "span", "region", "text")
STATUS_CHOICES = [SelectChoice("label", "Final label"),
                  SelectChoice("ambiguous", "Ambiguous (no single right label)"),
                  SelectChoice("excluded", "Exclude from training data")]


class AdjudicationForm(FlaskForm):
    task_id = HiddenField(validators=[DataRequired()])
    field = HiddenField(validators=[DataRequired()])
    status = RadioField("Decision", choices=STATUS_CHOICES, default="label", validators=[DataRequired()])
    label = SelectField("Final label", choices=[], validate_choice=False)
    reason = TextAreaField("Reason", validators=[DataRequired(message="say briefly why"), Length(max=store.MAX_REASON)])


def _db() -> Database:
    from labelcheck.web import database

    return database()


def value_type_of(project_id: int, field: str) -> str:
    with _db().session() as session:
        found = session.execute(select(Field.value_type).where(
            Field.project_id == project_id, Field.name == field)).scalar_one_or_none()
    return found or "choice"


def field_categories(project_id: int, field: str, snapshot: int) -> list[Any]:
    """The field's categories: declared in the label config, else those the analysis
    found (the overview's class list)."""
    with _db().session() as session:
        declared = session.execute(select(Field.categories).where(
            Field.project_id == project_id, Field.name == field)).scalar_one_or_none()
    if declared:
        return list(declared)
    overview = load_result(_db(), project_id, snapshot, "overview") or {}
    spec = next((f for f in overview.get("fields", []) if f.get("name") == field), {})
    classes = spec.get("classes")
    return [c["class"] for c in classes] if isinstance(classes, list) else list(spec.get("categories") or [])


def decision_form(task_id: str, field: str, categories: list[Any]) -> AdjudicationForm:
    form = AdjudicationForm(task_id=task_id, field=field, prefix=f"adj-{field}")
    form.label.choices = [SelectChoice(label_string(c), label_string(c)) for c in categories]
    return form


@blueprint.route("/projects/<int:project_id>/adjudication/decide", methods=["POST"])
@roles_required("lead")
def decide(project_id: int) -> Any:
    project = get_project(project_id)
    field = request.form.get("field_name", "")
    form = decision_form("", field, field_categories(project_id, field, project.snapshot))
    back = request.form.get("next") or ""
    if not form.validate_on_submit():
        problems = "; ".join(f"{name}: {', '.join(errors)}" for name, errors in form.errors.items())
        flash(f"Not recorded: {problems}", "error")
    else:
        categories = field_categories(project_id, field, project.snapshot)
        label: Any = None
        if form.status.data == "label" and value_type_of(project_id, field) in STRUCTURED_TYPES:
            flash(f"Not recorded: {field} holds {value_type_of(project_id, field)} answers; mark the item "
                  "ambiguous or excluded here (a final label of this type comes from an adjudication file)",
                  "error")
            return redirect(_back(project_id, form.task_id.data, back))
        if form.status.data == "label":
            by_text = {label_string(c): c for c in categories}
            if form.label.data not in by_text:
                flash(f'Not recorded: "{form.label.data}" is not a label of {field}', "error")
                return redirect(_back(project_id, form.task_id.data, back))
            label = by_text[form.label.data]
            if isinstance(label, float) and label.is_integer():
                label = int(label)
        try:
            store.record_decision(_db(), project_id, field, form.task_id.data, status=form.status.data,
                                  label=label, reason=form.reason.data, user_id=current_user.id)
        except LabelcheckError as error:
            flash(f"Not recorded: {error}", "error")
        else:
            shown = label_string(label) if label is not None else form.status.data
            flash(f"Recorded for item {form.task_id.data}, {field}: {shown}.", "success")
    return redirect(_back(project_id, form.task_id.data, back))


@blueprint.route("/projects/<int:project_id>/adjudication/<int:adjudication_id>/labelstudio", methods=["POST"])
@roles_required("lead")
def push(project_id: int, adjudication_id: int) -> Any:
    """Create the decision's label as the lead's annotation in Label Studio (one request;
    a decision is pushed at most once)."""
    from flask import current_app

    from labelcheck.labelstudio.push import push_adjudication
    from labelcheck.pipeline import labelstudio_connection
    from labelcheck.web.projects import ActionForm

    get_project(project_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    db = _db()
    with db.session() as session:
        decision = session.get(Adjudication, adjudication_id)
        if decision is None or decision.project_id != project_id:
            abort(404)
        task_id, field, status = decision.task_id, decision.field, decision.status
        label = None if decision.label is None else json.loads(decision.label)
        pushed = decision.labelstudio_annotation_id
        spec = session.execute(select(Field.to_name, Field.value_type).where(
            Field.project_id == project_id, Field.name == field)).first()
        source_id = labelstudio_source(project_id)
    back = _back(project_id, task_id, request.form.get("next") or "")
    problem = None
    if pushed:
        problem = f"already in Label Studio as annotation {pushed}"
    elif status != "label":
        problem = f"an item marked {status} has no label to push"
    elif source_id is None:
        problem = "this project has no Label Studio connection"
    elif not task_id.isdigit():
        problem = f"task id {task_id!r} is not a Label Studio task id"
    elif spec is None or not spec.to_name:
        problem = f"the label config does not say which object {field} labels (toName)"
    if problem:
        flash(f"Not pushed: {problem}.", "error")
        return redirect(back)
    try:
        connection = labelstudio_connection(db, source_id, str(current_app.config["SECRET_KEY"]))  # type: ignore[arg-type]
        outcome = push_adjudication(connection, adjudication_id=adjudication_id, task_id=int(task_id),
                                    from_name=field, to_name=spec.to_name, value_type=spec.value_type,  # type: ignore[union-attr]
                                    label=label, lead_email=current_user.email)
    except (LabelcheckError, ValueError) as error:
        flash(f"Not pushed: {error}", "error")
        return redirect(back)
    store.mark_pushed(db, adjudication_id, str(outcome.annotation_id))
    credited = "you" if outcome.completed_by is not None else "the API key's owner (no Label Studio user has your e-mail)"
    flash(f"Pushed to Label Studio as annotation {outcome.annotation_id}, credited to {credited}.", "success")
    return redirect(back)


def labelstudio_source(project_id: int) -> int | None:
    """The project's Label Studio connection (the first, when there are several)."""
    from labelcheck.storage.models import DataSource

    with _db().session() as session:
        return session.execute(select(DataSource.id).where(
            DataSource.project_id == project_id, DataSource.kind == "labelstudio")
            .order_by(DataSource.id).limit(1)).scalar_one_or_none()


def _back(project_id: int, task_id: str | None, back: str) -> str:
    if back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back  # a path on this site only (no //host, no /\\host)
    if task_id:
        return url_for("items.item", project_id=project_id, task_id=task_id)
    return url_for("adjudication.queue", project_id=project_id)


@blueprint.route("/projects/<int:project_id>/adjudication")
@roles_required(*STAFF)
def queue(project_id: int) -> Any:
    project = get_project(project_id)
    db = _db()
    with db.session() as session:
        names = list(session.execute(
            select(ItemStat.field).where(ItemStat.project_id == project_id, ItemStat.snapshot == project.snapshot,
                                         ItemStat.need.is_not(None)).distinct()).scalars())
    names.sort()
    field = request.args.get("field") or (names[0] if names else None)
    if field is not None and field not in names:
        abort(404)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows: list[dict[str, Any]] = []
    decided = 0
    summary = None
    if field is not None:
        s = ItemStat.__table__.c
        decided_here = exists().where(and_(Adjudication.project_id == project_id, Adjudication.field == field,
                                           Adjudication.task_id == s.task_id))
        query = (select(s.task_id, s.n_answers, s.majority_label, s.majority_share, s.consensus_label,
                        s.consensus_confidence, s.need, s.need_reason)
                 .where(s.project_id == project_id, s.snapshot == project.snapshot, s.field == field,
                        s.need.is_not(None), ~decided_here)
                 .order_by(s.need.desc(), s.id).offset((page - 1) * QUEUE_PAGE).limit(QUEUE_PAGE + 1))
        with db.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
            decided = conn.execute(select(func.count(func.distinct(Adjudication.task_id))).where(
                Adjudication.project_id == project_id, Adjudication.field == field)).scalar_one()
            texts = dict(conn.execute(select(Item.task_id, Item.data).where(
                Item.project_id == project_id, Item.task_id.in_([r["task_id"] for r in rows]))).all())
        for r in rows:
            r["snippet"] = _snippet(texts.get(r["task_id"]))
        summary = load_result(db, project_id, project.snapshot, "consensus", field)
    has_next = len(rows) > QUEUE_PAGE
    return render_template("adjudication/queue.html", project=project, fields=names, field=field,
                           rows=rows[:QUEUE_PAGE], page=page, has_next=has_next, first=(page - 1) * QUEUE_PAGE + 1,
                           decided=decided, summary=summary)


def _snippet(data: Any, limit: int = 120) -> str:
    if isinstance(data, str):
        data = json.loads(data)
    strings = [v for v in (data or {}).values() if isinstance(v, str)]
    text = " ".join(max(strings, key=len).split()) if strings else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_panel(project_id: int, snapshot: int, task_id: str, fields: list[str],
               stats: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per field of the item page: the decision in force, its history and (for a lead)
    the form to decide, with the model's label preselected."""
    from labelcheck.web.projects import ActionForm

    histories = store.decisions_for_item(_db(), project_id, task_id)
    can_push = labelstudio_source(project_id) is not None and task_id.isdigit()
    out = []
    for name in fields:
        categories = field_categories(project_id, name, snapshot)
        structured = value_type_of(project_id, name) in STRUCTURED_TYPES
        if not categories and not structured and name not in histories:
            continue
        form = decision_form(task_id, name, categories)
        if structured:
            form.status.choices = [c for c in STATUS_CHOICES if c.value != "label"]
            form.status.data = "ambiguous"
        st = stats.get(name) or {}
        history = histories.get(name, [])
        preselect = (history[0]["label"] if history and history[0]["label"] is not None
                     else st.get("consensus_label") or st.get("majority_label"))
        if preselect is not None:
            form.label.data = label_string(preselect)
        confidence = st.get("consensus_confidence")
        out.append({"field": name, "form": form, "history": history, "can_push": can_push and not structured,
                    "structured": structured,
                    "push_form": ActionForm(),
                    "current": history[0] if history else None,
                    "model_label": st.get("consensus_label"),
                    "model_confidence": None if confidence is None or math.isnan(confidence) else confidence})
    return out


__all__ = ["blueprint", "item_panel"]
