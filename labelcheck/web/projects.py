"""Projects: the list, a new project from an uploaded file, import/analysis runs with
their progress, and the overview page (rendered from the stored results of the
project's current snapshot)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   url_for)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from werkzeug.utils import secure_filename
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from labelcheck.storage.database import Database
from labelcheck.storage.models import Annotation, Annotator, DataSource, Item, Project, Run
from labelcheck.storage.results import load_result
from labelcheck.web.access import ALL_ROLES, STAFF, roles_required

blueprint = Blueprint("projects", __name__)

FORMATS = [SelectChoice(value, label) for value, label in (
    ("", "Detect from the file"), ("labelstudio-json", "Label Studio JSON export"),
    ("labelstudio-json-min", "Label Studio JSON-MIN export"),
    ("labelstudio-csv", "Label Studio CSV export"), ("long-csv", "Long CSV / TSV"),
    ("parquet", "Long Parquet"))]


class NewProjectForm(FlaskForm):
    name = StringField("Project name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=2000)])
    file = FileField("Annotations file", validators=[FileRequired()])
    file_format = SelectField("Format", choices=FORMATS, default="")


class ReimportForm(FlaskForm):
    file = FileField("Annotations file", validators=[FileRequired()])
    file_format = SelectField("Format", choices=FORMATS, default="")


class ActionForm(FlaskForm):
    """A form with only the CSRF token (buttons that POST)."""


def _db() -> Database:
    from labelcheck.web import database

    return database()


def get_project(project_id: int) -> Project:
    with _db().session() as session:
        project = session.get(Project, project_id)
        if project is None:
            abort(404)
        return project


def _save_upload(storage: Any) -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    name = secure_filename(storage.filename or "upload") or "upload"
    path = folder / f"{secrets.token_hex(8)}-{name}"
    storage.save(path)
    return path


def start_import(db: Database, project_id: int, source_id: int, path: Path, file_format: str | None,
                 user_id: int | None) -> int:
    """Queue an import run and the analysis that follows it; returns the import run id."""
    from labelcheck import jobs

    with db.session() as session:
        run = Run(project_id=project_id, source_id=source_id, kind="import",
                  message="queued", created_by_id=user_id)
        analysis = Run(project_id=project_id, kind="analysis", message="waits for the import",
                       created_by_id=user_id)
        session.add_all([run, analysis])
        session.flush()
        run_id, analysis_id = run.id, analysis.id
    jobs.import_upload(db.url, run_id, str(path), file_format or None, analysis_id,
                       int(current_app.config["BOOTSTRAP_RESAMPLES"]),
                       float(current_app.config["CONFIDENCE"]))
    return run_id


@blueprint.route("/")
@roles_required(*ALL_ROLES)
def index() -> Any:
    db = _db()
    with db.session() as session:
        rows = session.execute(
            select(Project, func.count(Item.id)).outerjoin(Item, Item.project_id == Project.id)
            .group_by(Project.id).order_by(Project.name)
        ).all()
        n_annotations = dict(session.execute(
            select(Annotation.project_id, func.count(Annotation.id)).group_by(Annotation.project_id)).all())
        mine: dict[int, int] = {}
        if current_user.role == "annotator":
            mine = dict(session.execute(
                select(Annotation.project_id, func.count(Annotation.id))
                .join(Annotator, (Annotator.project_id == Annotation.project_id)
                      & (Annotator.annotator_id == Annotation.annotator_id))
                .where(func.lower(Annotator.email) == current_user.email.lower())
                .group_by(Annotation.project_id)).all())
        projects = [{"id": p.id, "name": p.name, "description": p.description, "n_items": n,
                     "n_annotations": n_annotations.get(p.id, 0), "mine": mine.get(p.id, 0),
                     "snapshot": p.snapshot, "created_at": p.created_at} for p, n in rows]
    return render_template("projects/index.html", projects=projects)


@blueprint.route("/projects/new", methods=["GET", "POST"])
@roles_required("lead")
def new() -> Any:
    form = NewProjectForm()
    if form.validate_on_submit():
        db = _db()
        path = _save_upload(form.file.data)
        with db.session() as session:
            project = Project(name=form.name.data, description=form.description.data or "",
                              created_by_id=current_user.id)
            session.add(project)
            session.flush()
            source = DataSource(project_id=project.id, kind="upload", name=form.file.data.filename,
                                settings={"format": form.file_format.data or "detect"})
            session.add(source)
            session.flush()
            project_id, source_id = project.id, source.id
        run_id = start_import(db, project_id, source_id, path, form.file_format.data, current_user.id)
        return redirect(url_for("projects.run", project_id=project_id, run_id=run_id))
    return render_template("projects/new.html", form=form)


@blueprint.route("/projects/<int:project_id>/sources/<int:source_id>/reimport", methods=["GET", "POST"])
@roles_required("lead")
def reimport(project_id: int, source_id: int) -> Any:
    project = get_project(project_id)
    form = ReimportForm()
    with _db().session() as session:
        source = session.get(DataSource, source_id)
        if source is None or source.project_id != project_id:
            abort(404)
        source_name = source.name
    if form.validate_on_submit():
        path = _save_upload(form.file.data)
        run_id = start_import(_db(), project_id, source_id, path, form.file_format.data, current_user.id)
        return redirect(url_for("projects.run", project_id=project_id, run_id=run_id))
    return render_template("projects/reimport.html", form=form, project=project, source_name=source_name)


def _run_dict(run: Run) -> dict[str, Any]:
    return {"id": run.id, "kind": run.kind, "status": run.status, "progress": run.progress,
            "message": run.message, "counts": run.counts or {}, "n_problems": run.n_problems,
            "problems": run.problems or [], "snapshot_after": run.snapshot_after,
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None}


@blueprint.route("/projects/<int:project_id>/runs/<int:run_id>")
@roles_required(*STAFF)
def run(project_id: int, run_id: int) -> Any:
    project = get_project(project_id)
    with _db().session() as session:
        record = session.get(Run, run_id)
        if record is None or record.project_id != project_id:
            abort(404)
        data = _run_dict(record)
        later = session.execute(select(Run).where(Run.project_id == project_id, Run.id > run_id,
                                                  Run.kind == "analysis").order_by(Run.id)).scalars().first()
        analysis = _run_dict(later) if later is not None and record.kind == "import" else None
    return render_template("projects/run.html", project=project, run=data, analysis=analysis)


@blueprint.route("/projects/<int:project_id>/runs/<int:run_id>.json")
@roles_required(*STAFF)
def run_json(project_id: int, run_id: int) -> Any:
    with _db().session() as session:
        record = session.get(Run, run_id)
        if record is None or record.project_id != project_id:
            abort(404)
        data = _run_dict(record)
    data["problems"] = data["problems"][:50]
    return jsonify({"ok": True, "run": data})


@blueprint.route("/projects/<int:project_id>/runs")
@roles_required(*STAFF)
def runs(project_id: int) -> Any:
    project = get_project(project_id)
    with _db().session() as session:
        records = [_run_dict(r) for r in session.execute(
            select(Run).where(Run.project_id == project_id).order_by(Run.id.desc()).limit(200)).scalars()]
        sources = [{"id": s.id, "name": s.name, "kind": s.kind} for s in session.execute(
            select(DataSource).where(DataSource.project_id == project_id)).scalars()]
    return render_template("projects/runs.html", project=project, runs=records, sources=sources)


@blueprint.route("/projects/<int:project_id>/analyse", methods=["POST"])
@roles_required("lead")
def analyse(project_id: int) -> Any:
    from labelcheck import jobs

    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    get_project(project_id)
    db = _db()
    with db.session() as session:
        record = Run(project_id=project_id, kind="analysis", message="queued", created_by_id=current_user.id)
        session.add(record)
        session.flush()
        run_id = record.id
    jobs.analyse_project(db.url, run_id, int(current_app.config["BOOTSTRAP_RESAMPLES"]),
                         float(current_app.config["CONFIDENCE"]))
    return redirect(url_for("projects.run", project_id=project_id, run_id=run_id))


@blueprint.route("/projects/<int:project_id>")
@roles_required(*STAFF)
def overview(project_id: int) -> Any:
    project = get_project(project_id)
    db = _db()
    payload = load_result(db, project_id, project.snapshot, "overview") if project.snapshot else None
    with db.session() as session:
        pending = session.execute(
            select(Run).where(Run.project_id == project_id, Run.status.in_(("queued", "running")))
            .order_by(Run.id.desc())).scalars().first()
        pending_run = _run_dict(pending) if pending is not None else None
    return render_template("projects/overview.html", project=project, overview=payload,
                           pending=pending_run, action_form=ActionForm())
