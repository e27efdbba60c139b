r"""Consensus for answers that are not single choices: label sets, ratings, free text.

One function per answer type.  Each returns a :class:`pandas.DataFrame` with one row
per task of the field, in export task order
(:func:`~labelcheck.consensus.canonical.task_order`):

============ ==============================================================
task_id      the task
label        the consensus value (a sorted tuple, a number, a string)
confidence   in [0, 1], defined per function
n_answers    the task's answers (rows with a label)
tie          True when the rule had to choose between equally good values
reason       None, or why the task has no consensus
============ ==============================================================

Every task with an answer gets a consensus here (a single answer is its own
consensus, with confidence 1), so ``reason`` is None unless stated otherwise; the
column is kept so these frames line up with the other consensus outputs.  The
output is deterministic: no randomness, ties broken by stated rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from labelcheck.agreement.multilabel import label_sets
from labelcheck.agreement.text import read_texts, text_distances
from labelcheck.consensus.canonical import object_array, task_order
from labelcheck.errors import InvalidInput, name_list
from labelcheck.table import ANNOTATION_ID, CREATED_AT, encode

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
COLUMNS: tuple[str, ...] = ("task_id", "label", "confidence", "n_answers", "tie", "reason")
#: Summed distances closer than this count as equal when looking for the medoid.
MEDOID_TOLERANCE = 1e-9


def multilabel_consensus(
    data: pd.DataFrame, *, field: str | None = None, labels: Sequence[Any] | None = None
) -> pd.DataFrame:
    r"""Per-label majority: a label is in a task's consensus when more than half of
    the task's answers include it.

    .. math:: \hat Y_t = \{\, l : c_{tl} > m_t / 2 \,\}, \qquad
              \mathrm{confidence}_t = \frac{1}{|L_t|} \sum_{l \in L_t}
              \max\!\Big(\frac{c_{tl}}{m_t}, 1 - \frac{c_{tl}}{m_t}\Big)

    :math:`c_{tl}` is the number of answers on task :math:`t` that include label
    :math:`l`, :math:`m_t` the task's answers, and :math:`L_t` the labels named by
    at least one of them (confidence 1 when no answer names a label).

    Parameters
    ----------
    data : canonical annotation table; ``label`` a sorted tuple of strings.
    field : the field; may be omitted when the table has one.
    labels : the declared labels; an answer with another label is an error.

    Returns
    -------
    pandas.DataFrame
        The columns of the module docstring; ``label`` a sorted tuple (possibly
        empty), ``tie`` True when some label is in exactly half of the answers (it
        is left out: half is not a majority), ``tied_labels`` those labels.

    Notes
    -----
    The mean runs over the labels in play on the task, not over every declared
    label: a label nobody chose would add a share of 1 and make a field with many
    labels look confident.  Every answer counts, including an annotator's repeats.
    The consensus set need not be one of the answers (two of three answers with
    ``{a, b}``, ``{a}``, ``{b}`` give ``{a, b}``).
    """
    sets = label_sets(data, field=field, labels=labels)
    task, task_ids, m = _tasks(sets.answers.task_ids)
    n_tasks = len(task_ids)
    by_set = sp.csr_matrix(
        (np.ones(task.size), (task, sets.code)), shape=(n_tasks, len(sets.sets))
    )
    counts = sp.coo_matrix(by_set @ sets.membership())
    r, c, cnt = counts.row, counts.col, counts.data
    share = cnt / m[r]
    in_play = np.bincount(r, minlength=n_tasks)
    winning = np.bincount(r, weights=np.maximum(share, 1.0 - share), minlength=n_tasks)
    confidence = np.where(in_play > 0, winning / np.maximum(in_play, 1), 1.0)
    label_names = object_array(list(sets.labels))
    chosen = 2 * cnt > m[r]
    tied = 2 * cnt == m[r]
    consensus = _group_tuples(r[chosen], label_names[c[chosen]], n_tasks, sort=True)
    tied_labels = _group_tuples(r[tied], label_names[c[tied]], n_tasks, sort=True)
    frame = _frame(task_ids, consensus, confidence, m, np.bincount(r[tied], minlength=n_tasks) > 0)
    frame["tied_labels"] = tied_labels[task_order(list(task_ids))]
    return frame


def rating_consensus(
    data: pd.DataFrame, *, field: str | None = None, tolerance: float | None = None
) -> pd.DataFrame:
    r"""The median rating of each task, the lower median for an even tie.

    .. math:: \hat y_t = x_{t,(\lceil m_t/2 \rceil)}, \qquad
              \mathrm{confidence}_t = \frac{1}{m_t} \#\{ i : |x_{ti} - \hat y_t|
              \le \tau \}

    :math:`x_{t,(k)}` is the :math:`k`-th smallest of the task's :math:`m_t`
    ratings (for odd :math:`m_t` the median; for even :math:`m_t` the lower of the
    two middle values) and :math:`\tau` the ``tolerance``.

    Parameters
    ----------
    data : canonical annotation table; ``label`` a number (Label Studio ``Rating``
        or ``Number``); numeric strings are read as numbers.
    field : the field; may be omitted when the table has one.
    tolerance : how far from the median an answer may be and still count as
        agreeing.  Default: half the field's step, the smallest gap between two
        distinct ratings of the field (0.5 for whole stars), so that only answers
        on the median's step count; pass 1 for star ratings to also count the
        neighbouring stars.

    Returns
    -------
    pandas.DataFrame
        The columns of the module docstring; ``label`` a float; ``tie`` True when
        the count is even and the two middle ratings differ (the lower one is
        taken, a conservative choice for quality ratings); ``tolerance`` the
        :math:`\tau` used.

    Notes
    -----
    The median, not the mean: ratings are at best interval-scaled and often only
    ordinal, and a median is a rating someone gave.  Agreement on these fields is
    measured by ``krippendorff_alpha(level="interval")`` (or ``"ordinal"``) and the
    intraclass correlations of :mod:`labelcheck.agreement.icc`.
    """
    coded = encode(data, field=field, level="interval")
    if coded.n_annotations == 0:
        raise InvalidInput(f'field "{coded.field}" has no answers: every label is missing')
    values = np.asarray(coded.values, dtype=np.float64)  # interval level always sets them
    x = values[coded.label]
    if not np.isfinite(x).all():
        raise InvalidInput(
            f'field "{coded.field}": ratings must be finite numbers; found '
            f"{name_list(sorted(set(x[~np.isfinite(x)].tolist())))}"
        )
    if tolerance is None:
        gaps = np.diff(np.unique(values[np.isfinite(values)]))
        tolerance = float(gaps.min()) / 2.0 if gaps.size else 0.5
    elif not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number >= 0; got {tolerance}")
    task = coded.task.astype(np.int64)
    n_tasks = coded.n_tasks
    m = np.bincount(task, minlength=n_tasks)
    order = np.lexsort((x, task))
    starts = np.concatenate([[0], np.cumsum(m)[:-1]])
    sorted_x = x[order]
    lower = sorted_x[starts + (m - 1) // 2]
    upper = sorted_x[starts + m // 2]
    tie = (m % 2 == 0) & (lower != upper)
    scale = max(1.0, float(np.abs(x).max()))
    near = np.abs(x - lower[task]) <= tolerance + 1e-12 * scale
    confidence = np.bincount(task, weights=near, minlength=n_tasks) / m
    frame = _frame(np.asarray(coded.task_ids, dtype=object), lower, confidence, m, tie)
    frame["tolerance"] = float(tolerance)
    return frame


def text_consensus(
    data: pd.DataFrame, *, field: str | None = None, normalise: bool = True
) -> pd.DataFrame:
    r"""The medoid answer of each task: the one closest, in summed normalised edit
    distance, to the task's other answers.

    .. math:: \hat y_t = \arg\min_{i \in t} \sum_{j \in t,\, j \ne i} \delta(a_i, a_j),
              \qquad \mathrm{confidence}_t = 1 - \frac{1}{m_t - 1}
              \sum_{j \ne \hat y_t} \delta(a_{\hat y_t}, a_j)

    :math:`\delta` is the normalised Levenshtein distance
    (:func:`~labelcheck.agreement.text.text_distance`) between the answers after
    :func:`~labelcheck.agreement.text.normalise_text` when ``normalise`` is True,
    and :math:`m_t` the task's answers; a task with one answer has confidence 1.

    Parameters
    ----------
    data : canonical annotation table; ``label`` a string.
    field : the field; may be omitted when the table has one.
    normalise : compare answers after NFKC, case folding and whitespace collapsing.

    Returns
    -------
    pandas.DataFrame
        The columns of the module docstring; ``label`` the medoid answer as written
        (not normalised); ``annotation_id`` the annotation it comes from; ``tie``
        True when answers that differ (after normalisation) share the smallest sum.

    Notes
    -----
    Ties (sums within :data:`MEDOID_TOLERANCE`) go to the earliest ``created_at``
    (a missing time counts as latest), then to the lexicographically smallest
    answer (by code point), then the smallest ``annotation_id``.  The medoid is
    always one of the answers, unlike a string "average".

    References
    ----------
    Kaufman, L. & Rousseeuw, P. J. (1990). Finding Groups in Data, ch. 2
    (partitioning around medoids). Wiley. https://doi.org/10.1002/9780470316801
    """
    texts = read_texts(data, field=field, normalise=normalise)
    answers = texts.answers
    task, task_ids, m = _tasks(answers.task_ids)
    n = task.size
    # rows grouped by task; every ordered pair of different rows within a task
    by_task = np.argsort(task, kind="stable")
    starts = np.concatenate([[0], np.cumsum(m)[:-1]])
    left, right = _ordered_pairs(starts, m)
    i, j = by_task[left], by_task[right]
    ci, cj = texts.code[i], texts.code[j]
    differ = ci != cj
    delta = np.zeros(i.size)
    if differ.any():
        k = int(texts.texts.size)
        lo, hi = np.minimum(ci[differ], cj[differ]), np.maximum(ci[differ], cj[differ])
        keys, inverse = np.unique(lo * k + hi, return_inverse=True)
        delta[differ] = text_distances(texts.texts[keys // k], texts.texts[keys % k])[inverse.ravel()]
    summed = np.bincount(i, weights=delta, minlength=n)

    created = _created_keys(answers.frame)
    text_rank, _ = pd.factorize(pd.Series(answers.labels, dtype=object), sort=True)
    ann_rank, _ = pd.factorize(answers.frame[ANNOTATION_ID].astype(str).to_numpy(), sort=True)
    # sums within the tolerance are equal: compare them on a grid of that size
    sum_key = np.rint(summed / MEDOID_TOLERANCE).astype(np.int64)
    order = np.lexsort((ann_rank, text_rank, created, sum_key, task))
    first = order[np.concatenate([[0], np.cumsum(m)[:-1]])]
    best_key = sum_key[first]
    at_min = sum_key == best_key[task]
    # a tie needs two different (normalised) texts among the minimisers
    pair_key = np.unique(task[at_min] * (int(texts.texts.size) + 1) + texts.code[at_min])
    tie = np.bincount(pair_key // (int(texts.texts.size) + 1), minlength=len(task_ids)) > 1
    confidence = np.where(m > 1, 1.0 - summed[first] / np.maximum(m - 1, 1), 1.0)
    frame = _frame(task_ids, answers.labels[first], confidence, m, tie)
    ann_ids = answers.frame[ANNOTATION_ID].astype(str).to_numpy()[first]
    frame["annotation_id"] = ann_ids[task_order(list(task_ids))]
    return frame


# --- pieces --------------------------------------------------------------------------
def _tasks(task_ids: npt.NDArray[Any]) -> tuple[IntArray, npt.NDArray[Any], IntArray]:
    """Task code of each answer, the distinct task ids, answers per task."""
    codes, uniques = pd.factorize(task_ids, sort=False)
    task = np.asarray(codes, dtype=np.int64)
    ids = np.asarray(uniques, dtype=object)
    return task, ids, np.bincount(task, minlength=len(ids)).astype(np.int64)


def _frame(
    task_ids: npt.NDArray[Any], label: npt.ArrayLike, confidence: FloatArray,
    n_answers: IntArray, tie: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    """The output frame, rows in export task order."""
    order = task_order([str(t) for t in task_ids])
    labels = np.asarray(label) if not isinstance(label, np.ndarray) else label
    return pd.DataFrame({
        "task_id": np.asarray(task_ids, dtype=object)[order].astype(str),
        "label": pd.Series(labels[order], dtype=labels.dtype),
        "confidence": np.clip(np.asarray(confidence, dtype=np.float64)[order], 0.0, 1.0),
        "n_answers": np.asarray(n_answers, dtype=np.int64)[order],
        "tie": np.asarray(tie, dtype=bool)[order],
        "reason": pd.Series([None] * len(order), dtype=object),
    })


def _group_tuples(
    rows: IntArray, items: npt.NDArray[Any], n_rows: int, *, sort: bool
) -> npt.NDArray[np.object_]:
    """One tuple per row index ``0..n_rows-1`` of the ``items`` at that row."""
    out = object_array([()] * n_rows)
    if rows.size == 0:
        return out
    order = np.argsort(rows, kind="stable")
    rows_s, items_s = rows[order], items[order]
    cuts = np.flatnonzero(np.diff(rows_s)) + 1
    for group_rows, group in zip(np.split(rows_s, cuts), np.split(items_s, cuts)):
        out[int(group_rows[0])] = tuple(sorted(group)) if sort else tuple(group)
    return out


def _ordered_pairs(starts: IntArray, m: IntArray) -> tuple[IntArray, IntArray]:
    """Positions ``(i, j)``, ``i != j``, of every ordered pair within each group of
    ``m[g]`` consecutive positions starting at ``starts[g]``."""
    left: list[IntArray] = []
    right: list[IntArray] = []
    for size in np.unique(m[m >= 2]):  # one block per group size: few iterations
        groups = np.flatnonzero(m == size)
        a, b = np.nonzero(~np.eye(int(size), dtype=bool))
        first = starts[groups][:, None]
        left.append((first + a).ravel())
        right.append((first + b).ravel())
    if not left:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(left).astype(np.int64), np.concatenate(right).astype(np.int64)


def _created_keys(frame: pd.DataFrame) -> IntArray:
    """``created_at`` as int64 nanoseconds, a missing time the largest value."""
    if CREATED_AT not in frame.columns or not pd.api.types.is_datetime64_any_dtype(
        frame[CREATED_AT].dtype
    ):
        return np.zeros(len(frame), dtype=np.int64)
    keys = np.asarray(frame[CREATED_AT].array.asi8, dtype=np.int64).copy()
    keys[frame[CREATED_AT].isna().to_numpy()] = np.iinfo(np.int64).max
    return keys
