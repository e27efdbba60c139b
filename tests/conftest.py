"""Small hand-made canonical tables, each showing one situation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import pytest

from labelcheck import table as T


def make_table(
    rows: Iterable[Sequence[Any]], field: str = "label", **extra: Sequence[Any]
) -> pd.DataFrame:
    """Canonical table from (task_id, annotator_id, label) triples."""
    rows = list(rows)
    frame = pd.DataFrame(rows, columns=[T.TASK_ID, T.ANNOTATOR_ID, T.LABEL])
    frame[T.FIELD] = field
    frame[T.ANNOTATION_ID] = [f"a{i}" for i in range(1, len(frame) + 1)]
    frame[T.SOURCE] = "fixture"
    frame[T.SOURCE_ROW] = range(1, len(frame) + 1)
    for name, values in extra.items():
        frame[name] = list(values)
    return T.from_records(frame)


def from_matrix(matrix: Sequence[Sequence[Any]], field: str = "label") -> pd.DataFrame:
    """Canonical table from reliability data: one row per annotator, one column per
    task, None for a missing answer (Krippendorff's layout)."""
    rows = [
        (f"t{j + 1}", f"r{i + 1}", v)
        for i, annotator_row in enumerate(matrix)
        for j, v in enumerate(annotator_row)
        if v is not None
    ]
    return make_table(rows, field=field)


@pytest.fixture
def full_agreement() -> pd.DataFrame:
    """Three annotators agree on every task; two categories in use."""
    return from_matrix([["x", "y", "x", "y"]] * 3)


@pytest.fixture
def one_dissenter() -> pd.DataFrame:
    """r3 disagrees with r1 and r2 on task t2 only."""
    return from_matrix([["x", "y", "x", "y"], ["x", "y", "x", "y"], ["x", "x", "x", "y"]])


@pytest.fixture
def missing_answers() -> pd.DataFrame:
    """Unequal numbers of answers per task, one task with a single answer."""
    return from_matrix(
        [["x", "y", None, "z"], ["x", None, "y", "z"], [None, "y", "y", None]]
    )


@pytest.fixture
def ordinal_near_misses() -> pd.DataFrame:
    """Ratings 1-5 where disagreements are one step apart."""
    return from_matrix([[1, 2, 3, 4, 5], [1, 3, 3, 5, 5], [2, 2, 4, 4, 5]])
