"""Training-set exports made in the app: the rules form, the list of exports with their
status, and the downloads (data file and ``manifest.json``).

An export runs as a background job (:func:`labelcheck.jobs.export_dataset` ->
:func:`labelcheck.pipeline.run_export`) on the project's current snapshot with the
lead's decisions in force, and writes under the instance's ``exports`` folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DecimalField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange

from labelcheck.consensus import TIE_POLICIES
from labelcheck.consensus.export import METHODS
from labelcheck.exporting import FORMATS
from labelcheck.storage.database import Database
from labelcheck.storage.models import Annotator, DatasetExport, Field, Run
from labelcheck.web.access import STAFF, roles_required
from labelcheck.web.projects import get_project

blueprint = Blueprint("exports", __name__)

MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson",
               "parquet": "application/vnd.apache.parquet", "labelstudio": "application/json"}
METHOD_NAMES = {"auto": "Automatic (Dawid-Skene for choices; the type's rule otherwise)",
                "majority_vote": "Majority vote", "dawid_skene": "Dawid-Skene",
                "mace": "MACE (annotator spam)", "label_vote": "Label vote (multi-label)",
                "span_vote": "Span vote (text spans)", "box_fusion": "Box fusion (image regions)",
                "median": "Median (ratings, numbers)", "medoid": "Medoid (free text)"}
#: What ``auto`` means in the app: the model for single choices is Dawid-Skene (the
#: analysis computes it too); the other types get their own rule.
AUTO_CHOICE_MODEL = "dawid_skene"


class ExportForm(FlaskForm):
    field = SelectField("Field", choices=[])
    method = SelectField("Consensus", choices=[SelectChoice(m, METHOD_NAMES.get(m, m))
                                               for m in ("auto", *(m for m in METHODS if m != "auto"))],
                         default="auto")
    tie = SelectField("Ties", choices=[SelectChoice(t, t) for t in TIE_POLICIES], default="unresolved")
    format = SelectField("Format", choices=[SelectChoice(f, f) for f in FORMATS], default="parquet")
    min_confidence = DecimalField("Minimum confidence", default=0, places=None,
                                  validators=[InputRequired(), NumberRange(0, 1)])
    min_agreement = DecimalField("Minimum agreement", default=0, places=None,
                                 validators=[InputRequired(), NumberRange(0, 1)])
    exclude_annotators = SelectMultipleField("Exclude annotators", choices=[])
    include_adjudicated = BooleanField("Use the leads' adjudications", default=True)
    drop_unresolved = BooleanField("Drop unresolved items", default=True)


def _db() -> Database:
    from labelcheck.web import database

    return database()


def exports_folder() -> Path:
    return Path(current_app.config.get("EXPORTS_DIR") or Path(current_app.instance_path) / "exports")


def _form(project_id: int) -> ExportForm:
    form = ExportForm()
    with _db().session() as session:
        fields = list(session.execute(select(Field.name).where(Field.project_id == project_id)
                                      .order_by(Field.position, Field.id)).scalars())
        annotators = list(session.execute(select(Annotator.annotator_id).where(
            Annotator.project_id == project_id).order_by(Annotator.annotator_id)).scalars())
    form.field.choices = [SelectChoice(f, f) for f in fields]
    form.exclude_annotators.choices = [SelectChoice(a, a) for a in annotators]
    return form


def _auto_method(project_id: int, field: str | None) -> str:
    """``auto`` resolved for the chosen field: Dawid-Skene for single choices (and
    ratings), the type's rule otherwise (recorded as such in the export's rules)."""
    from labelcheck.consensus.rules import resolve_method

    with _db().session() as session:
        value_type = session.execute(select(Field.value_type).where(
            Field.project_id == project_id, Field.name == field)).scalar_one_or_none()
    resolved = resolve_method("auto", value_type or "choice", field or "")
    return AUTO_CHOICE_MODEL if resolved == "majority_vote" else resolved


def _listing(project_id: int) -> list[dict[str, Any]]:
    with _db().session() as session:
        rows = session.execute(
            select(DatasetExport, Run.status, Run.message)
            .outerjoin(Run, Run.id == DatasetExport.run_id)
            .where(DatasetExport.project_id == project_id)
            .order_by(DatasetExport.id.desc()).limit(100)).all()
        return [{"id": e.id, "field": e.field, "format": e.format, "rules": e.rules, "snapshot": e.snapshot,
                 "file_name": e.file_name, "sha256": e.sha256, "n_rows": e.n_rows, "run_id": e.run_id,
                 "status": status or "unknown", "message": message or "", "created_at": e.created_at,
                 "counts": ((e.manifest or {}).get("counts") or {})} for e, status, message in rows]


@blueprint.route("/projects/<int:project_id>/exports", methods=["GET", "POST"])
@roles_required(*STAFF)
def index(project_id: int) -> Any:
    from labelcheck import jobs

    project = get_project(project_id)
    form = _form(project_id)
    if request.method == "POST":
        method = form.method.data
        if method == "auto":
            method = _auto_method(project_id, form.field.data)
        if form.tie.data == "reliability" and method != "majority_vote":
            form.tie.errors = [*form.tie.errors, "reliability ties apply to majority vote only"]
        elif form.validate_on_submit():
            rules = {
                "method": method, "tie": form.tie.data,
                "min_confidence": float(form.min_confidence.data or 0),
                "min_agreement": float(form.min_agreement.data or 0),
                "exclude_annotators": sorted(form.exclude_annotators.data or []),
                "include_adjudicated": bool(form.include_adjudicated.data),
                "drop_unresolved": bool(form.drop_unresolved.data), "seed": 0,
            }
            db = _db()
            with db.session() as session:
                record = Run(project_id=project_id, kind="export", message="queued",
                             created_by_id=current_user.id)
                session.add(record)
                session.flush()
                export = DatasetExport(project_id=project_id, run_id=record.id, field=form.field.data,
                                       format=form.format.data, rules=rules, snapshot=project.snapshot,
                                       created_by_id=current_user.id)
                session.add(export)
                session.flush()
                run_id, export_id = record.id, export.id
            jobs.export_dataset(db.url, run_id, export_id, str(exports_folder()))
            flash(f"Export {export_id} queued; it appears below when it is written.", "success")
            return redirect(url_for("exports.index", project_id=project_id))
    return render_template("exports/index.html", project=project, form=form, exports=_listing(project_id),
                           method_names=METHOD_NAMES)


@blueprint.route("/projects/<int:project_id>/exports/<int:export_id>/<any(data, manifest):what>")
@roles_required(*STAFF)
def download(project_id: int, export_id: int, what: str) -> Any:
    get_project(project_id)
    with _db().session() as session:
        export = session.get(DatasetExport, export_id)
        if export is None or export.project_id != project_id or not export.file_name:
            abort(404)
        name, fmt = export.file_name, export.format
    folder = exports_folder() / str(project_id) / str(export_id)
    path = folder / (name if what == "data" else "manifest.json")
    if not path.is_file():
        abort(404)
    download_name = name if what == "data" else f"{Path(name).stem}.manifest.json"
    mimetype = MEDIA_TYPES.get(fmt, "application/octet-stream") if what == "data" else "application/json"
    return send_file(path, mimetype=mimetype, as_attachment=True,
                     download_name=f"export-{export_id}-{download_name}")


__all__ = ["blueprint"]
