"""A lead's adjudication decisions in the database.

Rows of ``adjudication`` are only added: deciding an item again writes a new row and
the latest one (by id) of an (item, field) is in force; the earlier rows are its
history.  The decisions in force read back as the adjudication table of
:mod:`labelcheck.consensus.adjudication` (``task_id``, ``field``, ``status``,
``label``, ``reason``, ``decided_at``), the same shape the CLI reads from a CSV, so an
export made in the app and one made from a file go through the same code.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from labelcheck.consensus.adjudication import ADJUDICATION_STATUSES
from labelcheck.errors import InvalidInput
from labelcheck.storage.database import Database
from labelcheck.storage.models import Adjudication, Project, User

#: Longest reason kept (characters).
MAX_REASON = 2000


def record_decision(db: Database, project_id: int, field: str, task_id: str, *, status: str,
                    label: Any = None, reason: str = "", user_id: int | None = None,
                    decided_at: datetime | None = None) -> int:
    """Store a decision on ``task_id``'s ``field`` and return its id.

    ``status`` is ``label`` (then ``label`` is the final label: a string or a number),
    ``ambiguous`` or ``excluded`` (no label).  A decision needs a reason unless it
    simply confirms a label."""
    if status not in ADJUDICATION_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(ADJUDICATION_STATUSES)}; got {status!r}")
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"reason is {len(reason)} characters long; at most {MAX_REASON}")
    if status == "label":
        if label is None or (isinstance(label, str) and not label.strip()):
            raise InvalidInput("a decision with status 'label' needs the final label")
        stored: str | None = json.dumps(label, ensure_ascii=False)
    else:
        if not reason:
            raise InvalidInput(f"marking an item {status} needs a reason")
        stored = None
    with db.session() as session:
        snapshot = session.execute(select(Project.snapshot).where(Project.id == project_id)).scalar_one()
        row = Adjudication(project_id=project_id, field=field, task_id=str(task_id), status=status,
                           label=stored, reason=reason, snapshot=snapshot, user_id=user_id,
                           decided_at=decided_at or datetime.now(timezone.utc))
        session.add(row)
        session.flush()
        return int(row.id)


def history(db: Database, project_id: int, field: str, task_id: str) -> list[dict[str, Any]]:
    """Every decision on the item's field, newest first, with who made it."""
    with db.session() as session:
        rows = session.execute(
            select(Adjudication, User.email, User.name)
            .outerjoin(User, User.id == Adjudication.user_id)
            .where(Adjudication.project_id == project_id, Adjudication.field == field,
                   Adjudication.task_id == str(task_id))
            .order_by(Adjudication.id.desc())).all()
        return [_as_dict(a, email, name) for a, email, name in rows]


def decisions_for_item(db: Database, project_id: int, task_id: str) -> dict[str, list[dict[str, Any]]]:
    """``{field: history}`` of one item (every field decided at least once)."""
    with db.session() as session:
        rows = session.execute(
            select(Adjudication, User.email, User.name)
            .outerjoin(User, User.id == Adjudication.user_id)
            .where(Adjudication.project_id == project_id, Adjudication.task_id == str(task_id))
            .order_by(Adjudication.id.desc())).all()
        out: dict[str, list[dict[str, Any]]] = {}
        for a, email, name in rows:
            out.setdefault(a.field, []).append(_as_dict(a, email, name))
        return out


def decisions_in_force(db: Database, project_id: int, field: str | None = None) -> pd.DataFrame:
    """The latest decision per (item, field): an adjudication table (columns
    ``task_id``, ``field``, ``status``, ``label``, ``reason``, ``decided_at``,
    ``decided_by``, ``id``), sorted by field and task id."""
    latest = (select(func.max(Adjudication.id))
              .where(Adjudication.project_id == project_id)
              .group_by(Adjudication.field, Adjudication.task_id))
    if field is not None:
        latest = latest.where(Adjudication.field == field)
    with db.session() as session:
        rows = session.execute(
            select(Adjudication, User.email)
            .outerjoin(User, User.id == Adjudication.user_id)
            .where(Adjudication.id.in_(latest))).all()
    records = [{
        "task_id": a.task_id, "field": a.field, "status": a.status,
        "label": None if a.label is None else json.loads(a.label), "reason": a.reason,
        "decided_at": _aware(a.decided_at), "decided_by": email, "id": a.id,
    } for a, email in rows]
    columns = ["task_id", "field", "status", "label", "reason", "decided_at", "decided_by", "id"]
    frame = pd.DataFrame(records, columns=columns)
    return frame.sort_values(["field", "task_id"], kind="stable").reset_index(drop=True)


def decided_task_ids(db: Database, project_id: int, field: str) -> set[str]:
    """Items of ``field`` with a decision in force."""
    with db.session() as session:
        return set(session.execute(select(Adjudication.task_id).where(
            Adjudication.project_id == project_id, Adjudication.field == field).distinct()).scalars())


def mark_pushed(db: Database, adjudication_id: int, annotation_id: str) -> None:
    """Record the Label Studio annotation a decision was pushed as."""
    with db.session() as session:
        row = session.get(Adjudication, adjudication_id)
        if row is not None:
            row.labelstudio_annotation_id = str(annotation_id)


def pushed_annotation_ids(db: Database, project_id: int) -> set[str]:
    """The Label Studio annotations that are a lead's decisions pushed by labelcheck."""
    with db.session() as session:
        return {str(a) for a in session.execute(select(Adjudication.labelstudio_annotation_id).where(
            Adjudication.project_id == project_id,
            Adjudication.labelstudio_annotation_id.is_not(None))).scalars()}


def _as_dict(a: Adjudication, email: str | None, name: str | None) -> dict[str, Any]:
    return {
        "id": a.id, "field": a.field, "task_id": a.task_id, "status": a.status,
        "label": None if a.label is None else json.loads(a.label), "reason": a.reason,
        "snapshot": a.snapshot, "decided_at": _aware(a.decided_at),
        "decided_by": name or email or "(deleted user)",
        "labelstudio_annotation_id": a.labelstudio_annotation_id,
    }


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=timezone.utc)
