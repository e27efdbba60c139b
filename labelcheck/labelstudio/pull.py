"""Pull a Label Studio project's annotations: an export snapshot, downloaded to a file as
a stream and parsed as a stream by the same loader as an export file.

Order of preference, each step said in :attr:`PullResult.notes` (the run log):

1. an **export snapshot** (``POST /api/projects/{id}/exports/``, poll, download);
2. the synchronous **export endpoint** (``GET /api/projects/{id}/export``) where snapshots
   are unavailable;
3. **paging** ``tasks.list`` where export is unavailable: several times slower (about 6
   against 3 ms a task here).

The snapshot is created with the SDK's own retries off: a POST the server received but
whose answer was lost is found again by its unique title instead of being repeated.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelcheck.io.labelstudio_export import read_labelstudio_json
from labelcheck.labelstudio.client import (
    ConnectionProblem,
    LabelStudioConnection,
    ProjectInfo,
    check_connection,
    explain,
    make_client,
    no_retry,
    with_retries,
)
from labelcheck.labelstudio.label_config import ControlSpec, field_specs, read_label_config
from labelcheck.table import Dataset

Progress = Callable[[float, str], None]

#: Bytes per chunk of the streamed download.
CHUNK = 1 << 20
#: Seconds to wait for an export snapshot to be built.
EXPORT_WAIT = 3600.0
#: Tasks per page when paging ``tasks.list``.
PAGE_SIZE = 500


def _noop(_fraction: float, _message: str) -> None:
    return None


@dataclass
class PullResult:
    """A pulled project: its table, where it came from, and what the pull did."""

    dataset: Dataset
    project: ProjectInfo
    controls: list[ControlSpec]
    method: str  # "export_snapshot", "export_endpoint" or "tasks_pages"
    export_bytes: int
    annotator_emails: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def log(self) -> dict[str, Any]:
        """Plain JSON for the run log (no key, no data)."""
        report = self.dataset.report
        return {
            "method": self.method, "export_bytes": self.export_bytes,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "tasks": report.n_records, "annotations_kept": report.n_annotations,
            "cancelled": report.n_cancelled, "ground_truth_flags": report.n_ground_truth,
            "problems": len(report.problems), "notes": list(self.notes),
            "warnings": list(self.warnings),
            "fields": [c.to_dict() for c in self.controls],
        }


def pull_project(
    connection: LabelStudioConnection,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    workdir: str | os.PathLike[str] | None = None,
    keep_file: str | os.PathLike[str] | None = None,
    progress: Progress = _noop,
    client: Any = None,
) -> PullResult:
    """Pull ``connection``'s project into a :class:`Dataset` (see the module docstring).

    ``overrides`` are the lead's field settings (see
    :func:`labelcheck.labelstudio.label_config.field_specs`); ``keep_file`` keeps the
    downloaded export there (otherwise it is deleted).  Raises
    :class:`~labelcheck.labelstudio.client.ConnectionProblem`.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    progress(0.0, "checking the connection")
    info = check_connection(connection)
    controls = read_label_config(info.label_config) if info.label_config else []
    specs = field_specs(controls, overrides)
    client = client or make_client(connection)
    timings["check_s"] = time.perf_counter() - t0
    notes: list[str] = []
    with tempfile.TemporaryDirectory(dir=workdir, prefix="labelcheck-pull-") as tmp:
        path = Path(keep_file) if keep_file else Path(tmp) / "export.json"
        t1 = time.perf_counter()
        method = _download(client, connection, path, notes, progress)
        timings["export_s"] = time.perf_counter() - t1
        size = path.stat().st_size
        progress(0.7, f"reading the export ({size / 1e6:.1f} MB)")
        t2 = time.perf_counter()
        source = f"labelstudio:{connection.base_url.rstrip('/')}/projects/{connection.project_id}"
        dataset = read_labelstudio_json(path, source=source, fields=specs, stream=True)
        timings["parse_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    emails = _annotator_emails(client, connection, notes)
    timings["users_s"] = time.perf_counter() - t3
    warnings = list(info.warnings)
    # Label Studio's count leaves cancelled annotations out; so does n_annotations
    seen = dataset.report.n_annotations
    if info.total_annotations is not None and seen < int(info.total_annotations):
        warnings.append(
            f"Label Studio reports {info.total_annotations} annotations in the project but labelcheck read "
            f"{seen}: this key's user may not see every annotator's annotations (use an owner or "
            "administrator's key), some annotations had problems (listed on the run), or annotations "
            "changed during the pull")
    timings["total_s"] = time.perf_counter() - t0
    progress(0.9, f"read {dataset.report.n_annotations} annotations of {dataset.report.n_records} tasks")
    return PullResult(dataset=dataset, project=info, controls=controls, method=method,
                      export_bytes=size, annotator_emails=emails, timings=timings, notes=notes,
                      warnings=warnings)


# --- download ------------------------------------------------------------------------
def _download(client: Any, connection: LabelStudioConnection, path: Path, notes: list[str],
              progress: Progress) -> str:
    try:
        export_id = _create_snapshot(client, connection, progress)
    except ConnectionProblem as problem:
        if problem.kind not in ("project_not_found", "http_error"):
            raise
        notes.append(f"export snapshots unavailable ({problem}); used the export endpoint")
    else:
        progress(0.4, "downloading the export snapshot")
        try:
            _stream_to(path, lambda: client.projects.exports.download(
                connection.project_id, export_id, export_type="JSON",
                request_options={"chunk_size": CHUNK, **no_retry()}), connection, "downloading the export")
        finally:
            try:  # the snapshot is ours: leave no file behind on the server
                client.projects.exports.delete(connection.project_id, export_id)
            except Exception:
                notes.append(f"could not delete export snapshot {export_id} on the server")
        notes.append(f"export snapshot {export_id} downloaded")
        return "export_snapshot"
    progress(0.4, "downloading through the export endpoint")
    try:
        _stream_to(path, lambda: client.projects.exports.download_sync(
            connection.project_id, export_type="JSON", download_all_tasks=True,
            request_options={"chunk_size": CHUNK, **no_retry()}), connection, "downloading the export")
        return "export_endpoint"
    except ConnectionProblem as problem:
        if problem.kind not in ("project_not_found", "http_error"):
            raise
        notes.append(f"export endpoint unavailable ({problem}); paged tasks.list instead, which is "
                     "several times slower")
    _page_tasks(client, connection, path, progress)
    return "tasks_pages"


def _create_snapshot(client: Any, connection: LabelStudioConnection, progress: Progress) -> int:
    exports = client.projects.exports
    pid = connection.project_id
    title = f"labelcheck pull {secrets.token_hex(6)}"
    progress(0.05, "asking Label Studio for an export snapshot")
    snapshot = None
    for attempt in range(3):
        try:
            snapshot = exports.create(pid, title=title, request_options=no_retry())
            break
        except Exception as err:
            problem = explain(err, connection, "creating an export snapshot")
            if problem.kind not in ("timeout", "server_error", "refused") or attempt == 2:
                raise problem from err
            time.sleep(2.0 * 2 ** attempt)
            # the POST may have reached the server: reuse its snapshot instead of a second one
            found = [e for e in with_retries(lambda: exports.list(pid, request_options=no_retry()))
                     if e.title == title]
            if found:
                snapshot = found[0]
                break
    assert snapshot is not None
    export_id = int(snapshot.id)
    deadline = time.monotonic() + EXPORT_WAIT
    delay = 0.2
    while str(snapshot.status) not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise ConnectionProblem("timeout", f"export snapshot {export_id} not ready after "
                                               f"{EXPORT_WAIT:.0f} s (status {snapshot.status})")
        time.sleep(delay)
        delay = min(delay * 1.5, 5.0)
        try:
            snapshot = with_retries(lambda: exports.get(pid, export_id, request_options=no_retry()))
        except Exception as err:
            raise explain(err, connection, "waiting for the export snapshot") from err
    if str(snapshot.status) == "failed":
        raise ConnectionProblem("server_error", f"Label Studio failed to build export snapshot {export_id}")
    return export_id


def _stream_to(path: Path, open_stream: Callable[[], Any], connection: LabelStudioConnection,
               what: str) -> None:
    """Write the byte chunks of ``open_stream()`` to ``path``; retried from the start on a
    transient failure (a download is idempotent)."""

    def download() -> None:
        with open(path, "wb") as out:
            for chunk in open_stream():
                out.write(chunk)

    try:
        with_retries(download)
    except Exception as err:
        raise explain(err, connection, what) from err


def _page_tasks(client: Any, connection: LabelStudioConnection, path: Path, progress: Progress) -> None:
    """Write ``tasks.list`` pages as a JSON export file (a list of tasks)."""
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write("[")
            first = True
            pager = client.tasks.list(project=connection.project_id, fields="all", page_size=PAGE_SIZE)
            for n, task in enumerate(pager, 1):
                record = task.model_dump(mode="json") if hasattr(task, "model_dump") else dict(task)
                out.write(("" if first else ",\n") + json.dumps(record))
                first = False
                if n % PAGE_SIZE == 0:
                    progress(0.4, f"paged {n} tasks")
            out.write("]")
    except ConnectionProblem:
        raise
    except Exception as err:
        raise explain(err, connection, "paging tasks") from err


def _annotator_emails(client: Any, connection: LabelStudioConnection, notes: list[str]) -> dict[str, str]:
    """``{user id: email}`` of the organisation's users (annotators are matched by id and
    e-mail; a user deleted in Label Studio is simply absent and keeps the stored one)."""
    try:
        users = with_retries(lambda: list(client.users.list(request_options=no_retry())))
    except Exception as err:
        notes.append(f"could not list users for e-mails ({explain(err, connection, 'listing users')})")
        return {}
    return {str(u.id): str(u.email) for u in users if getattr(u, "email", None)}
