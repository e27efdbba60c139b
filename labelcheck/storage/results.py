"""Computed results per project snapshot: JSON payloads (``result``) and the per-item
disagreement table (``item_stat``) the item browser queries."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select, text

from labelcheck.storage.annotations import _python_columns, bulk_insert
from labelcheck.storage.database import Database
from labelcheck.storage.models import ItemStat, Result

ITEM_STAT_COLUMNS = ("task_id", "field", "n_answers", "n_labels", "disagreement", "entropy",
                     "majority_label", "majority_share",
                     # from labelcheck.analysis.consensus; missing columns are stored as NULL
                     "consensus_label", "consensus_confidence", "need", "need_reason")


def plain_json(value: Any) -> Any:
    """``value`` with numpy scalars made Python and NaN/inf made ``None`` (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_result(db: Database, project_id: int, snapshot: int, kind: str, payload: Any, key: str = "") -> None:
    """Store (replace) one result of ``kind``/``key`` for the snapshot."""
    body = plain_json(payload)
    json.dumps(body, allow_nan=False)  # fail here, not when a page renders it
    with db.session() as session:
        session.execute(delete(Result).where(
            Result.project_id == project_id, Result.snapshot == snapshot,
            Result.kind == kind, Result.key == key))
        session.add(Result(project_id=project_id, snapshot=snapshot, kind=kind, key=key, payload=body))


def load_result(db: Database, project_id: int, snapshot: int, kind: str, key: str = "") -> Any | None:
    with db.session() as session:
        return session.execute(select(Result.payload).where(
            Result.project_id == project_id, Result.snapshot == snapshot,
            Result.kind == kind, Result.key == key)).scalar_one_or_none()


def save_item_stats(db: Database, project_id: int, snapshot: int, stats: pd.DataFrame) -> None:
    """Replace the project's item statistics with ``stats`` (columns
    ``ITEM_STAT_COLUMNS``), in one transaction; older snapshots' rows are dropped."""
    with db.engine.begin() as conn:
        conn.execute(delete(ItemStat).where(ItemStat.project_id == project_id))
        if len(stats):
            frame = stats.reindex(columns=list(ITEM_STAT_COLUMNS))
            lists = _python_columns(frame, ITEM_STAT_COLUMNS)
            n = len(frame)
            bulk_insert(conn, "item_stat", ("project_id", "snapshot", *ITEM_STAT_COLUMNS),
                        zip([project_id] * n, [snapshot] * n, *lists))


def prune_results(db: Database, project_id: int, keep_snapshot: int) -> None:
    """Drop results of snapshots other than ``keep_snapshot``."""
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM result WHERE project_id = :p AND snapshot <> :s"),
                     {"p": project_id, "s": keep_snapshot})
