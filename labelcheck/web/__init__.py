"""The labelcheck web app: ``create_app()`` and one blueprint per area.

Blueprints: ``auth`` (sign-in), ``projects`` (list, upload, runs, overview),
``items`` (item browser and item page), ``assets`` (plotly.js from the installed
``plotly`` package; CSS and JS of ``web/static``).  Templates live in the top-level
``templates/`` folder.  Every view is behind :func:`labelcheck.web.access.roles_required`
or marked :func:`~labelcheck.web.access.public`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g
from flask_wtf.csrf import CSRFProtect

from labelcheck.storage.database import Database
from labelcheck.web.settings import default_instance_path, load_settings

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STATIC = Path(__file__).resolve().parent / "static"
csrf = CSRFProtect()


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | Path | None = None) -> Flask:
    """Build the app: settings (see :mod:`labelcheck.web.settings`), database (migrated
    to the latest schema), sign-in, CSRF, blueprints and error pages."""
    instance = Path(instance_path) if instance_path else default_instance_path()
    app = Flask("labelcheck", instance_path=str(instance), instance_relative_config=True,
                template_folder=str(TEMPLATES), static_folder=str(STATIC), static_url_path="/static")
    settings = load_settings(instance, config)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = int(settings["UPLOAD_MAX_MB"]) * 1024 * 1024
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)

    db = Database(settings["DATABASE_URL"])
    db.upgrade()
    app.extensions["labelcheck.db"] = db

    from labelcheck import jobs

    jobs.huey.immediate = bool(settings["JOBS_IMMEDIATE"])
    jobs.set_secret_key(str(settings["SECRET_KEY"]))

    from labelcheck.web.access import login_manager, load_user

    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    csrf.init_app(app)

    from labelcheck.web import (adjudication, annotators, assets, auth, exports, guidelines, hotspots,
                                items, labelstudio, projects)
    from labelcheck.web.errors import register_error_handlers

    for module in (auth, projects, labelstudio, hotspots, guidelines, items, adjudication, annotators,
                   exports, assets):
        app.register_blueprint(module.blueprint)
    csrf.exempt(labelstudio.webhook)  # Label Studio calls it with a shared secret header
    register_error_handlers(app)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        from labelcheck import __version__

        return {"labelcheck_version": __version__}

    @app.teardown_appcontext
    def _close(_error: BaseException | None) -> None:
        g.pop("session", None)

    return app


def database() -> Database:
    """The app's :class:`~labelcheck.storage.database.Database`."""
    from flask import current_app

    db: Database = current_app.extensions["labelcheck.db"]
    return db
