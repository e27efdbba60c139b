"""A lead's adjudication decisions as a table, and the decision in force per item.

One row per decision: ``task_id``, ``status`` (``label``, ``ambiguous`` or
``excluded``), ``label`` (for ``label``), and optionally ``field``, ``reason`` and
``decided_at`` (with it, the latest decision per task is in force; without it, a task
decided twice is an error).  A row whose ``field`` is empty applies to every field.
Part of the core: no I/O; the CLI reads the CSV.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from labelcheck.consensus.canonical import canonical_json, id_key
from labelcheck.errors import InputProblem, InvalidInput, name_list
from labelcheck.table import FIELD, LABEL, TASK_ID

AdjudicationStatus = Literal["label", "ambiguous", "excluded"]
ADJUDICATION_STATUSES: tuple[str, ...] = get_args(AdjudicationStatus)
# --- column names of an adjudication table: spelled here once
STATUS = "status"
REASON = "reason"
DECIDED_AT = "decided_at"
SOURCE_ROW = "source_row"


def effective_adjudications(
    adjudications: pd.DataFrame, field: str, *, source: str = "adjudications"
) -> pd.DataFrame:
    """The decision in force per task of ``field``: columns ``task_id``, ``status``,
    ``label``, ``reason``, ``source_row`` (1-based row in ``adjudications``), sorted
    by task id.  Raises :class:`InvalidInput` listing every malformed row."""
    adjudications = adjudications.reset_index(drop=True)
    missing = [c for c in (TASK_ID, STATUS) if c not in adjudications.columns]
    if missing:
        raise InvalidInput(
            f"{source}: missing column(s) {', '.join(missing)}; found "
            f"{name_list(map(str, adjudications.columns)) or 'none'} (expected task_id, "
            "field, label, status, reason)"
        )
    frame = pd.DataFrame({
        TASK_ID: adjudications[TASK_ID],
        STATUS: adjudications[STATUS],
        LABEL: adjudications[LABEL] if LABEL in adjudications.columns else None,
        REASON: adjudications[REASON] if REASON in adjudications.columns else None,
        SOURCE_ROW: np.arange(1, len(adjudications) + 1),
    })
    if FIELD in adjudications.columns:
        # a row with no field applies to the field being exported, as without the column
        cells = adjudications[FIELD]
        frame = frame[(cells.map(is_blank) | (cells.map(str) == field)).to_numpy()].copy()
    if DECIDED_AT in adjudications.columns:
        frame[DECIDED_AT] = pd.to_datetime(adjudications.loc[frame.index, DECIDED_AT], utc=True,
                                           errors="coerce", format="mixed")
    problems: list[InputProblem] = []
    for row in frame.itertuples(index=False):
        task, status, label = getattr(row, TASK_ID), getattr(row, STATUS), getattr(row, LABEL)
        row_no = int(getattr(row, SOURCE_ROW))
        task_id = None if is_blank(task) else str(task)

        def problem(message: str) -> InputProblem:
            return InputProblem(message, source=source, source_row=row_no, task_id=task_id,
                                field=field)

        if task_id is None:
            problems.append(problem("task_id is missing"))
        elif is_blank(status) or str(status).strip() not in ADJUDICATION_STATUSES:
            problems.append(problem(
                f"status {status!r} is not one of {', '.join(ADJUDICATION_STATUSES)}"))
        elif str(status).strip() == "label" and is_blank(label):
            problems.append(problem('status "label" needs a label'))
        if DECIDED_AT in frame.columns and pd.isna(getattr(row, DECIDED_AT)):
            problems.append(problem("decided_at is missing or not a time"))
    if problems:
        raise InvalidInput(f"{source}: {len(problems)} problem(s) in the adjudication table",
                           problems)
    frame[TASK_ID] = frame[TASK_ID].map(str)
    frame[STATUS] = frame[STATUS].map(lambda s: str(s).strip())
    if DECIDED_AT in frame.columns:
        frame = frame.sort_values([TASK_ID, DECIDED_AT, SOURCE_ROW], kind="stable")
        last = frame.groupby(TASK_ID, sort=False).tail(1)
        top = frame.groupby(TASK_ID)[DECIDED_AT].transform("max") == frame[DECIDED_AT]
        clash = frame[top].groupby(TASK_ID).size()
        twice = clash[clash > 1].index.tolist()
        if twice:
            raise InvalidInput(f"{source}: task(s) {name_list(twice)} of field \"{field}\" have "
                               "two decisions with the same decided_at")
        frame = last.drop(columns=[DECIDED_AT])
    else:
        repeated = frame[frame[TASK_ID].duplicated(keep=False)]
        if len(repeated):
            twice = sorted(set(repeated[TASK_ID]), key=id_key)
            raise InvalidInput(
                f"{source}: task(s) {name_list(twice)} of field \"{field}\" are decided more "
                "than once; keep one row per task, or add a decided_at column (the latest wins)"
            )
    order = sorted(range(len(frame)), key=lambda i: id_key(frame[TASK_ID].iloc[i]))
    return frame.iloc[order].reset_index(drop=True)


def adjudications_sha256(adjudications: pd.DataFrame, field: str) -> str:
    """sha256 of the decisions in force on ``field`` (:func:`effective_adjudications`),
    one JSON array ``[task_id, status, label, reason]`` per line, in task id order."""
    table = effective_adjudications(adjudications, field)
    digest = hashlib.sha256()
    for row in table.itertuples(index=False):
        values = [getattr(row, TASK_ID), getattr(row, STATUS), getattr(row, LABEL),
                  getattr(row, REASON)]
        digest.update(("[" + ",".join(canonical_json(v) for v in values) + "]\n").encode())
    return digest.hexdigest()


def is_blank(value: Any) -> bool:
    """None, NaN/NA or a string of white space (an empty CSV cell)."""
    return value is None or _blank_na(value) or (isinstance(value, str) and not value.strip())


def _blank_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
