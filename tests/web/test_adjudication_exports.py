"""Adjudication, annotator reliability and exports in the app, on the demo project: the
queue puts the items the model is least sure of first, a lead's decision is recorded with
who and when, can be revised with its history kept, and overrides the model in exports;
the careless and the contrarian annotators are the least reliable; an export made in the
app is a background run with a manifest, and the same rules on the same data give the
same bytes."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.demo_app import demo_app, sign_in


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, int, str]]:
    app, project_id, password = demo_app(tmp_path_factory.mktemp("adjudication-demo"),
                                         {"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False})
    yield app, project_id, password
    app.extensions["labelcheck.db"].dispose()


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def queue_items(html: str) -> list[str]:
    return re.findall(r'data-testid="queue-item">([^<]+)<', html)


def decide(client: FlaskClient, pid: int, task_id: str, status: str, label: str | None, reason: str) -> Any:
    data = {"field_name": "intent", "adj-intent-task_id": task_id, "adj-intent-field": "intent",
            "adj-intent-status": status, "adj-intent-reason": reason}
    if label is not None:
        data["adj-intent-label"] = label
    return client.post(f"/projects/{pid}/adjudication/decide", data=data)


def alerts(html: str) -> list[str]:
    return re.findall(r'role="alert">([^<]+)<', html)


def export(client: FlaskClient, pid: int, **rules: Any) -> dict[str, Any]:
    form = {"field": "intent", "method": "dawid_skene", "tie": "unresolved", "format": "csv",
            "min_confidence": "0", "min_agreement": "0", "include_adjudicated": "y", "drop_unresolved": "y"}
    form.update({k: v for k, v in rules.items() if v is not None})
    for off in [k for k, v in rules.items() if v is None]:
        form.pop(off)
    assert client.post(f"/projects/{pid}/exports", data=form).status_code == 302
    html = page(client.get(f"/projects/{pid}/exports"))
    newest = int(re.findall(r'<tr><td class="num">(\d+)</td>', html)[0])
    status = re.findall(r'data-testid="export-status">(.*?)</td>', html, re.S)[0]
    assert "succeeded" in status, status
    manifest = json.loads(client.get(f"/projects/{pid}/exports/{newest}/manifest").data)
    data = client.get(f"/projects/{pid}/exports/{newest}/data")
    assert data.status_code == 200
    return {"id": newest, "manifest": manifest, "bytes": data.data}


def test_the_queue_ranks_unsure_items_first_and_explains_why(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    html = page(sign_in(app, "engineer@demo.labelcheck", password).get(f"/projects/{pid}/adjudication?field=intent"))
    items = queue_items(html)
    assert len(items) == 50 and 'rel="next"' in html
    needs = [float(x) for x in re.findall(r'<td class="num">(\d+\.\d\d)</td>\s*<td><small>', html)]
    assert needs == sorted(needs, reverse=True) and needs[0] > 1  # ties under majority vote first
    assert "majority vote tied" in html and "in slice channel=phone" in html
    assert re.search(r"<strong>(\d+)</strong> tied under majority vote", html)


def test_a_lead_decides_revises_and_the_history_is_kept(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    lead = sign_in(app, "lead@demo.labelcheck", password)
    top = queue_items(page(lead.get(f"/projects/{pid}/adjudication?field=intent")))[0]
    item_page = page(lead.get(f"/projects/{pid}/items/{top}"))
    assert 'data-testid="adjudicate-intent"' in item_page and "Not adjudicated" in item_page

    refused = decide(lead, pid, top, "label", "Refund", "")
    assert "reason" in " ".join(alerts(page(lead.get(refused.headers["Location"]))))
    assert "Not adjudicated" in page(lead.get(f"/projects/{pid}/items/{top}"))
    assert "Not recorded" in " ".join(alerts(page(lead.get(
        decide(lead, pid, top, "label", "Spam", "no such label").headers["Location"]))))

    first = decide(lead, pid, top, "label", "Refund", "the money was taken: refund rule")
    html = page(lead.get(first.headers["Location"]))
    assert f"Recorded for item {top}, intent: Refund." in alerts(html)
    in_force = html.split('data-testid="decision-in-force"')[1].split("</p>")[0]
    assert "Refund" in in_force and "by Demo lead" in in_force and "money was taken" in in_force
    assert top not in queue_items(page(lead.get(f"/projects/{pid}/adjudication?field=intent")))

    decide(lead, pid, top, "ambiguous", None, "both readings fit the guideline")
    html = page(lead.get(f"/projects/{pid}/items/{top}"))
    assert "ambiguous" in html.split('data-testid="decision-in-force"')[1].split("</p>")[0]
    history = html.split('data-testid="decision-history"')[1].split("</table>")[0]
    assert history.count("<tr><td>") == 2 and "refund rule" in history and "both readings" in history

    # the demo project is a file, not a Label Studio project: nothing to push to
    assert 'data-testid="push-intent"' not in html
    with app.extensions["labelcheck.db"].session() as session:
        from labelcheck.storage.models import Adjudication
        first_id = min(a.id for a in session.query(Adjudication).filter_by(task_id=top))
    pushed = lead.post(f"/projects/{pid}/adjudication/{first_id}/labelstudio")
    assert "Not pushed: this project has no Label Studio connection." in alerts(page(lead.get(pushed.headers["Location"])))

    engineer = sign_in(app, "engineer@demo.labelcheck", password)
    assert 'data-testid="adjudicate-intent"' not in page(engineer.get(f"/projects/{pid}/items/{top}"))
    assert decide(engineer, pid, top, "label", "Billing", "not mine to decide").status_code == 403


def test_the_careless_and_the_contrarian_annotators_are_least_reliable(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    client = sign_in(app, "engineer@demo.labelcheck", password)
    html = page(client.get(f"/projects/{pid}/annotators?field=intent"))
    order = re.findall(r'data-testid="annotator-link">([^<]+)<', html)
    assert order[:2] == ["15", "9"] and len(order) == 8
    values = [float(v) for v in re.findall(r'data-testid="reliability">.*?</span></span> ([0-9.]+)</td>', html)]
    assert values == sorted(values) and 0 < values[0] < values[-1] < 1
    detail = page(client.get(f"/projects/{pid}/annotators/9?field=intent"))
    assert 'data-testid="confusion"' in detail and "Most frequent mistakes" in detail
    assert "Annotator bias" in detail  # the hotspot about them
    assert client.get(f"/projects/{pid}/annotators/nobody?field=intent").status_code == 404


def test_an_export_applies_decisions_and_reruns_byte_identical(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    lead = sign_in(app, "lead@demo.labelcheck", password)
    queue = queue_items(page(lead.get(f"/projects/{pid}/adjudication?field=intent")))
    labelled, excluded = queue[0], queue[1]
    decide(lead, pid, labelled, "label", "Shipping", "the parcel never arrived")
    decide(lead, pid, excluded, "excluded", None, "two questions in one ticket")

    engineer = sign_in(app, "engineer@demo.labelcheck", password)
    first = export(engineer, pid)
    again = export(engineer, pid)
    assert first["bytes"] == again["bytes"] and first["id"] != again["id"]
    assert first["manifest"] == {**again["manifest"]}
    manifest = first["manifest"]
    assert manifest["export"]["sha256"] == __import__("hashlib").sha256(first["bytes"]).hexdigest()
    assert manifest["guideline_version"].startswith("v2 (2025-04-01T09:00:00Z)")
    assert manifest["input"]["sync_run"].startswith("run 1: import, finished ")
    assert manifest["input"]["source"] == "support_tickets.json"
    assert manifest["rules"]["method"] == "dawid_skene" and manifest["rules"]["adjudications"]["n_rows"] >= 2
    dropped = {d["task_id"]: d["reason"] for d in manifest["dropped"]}
    assert dropped[excluded] == "excluded_by_adjudication"
    rows = {r["task_id"]: r for r in csv.DictReader(io.StringIO(first["bytes"].decode("utf-8")))}
    assert rows[labelled]["final_label"] == "Shipping" and rows[labelled]["label_source"] == "adjudicated"
    assert excluded not in rows

    without = export(engineer, pid, include_adjudicated=None, min_confidence="0.9")
    assert without["manifest"]["rules"]["adjudications"] is None
    assert without["manifest"]["counts"]["dropped_by_reason"]["below_min_confidence"] > 0
    assert without["bytes"] != first["bytes"]


def test_an_export_form_with_bad_rules_is_refused(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    client = sign_in(app, "engineer@demo.labelcheck", password)
    before = page(client.get(f"/projects/{pid}/exports")).count('data-testid="export-status"')
    html = page(client.post(f"/projects/{pid}/exports", data={
        "field": "intent", "method": "dawid_skene", "tie": "reliability", "format": "csv",
        "min_confidence": "0", "min_agreement": "0"}))
    assert "reliability ties apply to majority vote only" in html
    html = page(client.post(f"/projects/{pid}/exports", data={
        "field": "intent", "method": "majority_vote", "tie": "unresolved", "format": "csv",
        "min_confidence": "1.5", "min_agreement": "0"}))
    assert "min_confidence" in html
    assert page(client.get(f"/projects/{pid}/exports")).count('data-testid="export-status"') == before
