"""Every route declares who may open it, and the app enforces it.

``EXPECTED`` is the access table: a new route fails ``test_every_route_is_in_the_table``
until someone decides its roles here, and each route is then requested as every role
(and signed out) to check that the declaration is what the app does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from labelcheck.web import create_app
from labelcheck.web.auth import create_user
from tests.support import SENTIMENT_EXPORT

SENTIMENT = SENTIMENT_EXPORT
PUBLIC = None
#: no session needed, but a shared secret header: refused (403) without it, to everyone
SHARED_SECRET = "shared secret"
STAFF = {"lead", "engineer"}
EVERYONE = {"lead", "engineer", "annotator"}
LEAD = {"lead"}

#: endpoint -> roles allowed (None: public)
EXPECTED: dict[str, set[str] | str | None] = {
    "static": PUBLIC,
    "assets.plotly": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": EVERYONE,
    "projects.index": EVERYONE,
    "projects.new": LEAD,
    "projects.reimport": LEAD,
    "projects.run": STAFF,
    "projects.run_json": STAFF,
    "projects.runs": STAFF,
    "projects.analyse": LEAD,
    "projects.overview": STAFF,
    "labelstudio.new": LEAD,
    "labelstudio.settings": LEAD,
    "labelstudio.fields": LEAD,
    "labelstudio.sync": LEAD,
    "labelstudio.webhook_setup": LEAD,
    "labelstudio.webhook": SHARED_SECRET,
    "hotspots.ranked": STAFF,
    "hotspots.detail": STAFF,
    "hotspots.decide": LEAD,
    "guidelines.show": EVERYONE,
    "guidelines.acknowledge": EVERYONE,
    "guidelines.changelog": EVERYONE,
    "guidelines.version": EVERYONE,
    "guidelines.diff": EVERYONE,
    "guidelines.edit": LEAD,
    "guidelines.publish_labelstudio": LEAD,
    "guidelines.effect": STAFF,
    "items.browse": STAFF,
    "items.item": STAFF,
    "adjudication.queue": STAFF,
    "adjudication.decide": LEAD,
    "adjudication.push": LEAD,
    "annotators.index": STAFF,
    "annotators.detail": STAFF,
    "exports.index": STAFF,
    "exports.download": STAFF,
}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BOOTSTRAP_RESAMPLES": 50},
                     instance_path=instance)
    db = app.extensions["labelcheck.db"]
    for role in EVERYONE:
        create_user(db, f"{role}@example.com", PASSWORD, role)
    client = app.test_client()
    sign_in(client, "lead")
    with SENTIMENT.open("rb") as handle:
        response = client.post("/projects/new", data={"name": "sentiment", "file": (handle, "export.json")})
    assert response.status_code == 302, response.data[:500]
    yield app
    db.dispose()


def sign_in(client: FlaskClient, role: str) -> None:
    response = client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD})
    assert response.status_code == 302


def _view_roles(app: Flask, endpoint: str) -> object:
    view = app.view_functions[endpoint]
    return getattr(view, "allowed_roles", "undeclared")


def _url(rule: str) -> str:
    return (rule.replace("<int:project_id>", "1").replace("<int:run_id>", "1")
            .replace("<int:source_id>", "1").replace("<int:number>", "1").replace("<int:rank>", "1").replace("<path:task_id>", "1")
            .replace("<path:annotator_id>", "1").replace("<int:export_id>", "1")
            .replace("<int:adjudication_id>", "1")
            .replace("<any(data, manifest):what>", "data")
            .replace("<path:filename>", "labelcheck.css"))


def _cases(app: Flask) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        method = "POST" if "POST" in rule.methods and "GET" not in rule.methods else "GET"
        out.append((rule.endpoint, method, _url(rule.rule)))
    return out


def test_every_route_is_in_the_table_and_declares_its_roles(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(EXPECTED) == set(), "new routes: add them to EXPECTED with their roles"
    for endpoint in endpoints - {"static"}:
        declared = _view_roles(app, endpoint)
        expected = EXPECTED[endpoint]
        if expected == SHARED_SECRET:
            assert declared is None, endpoint
            continue
        assert declared == (None if expected is None else frozenset(expected)), endpoint


@pytest.mark.parametrize("role", sorted(EVERYONE) + ["anonymous"])
def test_each_role_gets_exactly_the_routes_it_may_open(app: Flask, role: str) -> None:
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, role)
    for endpoint, method, url in _cases(app):
        if endpoint == "auth.logout":
            continue  # signing out would end the session the loop relies on
        response = client.open(url, method=method)
        allowed = EXPECTED[endpoint]
        where = f"{role} {method} {url} ({endpoint}) -> {response.status_code}"
        if allowed == SHARED_SECRET:
            assert response.status_code == 403, where
        elif allowed is None:
            assert response.status_code in (200, 302), where
        elif role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], where
        elif role in allowed:
            assert response.status_code in (200, 302, 400, 404), where
            assert response.status_code != 403, where
        else:
            assert response.status_code == 403, where


def test_sign_out_needs_a_post_and_ends_the_session(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, "engineer")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"email": "lead@example.com", "password": "nope-nope"})
    assert response.status_code == 200 and b"Wrong email or password" in response.data
    assert client.get("/").status_code == 302


def test_forms_need_a_csrf_token(tmp_path: Path) -> None:
    app = create_app({"JOBS_IMMEDIATE": True}, instance_path=tmp_path)
    create_user(app.extensions["labelcheck.db"], "lead@example.com", PASSWORD, "lead")
    client = app.test_client()
    response = client.post("/login", data={"email": "lead@example.com", "password": PASSWORD})
    assert response.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": "lead@example.com", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    app.extensions["labelcheck.db"].dispose()
