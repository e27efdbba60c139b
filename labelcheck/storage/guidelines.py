"""A project's guideline in storage: the draft, immutable published versions,
acknowledgements and publications to Label Studio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select

from labelcheck.errors import LabelcheckError
from labelcheck.storage.database import Database
from labelcheck.storage.models import (
    GuidelineAck,
    GuidelineDraft,
    GuidelinePublication,
    GuidelineVersion,
    SuggestionDecision,
    User,
)


@dataclass(frozen=True)
class Version:
    """A published guideline version, detached from the session."""

    id: int
    number: int
    body: str
    note: str
    targeted_labels: list[str]
    accepted_suggestions: list[Any]
    example_task_ids: list[str]
    author: str | None
    created_at: datetime
    #: first confirmed write to Label Studio, if any
    published_to_labelstudio_at: datetime | None

    @property
    def revision_time(self) -> datetime:
        """When annotators were told: the first confirmed publication to Label Studio,
        else the publication in labelcheck."""
        return self.published_to_labelstudio_at or self.created_at


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def versions(db: Database, project_id: int) -> list[Version]:
    """The project's versions, oldest first."""
    with db.session() as session:
        rows = session.execute(
            select(GuidelineVersion, User.email).outerjoin(User, User.id == GuidelineVersion.author_id)
            .where(GuidelineVersion.project_id == project_id).order_by(GuidelineVersion.number)).all()
        published = dict(session.execute(
            select(GuidelinePublication.version_id, func.min(GuidelinePublication.published_at))
            .join(GuidelineVersion, GuidelineVersion.id == GuidelinePublication.version_id)
            .where(GuidelineVersion.project_id == project_id, GuidelinePublication.confirmed.is_(True))
            .group_by(GuidelinePublication.version_id)).all())
        return [Version(id=v.id, number=v.number, body=v.body, note=v.note,
                        targeted_labels=list(v.targeted_labels or []),
                        accepted_suggestions=list(v.accepted_suggestions or []),
                        example_task_ids=[str(t) for t in (v.example_task_ids or [])], author=email,
                        created_at=_utc(v.created_at),
                        published_to_labelstudio_at=_utc(published[v.id]) if v.id in published else None)
                for v, email in rows]


def version(db: Database, project_id: int, number: int) -> Version | None:
    return next((v for v in versions(db, project_id) if v.number == number), None)


def draft(db: Database, project_id: int) -> dict[str, Any]:
    """The draft (or, without one, the current version's text to start from)."""
    with db.session() as session:
        row = session.get(GuidelineDraft, project_id)
        if row is not None:
            return {"body": row.body, "note": row.note, "targeted_labels": list(row.targeted_labels or []),
                    "accepted_suggestions": list(row.accepted_suggestions or []),
                    "example_task_ids": list(row.example_task_ids or []), "saved": True,
                    "updated_at": row.updated_at}
    current = versions(db, project_id)
    body = current[-1].body if current else ""
    return {"body": body, "note": "", "targeted_labels": [], "accepted_suggestions": [],
            "example_task_ids": [], "saved": False, "updated_at": None}


def save_draft(db: Database, project_id: int, user_id: int | None, *, body: str, note: str = "",
               targeted_labels: list[str] | None = None, accepted_suggestions: list[Any] | None = None,
               example_task_ids: list[str] | None = None) -> None:
    with db.session() as session:
        row = session.get(GuidelineDraft, project_id)
        if row is None:
            row = GuidelineDraft(project_id=project_id)
            session.add(row)
        row.body, row.note = body, note
        row.targeted_labels = list(targeted_labels or [])
        row.accepted_suggestions = list(accepted_suggestions or [])
        row.example_task_ids = list(example_task_ids or [])
        row.updated_by_id = user_id
        row.updated_at = datetime.now(timezone.utc)


def publish_draft(db: Database, project_id: int, user_id: int | None,
                  created_at: datetime | None = None) -> Version:
    """Make the draft the next version (numbered 1, 2, ...) and delete the draft.
    Refuses an empty draft, a draft without a change note (after version 1) and a draft
    whose text equals the current version's."""
    with db.session() as session:
        row = session.get(GuidelineDraft, project_id)
        if row is None or not row.body.strip():
            raise LabelcheckError("nothing to publish: the draft is empty")
        last = session.execute(select(GuidelineVersion).where(GuidelineVersion.project_id == project_id)
                               .order_by(GuidelineVersion.number.desc())).scalars().first()
        if last is not None and last.body == row.body:
            raise LabelcheckError(f"the draft is the same text as version {last.number}: nothing changed")
        if last is not None and not row.note.strip():
            raise LabelcheckError("write a change note: annotators see it with the changes")
        number = 1 if last is None else last.number + 1
        session.add(GuidelineVersion(
            project_id=project_id, number=number, body=row.body, note=row.note.strip(),
            targeted_labels=list(row.targeted_labels or []),
            accepted_suggestions=list(row.accepted_suggestions or []),
            example_task_ids=list(row.example_task_ids or []), author_id=user_id,
            created_at=created_at or datetime.now(timezone.utc)))
        session.delete(row)
    published = version(db, project_id, number)
    assert published is not None
    return published


def acknowledge(db: Database, project_id: int, version_id: int, user_id: int) -> None:
    """Record that ``user_id`` read version ``version_id`` (repeating it changes nothing)."""
    with db.session() as session:
        owner = session.execute(select(GuidelineVersion.project_id).where(GuidelineVersion.id == version_id)).scalar()
        if owner != project_id:
            raise LabelcheckError(f"version {version_id} is not a version of project {project_id}")
        exists = session.execute(select(GuidelineAck.id).where(
            GuidelineAck.user_id == user_id, GuidelineAck.version_id == version_id)).first()
        if exists is None:
            session.add(GuidelineAck(project_id=project_id, version_id=version_id, user_id=user_id))


def last_acknowledged(db: Database, project_id: int, user_id: int) -> int | None:
    """The highest version number ``user_id`` acknowledged, or None."""
    with db.session() as session:
        return session.execute(
            select(func.max(GuidelineVersion.number)).join(GuidelineAck, GuidelineAck.version_id == GuidelineVersion.id)
            .where(GuidelineAck.project_id == project_id, GuidelineAck.user_id == user_id)).scalar()


def readers(db: Database, project_id: int) -> dict[int, list[dict[str, Any]]]:
    """``{version number: [{"email", "name", "role", "at"}]}``: who acknowledged what."""
    with db.session() as session:
        rows = session.execute(
            select(GuidelineVersion.number, User.email, User.name, User.role, GuidelineAck.acknowledged_at)
            .join(GuidelineAck, GuidelineAck.version_id == GuidelineVersion.id)
            .join(User, User.id == GuidelineAck.user_id)
            .where(GuidelineVersion.project_id == project_id)
            .order_by(GuidelineVersion.number, GuidelineAck.acknowledged_at)).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for number, email, name, role, at in rows:
        out.setdefault(int(number), []).append({"email": email, "name": name, "role": role, "at": _utc(at)})
    return out


def record_publication(db: Database, version_id: int, source_id: int | None, user_id: int | None, *,
                       confirmed: bool, message: str, published_at: datetime | None = None) -> None:
    with db.session() as session:
        session.add(GuidelinePublication(version_id=version_id, source_id=source_id, confirmed=confirmed,
                                         message=message, published_by_id=user_id,
                                         published_at=published_at or datetime.now(timezone.utc)))


def publications(db: Database, version_id: int) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.execute(select(GuidelinePublication, User.email)
                               .outerjoin(User, User.id == GuidelinePublication.published_by_id)
                               .where(GuidelinePublication.version_id == version_id)
                               .order_by(GuidelinePublication.published_at)).all()
        return [{"at": _utc(p.published_at), "confirmed": p.confirmed, "message": p.message, "by": email,
                 "source_id": p.source_id} for p, email in rows]


def decide_suggestion(db: Database, project_id: int, reference: str, status: str, reason: str,
                      user_id: int | None, snapshot: int) -> None:
    """Record a lead's decision on a suggestion (``accepted`` or ``dismissed``)."""
    if status not in ("accepted", "dismissed"):
        raise LabelcheckError(f"a suggestion is accepted or dismissed, not {status!r}")
    if status == "dismissed" and not reason.strip():
        raise LabelcheckError("say why the suggestion is dismissed")
    with db.session() as session:
        session.add(SuggestionDecision(project_id=project_id, reference=reference, status=status,
                                       reason=reason.strip(), user_id=user_id, snapshot=snapshot))


def suggestion_decisions(db: Database, project_id: int) -> dict[str, list[dict[str, Any]]]:
    """``{reference: [decision, ...]}``, newest first (the first one is in force)."""
    with db.session() as session:
        rows = session.execute(select(SuggestionDecision, User.email)
                               .outerjoin(User, User.id == SuggestionDecision.user_id)
                               .where(SuggestionDecision.project_id == project_id)
                               .order_by(SuggestionDecision.id.desc())).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for d, email in rows:
        out.setdefault(d.reference, []).append({"status": d.status, "reason": d.reason, "by": email,
                                                "at": _utc(d.decided_at), "snapshot": d.snapshot})
    return out


def accept_into_draft(db: Database, project_id: int, user_id: int | None, *, reference: str, text: str,
                      labels: list[str], example_task_ids: list[str]) -> None:
    """Append a suggestion's proposed text to the guideline draft (started from the current
    version when there is none), with its reference, labels and examples."""
    current = draft(db, project_id)
    body = (current["body"].rstrip() + "\n\n" + text.strip() + "\n") if current["body"].strip() else text
    save_draft(db, project_id, user_id, body=body, note=current["note"],
               targeted_labels=list(dict.fromkeys([*current["targeted_labels"], *labels])),
               accepted_suggestions=list(dict.fromkeys([*current["accepted_suggestions"], reference])),
               example_task_ids=list(dict.fromkeys([*map(str, current["example_task_ids"]), *example_task_ids])))
