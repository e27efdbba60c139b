"""The item browser and the item page, on the sentiment demo export."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from labelcheck.analysis.items import item_statistics, label_string
from labelcheck.storage.annotations import load_dataset
from labelcheck.storage.models import Item, Project
from labelcheck.web import create_app
from labelcheck.web.auth import create_user
from tests.support import SENTIMENT_EXPORT

SENTIMENT = SENTIMENT_EXPORT
PASSWORD = "correct horse battery"
ITEM_LINK = re.compile(r'href="/projects/1/items/([^"?]+)')


@pytest.fixture(scope="module", params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.integration),
])
def app(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    config: dict[str, Any] = {"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False,
                              "BOOTSTRAP_RESAMPLES": 20, "ITEMS_PER_PAGE": 25}
    cluster, name = None, f"test_items_{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        config["DATABASE_URL"] = cluster.new_database(name)
    app = create_app(config, instance_path=instance)
    db = app.extensions["labelcheck.db"]
    for role in ("lead", "engineer", "annotator"):
        create_user(db, f"{role}@example.com", PASSWORD, role)
    client = app.test_client()
    sign_in(client, "lead")
    with SENTIMENT.open("rb") as handle:
        response = client.post("/projects/new",
                               data={"name": "Sentiment", "file": (handle, "export.json")})
    assert response.status_code == 302, response.data[:500]
    yield app
    db.dispose()
    if cluster is not None:
        cluster.drop_database(name)


def sign_in(client: FlaskClient, role: str) -> None:
    response = client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def lead(app: Flask) -> FlaskClient:
    client = app.test_client()
    sign_in(client, "lead")
    return client


@pytest.fixture(scope="module")
def table(app: Flask) -> pd.DataFrame:
    return load_dataset(app.extensions["labelcheck.db"], 1).annotations


@pytest.fixture(scope="module")
def tasks(app: Flask) -> pd.DataFrame:
    return load_dataset(app.extensions["labelcheck.db"], 1).tasks


@pytest.fixture(scope="module")
def sentiment_stats(app: Flask) -> pd.DataFrame:
    """item_statistics of the sentiment field, indexed by task id (what the browser lists)."""
    stats = item_statistics(load_dataset(app.extensions["labelcheck.db"], 1))
    return stats[stats["field"] == "sentiment"].set_index("task_id")


def browse_all(client: FlaskClient, query: str = "") -> list[str]:
    """Task ids of every page of the browser, in order."""
    ids: list[str] = []
    page = 1
    while True:
        response = client.get(f"/projects/1/items?{query}&page={page}")
        assert response.status_code == 200, response.data[:300]
        html = response.get_data(as_text=True)
        ids += ITEM_LINK.findall(html)
        if 'rel="next"' not in html:
            return ids
        page += 1


def tasks_where(frame: pd.DataFrame, mask: Any) -> set[str]:
    return set(frame.loc[mask, "task_id"].astype(str))


def test_default_lists_every_item_of_the_first_field_by_disagreement(
        lead: FlaskClient, table: pd.DataFrame, sentiment_stats: pd.DataFrame) -> None:
    html = lead.get("/projects/1/items").get_data(as_text=True)
    assert "Showing 1–25 of 400 items" in html
    assert "field <strong>sentiment</strong>" in html
    ids = browse_all(lead)
    sentiment = table[table["field"] == "sentiment"]
    assert len(ids) == len(set(ids)) == sentiment["task_id"].nunique()
    d = sentiment_stats["disagreement"]
    assert d.loc[ids].is_monotonic_decreasing
    assert d.loc[ids[0]] == d.max() > 0


def test_field_tab_switches_field(lead: FlaskClient, table: pd.DataFrame) -> None:
    html = lead.get("/projects/1/items?field=toxicity").get_data(as_text=True)
    assert "field <strong>toxicity</strong>" in html
    assert lead.get("/projects/1/items?field=nope").status_code == 404


def test_annotator_filter(lead: FlaskClient, table: pd.DataFrame) -> None:
    expected = tasks_where(table, (table["field"] == "sentiment") & (table["annotator_id"] == "13"))
    assert 0 < len(expected) < 400
    assert set(browse_all(lead, "annotator=13")) == expected


def test_label_filter(lead: FlaskClient, table: pd.DataFrame) -> None:
    expected = tasks_where(table, (table["field"] == "sentiment") & (table["label"] == "Mixed"))
    assert 0 < len(expected) < 400
    assert set(browse_all(lead, "label=Mixed")) == expected


def test_numeric_label_filter(lead: FlaskClient, table: pd.DataFrame) -> None:
    tox = table[table["field"] == "toxicity"]
    expected = tasks_where(tox, tox["label"].astype(float) == 5.0)
    assert 0 < len(expected) < 400
    assert set(browse_all(lead, "field=toxicity&label=5")) == expected


def test_slice_filter(lead: FlaskClient, tasks: pd.DataFrame) -> None:
    expected = tasks_where(tasks, tasks["source"] == "forum")
    assert 0 < len(expected) < 400
    assert set(browse_all(lead, "slice=source:forum")) == expected
    html = lead.get("/projects/1/items").get_data(as_text=True)
    assert '<option value="source:forum"' in html and '<option value="lang:en-GB"' in html


@pytest.mark.parametrize(("query", "threshold", "strict"), [
    ("disagreement=some", 0.0, True), ("disagreement=high", 0.5, False),
    ("min_disagreement=0.6", 0.6, False),
])
def test_disagreement_filter(lead: FlaskClient, sentiment_stats: pd.DataFrame, query: str,
                             threshold: float, strict: bool) -> None:
    d = sentiment_stats["disagreement"]
    expected = set(d[d > threshold].index if strict else d[d >= threshold - 1e-12].index)
    assert 0 < len(expected) < 400
    assert set(browse_all(lead, query)) == expected


def test_filters_combine(lead: FlaskClient, table: pd.DataFrame, tasks: pd.DataFrame) -> None:
    s = table[table["field"] == "sentiment"]
    expected = (tasks_where(s, s["annotator_id"] == "13") & tasks_where(s, s["label"] == "Neutral")
                & tasks_where(tasks, tasks["source"] == "review"))
    assert expected
    got = browse_all(lead, "annotator=13&label=Neutral&slice=source:review&sort=task")
    assert set(got) == expected
    assert got == sorted(got)  # task ids are strings: text order


@pytest.mark.parametrize("sort", ["entropy", "answers", "disagreement", "task"])
def test_small_slice_in_every_order(lead: FlaskClient, tasks: pd.DataFrame,
                                    sentiment_stats: pd.DataFrame, sort: str) -> None:
    """A slice with few items is looked up by task id, whatever the order."""
    expected = tasks_where(tasks, tasks["source"] == "forum")
    ids = browse_all(lead, f"slice=source:forum&sort={sort}")
    assert set(ids) == expected and len(ids) == len(expected)
    column = {"entropy": "entropy", "answers": "n_answers", "disagreement": "disagreement"}
    if sort == "task":
        assert ids == sorted(ids)
    else:
        assert sentiment_stats.loc[ids, column[sort]].is_monotonic_decreasing
    middle = ids[len(ids) // 2]
    query = f"slice=source:forum&sort={sort}"
    html = lead.get(f"/projects/1/items/{middle}?{query}").get_data(as_text=True)
    after, before = ids[ids.index(middle) + 1], ids[ids.index(middle) - 1]
    escaped = query.replace("&", "&amp;")
    assert f'href="/projects/1/items/{after}?{escaped}" rel="next"' in html
    assert f'href="/projects/1/items/{before}?{escaped}" rel="prev"' in html


@pytest.mark.parametrize("query", ["annotator=nobody", "label=Nope", "field=toxicity&label=9"])
def test_no_match_says_so(lead: FlaskClient, query: str) -> None:
    html = lead.get(f"/projects/1/items?{query}").get_data(as_text=True)
    assert "No item matches these filters" in html


@pytest.mark.parametrize("sort", ["entropy", "answers", "task"])
def test_sorts(lead: FlaskClient, sentiment_stats: pd.DataFrame, sort: str) -> None:
    ids = browse_all(lead, f"sort={sort}")
    s = sentiment_stats
    assert len(ids) == len(s)
    if sort == "task":
        assert ids == sorted(ids)
    else:
        column = {"entropy": "entropy", "answers": "n_answers"}[sort]
        assert s.loc[ids, column].is_monotonic_decreasing


def test_item_page_shows_data_and_every_annotation(
        lead: FlaskClient, table: pd.DataFrame, tasks: pd.DataFrame,
        sentiment_stats: pd.DataFrame) -> None:
    st = sentiment_stats
    split = st[(st["majority_share"] > 0.5) & (st["n_labels"] > 1)]
    first = split.index[0]
    html = lead.get(f"/projects/1/items/{first}").get_data(as_text=True)
    rows = table[table["task_id"] == first]
    shown = re.findall(r'<span data-testid="annotator">([^<]+)</span>', html)
    assert sorted(shown) == sorted(rows.drop_duplicates("annotation_id")["annotator_id"])
    text = tasks.set_index("task_id").loc[first, "text"]
    assert f'<div class="item-text">{text}</div>' in html.replace("&#39;", "'")
    for label in rows["label"]:
        assert label_string(label) in html
    # the dissenting answers, and only they, are highlighted
    majority = split["majority_label"].iloc[0]
    dissent = rows[(rows["field"] == "sentiment") & (rows["label"] != majority)]
    assert html.count('class="label-chip minority"') >= len(dissent) > 0
    for label in dissent["label"]:
        assert f'<span class="label-chip minority">{label}</span>' in html
    assert "Item statistics" in html and "toxicity" in html


def test_item_page_links_to_neighbours_in_browse_order(lead: FlaskClient) -> None:
    ids = ITEM_LINK.findall(lead.get("/projects/1/items?label=Mixed").get_data(as_text=True))
    html = lead.get(f"/projects/1/items/{ids[1]}?label=Mixed").get_data(as_text=True)
    assert re.search(rf'href="/projects/1/items/{ids[0]}\?label=Mixed" rel="prev"', html)
    assert re.search(rf'href="/projects/1/items/{ids[2]}\?label=Mixed" rel="next"', html)


def test_unknown_item_project_and_page_are_404(lead: FlaskClient) -> None:
    assert lead.get("/projects/1/items/no-such-task").status_code == 404
    assert lead.get("/projects/99/items").status_code == 404
    assert lead.get("/projects/99/items/1").status_code == 404


def test_engineer_may_open_annotator_may_not(app: Flask) -> None:
    engineer = app.test_client()
    sign_in(engineer, "engineer")
    assert engineer.get("/projects/1/items").status_code == 200
    assert engineer.get("/projects/1/items/1").status_code == 200
    annotator = app.test_client()
    sign_in(annotator, "annotator")
    assert annotator.get("/projects/1/items").status_code == 403
    assert annotator.get("/projects/1/items/1").status_code == 403
    assert app.test_client().get("/projects/1/items").status_code == 302  # to the sign-in page


def test_project_without_results_says_so(app: Flask, lead: FlaskClient) -> None:
    db = app.extensions["labelcheck.db"]
    with db.session() as session:
        project = Project(name="empty")
        session.add(project)
        session.flush()
        project_id = project.id
        session.add(Item(project_id=project_id, task_id="t1", data={"text": "hello"}))
    html = lead.get(f"/projects/{project_id}/items").get_data(as_text=True)
    assert 'data-testid="no-results"' in html and f'href="/projects/{project_id}"' in html
    item = lead.get(f"/projects/{project_id}/items/t1").get_data(as_text=True)
    assert "hello" in item and 'data-testid="no-results"' in item


def test_item_data_is_escaped_and_only_safe_urls_become_images(app: Flask,
                                                               lead: FlaskClient) -> None:
    db = app.extensions["labelcheck.db"]
    data = {"text": "<script>alert(1)</script>", "image": "javascript:alert(1)",
            "photo": "https://example.org/cat.png", "inline": "data:image/png;base64,AAAA",
            "page": "https://example.org/about", "meta": {"k": [1, 2]}}
    with db.session() as session:
        session.add(Item(project_id=1, task_id="xss/1", data=data))
    html = lead.get("/projects/1/items/xss/1").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'src="javascript:' not in html and 'href="javascript:' not in html
    assert '<img src="https://example.org/cat.png"' in html
    assert '<img src="data:image/png;base64,AAAA"' in html
    assert '<a href="https://example.org/about" rel="noopener noreferrer nofollow">' in html
    assert "No annotations on this item." in html


def test_item_page_marks_a_tie_and_highlights_nothing_in_it(
        lead: FlaskClient, sentiment_stats: pd.DataFrame) -> None:
    st = sentiment_stats
    everyone_differs = st[(st["n_labels"] == st["n_answers"]) & (st["n_answers"] >= 2)]
    assert len(everyone_differs)
    html = lead.get(f"/projects/1/items/{everyone_differs.index[0]}").get_data(as_text=True)
    assert "tie, first in category order" in html
    sentiment_row = re.search(r'<th scope="row">sentiment</th>(.*?)</tr>', html, re.S)
    assert sentiment_row and "minority" not in sentiment_row.group(1)
