"""Guidelines: the current version (with what changed since the reader last acknowledged
one), acknowledgements, the changelog and diffs, the lead's draft and publishing, writing
a version to Label Studio, and whether a revision raised agreement."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from labelcheck.errors import LabelcheckError
from labelcheck.rendering import diff_counts, diff_markdown, render_markdown
from labelcheck.storage import guidelines as store
from labelcheck.storage.database import Database
from labelcheck.storage.models import DataSource, Field, Item
from labelcheck.storage.results import load_result, save_result
from labelcheck.web.access import ALL_ROLES, STAFF, roles_required
from labelcheck.web.projects import ActionForm, get_project

blueprint = Blueprint("guidelines", __name__)

#: Bootstrap resamples and permutations of the "did it work?" comparison.
EFFECT_RESAMPLES = 2000


class DraftForm(FlaskForm):
    body = TextAreaField("Guideline (markdown)", validators=[Length(max=200_000)])
    note = TextAreaField("Change note", validators=[Length(max=5000)],
                         description="What changed and why; annotators see it with the changes.")
    targeted_labels = StringField("Labels the change is about", validators=[Length(max=1000)],
                                  description="Comma-separated, e.g. Billing, Refund: "
                                              "“did it work?” compares agreement on items with these labels.")
    example_task_ids = StringField("Example items", validators=[Length(max=2000)],
                                   description="Comma-separated task ids shown to annotators with the change.")
    accepted_suggestions = StringField("Suggestions accepted", validators=[Length(max=2000)],
                                       description="Comma-separated references of the hotspot suggestions "
                                                   "this change answers.")


def _db() -> Database:
    from labelcheck.web import database

    return database()


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _examples(project_id: int, task_ids: list[str]) -> list[dict[str, Any]]:
    """The data of the example items (annotators have no item pages: the text is shown
    here)."""
    if not task_ids:
        return []
    with _db().session() as session:
        rows = dict(session.execute(select(Item.task_id, Item.data).where(
            Item.project_id == project_id, Item.task_id.in_(task_ids))).all())
    out = []
    for task_id in task_ids:
        data = rows.get(task_id)
        if data is None:
            continue
        if isinstance(data, str):
            import json

            data = json.loads(data)
        text = next((str(v) for k, v in data.items() if k.lower() in ("text", "content", "body")), None)
        out.append({"task_id": task_id, "text": text,
                    "meta": {k: v for k, v in data.items() if k.lower() not in ("text", "content", "body")}})
    return out


@blueprint.route("/projects/<int:project_id>/guideline")
@roles_required(*ALL_ROLES)
def show(project_id: int) -> Any:
    project = get_project(project_id)
    db = _db()
    all_versions = store.versions(db, project_id)
    current = all_versions[-1] if all_versions else None
    seen = store.last_acknowledged(db, project_id, current_user.id)
    changes = None
    examples: list[dict[str, Any]] = []
    if current is not None and seen is not None and seen < current.number:
        previous = next(v for v in all_versions if v.number == seen)
        blocks = diff_markdown(previous.body, current.body)
        newer = [v for v in all_versions if v.number > seen]
        changes = {"since": seen, "blocks": blocks, "counts": diff_counts(blocks), "versions": newer}
        examples = _examples(project_id, [t for v in newer for t in v.example_task_ids])
    elif current is not None:
        examples = _examples(project_id, current.example_task_ids) if seen is None else []
    return render_template(
        "guidelines/show.html", project=project, version=current,
        html=render_markdown(current.body) if current else None, seen=seen, changes=changes,
        examples=examples, action_form=ActionForm(), n_versions=len(all_versions),
        readers=store.readers(db, project_id) if current_user.role != "annotator" else None)


@blueprint.route("/projects/<int:project_id>/guideline/acknowledge", methods=["POST"])
@roles_required(*ALL_ROLES)
def acknowledge(project_id: int) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    get_project(project_id)
    number = request.form.get("version", type=int)
    version = store.version(_db(), project_id, number) if number else None
    if version is None:
        abort(404)
    store.acknowledge(_db(), project_id, version.id, current_user.id)
    flash(f"Thank you: version {version.number} marked as read.", "success")
    return redirect(url_for("guidelines.show", project_id=project_id))


@blueprint.route("/projects/<int:project_id>/guideline/versions")
@roles_required(*ALL_ROLES)
def changelog(project_id: int) -> Any:
    project = get_project(project_id)
    db = _db()
    all_versions = store.versions(db, project_id)
    readers = store.readers(db, project_id)
    rows = []
    for previous, version in zip([None, *all_versions[:-1]], all_versions):
        counts = diff_counts(diff_markdown(previous.body if previous else "", version.body))
        rows.append({"version": version, "counts": counts, "n_readers": len(readers.get(version.number, []))})
    return render_template("guidelines/changelog.html", project=project, rows=list(reversed(rows)),
                           readers=readers if current_user.role != "annotator" else None)


@blueprint.route("/projects/<int:project_id>/guideline/versions/<int:number>")
@roles_required(*ALL_ROLES)
def version(project_id: int, number: int) -> Any:
    project = get_project(project_id)
    db = _db()
    found = store.version(db, project_id, number)
    if found is None:
        abort(404)
    return render_template("guidelines/version.html", project=project, version=found,
                           html=render_markdown(found.body), action_form=ActionForm(),
                           publications=store.publications(db, found.id),
                           sources=_labelstudio_sources(project_id) if current_user.role == "lead" else [],
                           readers=store.readers(db, project_id).get(number, [])
                           if current_user.role != "annotator" else None)


@blueprint.route("/projects/<int:project_id>/guideline/diff")
@roles_required(*ALL_ROLES)
def diff(project_id: int) -> Any:
    project = get_project(project_id)
    db = _db()
    old_n, new_n = request.args.get("from", type=int), request.args.get("to", type=int)
    old = store.version(db, project_id, old_n) if old_n else None
    new = store.version(db, project_id, new_n) if new_n else None
    if new is None or (old_n and old is None):
        abort(404)
    blocks = diff_markdown(old.body if old else "", new.body)
    return render_template("guidelines/diff.html", project=project, old=old, new=new, blocks=blocks,
                           counts=diff_counts(blocks), numbers=[v.number for v in store.versions(db, project_id)])


@blueprint.route("/projects/<int:project_id>/guideline/edit", methods=["GET", "POST"])
@roles_required("lead")
def edit(project_id: int) -> Any:
    project = get_project(project_id)
    db = _db()
    current = store.draft(db, project_id)
    form = DraftForm(data={"body": current["body"], "note": current["note"],
                           "targeted_labels": ", ".join(current["targeted_labels"]),
                           "example_task_ids": ", ".join(map(str, current["example_task_ids"])),
                           "accepted_suggestions": ", ".join(map(str, current["accepted_suggestions"]))})
    preview = None
    if form.validate_on_submit():
        store.save_draft(db, project_id, current_user.id, body=form.body.data or "", note=form.note.data or "",
                         targeted_labels=_split(form.targeted_labels.data),
                         example_task_ids=_split(form.example_task_ids.data),
                         accepted_suggestions=_split(form.accepted_suggestions.data))
        action = request.form.get("action", "save")
        if action == "publish":
            try:
                published = store.publish_draft(db, project_id, current_user.id)
            except LabelcheckError as err:
                flash(str(err), "error")
            else:
                flash(f"Version {published.number} published: annotators see it now.", "success")
                return redirect(url_for("guidelines.version", project_id=project_id, number=published.number))
        elif action == "preview":
            preview = render_markdown(form.body.data or "")
        else:
            flash("Draft saved.", "success")
            return redirect(url_for("guidelines.edit", project_id=project_id))
    versions = store.versions(db, project_id)
    changes = diff_markdown(versions[-1].body if versions else "", form.body.data or "")
    return render_template("guidelines/edit.html", project=project, form=form, preview=preview,
                           next_number=(versions[-1].number + 1) if versions else 1,
                           counts=diff_counts(changes), draft_saved=current["saved"])


def _labelstudio_sources(project_id: int) -> list[dict[str, Any]]:
    with _db().session() as session:
        return [{"id": s.id, "name": s.name} for s in session.execute(
            select(DataSource).where(DataSource.project_id == project_id, DataSource.kind == "labelstudio")).scalars()]


@blueprint.route("/projects/<int:project_id>/guideline/versions/<int:number>/labelstudio", methods=["POST"])
@roles_required("lead")
def publish_labelstudio(project_id: int, number: int) -> Any:
    """Write the version to each connected Label Studio project's instructions and read
    it back; the publication (confirmed or not) is recorded."""
    from labelcheck.labelstudio import publish_instructions
    from labelcheck.pipeline import labelstudio_connection

    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    db = _db()
    found = store.version(db, project_id, number)
    if found is None:
        abort(404)
    sources = _labelstudio_sources(project_id)
    if not sources:
        flash("This project has no Label Studio connection to publish to.", "error")
    html = render_markdown(found.body)
    for source in sources:
        try:
            connection = labelstudio_connection(db, source["id"], str(current_app.config["SECRET_KEY"]))
            result = publish_instructions(connection, html)
        except LabelcheckError as err:
            store.record_publication(db, found.id, source["id"], current_user.id, confirmed=False, message=str(err))
            flash(f"{source['name']}: not published: {err}", "error")
            continue
        message = ("written and read back" if result.confirmed else
                   "written, but the read-back differs (Label Studio may have changed it); check the project")
        store.record_publication(db, found.id, source["id"], current_user.id, confirmed=result.confirmed,
                                 message=message, published_at=result.published_at)
        flash(f"{source['name']}: version {number} {message}.", "success" if result.confirmed else "warning")
    return redirect(url_for("guidelines.version", project_id=project_id, number=number))


@blueprint.route("/projects/<int:project_id>/guideline/versions/<int:number>/effect")
@roles_required(*STAFF)
def effect(project_id: int, number: int) -> Any:
    """Agreement on answers made under this version against those made under the one
    before (split at the version's revision time)."""
    from labelcheck.guidelines.before_after import revision_effect
    from labelcheck.storage.annotations import load_dataset

    project = get_project(project_id)
    db = _db()
    found = store.version(db, project_id, number)
    if found is None:
        abort(404)
    with db.session() as session:
        fields = list(session.execute(select(Field).where(Field.project_id == project_id)
                                      .order_by(Field.position)).scalars())
    names = [f.name for f in fields]
    name = request.args.get("field") or (names[0] if names else None)
    spec = next((f for f in fields if f.name == name), None)
    payload = None
    at = found.revision_time
    if spec is not None and project.snapshot and number > 1:
        key = f"{number}:{name}:{at.isoformat()}:{','.join(found.targeted_labels)}"
        payload = load_result(db, project_id, project.snapshot, "revision_effect", key)
        if payload is None:
            dataset = load_dataset(db, project_id)
            result = revision_effect(
                dataset.annotations, at, field=name, level=spec.level,  # type: ignore[arg-type]
                categories=spec.categories if spec.level != "nominal" else None,
                labels=found.targeted_labels or None, n_boot=EFFECT_RESAMPLES, n_perm=EFFECT_RESAMPLES,
                confidence=float(current_app.config["CONFIDENCE"]))
            payload = result.to_dict()
            save_result(db, project_id, project.snapshot, "revision_effect", payload, key)
    return render_template("guidelines/effect.html", project=project, version=found, at=at, field=name,
                           fields=names, effect=payload)
