"""The Label Studio adapter against a real Label Studio server (tests/support/label_studio.py):
connection checks with both kinds of API key and every kind of failure, a pull equal to
the project's own export file, publishing instructions, incremental syncs through
storage (added / updated / removed, a wrong SECRET_KEY, an interrupted import), and a
20k-task pull."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

import labelcheck.storage.annotations as storage_annotations
from labelcheck import table as T
from labelcheck.io.labelstudio_export import read_labelstudio_json
from labelcheck.labelstudio import (
    ConnectionProblem,
    LabelStudioConnection,
    check_connection,
    field_specs,
    publish_instructions,
    pull_project,
    read_label_config,
)
from labelcheck.pipeline import run_sync
from labelcheck.storage.database import Database
from labelcheck.storage.models import Annotation, Annotator, DataSource, Project, Run
from labelcheck.storage.secrets import SecretBox
from tests.support.label_studio import (
    INTENTS,
    LabelStudioServer,
    _free_port,
    create_annotators,
    seed_project,
    seed_tasks,
)

pytestmark = pytest.mark.integration

SECRET_KEY = "labelcheck integration tests: app secret"
SMALL_TITLE = "labelcheck small project"  # the ls_small_project fixture's
LARGE_TASKS = 20_000


def expected_rows(tasks: list[dict[str, Any]]) -> int:
    """Canonical rows of seeded tasks: one per answered field of each kept annotation."""
    return sum(len(a["result"]) for t in tasks for a in t["annotations"] if not a["was_cancelled"])


def download_export(client: Any, project_id: int, path: Path) -> Path:
    """Label Studio's own JSON export of the project (a snapshot), written to ``path``."""
    export = client.projects.exports.create(project_id, title=f"test export {secrets.token_hex(3)}")
    deadline = time.monotonic() + 600
    while str(export.status) not in ("completed", "failed"):
        assert time.monotonic() < deadline, f"export {export.id} still {export.status}"
        time.sleep(0.2)
        export = client.projects.exports.get(project_id, export.id)
    assert str(export.status) == "completed"
    with open(path, "wb") as out:
        for chunk in client.projects.exports.download(project_id, export.id, export_type="JSON"):
            out.write(chunk)
    client.projects.exports.delete(project_id, export.id)
    return path


# --- connecting ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["legacy token", "personal access token"])
def test_check_connection_with_each_kind_of_key(label_studio: LabelStudioServer,
                                                ls_small_project: tuple[int, list[int]], kind: str) -> None:
    project_id, _ = ls_small_project
    key = label_studio.legacy_token if kind == "legacy token" else label_studio.personal_access_token()
    info = check_connection(LabelStudioConnection(label_studio.url, project_id, key))
    assert info.title == SMALL_TITLE
    assert info.token_kind == kind
    assert info.user_email == label_studio.username
    assert [c.name for c in read_label_config(info.label_config)] == ["intent", "urgency"]
    assert info.task_number == 60
    assert info.total_annotations == 60 * 3 - 2  # cancelled annotations are not counted
    assert info.warnings == []


def _failing_connection(case: str, server: LabelStudioServer, project_id: int) -> LabelStudioConnection:
    if case == "bad_url":
        return LabelStudioConnection("ftp://x", project_id, server.legacy_token)
    if case == "refused":
        return LabelStudioConnection(f"http://127.0.0.1:{_free_port()}", project_id, server.legacy_token)
    if case == "legacy_401":
        return LabelStudioConnection(server.url, project_id, secrets.token_hex(20))
    if case == "jwt_401":  # a real personal access token with its signature tampered with
        header, payload, signature = server.personal_access_token().split(".")
        return LabelStudioConnection(server.url, project_id, f"{header}.{payload}.{signature[::-1]}")
    assert case == "not_found"
    return LabelStudioConnection(server.url, 987654, server.legacy_token)


@pytest.mark.parametrize("case, kind, fragments", [
    ("bad_url", "bad_url", ["'ftp://x'", "not an absolute http(s) URL"]),
    ("refused", "refused", ["cannot connect to http://127.0.0.1:", "Connection refused"]),
    ("legacy_401", "unauthorized", ["rejected the API key (401", "looks like a legacy token"]),
    ("jwt_401", "unauthorized", ["rejected the API key (401", "looks like a personal access token"]),
    ("not_found", "project_not_found", ["has no project 987654", "(404"]),
])
def test_each_connection_failure_is_explained_without_the_key(
        label_studio: LabelStudioServer, ls_small_project: tuple[int, list[int]],
        case: str, kind: str, fragments: list[str]) -> None:
    connection = _failing_connection(case, label_studio, ls_small_project[0])
    with pytest.raises(ConnectionProblem) as raised:
        check_connection(connection)
    message = str(raised.value)
    assert raised.value.kind == kind
    for fragment in fragments:
        assert fragment in message
    if case not in ("bad_url", "refused"):
        assert connection.base_url in message
    assert connection.api_key not in message and connection.api_key not in repr(raised.value)


def test_an_expired_personal_access_token_is_a_connection_problem(
        label_studio: LabelStudioServer, ls_small_project: tuple[int, list[int]]) -> None:
    import jwt

    claims = {"token_type": "refresh", "exp": int(time.time()) - 3600, "jti": "x", "user_id": 1}
    expired = jwt.encode(claims, secrets.token_hex(32), algorithm="HS256")
    with pytest.raises(ConnectionProblem) as raised:
        check_connection(LabelStudioConnection(label_studio.url, ls_small_project[0], expired))
    assert raised.value.kind == "unauthorized" and "personal access token" in str(raised.value)


@pytest.mark.parametrize("kind", ["legacy token", "personal access token"])
def test_repr_of_a_connection_hides_the_key(label_studio: LabelStudioServer, kind: str) -> None:
    key = label_studio.legacy_token if kind == "legacy token" else label_studio.personal_access_token()
    connection = LabelStudioConnection(label_studio.url, 7, key)
    assert connection.token_kind == kind
    assert key not in repr(connection) and key not in str(connection)
    assert repr(connection) == f"LabelStudioConnection(base_url={label_studio.url!r}, project_id=7)"


# --- pulling -------------------------------------------------------------------------
def test_pull_gives_the_table_of_the_export_file(label_studio: LabelStudioServer,
                                                 ls_small_project: tuple[int, list[int]],
                                                 tmp_path: Path) -> None:
    project_id, annotators = ls_small_project
    client = label_studio.client()
    pulled = pull_project(LabelStudioConnection(label_studio.url, project_id, label_studio.legacy_token))

    specs = field_specs(read_label_config(client.projects.get(project_id).label_config))
    from_file = read_labelstudio_json(download_export(client, project_id, tmp_path / "export.json"),
                                      fields=specs)
    pd.testing.assert_frame_equal(pulled.dataset.annotations.drop(columns=[T.SOURCE]),
                                  from_file.annotations.drop(columns=[T.SOURCE]))
    pd.testing.assert_frame_equal(pulled.dataset.tasks, from_file.tasks)
    assert pulled.dataset.annotations[T.SOURCE].unique().tolist() == [
        f"labelstudio:{label_studio.url}/projects/{project_id}"]

    report = pulled.dataset.report
    assert pulled.method == "export_snapshot"
    assert (report.n_records, report.n_annotations, report.n_cancelled) == (60, 178, 2)
    assert len(report.cancelled_annotation_ids) == 2 and report.problems == []
    assert len(pulled.dataset.annotations) == expected_rows(seed_tasks(60, annotators, seed=1))
    assert sorted(pulled.dataset.tasks.columns) == ["channel", "language", T.TASK_ID, "text", "ticket_id"]

    fields = pulled.dataset.fields
    assert (fields["intent"].value_type, fields["intent"].level) == ("choice", "nominal")
    assert fields["intent"].categories == INTENTS  # the config's order, not alphabetical
    assert (fields["urgency"].value_type, fields["urgency"].level) == ("rating", "ordinal")
    assert fields["urgency"].categories == (1.0, 2.0, 3.0, 4.0)
    assert set(pulled.dataset.annotations.loc[pulled.dataset.annotations[T.FIELD] == "urgency", T.LABEL]) \
        <= {1.0, 2.0, 3.0, 4.0}

    assert set(pulled.dataset.annotations[T.ANNOTATOR_ID]) == {str(a) for a in annotators}
    for uid in annotators:
        assert pulled.annotator_emails[str(uid)] == client.users.get(uid).email
    assert pulled.annotator_emails[str(client.users.whoami().id)] == label_studio.username
    assert pulled.warnings == []
    assert pulled.export_bytes == (tmp_path / "export.json").stat().st_size
    # the pull removed its snapshot from the server
    titles = [e.title for e in client.projects.exports.list(project_id)]
    assert [t for t in titles if t.startswith("labelcheck pull")] == []


def test_publish_instructions_sanitises_and_shows_them(label_studio: LabelStudioServer,
                                                      ls_small_project: tuple[int, list[int]]) -> None:
    client = label_studio.client()
    _, annotators = ls_small_project
    project_id = seed_project(client, 3, annotators, seed=4, title="publish instructions", n_cancelled=0)
    assert not client.projects.get(project_id).show_instruction
    html = ("<h2>Intent</h2><p>Choose <b>Billing</b> for charges and invoices.</p>"
            "<script>alert('stolen')</script>"
            '<p><a href="javascript:alert(1)" onclick="steal()">details</a> '
            '<a href="https://example.com/guide">guide</a></p>')
    connection = LabelStudioConnection(label_studio.url, project_id, label_studio.legacy_token)
    result = publish_instructions(connection, html)
    assert result.confirmed is True and result.show_instruction is True
    back = client.projects.get(project_id)
    assert back.show_instruction is True
    assert back.expert_instruction == result.read_back_html
    text = back.expert_instruction
    for gone in ("<script", "alert(", "javascript:", "onclick", "steal()"):
        assert gone not in text
    for kept in ("<h2>Intent</h2>", "<b>Billing</b>", 'href="https://example.com/guide"'):
        assert kept in text


# --- syncing through storage ---------------------------------------------------------
class SyncedProject:
    """A labelcheck database with one project synced from a Label Studio project."""

    def __init__(self, database_url: str, server: LabelStudioServer, ls_project_id: int) -> None:
        self.db = Database(database_url)
        self.db.upgrade()
        with self.db.session() as session:
            project = Project(name="synced")
            session.add(project)
            session.flush()
            source = DataSource(project_id=project.id, kind="labelstudio", name="Label Studio",
                                settings={"base_url": server.url, "project_id": ls_project_id},
                                secret=SecretBox(SECRET_KEY).encrypt(server.legacy_token))
            session.add(source)
            session.flush()
            self.project_id, self.source_id = project.id, source.id

    def sync(self, secret_key: str = SECRET_KEY) -> Run:
        with self.db.session() as session:
            run = Run(kind="sync", project_id=self.project_id, source_id=self.source_id, status="queued")
            session.add(run)
            session.flush()
            run_id = run.id
        run_sync(self.db, run_id, secret_key)
        with self.db.session() as session:
            return session.get(Run, run_id)  # type: ignore[return-value]

    def snapshot(self) -> tuple[int, str | None]:
        with self.db.session() as session:
            project = session.get(Project, self.project_id)
            assert project is not None
            return project.snapshot, project.snapshot_hash

    def rows(self) -> set[tuple[Any, ...]]:
        """Every stored annotation row's key and content."""
        with self.db.session() as session:
            return set(session.execute(select(
                Annotation.task_id, Annotation.annotation_id, Annotation.annotator_id, Annotation.field,
                Annotation.label_text, Annotation.label_number, Annotation.row_hash)).all())

    def n_rows(self) -> int:
        with self.db.session() as session:
            return int(session.execute(select(func.count()).select_from(Annotation)).scalar_one())


@pytest.fixture
def synced(database_url: str,
           label_studio: LabelStudioServer) -> Iterator[tuple[SyncedProject, int, list[int]]]:
    """A fresh 30-task Label Studio project of its own (it gets edited) and a labelcheck
    database with a project connected to it."""
    client = label_studio.client()
    annotators = create_annotators(client, 3, prefix="sync")
    ls_project_id = seed_project(client, 30, annotators, seed=2, n_cancelled=1, title="sync test")
    project = SyncedProject(database_url, label_studio, ls_project_id)
    try:
        yield project, ls_project_id, annotators
    finally:
        project.db.dispose()
        client.projects.delete(ls_project_id)


def _counts(run: Run) -> tuple[int, int, int, int]:
    return run.counts["added"], run.counts["updated"], run.counts["removed"], run.counts["unchanged"]


def test_sync_applies_additions_edits_and_deletions(label_studio: LabelStudioServer,
                                                   synced: tuple[SyncedProject, int, list[int]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project, ls_project_id, annotators = synced
    client = label_studio.client()
    n_rows = expected_rows(seed_tasks(30, annotators, seed=2, n_cancelled=1))

    first = project.sync()
    assert first.status == "succeeded", first.message
    assert _counts(first) == (n_rows, 0, 0, 0)
    assert first.counts["cancelled"] == 1 and first.counts["items_added"] == 30
    assert first.counts["pull"]["method"] == "export_snapshot"
    assert first.message.startswith(f"synced (export snapshot): {n_rows} added")
    snapshot_1 = project.snapshot()
    assert project.n_rows() == n_rows and snapshot_1[0] == 1 and snapshot_1[1] is not None
    with project.db.session() as session:
        emails = dict(session.execute(select(Annotator.annotator_id, Annotator.email)
                                      .where(Annotator.project_id == project.project_id)).all())
    assert emails == {str(uid): client.users.get(uid).email for uid in annotators}

    again = project.sync()
    assert again.status == "succeeded"
    assert _counts(again) == (0, 0, 0, n_rows)
    assert again.message.startswith("nothing changed") and again.snapshot_after == 1
    assert project.snapshot() == snapshot_1 and project.n_rows() == n_rows

    # In Label Studio: a new annotator answers one task, one annotation is edited, one deleted.
    with project.db.session() as session:
        both = session.execute(
            select(Annotation.annotation_id, Annotation.task_id)
            .group_by(Annotation.annotation_id, Annotation.task_id)
            .having(func.count() == 2).order_by(Annotation.annotation_id)).all()
    (edited_id, _), (deleted_id, _), (_, task_id) = both[0], both[1], both[2]
    newcomer = create_annotators(client, 1, prefix="late")[0]
    created = client.annotations.create(int(task_id), completed_by=newcomer, ground_truth=False, lead_time=5.0,
                                        result=[{"from_name": "intent", "to_name": "text", "type": "choices",
                                                 "value": {"choices": ["Legal complaint"]}},
                                                {"from_name": "urgency", "to_name": "text", "type": "rating",
                                                 "value": {"rating": 4}}])
    old = client.annotations.get(int(edited_id))
    old_intent = next(r["value"]["choices"][0] for r in old.result if r["from_name"] == "intent")
    new_intent = next(i for i in INTENTS if i != old_intent)
    client.annotations.update(int(edited_id), result=[
        {**r, "value": {"choices": [new_intent]}} if r["from_name"] == "intent" else r for r in old.result])
    client.annotations.delete(int(deleted_id))

    third = project.sync()
    assert third.status == "succeeded", third.message
    assert _counts(third) == (2, 2, 2, n_rows - 4)  # each annotation is two rows: intent, urgency
    assert project.snapshot()[0] == 2 and third.snapshot_after == 2
    assert project.n_rows() == n_rows
    with project.db.session() as session:
        stored = {(a, f): (t, n) for a, f, t, n in session.execute(select(
            Annotation.annotation_id, Annotation.field, Annotation.label_text, Annotation.label_number))}
        late_email = session.execute(select(Annotator.email).where(
            Annotator.project_id == project.project_id,
            Annotator.annotator_id == str(newcomer))).scalar_one()
    assert stored[(str(created.id), "intent")][0] == "Legal complaint"
    assert stored[(str(created.id), "urgency")][1] == 4.0
    assert stored[(str(edited_id), "intent")][0] == new_intent
    assert (str(deleted_id), "intent") not in stored and (str(deleted_id), "urgency") not in stored
    assert late_email == client.users.get(newcomer).email

    # A changed SECRET_KEY: the run fails, saying so, and nothing changes.
    rows_2, snapshot_2 = project.rows(), project.snapshot()
    assert snapshot_2 != snapshot_1
    wrong = project.sync(secret_key="not the app's secret key")
    assert wrong.status == "failed"
    assert "cannot decrypt the stored API key" in wrong.message and "SECRET_KEY" in wrong.message
    assert wrong.snapshot_before == wrong.snapshot_after == 2
    assert project.snapshot() == snapshot_2 and project.rows() == rows_2

    # An import interrupted after the stale rows were deleted rolls back whole.
    client.annotations.update(int(edited_id), result=[
        {**r, "value": {"choices": [old_intent]}} if r["from_name"] == "intent" else r for r in old.result])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(storage_annotations, "bulk_insert_frame", broken)
    with pytest.raises(OSError, match="disk full"):
        project.sync()
    with project.db.session() as session:
        interrupted = session.execute(select(Run).order_by(Run.id.desc())).scalars().first()
        assert interrupted is not None
        assert interrupted.status == "failed" and "disk full (simulated)" in interrupted.message
        assert interrupted.snapshot_after == 2
    assert project.snapshot() == snapshot_2 and project.rows() == rows_2
    monkeypatch.undo()

    recovered = project.sync()
    assert recovered.status == "succeeded"
    assert _counts(recovered) == (0, 2, 0, n_rows - 2)
    assert project.snapshot()[0] == 3


# --- a large project -----------------------------------------------------------------
@pytest.fixture(scope="session")
def ls_large_project(label_studio: LabelStudioServer) -> tuple[int, list[int], int]:
    """``(project_id, annotator_ids, seconds to seed)``: 20k tasks x 3 annotators."""
    client = label_studio.client()
    annotators = create_annotators(client, 3, prefix="large")
    t0 = time.perf_counter()
    project_id = seed_project(client, LARGE_TASKS, annotators, seed=3, title="labelcheck 20k")
    return project_id, annotators, time.perf_counter() - t0


@pytest.mark.slow
def test_pull_of_a_20k_task_project(label_studio: LabelStudioServer,
                                    ls_large_project: tuple[int, list[int], float],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    project_id, annotators, seed_seconds = ls_large_project
    pulled = pull_project(LabelStudioConnection(label_studio.url, project_id, label_studio.legacy_token))
    report = pulled.dataset.report
    assert report.n_records == LARGE_TASKS
    assert report.n_annotations == 3 * LARGE_TASKS - 2 and report.n_cancelled == 2
    assert len(pulled.dataset.annotations) == expected_rows(seed_tasks(LARGE_TASKS, annotators, seed=3))
    assert len(pulled.dataset.tasks) == LARGE_TASKS and report.problems == []
    assert pulled.method == "export_snapshot" and pulled.warnings == []
    with capsys.disabled():
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in pulled.timings.items())
        print(f"\n[20k pull] seeded in {seed_seconds:.1f} s; export {pulled.export_bytes / 1e6:.1f} MB, "
              f"{len(pulled.dataset.annotations)} rows; {timings}")
