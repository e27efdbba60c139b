"""Guideline pages on the demo project: versions and drafts, sanitised rendering, diffs,
the annotator's "what changed since you last read" and acknowledgement, leads seeing who
read what, "did it work?" on the planted revision, and publishing to a real Label Studio."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from labelcheck.storage import guidelines as store
from labelcheck.storage.models import GuidelineVersion, Project
from labelcheck.web import create_app
from labelcheck.web.auth import create_user
from tests.support.demo_app import demo_app, sign_in

ANNOTATOR = "amara.okafor@kestrel-labels.example"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, int, str]]:
    app, project_id, password = demo_app(tmp_path_factory.mktemp("guideline-demo"), {
        "JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BOOTSTRAP_RESAMPLES": 50})
    yield app, project_id, password
    app.extensions["labelcheck.db"].dispose()


def text_of(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_demo_has_two_versions_and_the_changelog_lists_them(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    versions = store.versions(app.extensions["labelcheck.db"], pid)
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].created_at.isoformat() == "2025-04-01T09:00:00+00:00"
    assert versions[1].targeted_labels == ["Billing", "Refund"] and len(versions[1].example_task_ids) == 3
    page = text_of(sign_in(app, "engineer@demo.labelcheck", password).get(f"/projects/{pid}/guideline/versions"))
    assert "Billing and Refund told apart" in page and "did it work?" in page


def test_did_the_planted_revision_work(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    client = sign_in(app, "engineer@demo.labelcheck", password)
    page = text_of(client.get(f"/projects/{pid}/guideline/versions/2/effect?field=intent"))
    assert "Agreement rose from 0.25 to 0.48" in page  # targeted: Billing / Refund items
    assert "Agreement rose from 0.61 to 0.71" in page  # overall
    assert 'id="effect-data"' in page and "guideline.js" in page
    # the same numbers as the core function (cached per snapshot: a second request agrees)
    assert text_of(client.get(f"/projects/{pid}/guideline/versions/2/effect?field=intent")) == page


def test_annotator_reads_acknowledges_and_sees_what_changed_next_time(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    annotator = sign_in(app, ANNOTATOR, password)
    first = text_of(annotator.get(f"/projects/{pid}/guideline"))
    assert "Guideline, version 2" in first and "I have read version 2" in first
    assert "Examples attached to the change" in first  # never read: the current version's examples
    assert 'id="changes"' not in first and "Who has read it" not in first
    assert annotator.post(f"/projects/{pid}/guideline/acknowledge", data={"version": "2"}).status_code == 302
    assert "You have read this version" in text_of(annotator.get(f"/projects/{pid}/guideline"))

    lead = sign_in(app, "lead@demo.labelcheck", password)
    v2 = store.version(app.extensions["labelcheck.db"], pid, 2)
    body = v2.body.replace("## Purpose", "## Purpose\n\nNew rule: a **chargeback** notice is Legal complaint.")
    response = lead.post(f"/projects/{pid}/guideline/edit", data={
        "body": body, "note": "Chargebacks", "targeted_labels": "Legal complaint, Billing",
        "example_task_ids": "", "accepted_suggestions": "", "action": "publish"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/guideline/versions/3")

    page = text_of(annotator.get(f"/projects/{pid}/guideline"))
    changes = page[page.index('id="changes"'):page.index("</article>", page.index('id="changes"'))]
    assert "What changed since version 2, the one you last read" in changes and "Chargebacks" in changes
    assert re.search(r'<ins class="diff-block diff-added"[^>]*>\s*<p>New rule: a <strong>chargeback</strong>', changes)
    assert "## Purpose" not in changes and "Kestrel receives" not in changes  # only the changes
    annotator.post(f"/projects/{pid}/guideline/acknowledge", data={"version": "3"})
    readers = text_of(lead.get(f"/projects/{pid}/guideline"))
    assert "Who has read it" in readers and "Amara" in readers[readers.index("Who has read it"):]


def test_versions_are_immutable_and_drafts_are_checked(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    db = app.extensions["labelcheck.db"]
    lead = sign_in(app, "lead@demo.labelcheck", password)
    current = store.versions(db, pid)[-1]
    same = lead.post(f"/projects/{pid}/guideline/edit", data={"body": current.body, "note": "x", "action": "publish"})
    assert "the same text as version" in text_of(same)
    no_note = lead.post(f"/projects/{pid}/guideline/edit", data={"body": current.body + "\n\nMore.", "note": "",
                                                                "action": "publish"})
    assert "write a change note" in text_of(no_note)
    assert store.draft(db, pid)["saved"]  # the draft survives a refused publication
    with db.session() as session:
        bodies = dict(session.execute(select(GuidelineVersion.number, GuidelineVersion.body)
                                      .where(GuidelineVersion.project_id == pid)).all())
    assert bodies[current.number] == current.body  # unchanged
    assert not any(rule.rule.endswith("/versions/<int:number>") and "POST" in rule.methods
                   for rule in app.url_map.iter_rules())


def test_rendering_is_sanitised_and_diffs_show_both_sides(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    lead = sign_in(app, "lead@demo.labelcheck", password)
    body = ("# Rules\n\n| Label | When |\n|---|---|\n| Refund | money back |\n\n"
            '<p onclick="steal()">Click</p><script>alert(1)</script>\n\n'
            "![example](https://example.org/ticket.png) [bad](javascript:alert(1))\n")
    page = text_of(lead.post(f"/projects/{pid}/guideline/edit", data={"body": body, "note": "Tables",
                                                                      "action": "preview"}))
    preview = page[page.index("<h3>Preview</h3>"):]
    assert "<td>Refund</td>" in preview and "<script>alert" not in preview and "steal()" not in preview
    lead.post(f"/projects/{pid}/guideline/edit", data={"body": body, "note": "Tables", "action": "publish"})
    number = store.versions(app.extensions["labelcheck.db"], pid)[-1].number
    page = text_of(lead.get(f"/projects/{pid}/guideline/versions/{number}"))
    assert '<img src="https://example.org/ticket.png"' in page and 'href="javascript' not in page
    assert "alert(1)</script>" not in page
    diff = text_of(lead.get(f"/projects/{pid}/guideline/diff?from=1&to={number}"))
    assert 'class="diff-block diff-added"' in diff and 'class="diff-block diff-removed"' in diff


def test_publishing_a_version_to_label_studio_reads_it_back(tmp_path: Path, label_studio: Any,
                                                            ls_small_project: tuple[int, list[int]]) -> None:
    from tests.support.label_studio import seed_project

    ls_project = seed_project(label_studio.client(), 5, ls_small_project[1], seed=11, title="publish")
    app = create_app({"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BOOTSTRAP_RESAMPLES": 20},
                     instance_path=tmp_path)
    db = app.extensions["labelcheck.db"]
    create_user(db, "lead@example.com", "correct horse battery", "lead")
    lead = sign_in(app, "lead@example.com", "correct horse battery")
    assert lead.post("/projects/new/labelstudio", data={
        "name": "published", "base_url": label_studio.url, "ls_project_id": str(ls_project),
        "api_key": label_studio.legacy_token}).status_code == 302
    with db.session() as session:
        pid = session.execute(select(Project.id).where(Project.name == "published")).scalar_one()
    body = "# Intent\n\nChoose **Refund** when the customer asks for money back.\n\n<script>alert(1)</script>\n"
    lead.post(f"/projects/{pid}/guideline/edit", data={"body": body, "note": "", "action": "publish"})
    response = lead.post(f"/projects/{pid}/guideline/versions/1/labelstudio")
    assert response.status_code == 302
    project = label_studio.client().projects.get(ls_project)
    assert project.show_instruction is True
    assert "Choose <strong>Refund</strong> when the customer asks for money back." in project.expert_instruction
    assert "<script" not in project.expert_instruction
    version = store.version(db, pid, 1)
    publications = store.publications(db, version.id)
    assert [p["confirmed"] for p in publications] == [True]
    assert version.revision_time == publications[0]["at"]  # the revision time is the publication
    assert "written and read back" in text_of(lead.get(f"/projects/{pid}/guideline/versions/1"))
    db.dispose()
