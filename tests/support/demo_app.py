"""The bundled demo project loaded into a fresh instance, as an app for page tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from labelcheck.cli import main
from labelcheck.storage.models import Project
from labelcheck.web import create_app


def demo_app(instance: Path, config: dict[str, Any]) -> tuple[Flask, int, str]:
    """``labelcheck demo`` into ``instance``, then the app on it: ``(app, project id,
    demo password)``.  The caller disposes of ``app.extensions["labelcheck.db"]``."""
    result = CliRunner().invoke(main, ["demo", "--instance", str(instance)])
    assert result.exit_code == 0, result.output
    app = create_app(config, instance_path=instance)
    with app.extensions["labelcheck.db"].session() as session:
        project_id = session.execute(select(Project.id).order_by(Project.id)).scalars().first()
    password = (Path(instance) / "demo_password").read_text(encoding="utf-8").strip()
    return app, int(project_id), password


def sign_in(app: Flask, email: str, password: str) -> FlaskClient:
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    return client
