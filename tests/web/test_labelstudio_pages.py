"""The Label Studio pages against a real Label Studio: connect (and each refusal shown on
the form), the key kept encrypted and never rendered, a sync from the page, field
settings, and the webhook (refused without its secret; registered in Label Studio and
fired by it on a new annotation)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from labelcheck.storage.models import Annotation, DataSource, Project, Run
from labelcheck.web import create_app
from labelcheck.web.auth import create_user
from tests.support.live_server import LiveServer

PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BOOTSTRAP_RESAMPLES": 20,
                      "SECRET_KEY": "test-secret-key-for-labelstudio-pages"}, instance_path=tmp_path)
    create_user(app.extensions["labelcheck.db"], "lead@example.com", PASSWORD, "lead")
    yield app
    app.extensions["labelcheck.db"].dispose()


def lead(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert client.post("/login", data={"email": "lead@example.com", "password": PASSWORD}).status_code == 302
    return client


def connect(client: FlaskClient, label_studio: Any, project_id: int, key: str, name: str = "live") -> Any:
    return client.post("/projects/new/labelstudio", data={
        "name": name, "base_url": label_studio.url, "ls_project_id": str(project_id), "api_key": key})


def test_connect_syncs_and_never_shows_the_key(app: Flask, label_studio: Any,
                                               ls_small_project: tuple[int, list[int]]) -> None:
    client = lead(app)
    project_id, annotators = ls_small_project
    key = label_studio.personal_access_token()
    response = connect(client, label_studio, project_id, key)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db = app.extensions["labelcheck.db"]
    with db.session() as session:
        project = session.execute(select(Project).where(Project.name == "live")).scalar_one()
        source = session.execute(select(DataSource).where(DataSource.project_id == project.id)).scalar_one()
        sync = session.execute(select(Run).where(Run.project_id == project.id, Run.kind == "sync")).scalar_one()
        n_rows = session.execute(select(Annotation.id).where(Annotation.project_id == project.id)).all()
        assert source.kind == "labelstudio" and source.secret and key not in source.secret
        assert key not in str(source.settings)
        assert source.settings["token_kind"] == "personal access token"
        assert sync.status == "succeeded", sync.message
        assert sync.counts["added"] == len(n_rows) > 0
        assert sync.counts["pull"]["method"] == "export_snapshot"
        assert sync.counts["cancelled"] == sync.counts["skipped"]["cancelled"]
        pid, sid = project.id, source.id
    pages = [f"/projects/{pid}", f"/projects/{pid}/runs", f"/projects/{pid}/sources/{sid}/labelstudio",
             f"/projects/{pid}/runs/{sync.id}", f"/projects/{pid}/runs/{sync.id}.json"]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert key not in page.get_data(as_text=True), url
    settings_page = client.get(pages[2]).get_data(as_text=True)
    assert "stored (leave empty to keep it)" in settings_page and "intent" in settings_page

    # the lead reorders urgency and makes it interval; the next sync uses it
    response = client.post(f"/projects/{pid}/sources/{sid}/labelstudio/fields",
                           data={"level-urgency": "interval", "categories-urgency": "4\n3\n2\n1",
                                 "level-intent": "nominal", "categories-intent": ""})
    assert response.status_code == 302
    with db.session() as session:
        overrides = session.get(DataSource, sid).settings["field_overrides"]
    assert overrides == {"urgency": {"level": "interval", "categories": ["4", "3", "2", "1"]}}
    assert client.post(f"/projects/{pid}/sources/{sid}/sync").status_code == 302
    with db.session() as session:
        second = session.execute(select(Run).where(Run.project_id == pid, Run.kind == "sync")
                                 .order_by(Run.id.desc())).scalars().first()
        assert second.status == "succeeded" and second.counts["changed"] is False
        urgency = [f for f in second.counts["pull"]["fields"] if f["name"] == "urgency"][0]
        assert urgency["level"] == "ordinal"  # the config's; the override is applied to the spec
        from labelcheck.storage.models import Field

        stored = session.execute(select(Field).where(Field.project_id == pid, Field.name == "urgency")).scalar_one()
        assert stored.level == "interval" and stored.categories == [4.0, 3.0, 2.0, 1.0]


@pytest.mark.parametrize("case", ["bad_key_legacy", "bad_key_pat", "no_project", "refused", "bad_url"])
def test_a_refused_connection_is_explained_on_the_form_and_creates_nothing(
        app: Flask, label_studio: Any, ls_small_project: tuple[int, list[int]], case: str) -> None:
    client = lead(app)
    project_id, _ = ls_small_project
    url, pid, key, expected = {
        "bad_key_legacy": (label_studio.url, project_id, "0" * 40, "legacy token"),
        "bad_key_pat": (label_studio.url, project_id, "aaa.bbb.ccc", "personal access token"),
        "no_project": (label_studio.url, 987654, label_studio.legacy_token, "has no project 987654"),
        "refused": ("http://127.0.0.1:9", project_id, label_studio.legacy_token, "cannot connect"),
        "bad_url": ("ftp://example", project_id, label_studio.legacy_token, "not an absolute http(s) URL"),
    }[case]
    response = client.post("/projects/new/labelstudio", data={
        "name": "x", "base_url": url, "ls_project_id": str(pid), "api_key": key})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and expected in page
    assert key not in page.replace('value=""', "")
    with app.extensions["labelcheck.db"].session() as session:
        assert session.execute(select(Project)).first() is None


def test_webhook_refuses_without_its_secret_and_syncs_when_label_studio_calls(
        app: Flask, label_studio: Any, ls_small_project: tuple[int, list[int]]) -> None:
    from tests.support.label_studio import seed_project

    client = lead(app)
    annotators = ls_small_project[1]
    project_id = seed_project(label_studio.client(), 12, annotators, seed=7, title="webhook project")
    assert connect(client, label_studio, project_id, label_studio.legacy_token).status_code == 302
    db = app.extensions["labelcheck.db"]
    with db.session() as session:
        source = session.execute(select(DataSource)).scalar_one()
        pid, sid = source.project_id, source.id
    anonymous = app.test_client()
    assert anonymous.post(f"/hooks/labelstudio/{sid}").status_code == 403
    assert anonymous.post(f"/hooks/labelstudio/{sid}", headers={"X-Labelcheck-Secret": "guess"}).status_code == 403
    assert anonymous.post("/hooks/labelstudio/999", headers={"X-Labelcheck-Secret": "guess"}).status_code == 403

    with LiveServer(app, threads=4) as server:
        app.config["PUBLIC_URL"] = server.url  # where Label Studio can reach this app
        response = client.post(f"/projects/{pid}/sources/{sid}/webhook", data={"action": "on"})
        assert response.status_code == 302
        flashed = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Webhook registered in Label Studio" in flashed, flashed[flashed.find("flash"):][:600]
        with db.session() as session:
            source = session.get(DataSource, sid)
            assert source.webhook_secret_hash and source.settings.get("webhook_id")
        ls = label_studio.client()
        hook = ls.webhooks.get(source.settings["webhook_id"])
        assert hook.url == f"{server.url}/hooks/labelstudio/{sid}"
        try:
            task = next(iter(ls.tasks.list(project=project_id, page_size=1)))
            ls.annotations.create(task.id, result=[{"from_name": "intent", "to_name": "text", "type": "choices",
                                                     "value": {"choices": ["Shipping"]}}],
                                  completed_by=annotators[0], ground_truth=False)
            deadline = time.monotonic() + 60
            hooked = None
            while time.monotonic() < deadline and hooked is None:
                with db.session() as session:  # a webhook's sync has no user
                    hooked = session.execute(select(Run).where(
                        Run.source_id == sid, Run.kind == "sync", Run.created_by_id.is_(None),
                        Run.status.in_(("succeeded", "failed")))).scalars().first()
                time.sleep(0.5)
            assert hooked is not None, "Label Studio's webhook did not lead to a sync"
            assert hooked.status == "succeeded", hooked.message
            assert hooked.counts["added"] == 1  # the new annotation's one row
        finally:
            ls.webhooks.delete(source.settings["webhook_id"])
    # refusing calls forgets the secret
    assert client.post(f"/projects/{pid}/sources/{sid}/webhook", data={"action": "off"}).status_code == 302
    with db.session() as session:
        assert session.get(DataSource, sid).webhook_secret_hash is None
