"""The app's long work, as plain functions on a :class:`~labelcheck.storage.database.Database`:
import an uploaded file into a project, and analyse a project's current snapshot.

:mod:`labelcheck.jobs` runs them in the background (Huey); tests and the ``labelcheck
demo`` command call them directly.  Each records its progress and outcome on a
:class:`~labelcheck.storage.models.Run` row, which the pages poll.
"""

from __future__ import annotations

import traceback
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from labelcheck.errors import InvalidInput, LabelcheckError
from labelcheck.storage.annotations import import_dataset, load_dataset
from labelcheck.storage.database import Database
from labelcheck.storage.models import DataSource, Project, Run
from labelcheck.storage.results import load_result, prune_results, save_item_stats, save_result

#: Problems kept on a run (all are counted in ``n_problems``).
MAX_STORED_PROBLEMS = 1000


def _now() -> datetime:
    return datetime.now(timezone.utc)


def update_run(db: Database, run_id: int, **values: Any) -> None:
    with db.session() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise LabelcheckError(f"run {run_id} does not exist")
        for key, value in values.items():
            setattr(run, key, value)


def run_import(db: Database, run_id: int, path: str, file_format: str | None = None) -> dict[str, Any]:
    """Read ``path`` with the loaders and import it into the run's project and source.

    Rows with problems are left out and listed on the run; good rows are imported.  The
    import is one transaction (see :func:`labelcheck.storage.annotations.import_dataset`),
    so a failure leaves the project as it was."""
    from labelcheck.io import read_annotations

    with db.session() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise LabelcheckError(f"run {run_id} does not exist")
        project_id, source_id = run.project_id, run.source_id
        snapshot_before = session.get(Project, project_id).snapshot  # type: ignore[union-attr]
        source_name = session.get(DataSource, source_id).name  # type: ignore[union-attr]
    update_run(db, run_id, status="running", started_at=_now(), progress=0.02,
               message=f"reading {source_name}", snapshot_before=snapshot_before)
    try:
        dataset = read_annotations(path, file_format=file_format)  # type: ignore[arg-type]
        dataset.report.source = source_name
        problems = [p.to_dict() for p in dataset.report.problems]
        for p in problems:
            p["source"] = source_name
        update_run(db, run_id, progress=0.3, message=f"importing {len(dataset.annotations)} rows",
                   problems=problems[:MAX_STORED_PROBLEMS], n_problems=len(problems))
        if dataset.annotations.empty:
            raise InvalidInput(f"{source_name}: no usable annotations", dataset.report.problems)
        counts = import_dataset(db, project_id, source_id, dataset)
    except LabelcheckError as error:
        problems = [p.to_dict() for p in getattr(error, "problems", [])]
        update_run(db, run_id, status="failed", finished_at=_now(), progress=1.0,
                   message=str(error).splitlines()[0], snapshot_after=snapshot_before,
                   **({"problems": problems[:MAX_STORED_PROBLEMS], "n_problems": len(problems)}
                      if problems else {}))
        return {"ok": False}
    except Exception as error:  # recorded on the run, then re-raised for the worker log
        update_run(db, run_id, status="failed", finished_at=_now(), progress=1.0,
                   message=f"import failed: {type(error).__name__}: {error}",
                   snapshot_after=snapshot_before)
        traceback.print_exc()
        raise
    report = dataset.report
    summary = counts.to_dict() | {
        "rows_read": report.n_rows, "cancelled": report.n_cancelled,
        "ground_truth_flags": report.n_ground_truth, "problems": len(report.problems),
    }
    verb = "imported" if counts.changed else "nothing changed"
    update_run(db, run_id, status="succeeded", finished_at=_now(), progress=1.0, counts=summary,
               snapshot_after=counts.snapshot,
               message=f"{verb}: {counts.added} added, {counts.updated} updated, "
                       f"{counts.removed} removed, {counts.unchanged} unchanged")
    return {"ok": True, "snapshot": counts.snapshot, "changed": counts.changed}


def labelstudio_connection(db: Database, source_id: int, secret_key: str) -> Any:
    """The :class:`~labelcheck.labelstudio.LabelStudioConnection` of a ``labelstudio``
    data source, its key decrypted with ``secret_key``."""
    from labelcheck.labelstudio import LabelStudioConnection
    from labelcheck.storage.secrets import SecretBox

    with db.session() as session:
        source = session.get(DataSource, source_id)
        if source is None or source.kind != "labelstudio":
            raise LabelcheckError(f"data source {source_id} is not a Label Studio connection")
        settings = dict(source.settings or {})
        token = source.secret
    if not token:
        raise LabelcheckError("this Label Studio connection has no API key; enter one on its settings page")
    return LabelStudioConnection(str(settings["base_url"]), int(settings["project_id"]),
                                 SecretBox(secret_key).decrypt(token))


def run_sync(db: Database, run_id: int, secret_key: str, *, workdir: str | None = None) -> dict[str, Any]:
    """Pull the run's Label Studio source (see :func:`labelcheck.labelstudio.pull_project`)
    and import it: new, changed and deleted annotations are applied in one transaction,
    so an interrupted sync leaves the previous snapshot whole.  The run log gets the
    pull method, timings, counts and every skipped annotation's reason."""
    from labelcheck.labelstudio import ConnectionProblem, pull_project
    from labelcheck.storage.adjudications import pushed_annotation_ids

    with db.session() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise LabelcheckError(f"run {run_id} does not exist")
        project_id, source_id = run.project_id, run.source_id
        snapshot_before = session.get(Project, project_id).snapshot  # type: ignore[union-attr]
        source = session.get(DataSource, source_id)
        overrides = dict((source.settings or {}).get("field_overrides") or {})  # type: ignore[union-attr]
    update_run(db, run_id, status="running", started_at=_now(), progress=0.02,
               message="connecting to Label Studio", snapshot_before=snapshot_before)

    def progress(fraction: float, message: str) -> None:
        update_run(db, run_id, progress=0.02 + 0.6 * fraction, message=message)

    try:
        connection = labelstudio_connection(db, source_id, secret_key)  # type: ignore[arg-type]
        pulled = pull_project(connection, overrides=overrides, workdir=workdir, progress=progress)
        dataset = pulled.dataset
        pushed = pushed_annotation_ids(db, project_id)  # type: ignore[arg-type]
        n_pushed = 0
        if pushed:  # a lead's decisions pushed back to Label Studio are not annotators' answers
            keep = ~dataset.annotations["annotation_id"].astype(str).isin(pushed).to_numpy()
            n_pushed = int((~keep).sum())
            dataset = replace(dataset, annotations=dataset.annotations[keep].reset_index(drop=True))
        problems = [p.to_dict() for p in dataset.report.problems]
        update_run(db, run_id, progress=0.65, message=f"importing {len(dataset.annotations)} rows",
                   problems=problems[:MAX_STORED_PROBLEMS], n_problems=len(problems))
        counts = import_dataset(db, project_id, source_id, dataset,  # type: ignore[arg-type]
                                annotator_emails=pulled.annotator_emails)
    except (ConnectionProblem, LabelcheckError) as error:
        problems = [p.to_dict() for p in getattr(error, "problems", [])]
        update_run(db, run_id, status="failed", finished_at=_now(), progress=1.0,
                   message=str(error).splitlines()[0], snapshot_after=snapshot_before,
                   **({"problems": problems[:MAX_STORED_PROBLEMS], "n_problems": len(problems)}
                      if problems else {}))
        return {"ok": False, "error": str(error), "kind": getattr(error, "kind", None)}
    except Exception as error:
        update_run(db, run_id, status="failed", finished_at=_now(), progress=1.0,
                   message=f"sync failed: {type(error).__name__}: {error}", snapshot_after=snapshot_before)
        traceback.print_exc()
        raise
    report = dataset.report
    skipped = {"cancelled": report.n_cancelled, "problems": len(report.problems)}
    summary = counts.to_dict() | {
        "rows_read": report.n_rows, "cancelled": report.n_cancelled,
        "ground_truth_flags": report.n_ground_truth, "problems": len(report.problems),
        "skipped": skipped, "pull": pulled.log(), "adjudications_left_out": n_pushed,
    }
    with db.session() as session:
        source = session.get(DataSource, source_id)
        settings = dict(source.settings or {})  # type: ignore[union-attr]
        settings["last_sync"] = {"run_id": run_id, "finished_at": _now().isoformat(),
                                 "project_title": pulled.project.title}
        settings["label_config"] = pulled.project.label_config
        source.settings = settings  # type: ignore[union-attr]
    verb = "synced" if counts.changed else "nothing changed"
    skipped_text = f", {report.n_cancelled} cancelled skipped" if report.n_cancelled else ""
    update_run(db, run_id, status="succeeded", finished_at=_now(), progress=1.0, counts=summary,
               snapshot_after=counts.snapshot,
               message=f"{verb} ({pulled.method.replace('_', ' ')}): {counts.added} added, "
                       f"{counts.updated} updated, {counts.removed} removed, {counts.unchanged} unchanged"
                       f"{skipped_text}"
                       + (f", {n_pushed} adjudication(s) pushed by labelcheck left out" if n_pushed else "")
                       + (f"; {len(pulled.warnings)} warning(s)" if pulled.warnings else ""))
    if pulled.warnings:
        with db.session() as session:
            run = session.get(Run, run_id)
            warnings = [{"message": w, "source": "Label Studio", "source_row": None, "task_id": None,
                         "annotation_id": None, "field": None} for w in pulled.warnings]
            run.problems = [*warnings, *(run.problems or [])]  # type: ignore[union-attr]
            run.n_problems = (run.n_problems or 0) + len(warnings)  # type: ignore[union-attr]
    return {"ok": True, "snapshot": counts.snapshot, "changed": counts.changed}


def needs_analysis(db: Database, project_id: int) -> bool:
    with db.session() as session:
        snapshot = session.execute(select(Project.snapshot).where(Project.id == project_id)).scalar_one()
    return snapshot > 0 and load_result(db, project_id, snapshot, "overview") is None


def run_analysis(db: Database, run_id: int, *, n_boot: int = 1000, confidence: float = 0.95) -> dict[str, Any]:
    """Compute the project's overview and item statistics for its current snapshot and
    store them (skipped when already stored for that snapshot)."""
    from labelcheck.analysis import analyse_dataset

    with db.session() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise LabelcheckError(f"run {run_id} does not exist")
        project_id = run.project_id
        snapshot = session.get(Project, project_id).snapshot  # type: ignore[union-attr]
    update_run(db, run_id, status="running", started_at=_now(), progress=0.05,
               message="loading annotations", snapshot_before=snapshot)
    try:
        if load_result(db, project_id, snapshot, "overview") is None:
            dataset = load_dataset(db, project_id)

            def progress(fraction: float, message: str) -> None:
                update_run(db, run_id, progress=0.1 + 0.8 * fraction, message=message)

            with db.session() as session:
                target = session.get(Project, project_id).target_alpha  # type: ignore[union-attr]
            analysis = analyse_dataset(dataset, n_boot=n_boot, confidence=confidence,
                                       target=float(target or 0.8), progress=progress)
            update_run(db, run_id, progress=0.92, message="storing results")
            save_item_stats(db, project_id, snapshot, analysis.item_stats)
            for field_name, report in analysis.hotspots.items():
                save_result(db, project_id, snapshot, "hotspots", report, key=field_name)
            for field_name, payload in analysis.consensus.items():
                save_result(db, project_id, snapshot, "consensus", payload, key=field_name)
            save_result(db, project_id, snapshot, "overview", analysis.overview)
            prune_results(db, project_id, snapshot)
    except Exception as error:
        update_run(db, run_id, status="failed", finished_at=_now(), progress=1.0,
                   message=f"analysis failed: {type(error).__name__}: {error}")
        traceback.print_exc()
        raise
    update_run(db, run_id, status="succeeded", finished_at=_now(), progress=1.0,
               message=f"results for snapshot {snapshot} ready", snapshot_after=snapshot)
    return {"ok": True, "snapshot": snapshot}


def export_rules(rules: dict[str, Any], adjudications: Any) -> Any:
    """:class:`~labelcheck.consensus.export.ExportRules` from a stored export's rules
    (the form's values) and the project's decisions in force."""
    from labelcheck.consensus.export import ExportRules

    include = bool(rules.get("include_adjudicated", True))
    return ExportRules(
        method=rules.get("method", "majority_vote"), tie=rules.get("tie", "unresolved"),
        min_confidence=float(rules.get("min_confidence", 0.0)),
        min_agreement=float(rules.get("min_agreement", 0.0)),
        exclude_annotators=tuple(rules.get("exclude_annotators") or ()),
        include_adjudicated=include,
        adjudications=adjudications if include and adjudications is not None and len(adjudications) else None,
        drop_unresolved=bool(rules.get("drop_unresolved", True)), seed=int(rules.get("seed", 0)),
        adjudications_source="labelcheck adjudications")


def snapshot_origin(db: Database, project_id: int) -> tuple[str | None, str | None]:
    """The project's sources (names, comma separated) and the import or sync run that
    produced its current snapshot (``run 12: sync, finished 2025-05-01T12:00:00Z``)."""
    with db.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise LabelcheckError(f"project {project_id} does not exist")
        names = [s.name for s in project.sources]
        run = session.execute(
            select(Run).where(Run.project_id == project_id, Run.kind.in_(("import", "sync")),
                              Run.status == "succeeded", Run.snapshot_after == project.snapshot)
            .order_by(Run.id.desc()).limit(1)).scalar_one_or_none()
        described = None
        if run is not None:
            finished = run.finished_at
            if finished is not None and finished.tzinfo is None:
                finished = finished.replace(tzinfo=timezone.utc)
            stamp = finished.isoformat().replace("+00:00", "Z") if finished else "not finished"
            described = f"run {run.id}: {run.kind}, finished {stamp}"
    return (", ".join(names) or None), described


def run_export(db: Database, run_id: int, export_id: int, folder: str) -> dict[str, Any]:
    """Build the training set a :class:`~labelcheck.storage.models.DatasetExport`
    describes from the project's current snapshot and the decisions in force, write it
    and its manifest into ``folder/<project>/<export>/`` and record the digests.

    The manifest carries no creation time (the export row does), so exporting the same
    snapshot with the same rules and decisions gives byte-identical files."""
    from pathlib import Path

    from labelcheck.consensus.export import build_export
    from labelcheck.exporting import SUFFIXES, ManifestInfo, write_export
    from labelcheck.storage.adjudications import decisions_in_force
    from labelcheck.storage.guidelines import versions
    from labelcheck.storage.models import DatasetExport

    with db.session() as session:
        export = session.get(DatasetExport, export_id)
        if export is None:
            raise LabelcheckError(f"export {export_id} does not exist")
        project_id, field, fmt, rules = export.project_id, export.field, export.format, dict(export.rules)
        snapshot = session.get(Project, project_id).snapshot  # type: ignore[union-attr]
    update_run(db, run_id, status="running", started_at=_now(), progress=0.05,
               message="loading annotations", snapshot_before=snapshot)
    try:
        dataset = load_dataset(db, project_id)
        update_run(db, run_id, progress=0.4, message=f"consensus of {field}")
        decisions = decisions_in_force(db, project_id, field)
        table = build_export(dataset, field, export_rules(rules, decisions))
        published = versions(db, project_id)
        guideline = None
        if published:
            v = published[-1]
            guideline = f"v{v.number} ({v.revision_time.isoformat().replace('+00:00', 'Z')})"
        sources, origin = snapshot_origin(db, project_id)
        info = ManifestInfo(source=sources, guideline_version=guideline, sync_run=origin,
                            adjudications="labelcheck adjudications")
        target = Path(folder) / str(project_id) / str(export_id)
        target.mkdir(parents=True, exist_ok=True)
        update_run(db, run_id, progress=0.8, message="writing the file")
        manifest = write_export(table, target / f"{_safe_stem(field)}{SUFFIXES[fmt]}", fmt,  # type: ignore[arg-type]
                                info, manifest_path=target / "manifest.json")
    except Exception as error:
        update_run(db, run_id, status="failed", finished_at=_now(), progress=1.0,
                   message=f"export failed: {error}" if isinstance(error, LabelcheckError)
                   else f"export failed: {type(error).__name__}: {error}")
        if not isinstance(error, LabelcheckError):
            traceback.print_exc()
        return {"ok": False}
    with db.session() as session:
        row = session.get(DatasetExport, export_id)
        if row is not None:
            row.file_name = manifest.export_path.name
            row.sha256 = manifest.export_sha256
            row.manifest = dict(manifest.content)
            row.n_rows = table.n_kept
            row.snapshot = snapshot
    update_run(db, run_id, status="succeeded", finished_at=_now(), progress=1.0,
               message=f"kept {table.n_kept} of {table.n_items} items", snapshot_after=snapshot,
               counts={"kept": table.n_kept, "dropped": table.n_dropped})
    return {"ok": True, "export_id": export_id}


def _safe_stem(name: str) -> str:
    """A field name as a file name stem (letters, digits, ``-``, ``_``, ``.``)."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return stem or "export"
