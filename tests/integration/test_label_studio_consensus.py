"""Consensus results going back to a real Label Studio server: a lead's adjudication pushed
as a ground-truth annotation (credited to the lead's Label Studio user, never created
twice, left out of the next sync's agreement data), and a ``labelstudio`` export imported
into a new project, where it reads back as the consensus labels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelcheck.consensus.export import ExportRules, build_export
from labelcheck.exporting import write_export
from labelcheck.labelstudio import LabelStudioConnection, pull_project
from labelcheck.labelstudio.push import RESULT_ID_PREFIX, push_adjudication
from labelcheck.storage import adjudications as store
from labelcheck.storage.models import Annotation
from tests.integration.test_label_studio import SyncedProject, _counts, synced  # noqa: F401 (fixture)
from tests.support.label_studio import DEMO_LABEL_CONFIG, LabelStudioServer

pytestmark = pytest.mark.integration


def test_a_pushed_adjudication_is_one_ground_truth_annotation_left_out_of_syncs(
        label_studio: LabelStudioServer, synced: tuple[SyncedProject, int, list[int]]) -> None:
    project, ls_project_id, annotators = synced
    client = label_studio.client()
    first = project.sync()
    assert first.status == "succeeded", first.message
    rows_before, n_rows = project.rows(), project.n_rows()
    with project.db.session() as session:
        task_id = session.query(Annotation.task_id).order_by(Annotation.task_id).first()[0]  # type: ignore[index]
    decision = store.record_decision(project.db, project.project_id, "intent", task_id, status="label",
                                     label="Legal complaint", reason="threatens to sue")
    lead = client.users.get(annotators[0])  # a Label Studio user with the lead's e-mail
    connection = LabelStudioConnection(label_studio.url, ls_project_id, label_studio.legacy_token)
    pushed = push_adjudication(connection, adjudication_id=decision, task_id=int(task_id), from_name="intent",
                               to_name="text", value_type="choice", label="Legal complaint",
                               lead_email=lead.email.upper())
    assert pushed.created and pushed.completed_by == annotators[0]
    created = client.annotations.get(pushed.annotation_id)
    assert created.ground_truth is True and created.completed_by == annotators[0]
    assert created.result[0]["value"] == {"choices": ["Legal complaint"]}
    assert created.result[0]["id"] == f"{RESULT_ID_PREFIX}{decision}"

    # the answer to the first create was lost: pushing again finds it instead of creating another
    again = push_adjudication(connection, adjudication_id=decision, task_id=int(task_id), from_name="intent",
                              to_name="text", value_type="choice", label="Legal complaint")
    assert not again.created and again.annotation_id == pushed.annotation_id
    mine = [a for a in client.annotations.list(int(task_id))
            if any(r.get("id") == f"{RESULT_ID_PREFIX}{decision}" for r in a.result)]
    assert len(mine) == 1

    store.mark_pushed(project.db, decision, str(pushed.annotation_id))
    second = project.sync()
    assert second.status == "succeeded", second.message
    assert _counts(second) == (0, 0, 0, n_rows) and second.counts["adjudications_left_out"] == 1
    assert "1 adjudication(s) pushed by labelcheck left out" in second.message
    assert project.rows() == rows_before


def test_a_labelstudio_export_imports_into_label_studio_as_the_consensus(
        label_studio: LabelStudioServer, ls_small_project: tuple[int, list[int]], tmp_path: Path) -> None:
    client = label_studio.client()
    source_id, annotators = ls_small_project
    pulled = pull_project(LabelStudioConnection(label_studio.url, source_id, label_studio.legacy_token),
                          workdir=str(tmp_path))
    table = build_export(pulled.dataset, "intent", ExportRules(method="dawid_skene"))
    credited = client.users.get(annotators[1]).email
    path = tmp_path / "consensus.json"
    write_export(table, path, "labelstudio", completed_by=credited)
    tasks = json.loads(path.read_text(encoding="utf-8"))
    assert len(tasks) == table.n_kept > 0

    target = client.projects.create(title="labelcheck consensus import", label_config=DEMO_LABEL_CONFIG)
    try:
        client.projects.import_tasks(target.id, request=tasks)
        back = pull_project(LabelStudioConnection(label_studio.url, int(target.id), label_studio.legacy_token),
                            workdir=str(tmp_path)).dataset
        answers = back.annotations
        assert len(answers) == table.n_kept and set(answers["field"]) == {"intent"}
        assert set(answers["annotator_id"]) == {str(annotators[1])}
        # Label Studio gives imported tasks new ids: match them on the text they label
        exported = dict(zip(table.rows["text"], table.rows["final_label"]))
        texts = back.tasks.set_index("task_id")["text"]
        imported = {texts[t]: label for t, label in zip(answers["task_id"], answers["label"])}
        assert imported == exported
    finally:
        client.projects.delete(target.id)
