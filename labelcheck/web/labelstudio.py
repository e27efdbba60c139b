"""Label Studio connections: a new project from a Label Studio project, its connection
settings (URL, project, key; field levels and category orders), a manual sync, and the
webhook endpoint that starts a sync early.

The API key is checked against the server before it is saved, stored encrypted
(:mod:`labelcheck.storage.secrets`), and never rendered back: the settings form leaves
the key field empty and keeps the stored key unless a new one is typed.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from labelcheck.labelstudio import ConnectionProblem, LabelStudioConnection, check_connection, field_specs
from labelcheck.labelstudio.label_config import read_label_config
from labelcheck.storage.database import Database
from labelcheck.storage.models import DataSource, Project, Run
from labelcheck.storage.secrets import SecretBox, same_secret, secret_digest
from labelcheck.table import LEVELS
from labelcheck.web.access import public, roles_required
from labelcheck.web.projects import ActionForm, get_project

blueprint = Blueprint("labelstudio", __name__)

#: The header a Label Studio webhook must carry (Label Studio sends no signature).
SECRET_HEADER = "X-Labelcheck-Secret"
WEBHOOK_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")


class ConnectionForm(FlaskForm):
    base_url = StringField("Label Studio URL", validators=[DataRequired(), Length(max=500)],
                           description="For example http://localhost:8080")
    ls_project_id = IntegerField("Label Studio project id", validators=[DataRequired(), NumberRange(min=1)],
                                 description="The number in the project's address: /projects/<id>")
    api_key = PasswordField("API key", validators=[Optional(), Length(max=2000)],
                            description="A personal access token or a legacy token of an owner or "
                                        "administrator (others cannot see every annotator's annotations).")


class NewConnectionForm(ConnectionForm):
    name = StringField("Project name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=2000)])


def _db() -> Database:
    from labelcheck.web import database

    return database()


def _box() -> SecretBox:
    return SecretBox(str(current_app.config["SECRET_KEY"]))


def webhook_url(source_id: int) -> str:
    """Where Label Studio should call: ``PUBLIC_URL`` when set, else this request's host."""
    public_url = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    path = url_for("labelstudio.webhook", source_id=source_id)
    return public_url + path if public_url else url_for("labelstudio.webhook", source_id=source_id, _external=True)


def start_sync(db: Database, project_id: int, source_id: int, user_id: int | None,
               message: str = "queued") -> int:
    """Queue a sync run and the analysis after it; returns the sync run id."""
    from labelcheck import jobs

    with db.session() as session:
        run = Run(project_id=project_id, source_id=source_id, kind="sync", message=message,
                  created_by_id=user_id)
        analysis = Run(project_id=project_id, kind="analysis", message="waits for the sync",
                       created_by_id=user_id)
        session.add_all([run, analysis])
        session.flush()
        run_id, analysis_id = run.id, analysis.id
    jobs.sync_labelstudio(db.url, run_id, analysis_id, int(current_app.config["BOOTSTRAP_RESAMPLES"]),
                          float(current_app.config["CONFIDENCE"]))
    return run_id


def _check(form: ConnectionForm, api_key: str) -> Any:
    """The connection check, its failure put on the form; None when it failed."""
    connection = LabelStudioConnection(form.base_url.data.strip(), int(form.ls_project_id.data), api_key)
    try:
        return check_connection(connection)
    except ConnectionProblem as problem:
        target = form.api_key if problem.kind in ("unauthorized", "forbidden") else (
            form.ls_project_id if problem.kind == "project_not_found" else form.base_url)
        target.errors = [*target.errors, str(problem)]  # type: ignore[attr-defined]
        return None


@blueprint.route("/projects/new/labelstudio", methods=["GET", "POST"])
@roles_required("lead")
def new() -> Any:
    form = NewConnectionForm()
    if form.validate_on_submit():
        if not form.api_key.data:
            form.api_key.errors = ["Enter the API key."]  # type: ignore[assignment]
        elif (info := _check(form, form.api_key.data)) is not None:
            db = _db()
            with db.session() as session:
                project = Project(name=form.name.data, description=form.description.data or "",
                                  created_by_id=current_user.id)
                session.add(project)
                session.flush()
                source = DataSource(
                    project_id=project.id, kind="labelstudio", name=f"Label Studio: {info.title}"[:300],
                    settings={"base_url": form.base_url.data.strip().rstrip("/"),
                              "project_id": int(form.ls_project_id.data), "token_kind": info.token_kind,
                              "user_email": info.user_email, "label_config": info.label_config},
                    secret=_box().encrypt(form.api_key.data.strip()))
                session.add(source)
                session.flush()
                project_id, source_id = project.id, source.id
            for warning in info.warnings:
                flash(warning, "warning")
            run_id = start_sync(db, project_id, source_id, current_user.id)
            return redirect(url_for("projects.run", project_id=project_id, run_id=run_id))
    return render_template("labelstudio/new.html", form=form)


def _source(project_id: int, source_id: int) -> DataSource:
    with _db().session() as session:
        source = session.get(DataSource, source_id)
        if source is None or source.project_id != project_id or source.kind != "labelstudio":
            abort(404)
        return source


def _fields(source: DataSource) -> list[dict[str, Any]]:
    settings = source.settings or {}
    config = settings.get("label_config") or ""
    overrides = settings.get("field_overrides") or {}
    try:
        controls = read_label_config(config) if config else []
    except Exception:
        controls = []
    specs = field_specs(controls)
    out = []
    for control in controls:
        if control.name not in specs:
            continue
        override = overrides.get(control.name, {})
        out.append({"name": control.name, "tag": control.tag, "value_type": control.value_type,
                    "choice_mode": control.choice_mode, "to_name": ", ".join(control.to_name),
                    "level": override.get("level") or control.level, "config_level": control.level,
                    "categories": [str(c) for c in (override.get("categories") or control.categories or ())],
                    "overridden": bool(override)})
    return out


@blueprint.route("/projects/<int:project_id>/sources/<int:source_id>/labelstudio", methods=["GET", "POST"])
@roles_required("lead")
def settings(project_id: int, source_id: int) -> Any:
    project = get_project(project_id)
    source = _source(project_id, source_id)
    stored = dict(source.settings or {})
    form = ConnectionForm(data={"base_url": stored.get("base_url"), "ls_project_id": stored.get("project_id")})
    if form.validate_on_submit():
        key = form.api_key.data.strip() if form.api_key.data else None
        if key is None and source.secret:
            try:
                key = _box().decrypt(source.secret)
            except Exception as err:
                form.api_key.errors = [str(err)]  # type: ignore[assignment]
        if key and (info := _check(form, key)) is not None:
            with _db().session() as session:
                record = session.get(DataSource, source_id)
                new_settings = dict(record.settings or {})  # type: ignore[union-attr]
                new_settings.update({"base_url": form.base_url.data.strip().rstrip("/"),
                                     "project_id": int(form.ls_project_id.data), "token_kind": info.token_kind,
                                     "user_email": info.user_email, "label_config": info.label_config})
                record.settings = new_settings  # type: ignore[union-attr]
                if form.api_key.data:
                    record.secret = _box().encrypt(key)  # type: ignore[union-attr]
            for warning in info.warnings:
                flash(warning, "warning")
            flash(f"Connected to {info.title!r} as {info.user_email} ({info.token_kind}).", "success")
            return redirect(url_for("labelstudio.settings", project_id=project_id, source_id=source_id))
        if not key and not form.api_key.errors:
            form.api_key.errors = ["Enter the API key."]  # type: ignore[assignment]
    return render_template("labelstudio/settings.html", project=project, source=source, settings=stored,
                           form=form, fields=_fields(source), levels=LEVELS, action_form=ActionForm(),
                           webhook_url=webhook_url(source_id), has_key=bool(source.secret),
                           webhook_on=bool(source.webhook_secret_hash))


@blueprint.route("/projects/<int:project_id>/sources/<int:source_id>/labelstudio/fields", methods=["POST"])
@roles_required("lead")
def fields(project_id: int, source_id: int) -> Any:
    """Save the lead's level and category order per field; applied from the next sync."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    source = _source(project_id, source_id)
    overrides: dict[str, dict[str, Any]] = {}
    for field in _fields(source):
        name = field["name"]
        level = request.form.get(f"level-{name}", field["config_level"])
        if level not in LEVELS:
            abort(400)
        lines = [c.strip() for c in request.form.get(f"categories-{name}", "").splitlines() if c.strip()]
        configured = [str(c) for c in (field["categories"] or [])]
        override: dict[str, Any] = {}
        if level != field["config_level"]:
            override["level"] = level
        if lines and lines != configured:
            override["categories"] = lines
        if override:
            overrides[name] = override
    with _db().session() as session:
        record = session.get(DataSource, source_id)
        new_settings = dict(record.settings or {})  # type: ignore[union-attr]
        new_settings["field_overrides"] = overrides
        record.settings = new_settings  # type: ignore[union-attr]
    flash("Field settings saved; they apply from the next sync.", "success")
    return redirect(url_for("labelstudio.settings", project_id=project_id, source_id=source_id))


@blueprint.route("/projects/<int:project_id>/sources/<int:source_id>/sync", methods=["POST"])
@roles_required("lead")
def sync(project_id: int, source_id: int) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    _source(project_id, source_id)
    run_id = start_sync(_db(), project_id, source_id, current_user.id)
    return redirect(url_for("projects.run", project_id=project_id, run_id=run_id))


@blueprint.route("/projects/<int:project_id>/sources/<int:source_id>/webhook", methods=["POST"])
@roles_required("lead")
def webhook_setup(project_id: int, source_id: int) -> Any:
    """Register (or replace) a webhook in Label Studio that calls :func:`webhook` with a
    new shared secret; with ``action=off``, forget the secret (the endpoint then
    refuses every call)."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    source = _source(project_id, source_id)
    if request.form.get("action") == "off":
        with _db().session() as session:
            session.get(DataSource, source_id).webhook_secret_hash = None  # type: ignore[union-attr]
        flash("Webhook calls are refused from now on (remove the webhook in Label Studio too).", "success")
        return redirect(url_for("labelstudio.settings", project_id=project_id, source_id=source_id))
    settings_ = dict(source.settings or {})
    shared = secrets.token_urlsafe(32)
    url = webhook_url(source_id)
    try:
        from labelcheck.labelstudio.client import explain, make_client

        connection = LabelStudioConnection(settings_["base_url"], int(settings_["project_id"]),
                                           _box().decrypt(source.secret or ""))
        client = make_client(connection, timeout=30)
        try:
            hook = client.webhooks.create(url=url, project=connection.project_id, send_payload=False,
                                          send_for_all_actions=False, actions=list(WEBHOOK_ACTIONS),
                                          headers={SECRET_HEADER: shared}, is_active=True,
                                          request_options={"max_retries": 0})
        except Exception as err:
            raise explain(err, connection, "registering the webhook") from err
    except Exception as err:
        flash(f"Webhook not registered: {err}", "error")
        return redirect(url_for("labelstudio.settings", project_id=project_id, source_id=source_id))
    with _db().session() as session:
        record = session.get(DataSource, source_id)
        record.webhook_secret_hash = secret_digest(shared)  # type: ignore[union-attr]
        new_settings = dict(record.settings or {})  # type: ignore[union-attr]
        new_settings["webhook_id"] = getattr(hook, "id", None)
        record.settings = new_settings  # type: ignore[union-attr]
    flash(f"Webhook registered in Label Studio: it calls {url} on new, changed and deleted annotations.",
          "success")
    return redirect(url_for("labelstudio.settings", project_id=project_id, source_id=source_id))


@blueprint.route("/hooks/labelstudio/<int:source_id>", methods=["POST"])
@public
def webhook(source_id: int) -> Any:
    """A hint from Label Studio that annotations changed: queue a sync unless one is
    already waiting or running.  Needs the shared secret header; reads no payload."""
    given = request.headers.get(SECRET_HEADER, "")
    db = _db()
    with db.session() as session:
        source = session.get(DataSource, source_id)
        known = source is not None and source.kind == "labelstudio"
        if not known or not given or not same_secret(given, source.webhook_secret_hash):  # type: ignore[union-attr]
            return jsonify({"ok": False, "error": "unknown source or wrong secret"}), 403
        project_id = source.project_id  # type: ignore[union-attr]
        waiting = session.execute(select(Run.id).where(
            Run.source_id == source_id, Run.kind == "sync", Run.status.in_(("queued", "running")))).first()
    if waiting is not None:
        return jsonify({"ok": True, "queued": False, "run_id": waiting[0]}), 202
    run_id = start_sync(db, project_id, source_id, None, message="queued by a Label Studio webhook")
    return jsonify({"ok": True, "queued": True, "run_id": run_id}), 202
