"""The project overview page: rendered from the stored overview of the current snapshot."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from labelcheck.storage.models import Run
from labelcheck.storage.results import load_result
from labelcheck.web import create_app
from labelcheck.web.auth import create_user
from tests.support import SENTIMENT_EXPORT

SENTIMENT = SENTIMENT_EXPORT
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    config = {"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BOOTSTRAP_RESAMPLES": 200}
    app = create_app(config, instance_path=instance)
    db = app.extensions["labelcheck.db"]
    create_user(db, "lead@example.com", PASSWORD, "lead")
    create_user(db, "engineer@example.com", PASSWORD, "engineer")
    client = app.test_client()
    sign_in(client, "lead")
    with SENTIMENT.open("rb") as handle:
        response = client.post("/projects/new",
                               data={"name": "Sentiment demo", "file": (handle, "export.json")})
    assert response.status_code == 302, response.data[:500]
    yield app
    db.dispose()


def sign_in(client: FlaskClient, role: str) -> None:
    response = client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def lead(app: Flask) -> FlaskClient:
    client = app.test_client()
    sign_in(client, "lead")
    return client


def stored_overview(app: Flask) -> dict[str, Any]:
    payload = load_result(app.extensions["labelcheck.db"], 1, 1, "overview")
    assert payload is not None, "the analysis run stored no overview"
    return payload


def embedded(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="overview-data">(.*?)</script>',
                      html, re.S)
    assert match, "no overview-data script"
    return json.loads(match.group(1))


def test_overview_renders_numbers_and_plot_containers(app: Flask, lead: FlaskClient) -> None:
    response = lead.get("/projects/1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    payload = stored_overview(app)
    sentiment = next(f for f in payload["fields"] if f["name"] == "sentiment")
    alpha = next(c for c in sentiment["coefficients"] if c["name"] == "krippendorff_alpha")
    assert "Sentiment demo" in html
    assert f"{alpha['value']:.3f}" in html
    assert f"[{alpha['ci_low']:.3f}, {alpha['ci_high']:.3f}]" in html
    assert 'data-testid="coef-fleiss_kappa"' in html and 'data-testid="coef-gwet_ac1"' in html
    for plot in ("plot-over-time", "plot-confusion", "plot-annotators"):
        assert f'id="{plot}"' in html and f'data-testid="{plot}"' in html
    assert html.count('class="sortable') >= 2
    assert "/assets/plotly.min.js" in html and "overview.js" in html
    assert "cdn" not in html.lower()
    assert 'href="/projects/1/items"' in html and 'href="/projects/1/runs"' in html
    assert 'action="/projects/1/analyse"' in html  # leads may re-analyse
    data = embedded(html)
    assert data["field"]["name"] == "sentiment"  # the first field is the default tab
    assert data["field"]["confusion"]["categories"] == ["Mixed", "Negative", "Neutral", "Positive"]
    assert len(data["field"]["over_time"]["points"]) == 8  # eight weeks of demo data
    # every annotator appears in the table, each linking to their items
    for row in sentiment["annotators"]:
        assert f"annotator={row['annotator']}" in html


def test_field_tab_from_query(app: Flask, lead: FlaskClient) -> None:
    html = lead.get("/projects/1?field=toxicity").get_data(as_text=True)
    data = embedded(html)
    assert data["field"]["name"] == "toxicity"
    assert 'data-testid="coef-icc_oneway"' in html and 'data-testid="coef-gwet_ac2"' in html
    assert re.search(r'class="active"[^>]*aria-current="page"\s+data-testid="tab-toxicity"', html)
    # an unknown field falls back to the first one rather than failing
    fallback = embedded(lead.get("/projects/1?field=nope").get_data(as_text=True))
    assert fallback["field"]["name"] == "sentiment"


def test_engineer_sees_no_reanalyse_button(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, "engineer")
    html = client.get("/projects/1").get_data(as_text=True)
    assert "data-testid=\"plot-confusion\"" in html
    assert "/analyse" not in html


def test_pending_run_shows_progress_and_reloads(app: Flask, lead: FlaskClient) -> None:
    db = app.extensions["labelcheck.db"]
    with db.session() as session:
        project_id = 1
        session.add(Run(project_id=project_id, kind="analysis", status="running", progress=0.4,
                        message="field sentiment"))
    try:
        html = lead.get("/projects/1").get_data(as_text=True)
        assert "data-reload-when-done" in html and "field sentiment" in html
        assert 'data-testid="plot-over-time"' in html  # the last results stay visible
    finally:
        with db.session() as session:
            for run in session.query(Run).filter(Run.status == "running").all():
                session.delete(run)


def test_project_without_results_says_so(app: Flask, lead: FlaskClient) -> None:
    from labelcheck.storage.models import Project

    db = app.extensions["labelcheck.db"]
    with db.session() as session:
        session.add(Project(name="Empty", description=""))
    with db.session() as session:
        project_id = session.query(Project).filter(Project.name == "Empty").one().id
    html = lead.get(f"/projects/{project_id}").get_data(as_text=True)
    assert 'data-testid="no-results"' in html and "No annotations imported yet" in html
    assert "plot-confusion" not in html and "plotly.min.js" not in html
