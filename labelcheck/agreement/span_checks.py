"""Input checks of span fields: every malformed span, named by source row, task,
annotation and field.

:func:`check_spans` raises one :class:`~labelcheck.errors.InvalidInput` listing every
bad span; :func:`split_valid_spans` drops just the bad spans and returns the rest with
the problems.  :func:`scan_spans` is the one pass both use, and the one
:func:`~labelcheck.agreement.span_table.collect_spans` runs before building the flat
table of labelled spans.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from labelcheck.agreement.structured_labels import (
    LABEL_SEPARATOR,
    BadItems,
    is_missing,
    keep_good_items,
    problem_at,
)
from labelcheck.errors import InputProblem, InvalidInput
from labelcheck.table import LABEL, TASK_ID, Span, select_field, validate

#: A labelled span of a well-formed row: ``(row, start, end, label, text)``.
LabelledSpan = tuple[int, int, int, str, str | None]


def split_valid_spans(
    annotations: pd.DataFrame,
    *,
    field: str | None = None,
    text_lengths: Mapping[str, int] | None = None,
) -> tuple[pd.DataFrame, list[InputProblem]]:
    """The rows of one span field with their malformed spans taken out, and a problem
    for every malformed span.

    A span is malformed when its offsets are not integers (``3.0`` is accepted as 3;
    ``3.5``, ``"3"`` and booleans are not), ``start < 0``, ``end <= start``, or
    ``end`` is past the task's text length (when ``text_lengths`` knows it).  An item
    of the label that is not a :class:`~labelcheck.table.Span`, and a label that is
    not a tuple (or list) at all, are problems too.  Only the bad spans are dropped:
    the annotation (row) keeps its well-formed spans, and a row left with none (every
    span malformed, or a label that is not a tuple) is dropped.

    Parameters
    ----------
    annotations : canonical annotation table.
    field : the span field; may be omitted when the table has one field.
    text_lengths : ``{task_id: number of characters of the task's text}``.

    Returns
    -------
    (valid, problems)
        ``valid`` holds the field's rows, a row with a bad span relabelled with the
        tuple of its good spans (rows with a missing label are kept: they are no
        answer, not a bad one); ``problems`` names source, source row, task,
        annotation and field of each bad span, and the span (its number in the
        label, offsets and labels).

    Notes
    -----
    An annotation that keeps some of its spans is compared as if the dropped ones had
    never been drawn: where the other annotations marked that text, the statistics
    see a span this annotation missed.  The problems say which spans those are.
    """
    validate(annotations)
    frame, field_name = select_field(annotations, field)
    _, bad_items, problems = scan_spans(frame, field_name, text_lengths)
    return keep_good_items(frame, bad_items), problems


def check_spans(
    annotations: pd.DataFrame,
    *,
    field: str | None = None,
    text_lengths: Mapping[str, int] | None = None,
) -> None:
    """Raise :class:`~labelcheck.errors.InvalidInput` listing every malformed span of
    one span field (see :func:`split_valid_spans` for what is malformed, and to keep
    the good spans instead)."""
    validate(annotations)
    frame, field_name = select_field(annotations, field)
    problems = scan_spans(frame, field_name, text_lengths)[2]
    if problems:
        raise malformed_spans_error(field_name, problems)


def malformed_spans_error(field_name: str, problems: list[InputProblem]) -> InvalidInput:
    """The error listing every malformed span of a field."""
    return InvalidInput(
        f'field "{field_name}": {len(problems)} malformed span(s); fix them, or drop just '
        "those spans with split_valid_spans(...)",
        problems,
    )


def _offset(value: Any) -> int | None:
    """The integer an offset holds, or None when it is not an integer."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def scan_spans(
    frame: pd.DataFrame, field_name: str, text_lengths: Mapping[str, int] | None
) -> tuple[list[LabelledSpan], BadItems, list[InputProblem]]:
    """One pass over the rows of one span field (``frame``): the labelled spans
    ``(row, start, end, label, text)`` of the well-formed spans, the malformed items
    of each row and a problem for each, in row and item order."""
    spans: list[LabelledSpan] = []
    bad_items: BadItems = {}
    problems: list[InputProblem] = []
    tasks = frame[TASK_ID].to_numpy()
    for i, label in enumerate(frame[LABEL].to_numpy()):
        if is_missing(label):
            continue
        if not isinstance(label, (tuple, list)):
            bad_items[i] = {0}
            problems.append(problem_at(frame, i, field_name, (
                f"label is {type(label).__name__} {label!r:.60}; a span field needs a tuple of Span")))
            continue
        length = None if text_lengths is None else text_lengths.get(str(tasks[i]))
        for k, span in enumerate(label, start=1):
            if not isinstance(span, Span):
                bad_items.setdefault(i, set()).add(k)
                problems.append(problem_at(frame, i, field_name, (
                    f"item {k} of the label is {type(span).__name__} {span!r:.60}, not a Span")))
                continue
            start, end = _offset(span.start), _offset(span.end)
            what = f"span {k} [{span.start!r}, {span.end!r}) {LABEL_SEPARATOR.join(map(str, span.labels))!r}"
            wrong: str | None = None
            if start is None or end is None:
                wrong = "offsets must be integers (character positions)"
            elif start < 0:
                wrong = f"start {start} is negative; offsets count characters from 0"
            elif end <= start:
                wrong = f"end {end} is not after start {start}; a span covers [start, end)"
            elif length is not None and end > length:
                wrong = f"end {end} is past the end of the task's text ({length} characters)"
            if wrong is not None or start is None or end is None:
                bad_items.setdefault(i, set()).add(k)
                problems.append(problem_at(frame, i, field_name, f"{what}: {wrong}"))
                continue
            labels = (span.labels,) if isinstance(span.labels, str) else tuple(span.labels)
            text = span.text if isinstance(span.text, str) else None
            for lab in labels or ("",):
                spans.append((i, start, end, str(lab), text))
    return spans, bad_items, problems


__all__ = ["check_spans", "split_valid_spans"]
