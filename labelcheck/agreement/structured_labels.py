"""Conventions shared by span and region fields, whose ``label`` is a tuple of items
(:class:`~labelcheck.table.Span` or :class:`~labelcheck.table.Region`): how the
labels of one item join into one category, which label is no answer, how a problem
names its row, and how a row keeps its good items when some of them are malformed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from labelcheck.errors import InputProblem
from labelcheck.table import ANNOTATION_ID, LABEL, SOURCE, SOURCE_ROW, TASK_ID

#: Joins the labels of one item, or of overlapping spans, into one category (``ORG|PER``).
LABEL_SEPARATOR = "|"

#: The malformed items of each row of a field: ``{row position: {item number}}``,
#: items numbered from 1 in the label; 0 stands for a label that is not a tuple of
#: items at all.
BadItems = dict[int, set[int]]


def is_missing(label: Any) -> bool:
    """A label that is no answer (None, NA, NaN), as opposed to an empty tuple."""
    return label is None or label is pd.NA or (isinstance(label, float) and math.isnan(label))


def problem_at(frame: pd.DataFrame, i: int, field_name: str, message: str) -> InputProblem:
    """An :class:`~labelcheck.errors.InputProblem` naming source, source row, task and
    annotation of row ``i`` (a position) of ``frame``, and the field."""
    def get(col: str) -> Any:
        if col not in frame.columns:
            return None
        v = frame[col].iat[i]
        return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v

    src_row = get(SOURCE_ROW)
    src = get(SOURCE)
    return InputProblem(
        message=message,
        source=None if src is None else str(src),
        source_row=None if src_row is None else int(src_row),
        task_id=get(TASK_ID),
        annotation_id=get(ANNOTATION_ID),
        field=field_name,
    )


def keep_good_items(frame: pd.DataFrame, bad_items: BadItems) -> pd.DataFrame:
    """``frame`` (one field) with the malformed items taken out of each row's label.

    A row keeps its other items, in their order, as a tuple; a row left with no item
    (every item malformed, or a label that is not a tuple of items) is dropped.  Rows
    without a bad item, and rows with a missing label (no answer, not a bad one), are
    kept as they are; with no bad item at all ``frame`` itself is returned."""
    if not bad_items:
        return frame
    labels = frame[LABEL].to_numpy(dtype=object).copy()
    keep = np.ones(len(frame), dtype=bool)
    for i, bad in bad_items.items():
        good = () if 0 in bad else tuple(
            item for k, item in enumerate(labels[i], start=1) if k not in bad)
        if good:
            labels[i] = good
        else:
            keep[i] = False
    out = frame.copy()
    out[LABEL] = labels
    return out[keep]


__all__ = ["LABEL_SEPARATOR", "BadItems", "is_missing", "keep_good_items", "problem_at"]
