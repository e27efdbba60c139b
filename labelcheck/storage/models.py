"""SQLAlchemy 2 models: who uses labelcheck, what they analyse, and what was computed.

The annotation rows are the canonical table (:mod:`labelcheck.table`) laid out for a
database: one row per annotator's answer to one field of one task, with the label split
by kind (``label_text`` for a string, ``label_number`` for a number, ``label_json`` for
anything else: multi-choice tuples, spans, regions) so the common cases load without
JSON parsing.  Annotation and item rows are written and read in bulk by
:mod:`labelcheck.storage.annotations`, never one ORM object at a time.

Every table is created by an Alembic migration (``storage/migrations``); a test checks
that the models and the migrations describe the same schema.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("lead", "annotator", "engineer")
RUN_KINDS = ("import", "sync", "analysis", "export")
RUN_STATUSES = ("queued", "running", "succeeded", "failed")
SOURCE_KINDS = ("upload", "labelstudio")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """A person who signs in: a labeling lead, an annotator or an ML engineer."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Project(Base):
    """A labeling project: its data sources, items, annotations and results.

    ``snapshot`` counts the changes to the project's annotations: every import or sync
    that changes anything increments it, and computed results are stored per snapshot,
    so a page never shows figures of data that is no longer there."""

    __tablename__ = "project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    target_alpha: Mapped[float] = mapped_column(Float, default=0.8)
    snapshot: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    sources: Mapped[list[DataSource]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="DataSource.id"
    )
    fields: Mapped[list[Field]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Field.position"
    )


class DataSource(Base):
    """Where a project's annotations come from: an uploaded file, later a Label Studio
    connection.  ``settings`` holds the kind's parameters (file name and format; URL and
    project id), never a secret in clear."""

    __tablename__ = "data_source"
    __table_args__ = (
        # the target of annotation's (project_id, source_id) foreign key
        Index("uq_data_source_project_id_id", "project_id", "id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # a Label Studio API key, encrypted (labelcheck.storage.secrets); never in settings
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    # SHA-256 of the webhook's shared secret
    webhook_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    project: Mapped[Project] = relationship(back_populates="sources")


class Run(Base):
    """One background run: an import, a sync or an analysis, with its progress, its
    counts (added / updated / removed / unchanged / skipped) and the problems found."""

    __tablename__ = "run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_source.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    n_problems: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_before: Mapped[int | None] = mapped_column(Integer, nullable=True)
    snapshot_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )


class Field(Base):
    """A field (Label Studio control tag) of a project, as :class:`labelcheck.table.FieldSpec`."""

    __tablename__ = "field"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    value_type: Mapped[str] = mapped_column(String(20), default="choice")
    level: Mapped[str] = mapped_column(String(20), default="nominal")
    categories: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    to_name: Mapped[str | None] = mapped_column(String(200), nullable=True)

    project: Mapped[Project] = relationship(back_populates="fields")


class Annotator(Base):
    """Someone whose answers are in a project (a Label Studio user id and email)."""

    __tablename__ = "annotator"
    __table_args__ = (UniqueConstraint("project_id", "annotator_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    annotator_id: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Item(Base):
    """A task: its data fields and slice metadata (``data``, a JSON object)."""

    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("project_id", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_hash: Mapped[int] = mapped_column(BigInteger, default=0)
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_source.id", ondelete="SET NULL"), nullable=True
    )


class ItemMeta(Base):
    """One slice value of one item (``key`` = a task data column), for filtering items by
    slice in SQL without dialect-specific JSON operators."""

    __tablename__ = "item_meta"
    __table_args__ = (Index("ix_item_meta_lookup", "project_id", "key", "value", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(500))


class Annotation(Base):
    """One row of the canonical table (see :mod:`labelcheck.table`); times are integer
    microseconds since the epoch (UTC)."""

    __tablename__ = "annotation"
    __table_args__ = (
        # One index: an item's answers, and EXISTS filters (annotator, label) probed per
        # item.  Every further index costs bulk imports more than it saves (measured).
        Index("ix_annotation_task", "project_id", "task_id", "annotator_id"),
        # One foreign key, not one per column: PostgreSQL checks each key of each
        # inserted row (about 6 us a check, 13 of 19 s of a 1M-row COPY with two keys,
        # measured), and this one also ties the row's project to its source's project.
        ForeignKeyConstraint(["project_id", "source_id"], ["data_source.project_id", "data_source.id"],
                             name="fk_annotation_source", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str] = mapped_column(String(200))
    annotation_id: Mapped[str] = mapped_column(String(200))
    annotator_id: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(200))
    label_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    label_number: Mapped[float | None] = mapped_column(Float, nullable=True)
    label_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # microseconds since 1970-01-01 UTC: no text formatting or parsing on the bulk paths
    created_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    lead_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    ground_truth: Mapped[bool] = mapped_column(Boolean, default=False)
    source_row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    row_hash: Mapped[int] = mapped_column(BigInteger, default=0)


class Result(Base):
    """A computed result (JSON) for one project snapshot: pages render from these."""

    __tablename__ = "result"
    __table_args__ = (UniqueConstraint("project_id", "snapshot", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    snapshot: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ItemStat(Base):
    """Per item and field disagreement figures for one snapshot (the item browser sorts
    and filters on these in SQL)."""

    __tablename__ = "item_stat"
    __table_args__ = (
        # one index per sort order of the item browser
        Index("ix_item_stat_rank", "project_id", "snapshot", "field", "disagreement"),
        Index("ix_item_stat_entropy", "project_id", "snapshot", "field", "entropy"),
        Index("ix_item_stat_answers", "project_id", "snapshot", "field", "n_answers"),
        Index("ix_item_stat_field_task", "project_id", "snapshot", "field", "task_id"),
        Index("ix_item_stat_task", "project_id", "snapshot", "task_id"),
        Index("ix_item_stat_need", "project_id", "snapshot", "field", "need"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    snapshot: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(200))
    n_answers: Mapped[int] = mapped_column(Integer)
    n_labels: Mapped[int] = mapped_column(Integer)
    disagreement: Mapped[float] = mapped_column(Float)
    entropy: Mapped[float] = mapped_column(Float)
    majority_label: Mapped[str | None] = mapped_column(Text, nullable=True)
    majority_share: Mapped[float] = mapped_column(Float)
    # the consensus model's label and posterior, and how much the item needs a lead's
    # adjudication (labelcheck.analysis.consensus); NULL for fields without a model
    consensus_label: Mapped[str | None] = mapped_column(Text, nullable=True)
    consensus_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    need: Mapped[float | None] = mapped_column(Float, nullable=True)
    need_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class GuidelineVersion(Base):
    """One published version of a project's guideline: immutable once written (the app
    never updates a row; a correction is a new version)."""

    __tablename__ = "guideline_version"
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # markdown
    note: Mapped[str] = mapped_column(Text, default="")  # the change note
    # labels the revision is about (for "did it work?"), the suggestions it accepted and
    # the example items attached to the change
    targeted_labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    accepted_suggestions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    example_task_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GuidelineDraft(Base):
    """The lead's unpublished edit of a project's guideline (one per project)."""

    __tablename__ = "guideline_draft"

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    targeted_labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    accepted_suggestions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    example_task_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GuidelineAck(Base):
    """A user's acknowledgement of having read a guideline version."""

    __tablename__ = "guideline_ack"
    __table_args__ = (UniqueConstraint("user_id", "version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("guideline_version.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    acknowledged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GuidelinePublication(Base):
    """A version written to a Label Studio project's instructions."""

    __tablename__ = "guideline_publication"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("guideline_version.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_source.id", ondelete="SET NULL"), nullable=True
    )
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )


class SuggestionDecision(Base):
    """A lead's decision on a guideline suggestion: accepted into the draft, or dismissed
    with a reason.  Rows are only added: the latest one of a reference is in force, the
    earlier ones are its history."""

    __tablename__ = "suggestion_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(500))  # e.g. "intent:Billing|Refund"
    status: Mapped[str] = mapped_column(String(20))  # accepted | dismissed
    reason: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[int] = mapped_column(Integer, default=0)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Adjudication(Base):
    """A lead's decision on one item of one field: the final label, or the item marked
    ambiguous or excluded, with a reason.  Rows are only added: the latest one of an
    (item, field) is in force and overrides every consensus model; the earlier ones are
    its history."""

    __tablename__ = "adjudication"
    __table_args__ = (Index("ix_adjudication_item", "project_id", "field", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # label | ambiguous | excluded
    label: Mapped[str | None] = mapped_column(Text, nullable=True)  # canonical JSON of the label
    reason: Mapped[str] = mapped_column(Text, default="")
    snapshot: Mapped[int] = mapped_column(Integer, default=0)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the Label Studio annotation the label was pushed as, when it was
    labelstudio_annotation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DatasetExport(Base):
    """A training-set export made in the app: its rules, and once its run has
    succeeded, the file, its manifest and their digests (files live under the
    instance's ``exports`` folder)."""

    __tablename__ = "dataset_export"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"), nullable=True)
    field: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    snapshot: Mapped[int] = mapped_column(Integer, default=0)
    file_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    n_rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
