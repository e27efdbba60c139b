"""New project from an upload, on SQLite and PostgreSQL: good rows are imported, bad
rows are listed on the run page with file, row, task and what is wrong; an unusable
file leaves nothing half-imported; the overview renders from the stored results."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from labelcheck.storage.models import Annotation, Project, Run
from labelcheck.web import create_app
from labelcheck.web.auth import create_user

PASSWORD = "correct horse battery"
BAD_ROWS = (
    "task_id,annotator_id,label\n"
    "t1,a,x\nt1,b,x\nt2,a,y\nt2,,y\nt3,a,x\nt3,b,y\n,b,x\n"
)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BOOTSTRAP_RESAMPLES": 50,
                      "DATABASE_URL": database_url}, instance_path=tmp_path)
    create_user(app.extensions["labelcheck.db"], "lead@example.com", PASSWORD, "lead")
    yield app
    app.extensions["labelcheck.db"].dispose()


def signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert client.post("/login", data={"email": "lead@example.com", "password": PASSWORD}).status_code == 302
    return client


def upload(client: FlaskClient, name: str, content: str, filename: str) -> str:
    response = client.post("/projects/new", data={
        "name": name, "file": (io.BytesIO(content.encode()), filename)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def test_bad_rows_are_listed_and_good_rows_imported(app: Flask) -> None:
    client = signed_in(app)
    run_url = upload(client, "with problems", BAD_ROWS, "labels.csv")
    page = client.get(run_url).get_data(as_text=True)
    assert "2 problems in the file" in page
    assert "annotator_id is empty; row skipped" in page and "task_id is empty; row skipped" in page
    rows = re.findall(r"<tr><td>labels.csv</td><td>(\d+)</td>\s*<td>([^<]*)</td>", page)
    assert rows == [("4", "t2"), ("7", "")]
    assert "succeeded" in page and "5 added" in page
    with app.extensions["labelcheck.db"].session() as session:
        assert session.execute(select(func.count(Annotation.id))).scalar_one() == 5
        project = session.execute(select(Project)).scalar_one()
        project_id = project.id
    overview = client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "Krippendorff" in overview and 'id="overview-data"' in overview


def test_an_unusable_file_fails_its_run_and_imports_nothing(app: Flask) -> None:
    client = signed_in(app)
    run_url = upload(client, "broken", "task_id,annotator_id,label\n,,\n", "empty.csv")
    page = client.get(run_url).get_data(as_text=True)
    assert "failed" in page
    with app.extensions["labelcheck.db"].session() as session:
        assert session.execute(select(func.count(Annotation.id))).scalar_one() == 0
        statuses = set(session.execute(select(Run.kind, Run.status)).all())
        project = session.execute(select(Project)).scalar_one()
        assert project.snapshot == 0
    assert ("import", "failed") in statuses and ("analysis", "failed") in statuses
