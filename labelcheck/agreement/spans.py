r"""Agreement, disagreements and consensus for labelled text spans (NER).

A span field's ``label`` is a tuple of :class:`~labelcheck.table.Span`, character
offsets ``[start, end)`` into the task's text.  Everything here works on one flat
table of *labelled spans*, built once per call:

* a span carrying several labels (Label Studio ``Labels`` with ``choice="multiple"``)
  counts as one labelled span per label; a span with no label has label ``""``;
* exact duplicates inside one annotation (same start, end and label) count once;
* a row whose label is missing (None/NaN) is no answer and is skipped; an empty
  tuple is an answer with no spans (it still pairs with the other annotations).
  Label Studio writes no result at all for an annotation without spans, so such an
  annotation reaches this module only if the adapter adds the empty row.

Every pair of *annotations* on a task is compared, including two annotations by the
same annotator.  Malformed spans stop every function here with one
:class:`~labelcheck.errors.InvalidInput` naming each bad span; use
:func:`split_valid_spans` to drop the annotations holding them and go on with the rest.

The statistics:

* :func:`span_agreement`: pairwise F1 pooled over annotation pairs (Hripcsak &
  Rothschild 2005), exact or overlap matching, per label and micro-pooled;
* :func:`span_character_alpha`: nominal Krippendorff's alpha with characters as
  units, computed on elementary segments weighted by their length;
* :func:`span_disagreements` / :func:`disagreement_summary`: every unmatched span,
  classified as ``boundary``, ``label``, ``boundary+label`` or ``missing``;
* :func:`span_consensus`: span voting, or character voting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.errors import InputProblem, InvalidInput
from labelcheck.table import (
    ANNOTATION_ID,
    ANNOTATOR_ID,
    FIELD,
    LABEL,
    SOURCE,
    SOURCE_ROW,
    TASK_ID,
    Span,
    select_field,
    validate,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]

SpanMatch = Literal["exact", "overlap"]
SPAN_MATCHES: tuple[str, ...] = get_args(SpanMatch)
ConsensusMode = Literal["span", "character"]
CONSENSUS_MODES: tuple[str, ...] = get_args(ConsensusMode)
DisagreementKind = Literal["boundary", "label", "boundary+label", "missing"]

#: The category of a character no span covers.
OUTSIDE = "O"
#: Joins the labels of overlapping spans into one character category (``ORG|PER``).
LABEL_SEPARATOR = "|"
#: ``label`` of the micro-pooled row of :func:`span_agreement`.
MICRO = "(micro)"

AGREEMENT_COLUMNS = ("label", "match", "tp", "n_a_plus_b", "f1", "n_pairs")
DISAGREEMENT_COLUMNS = (
    "task_id", "annotation_a", "annotation_b", "annotator_a", "annotator_b", "kind",
    "start", "end", "label", "other_start", "other_end", "other_label",
)
CONSENSUS_COLUMNS = ("task_id", "label", "confidence", "n_answers", "reason")


# --- validation ----------------------------------------------------------------------
def split_valid_spans(
    annotations: pd.DataFrame,
    *,
    field: str | None = None,
    text_lengths: Mapping[str, int] | None = None,
) -> tuple[pd.DataFrame, list[InputProblem]]:
    """The rows of one span field whose spans are all well formed, and a problem for
    every malformed span.

    A span is malformed when its offsets are not integers (``3.0`` is accepted as 3;
    ``3.5``, ``"3"`` and booleans are not), ``start < 0``, ``end <= start``, or
    ``end`` is past the task's text length (when ``text_lengths`` knows it).  A label
    that is not a tuple (or list) of :class:`~labelcheck.table.Span` is a problem
    too.  The whole annotation (row) holding a bad span is dropped: keeping its other
    spans would count the dropped one as a disagreement.

    Parameters
    ----------
    annotations : canonical annotation table.
    field : the span field; may be omitted when the table has one field.
    text_lengths : ``{task_id: number of characters of the task's text}``.

    Returns
    -------
    (valid, problems)
        ``valid`` holds the field's rows without the bad ones (rows with a missing
        label are kept: they are no answer, not a bad one); ``problems`` names task,
        annotation, field, source row and span of each bad span.
    """
    frame, field_name = _field_frame(annotations, field)
    bad_rows, problems = _scan(frame, field_name, text_lengths)[1:]
    if not bad_rows:
        return frame, problems
    keep = np.ones(len(frame), dtype=bool)
    keep[np.asarray(sorted(bad_rows), dtype=np.int64)] = False
    return frame[keep], problems


def check_spans(
    annotations: pd.DataFrame,
    *,
    field: str | None = None,
    text_lengths: Mapping[str, int] | None = None,
) -> None:
    """Raise :class:`~labelcheck.errors.InvalidInput` listing every malformed span of
    one span field (see :func:`split_valid_spans` for what is malformed, and to keep
    the good rows instead)."""
    frame, field_name = _field_frame(annotations, field)
    problems = _scan(frame, field_name, text_lengths)[2]
    if problems:
        raise _invalid(field_name, problems)


def _invalid(field_name: str, problems: list[InputProblem]) -> InvalidInput:
    return InvalidInput(
        f'field "{field_name}": {len(problems)} malformed span(s); fix them, or keep the '
        "other annotations with split_valid_spans(...)",
        problems,
    )


def _field_frame(annotations: pd.DataFrame, field: str | None) -> tuple[pd.DataFrame, str]:
    validate(annotations)
    return select_field(annotations, field)


def _problem(frame: pd.DataFrame, i: int, field_name: str, message: str) -> InputProblem:
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


def _offset(value: Any) -> int | None:
    """The integer an offset holds, or None when it is not an integer."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def _is_missing(label: Any) -> bool:
    return label is None or label is pd.NA or (isinstance(label, float) and math.isnan(label))


def _scan(
    frame: pd.DataFrame, field_name: str, text_lengths: Mapping[str, int] | None
) -> tuple[list[tuple[int, int, int, str, str | None]], set[int], list[InputProblem]]:
    """One pass over the rows: the labelled spans ``(row, start, end, label, text)``
    of the good rows, the bad rows and the problems."""
    spans: list[tuple[int, int, int, str, str | None]] = []
    bad_rows: set[int] = set()
    problems: list[InputProblem] = []
    tasks = frame[TASK_ID].to_numpy()
    for i, label in enumerate(frame[LABEL].to_numpy()):
        if _is_missing(label):
            continue
        if not isinstance(label, (tuple, list)):
            bad_rows.add(i)
            problems.append(_problem(frame, i, field_name, (
                f"label is {type(label).__name__} {label!r:.60}; a span field needs a tuple of Span")))
            continue
        length = None if text_lengths is None else text_lengths.get(str(tasks[i]))
        row_spans: list[tuple[int, int, int, str, str | None]] = []
        for k, span in enumerate(label, start=1):
            if not isinstance(span, Span):
                bad_rows.add(i)
                problems.append(_problem(frame, i, field_name, (
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
                bad_rows.add(i)
                problems.append(_problem(frame, i, field_name, f"{what}: {wrong}"))
                continue
            labels = (span.labels,) if isinstance(span.labels, str) else tuple(span.labels)
            text = span.text if isinstance(span.text, str) else None
            for lab in labels or ("",):
                row_spans.append((i, start, end, str(lab), text))
        if i not in bad_rows:
            spans.extend(row_spans)
    return spans, bad_rows, problems


# --- the flat table of labelled spans --------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Spans:
    """One span field as flat arrays.

    Per annotation (``n_annotations``): ``ann_task`` (task code), ids.  Per labelled
    span: ``ann`` (annotation code), ``start``, ``end``, ``label`` (code into
    ``labels``, sorted), ``text``.  Spans are sorted by annotation, start, end, label.
    """

    field: str
    ann_task: IntArray
    task_ids: ObjectArray
    annotation_ids: ObjectArray
    annotator_ids: ObjectArray
    ann: IntArray
    start: IntArray
    end: IntArray
    label: IntArray
    labels: ObjectArray
    text: ObjectArray

    @property
    def n_annotations(self) -> int:
        return int(self.ann_task.size)

    @property
    def n_tasks(self) -> int:
        return int(self.task_ids.size)

    @property
    def task(self) -> IntArray:
        out: IntArray = self.ann_task[self.ann]
        return out

    def answers_per_task(self) -> IntArray:
        return np.bincount(self.ann_task, minlength=self.n_tasks).astype(np.int64)


def _collect(
    data: pd.DataFrame, field: str | None, text_lengths: Mapping[str, int] | None = None
) -> _Spans:
    frame, field_name = _field_frame(data, field)
    spans, _, problems = _scan(frame, field_name, text_lengths)
    if problems:
        raise _invalid(field_name, problems)
    answered = np.asarray([not _is_missing(v) for v in frame[LABEL].to_numpy()], dtype=bool)
    rows = np.flatnonzero(answered)
    ann_of_row = np.full(len(frame), -1, dtype=np.int64)
    ann_of_row[rows] = np.arange(rows.size)
    task_codes, task_ids = pd.factorize(frame[TASK_ID].to_numpy()[rows])
    if spans:
        row_a, start_a, end_a, lab_a, text_a = zip(*spans)
        lab_codes, lab_uniques = pd.factorize(np.asarray(lab_a, dtype=object), sort=True)
        labels: list[Any] = list(lab_uniques)
        cols = pd.DataFrame({
            "ann": ann_of_row[np.asarray(row_a, dtype=np.int64)],
            "start": np.asarray(start_a, dtype=np.int64),
            "end": np.asarray(end_a, dtype=np.int64),
            "label": lab_codes.astype(np.int64),
            "text": np.asarray(text_a, dtype=object),
        }).drop_duplicates(["ann", "start", "end", "label"]).sort_values(
            ["ann", "start", "end", "label"], kind="stable")
    else:
        labels = []
        cols = pd.DataFrame({k: np.asarray([], dtype=np.int64) for k in ("ann", "start", "end", "label")})
        cols["text"] = np.asarray([], dtype=object)
    return _Spans(
        field=field_name,
        ann_task=task_codes.astype(np.int64),
        task_ids=np.asarray(task_ids, dtype=object),
        annotation_ids=frame[ANNOTATION_ID].to_numpy(dtype=object)[rows],
        annotator_ids=frame[ANNOTATOR_ID].to_numpy(dtype=object)[rows],
        ann=cols["ann"].to_numpy(np.int64),
        start=cols["start"].to_numpy(np.int64),
        end=cols["end"].to_numpy(np.int64),
        label=cols["label"].to_numpy(np.int64),
        labels=np.asarray(labels, dtype=object),
        text=cols["text"].to_numpy(dtype=object),
    )


def _overlap_pairs(task: IntArray, start: IntArray, end: IntArray) -> tuple[IntArray, IntArray]:
    """Every ordered pair ``(i, j)``, ``i != j``, of spans on the same task that share
    at least one character.

    Two spans overlap exactly when one of them starts inside the other, so the pairs
    are found by looking, for each span ``i``, at the spans starting in
    ``[start_i, end_i)`` (two ``searchsorted`` on the spans sorted by task and
    start), then adding the reversed pairs.  The work is proportional to the number
    of overlapping pairs, not to the square of the spans per task."""
    n = task.size
    if n == 0:
        empty = np.asarray([], dtype=np.int64)
        return empty, empty
    scale = int(end.max()) + 1
    key = task * scale + start
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    lo = np.searchsorted(sorted_key, key, side="left")
    hi = np.searchsorted(sorted_key, task * scale + end, side="left")
    counts = hi - lo
    i = np.repeat(np.arange(n, dtype=np.int64), counts)
    offsets = np.repeat(lo - np.cumsum(counts) + counts, counts)
    j = order[np.arange(i.size, dtype=np.int64) + offsets]
    keep = i != j
    i, j = i[keep], j[keep]
    both = np.unique(np.concatenate([i * n + j, j * n + i]))
    return both // n, both % n


# --- pairwise F1 ---------------------------------------------------------------------
def span_agreement(
    data: pd.DataFrame, *, field: str | None = None, match: SpanMatch = "exact"
) -> pd.DataFrame:
    r"""Pairwise span agreement as F1, pooled over all pairs of annotations of a task.

    .. math:: F_1 = \frac{2\,\sum_{(A,B)} TP_{AB}}{\sum_{(A,B)} (|A| + |B|)}

    The sums run over every unordered pair of annotations :math:`(A, B)` on the same
    task; :math:`|A|` is the number of labelled spans of :math:`A` and
    :math:`TP_{AB}` the number of spans of :math:`A` matched one-to-one with a span
    of :math:`B`.  F1 needs no chance correction nor a count of true negatives,
    which spans do not have (Hripcsak & Rothschild 2005); it is symmetric in
    :math:`A` and :math:`B`, so neither annotation plays the gold standard.

    * ``match="exact"``: same start, end and label.  Computed without enumerating
      pairs: a labelled span present in :math:`c` annotations of a task is matched
      in :math:`\binom{c}{2}` pairs, and :math:`\sum (|A|+|B|) = \sum_A |A|\,(m_t - 1)`
      for :math:`m_t` annotations on the task.
    * ``match="overlap"``: same label and at least one shared character, matched
      one-to-one within each pair of annotations by a maximum-cardinality assignment
      (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``, on weights
      ``W + overlap`` with ``W`` larger than any sum of overlaps, so the number of
      matches is maximal and ties go to the larger total overlap).  Pairs of spans
      with no competitor are matched directly; the assignment runs only where a span
      overlaps two or more spans of the other annotation.

    Parameters
    ----------
    data : canonical annotation table; ``label`` holds tuples of
        :class:`~labelcheck.table.Span`.
    field : the span field; may be omitted when the table has one field.
    match : ``"exact"`` or ``"overlap"``.

    Returns
    -------
    pandas.DataFrame
        One row per label (sorted) and a last row ``label == "(micro)"`` pooling all
        labels; columns ``label``, ``match``, ``tp`` (:math:`\sum TP`), ``n_a_plus_b``
        (:math:`\sum(|A|+|B|)`), ``f1`` and ``n_pairs`` (annotation pairs in which at
        least one side has a span of that label).  ``f1`` is NaN when no pair has a
        span of the label.

    Notes
    -----
    Labels are compared per labelled span: a span carrying two labels is two
    labelled spans.  Tasks with one annotation have no pair and do not count.

    References
    ----------
    Hripcsak, G., & Rothschild, A. S. (2005). Agreement, the F-measure, and reliability
    in information retrieval. JAMIA 12(3), 296-298. https://doi.org/10.1197/jamia.M1733

    Examples
    --------
    >>> from labelcheck.table import Span, from_records
    >>> t = from_records([
    ...     {"task_id": "t", "annotator_id": "a", "label": (Span(0, 5, ("PER",)),)},
    ...     {"task_id": "t", "annotator_id": "b", "label": (Span(0, 4, ("PER",)),)}])
    >>> span_agreement(t, match="overlap")[["label", "tp", "n_a_plus_b", "f1"]]
         label  tp  n_a_plus_b   f1
    0      PER   1           2  1.0
    1  (micro)   1           2  1.0
    """
    if match not in SPAN_MATCHES:
        raise ValueError(f"match must be one of {', '.join(SPAN_MATCHES)}; got {match!r}")
    s = _collect(data, field)
    n_labels = len(s.labels)
    m_task = s.answers_per_task()
    m_span = m_task[s.task]
    # denominators: sum over pairs of |A_l| + |B_l| = sum over spans of (m_t - 1)
    denom = np.bincount(s.label, weights=(m_span - 1).astype(np.float64), minlength=n_labels)
    tp: FloatArray
    if match == "exact":
        keys = pd.DataFrame({"t": s.task, "s": s.start, "e": s.end, "l": s.label})
        c = keys.groupby(["t", "s", "e", "l"], sort=False).size()
        c_l = c.index.get_level_values("l").to_numpy()
        cv = c.to_numpy().astype(np.float64)
        tp = np.bincount(c_l, weights=cv * (cv - 1.0) / 2.0, minlength=n_labels).astype(np.float64)
    else:
        tp = _overlap_tp(s, n_labels)
    pairs = _pairs_with_label(s, m_task, n_labels)
    frame = pd.DataFrame({
        "label": list(s.labels) + [MICRO],
        "match": match,
        "tp": np.append(tp, tp.sum()).astype(np.int64),
        "n_a_plus_b": np.append(denom, denom.sum()).astype(np.int64),
    })
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["f1"] = 2.0 * frame["tp"] / frame["n_a_plus_b"].replace(0, np.nan)
    frame["n_pairs"] = pairs
    return frame.loc[:, list(AGREEMENT_COLUMNS)]


def _pairs_with_label(s: _Spans, m_task: IntArray, n_labels: int) -> IntArray:
    """Annotation pairs in which at least one side has a span of each label, then
    the pairs in which at least one side has any span."""
    def pairs(m: IntArray) -> IntArray:
        out: IntArray = m * (m - 1) // 2
        return out

    out = np.zeros(n_labels + 1, dtype=np.int64)
    if s.ann.size == 0:
        return out
    has = pd.DataFrame({"t": s.task, "l": s.label, "a": s.ann}).drop_duplicates()
    per = has.groupby(["l", "t"], sort=False).size()
    l_code = per.index.get_level_values("l").to_numpy()
    t_code = per.index.get_level_values("t").to_numpy()
    h = per.to_numpy().astype(np.int64)
    m = m_task[t_code]
    out[:n_labels] = np.bincount(l_code, weights=pairs(m) - pairs(m - h), minlength=n_labels)
    with_any = np.bincount(s.task, minlength=s.n_tasks) > 0
    h_any = np.bincount(np.unique(s.ann), minlength=s.n_annotations)
    h_task = np.bincount(s.ann_task, weights=h_any, minlength=s.n_tasks).astype(np.int64)
    out[n_labels] = int(np.sum((pairs(m_task) - pairs(m_task - h_task))[with_any]))
    return out


def group_codes(columns: list[IntArray], sizes: list[int]) -> IntArray:
    """Codes ``0..G-1`` of the distinct rows of integer ``columns`` (each in
    ``0..size-1``), through one mixed-radix int64 key."""
    key: IntArray = np.zeros(columns[0].size, dtype=np.int64)
    for col, size in zip(columns, sizes):
        key = np.asarray(key * max(int(size), 1) + col, dtype=np.int64)
    codes, _ = pd.factorize(key)
    return codes.astype(np.int64)


def one_to_one(
    group: IntArray, i: IntArray, j: IntArray, weight: FloatArray, *, cardinality_first: bool = False
) -> npt.NDArray[np.bool_]:
    """Which candidate pairs ``(i[k], j[k])`` a one-to-one assignment keeps, within
    each ``group`` (one pair of annotations, and one label when labels must agree).

    Maximises the summed ``weight`` (all positive) with the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``); with ``cardinality_first`` the number
    of pairs first, then the weight (weights ``W + weight``, ``W`` above any sum of
    weights).  A group in which no item has two candidates keeps every pair without
    running the assignment, so the work is spent only where items compete."""
    from scipy.optimize import linear_sum_assignment

    keep = np.ones(i.size, dtype=bool)
    if i.size == 0:
        return keep
    scale = int(max(i.max(), j.max())) + 1
    dup_i = pd.Series(group * scale + i).duplicated(keep=False).to_numpy()
    dup_j = pd.Series(group * scale + j).duplicated(keep=False).to_numpy()
    conflict_groups = np.unique(group[dup_i | dup_j])
    if conflict_groups.size == 0:
        return keep
    sel = np.flatnonzero(np.isin(group, conflict_groups))
    keep[sel] = False
    order = sel[np.argsort(group[sel], kind="stable")]
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for chunk in np.split(order, bounds):
        ri, ci = np.unique(i[chunk], return_inverse=True)
        rj, cj = np.unique(j[chunk], return_inverse=True)
        w = weight[chunk]
        if cardinality_first:
            w = w + float(w.sum()) + 1.0
        dense = np.zeros((ri.size, rj.size))
        dense[ci, cj] = w
        cell = np.full((ri.size, rj.size), -1, dtype=np.int64)
        cell[ci, cj] = chunk
        rows, cols = linear_sum_assignment(dense, maximize=True)
        hit = cell[rows, cols]
        keep[hit[hit >= 0]] = True
    return keep


def _overlap_tp(s: _Spans, n_labels: int) -> FloatArray:
    i, j = _overlap_pairs(s.task, s.start, s.end)
    keep = (s.label[i] == s.label[j]) & (s.ann[i] < s.ann[j])
    i, j = i[keep], j[keep]
    tp = np.zeros(n_labels)
    if i.size == 0:
        return tp
    overlap = (np.minimum(s.end[i], s.end[j]) - np.maximum(s.start[i], s.start[j])).astype(np.float64)
    # a group: one pair of annotations and one label
    group = group_codes([s.ann[i], s.ann[j], s.label[i]], [s.n_annotations] * 2 + [n_labels])
    matched = one_to_one(group, i, j, overlap, cardinality_first=True)
    np.add.at(tp, s.label[i[matched]], 1.0)
    return tp


# --- character-level alpha -------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Segments:
    """Elementary segments of the pairable tasks and each one's category counts.

    ``seg_task``, ``seg_start``, ``width`` per segment; ``cat_seg``, ``cat_code``,
    ``cat_n`` list the non-zero counts :math:`n_{uc}` (``cat_code`` 0 is outside,
    ``1..`` index ``categories``); ``m`` is the number of annotations per segment."""

    seg_task: IntArray
    seg_start: IntArray
    width: IntArray
    m: IntArray
    cat_seg: IntArray
    cat_code: IntArray
    cat_n: IntArray
    categories: list[str]


def _segments(s: _Spans, text_lengths: Mapping[str, int] | None, min_answers: int = 2) -> _Segments:
    m_task = s.answers_per_task()
    span_ok = m_task[s.task] >= min_answers
    task, ann = s.task[span_ok], s.ann[span_ok]
    start, end, lab = s.start[span_ok], s.end[span_ok], s.label[span_ok]
    bound_t = [task, task]
    bound_p = [start, end]
    if text_lengths is not None:
        lengths = np.asarray([text_lengths.get(str(t), -1) for t in s.task_ids], dtype=np.int64)
        known = np.flatnonzero((lengths >= 0) & (m_task >= min_answers))
        bound_t += [known, known]
        bound_p += [np.zeros(known.size, dtype=np.int64), lengths[known]]
    bt, bp = np.concatenate(bound_t), np.concatenate(bound_p)
    scale = int(bp.max()) + 2 if bp.size else 1
    keys = np.unique(bt * scale + bp)
    b_task, b_pos = keys // scale, keys % scale
    valid = b_task[:-1] == b_task[1:]  # segment k runs from boundary k to k + 1
    width_all = np.where(valid, np.diff(b_pos), 0)
    # the segments each span covers: boundaries [index(start), index(end))
    s_idx = np.searchsorted(keys, task * scale + start)
    e_idx = np.searchsorted(keys, task * scale + end)
    counts = e_idx - s_idx
    rep = np.repeat(np.arange(task.size, dtype=np.int64), counts)
    seg = np.arange(rep.size, dtype=np.int64) + np.repeat(s_idx - np.cumsum(counts) + counts, counts)
    cells = pd.DataFrame({"a": ann[rep], "s": seg, "l": lab[rep]}).drop_duplicates()
    cells = cells.sort_values(["a", "s", "l"], kind="stable")
    a_c, s_c, l_c = (cells[c].to_numpy(np.int64) for c in ("a", "s", "l"))
    # one category per (annotation, segment): the label, or the joined labels
    new_cell = np.ones(a_c.size, dtype=bool)
    new_cell[1:] = (a_c[1:] != a_c[:-1]) | (s_c[1:] != s_c[:-1])
    cell_id = np.cumsum(new_cell) - 1
    n_in_cell = np.bincount(cell_id)
    cell_first = np.flatnonzero(new_cell)
    cat = l_c[cell_first] + 1
    categories = [str(x) for x in s.labels]
    multi = np.flatnonzero(n_in_cell > 1)
    if multi.size:
        combos: dict[tuple[int, ...], int] = {}
        for c in multi:
            combo = tuple(l_c[cell_first[c]: cell_first[c] + n_in_cell[c]].tolist())
            if combo not in combos:
                combos[combo] = len(categories) + 1
                categories.append(LABEL_SEPARATOR.join(sorted(categories[k] for k in combo)))
            cat[c] = combos[combo]
    seg_cell = s_c[cell_first]
    seg_ids = np.flatnonzero(valid)
    pair = pd.DataFrame({"s": seg_cell, "c": cat}).groupby(["s", "c"], sort=True).size()
    p_seg = pair.index.get_level_values("s").to_numpy().astype(np.int64)
    p_cat = pair.index.get_level_values("c").to_numpy().astype(np.int64)
    p_n = pair.to_numpy().astype(np.int64)
    m_seg = m_task[b_task[seg_ids]]
    covered = np.bincount(seg_cell, minlength=keys.size)[seg_ids]
    outside = m_seg - covered
    pos = np.full(keys.size, -1, dtype=np.int64)
    pos[seg_ids] = np.arange(seg_ids.size)
    has_out = outside > 0
    return _Segments(
        seg_task=b_task[seg_ids],
        seg_start=b_pos[seg_ids],
        width=width_all[seg_ids],
        m=m_seg,
        cat_seg=np.concatenate([pos[p_seg], np.flatnonzero(has_out)]),
        cat_code=np.concatenate([p_cat, np.zeros(int(has_out.sum()), dtype=np.int64)]),
        cat_n=np.concatenate([p_n, outside[has_out]]),
        categories=categories,
    )


def span_character_alpha(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    text_lengths: Mapping[str, int] | None = None,
) -> AgreementResult:
    r"""Nominal Krippendorff's alpha with each character of a task as a unit.

    Each annotation gives each character the label of the span covering it, ``"O"``
    when none does, and the labels joined by ``|`` (sorted) when spans of different
    labels overlap there.  With those values,

    .. math:: \alpha = 1 - \frac{D_o}{D_e}, \quad
              D_o = \frac{1}{n_{\cdot\cdot}} \sum_u w_u
                    \frac{m_u^2 - \sum_c n_{uc}^2}{m_u - 1}, \quad
              D_e = \frac{n_{\cdot\cdot}^2 - \sum_c n_c^2}{n_{\cdot\cdot}(n_{\cdot\cdot} - 1)}

    :math:`u` runs over *elementary segments*: each task's text cut at every span
    boundary of every annotation, so that inside a segment every annotation gives
    every character the same category.  A segment of :math:`w_u` characters stands
    for :math:`w_u` identical units; :math:`m_u` is the number of annotations of the
    task, :math:`n_{uc}` how many of them put category :math:`c` on the segment,
    :math:`n_c = \sum_u w_u n_{uc}` and :math:`n_{\cdot\cdot} = \sum_u w_u m_u`.  This
    is Krippendorff's nominal alpha (coincidences weighted by :math:`w_u`) on the
    per-character reliability data, without materialising characters: cost is
    proportional to the number of spans, not of characters.

    Parameters
    ----------
    data : canonical annotation table with a span field.
    field : the span field; may be omitted when the table has one field.
    text_lengths : ``{task_id: characters of the task's text}``.  A task with a
        known length contributes every character ``[0, length)`` (so text no one
        labelled counts as agreement on ``"O"``); without it, only
        ``[min start, max end]`` over the spans of all its annotations, and a task
        with no span at all contributes nothing.

    Returns
    -------
    AgreementResult
        ``metric="span_character_alpha"``, ``level="nominal"``; ``n_items`` the
        character units, ``n_annotations`` :math:`n_{\cdot\cdot}` (pairable values),
        ``details`` with the tasks, segments and categories used.

    Notes
    -----
    Tasks with one annotation are left out, as alpha does.  Alpha is NaN with a
    reason when no task has two annotations (and some span), or when every
    character gets one category.  This is the unitising-free simplification of
    Krippendorff's :math:`{}_u\alpha`: it treats characters as pre-defined units, so
    a long entity weighs in proportion to its length and text outside every span
    (when ``text_lengths`` is given) inflates agreement.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    https://repository.upenn.edu/asc_papers/43
    Krippendorff, K. (1995). On the reliability of unitizing continuous data.
    Sociological Methodology 25, 47-76. https://doi.org/10.2307/271061

    Examples
    --------
    Two annotators of a 10-character text: ``PER`` on ``[0, 4)`` against ``[0, 5)``.
    Character 4 is the only disagreement (PER against O); of the 20 values 9 are PER
    and 11 O, so :math:`D_o = 2/20`, :math:`D_e = 2 \cdot 9 \cdot 11 / (20 \cdot 19)` and
    :math:`\alpha = 1 - 38/198 = 0.8081`.

    >>> from labelcheck.table import Span, from_records
    >>> t = from_records([
    ...     {"task_id": "t", "annotator_id": "a", "label": (Span(0, 4, ("PER",)),)},
    ...     {"task_id": "t", "annotator_id": "b", "label": (Span(0, 5, ("PER",)),)}])
    >>> round(span_character_alpha(t, text_lengths={"t": 10}).value, 4)
    0.8081
    """
    metric = "span_character_alpha"
    s = _collect(data, field, text_lengths)
    m_task = s.answers_per_task()
    base: dict[str, Any] = {"level": "nominal"}
    if not (m_task >= 2).any():
        return undefined(metric, "no task has two or more annotations: alpha needs pairable values", **base)
    seg = _segments(s, text_lengths)
    w = seg.width.astype(np.float64)
    m = seg.m.astype(np.float64)
    n_tot = float(w @ m)
    if n_tot == 0:
        return undefined(metric, (
            "no characters to compare: the tasks with two or more annotations have no span "
            "and no known text length"), **base)
    sq = np.bincount(seg.cat_seg, weights=seg.cat_n.astype(np.float64) ** 2, minlength=w.size)
    n_c = np.bincount(seg.cat_code, weights=w[seg.cat_seg] * seg.cat_n, minlength=len(seg.categories) + 1)
    d_o = float(w @ ((m * m - sq) / (m - 1.0))) / n_tot
    d_e = (n_tot * n_tot - float(n_c @ n_c)) / (n_tot * (n_tot - 1.0))
    names = [OUTSIDE] + seg.categories
    used = np.flatnonzero(n_c > 0)
    pairable_tasks = np.unique(seg.seg_task)
    base.update(
        n_items=int(w.sum()),
        n_annotations=int(round(n_tot)),
        n_annotators=int(pd.unique(s.annotator_ids[np.isin(s.ann_task, pairable_tasks)]).size),
        n_categories=int(used.size),
        details={
            "unit": "character",
            "n_tasks": int(pairable_tasks.size),
            "n_segments": int(w.size),
            "categories": [names[k] for k in used][:50],
            "category_values": [float(n_c[k]) for k in used][:50],
            "n_single_answer_tasks": int(np.sum(m_task == 1)),
        },
    )
    if d_e <= 0:
        return undefined(metric, "only one category in use on every character: alpha needs variation", **base)
    return AgreementResult(
        metric=metric, value=1.0 - d_o / d_e, observed=d_o, expected=d_e, **base
    )


# --- disagreements -------------------------------------------------------------------
def span_disagreements(data: pd.DataFrame, *, field: str | None = None) -> pd.DataFrame:
    """Every span one annotation has and another annotation of the task does not
    have exactly, classified.

    For each ordered pair of annotations ``(A, B)`` on a task and each labelled span
    ``x`` of ``A`` without an exact twin (same start, end, label) in ``B``, the span
    of ``B`` that best explains the difference is chosen, in this order: same offsets
    (``label``), then same label and overlapping (``boundary``), then overlapping
    with another label (``boundary+label``), each time the largest overlap first;
    ``missing`` when nothing in ``B`` overlaps ``x``.  When ``x`` in ``A`` and
    ``y`` in ``B`` choose each other, the disagreement is reported once, from the
    annotation that comes first in the table.

    Parameters
    ----------
    data : canonical annotation table with a span field.
    field : the span field; may be omitted when the table has one field.

    Returns
    -------
    pandas.DataFrame
        Columns ``task_id``, ``annotation_a`` (holds the span), ``annotation_b``,
        ``annotator_a``, ``annotator_b``, ``kind``, ``start``, ``end``, ``label``
        (the span of ``annotation_a``), ``other_start``, ``other_end``,
        ``other_label`` (the chosen span of ``annotation_b``; missing for
        ``missing``), sorted by task, annotations and offsets.
    """
    s = _collect(data, field)
    n = s.ann.size
    task = s.task
    m_task = s.answers_per_task()
    # every (span, other annotation on its task)
    ann_order = np.argsort(s.ann_task, kind="stable")
    first = np.concatenate([[0], np.cumsum(m_task)[:-1]])
    reps = m_task[task]
    x = np.repeat(np.arange(n, dtype=np.int64), reps)
    k = np.arange(x.size, dtype=np.int64) - np.repeat(np.cumsum(reps) - reps, reps)
    b = ann_order[first[task[x]] + k]
    keep = b != s.ann[x]
    x, b = x[keep], b[keep]
    # candidates: overlapping spans of other annotations
    ci, cj = _overlap_pairs(task, s.start, s.end)
    other = s.ann[ci] != s.ann[cj]
    ci, cj = ci[other], cj[other]
    same_off = (s.start[ci] == s.start[cj]) & (s.end[ci] == s.end[cj])
    same_lab = s.label[ci] == s.label[cj]
    rank = np.where(same_off & same_lab, -1, np.where(same_off, 0, np.where(same_lab, 1, 2)))
    overlap = np.minimum(s.end[ci], s.end[cj]) - np.maximum(s.start[ci], s.start[cj])
    cand = pd.DataFrame({
        "x": ci, "b": s.ann[cj], "y": cj, "rank": rank, "ov": -overlap,
        "ys": s.start[cj], "ye": s.end[cj], "yl": s.label[cj],
    }).sort_values(["x", "b", "rank", "ov", "ys", "ye", "yl"], kind="stable")
    best = cand.drop_duplicates(["x", "b"], keep="first")
    pairs = pd.DataFrame({"x": x, "b": b}).merge(best[["x", "b", "y", "rank"]], on=["x", "b"], how="left")
    pairs = pairs[pairs["rank"].fillna(3).to_numpy() != -1]  # exact twin: no disagreement
    found = pairs["y"].notna().to_numpy()
    chosen = pairs[found]
    xs, ys = chosen["x"].to_numpy(np.int64), chosen["y"].to_numpy(np.int64)
    reverse = pd.MultiIndex.from_arrays([xs, ys]).isin(pd.MultiIndex.from_arrays([ys, xs]))
    drop = reverse & (s.ann[xs] > s.ann[ys])
    kinds = np.asarray(["label", "boundary", "boundary+label"], dtype=object)
    rows_x = np.concatenate([xs[~drop], pairs["x"].to_numpy(np.int64)[~found]])
    rows_b = np.concatenate([s.ann[ys[~drop]], pairs["b"].to_numpy(np.int64)[~found]])
    rows_y = np.concatenate([ys[~drop], np.full(int((~found).sum()), -1, dtype=np.int64)])
    kind = np.concatenate([
        kinds[chosen["rank"].to_numpy(np.int64)[~drop]],
        np.full(int((~found).sum()), "missing", dtype=object),
    ])
    a = s.ann[rows_x]
    has_y = rows_y >= 0
    ysafe = np.where(has_y, rows_y, 0)
    labels = s.labels

    def optional_int(values: IntArray) -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(values.astype(np.int64), ~has_y)

    out = pd.DataFrame({
        "task_id": s.task_ids[s.ann_task[a]],
        "annotation_a": s.annotation_ids[a],
        "annotation_b": s.annotation_ids[rows_b],
        "annotator_a": s.annotator_ids[a],
        "annotator_b": s.annotator_ids[rows_b],
        "kind": kind,
        "start": s.start[rows_x],
        "end": s.end[rows_x],
        "label": labels[s.label[rows_x]],
        "other_start": optional_int(s.start[ysafe] if n else np.zeros(0, dtype=np.int64)),
        "other_end": optional_int(s.end[ysafe] if n else np.zeros(0, dtype=np.int64)),
        "other_label": _where_object(has_y, labels[s.label[ysafe]]) if n else np.asarray([], dtype=object),
        "_a": a, "_b": rows_b,
    })
    out = out.sort_values(["_a", "_b", "start", "end", "label"], kind="stable")
    return out.drop(columns=["_a", "_b"]).reset_index(drop=True).loc[:, list(DISAGREEMENT_COLUMNS)]


def _where_object(mask: npt.NDArray[np.bool_], values: ObjectArray) -> ObjectArray:
    out = np.full(mask.size, None, dtype=object)
    out[mask] = values[mask]
    return out


def disagreement_summary(disagreements: pd.DataFrame) -> pd.DataFrame:
    """Counts of :func:`span_disagreements` rows per kind and per pair of labels.

    Returns one row per ``(kind, label, other_label)`` with ``n`` and ``share`` (of
    all disagreements of that kind), sorted by kind then by ``n`` (largest first);
    ``other_label`` is ``"O"`` (outside) for ``missing``.  Per-kind totals are
    ``summary.groupby("kind")["n"].sum()``."""
    missing = [c for c in ("kind", "label", "other_label") if c not in disagreements.columns]
    if missing:
        raise ValueError(f"not a span_disagreements frame: missing column(s) {', '.join(missing)}")
    frame = disagreements.loc[:, ["kind", "label", "other_label"]].copy()
    frame["other_label"] = frame["other_label"].where(frame["other_label"].notna(), OUTSIDE)
    counts = frame.groupby(["kind", "label", "other_label"], sort=False).size().rename("n").reset_index()
    counts["share"] = counts["n"] / counts.groupby("kind")["n"].transform("sum")
    order = {k: i for i, k in enumerate(get_args(DisagreementKind))}
    counts["_k"] = counts["kind"].map(order)
    counts = counts.sort_values(["_k", "n", "label", "other_label"], ascending=[True, False, True, True])
    return counts.drop(columns="_k").reset_index(drop=True)


# --- consensus -----------------------------------------------------------------------
def span_consensus(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    min_share: float = 0.5,
    mode: ConsensusMode = "span",
    text_lengths: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    r"""Consensus spans of each task by voting.

    * ``mode="span"``: a labelled span ``(start, end, label)`` is in the consensus
      when more than ``min_share`` of the task's :math:`m` annotations contain it
      exactly (:math:`c / m > \text{min\_share}`).  ``confidence`` is the mean, over
      the distinct labelled spans proposed on the task, of the share of annotations
      that agree with the decision taken on it (:math:`c/m` if kept,
      :math:`1 - c/m` if not); 1 when nobody proposed a span.
    * ``mode="character"``: each character takes the category (a label, joined
      labels for overlaps, or ``"O"``) given by more than ``min_share`` of the
      annotations, else ``"O"``; consecutive characters with the same label become
      one span (so two touching entities of one label merge into one).
      ``confidence`` is the mean share of annotations agreeing with each character's
      category, over the characters of ``[0, text length)`` when known, else
      ``[min start, max end]`` of the task's spans.

    Spans that share offsets in the consensus become one :class:`Span` with all
    their labels; ``text`` is copied from an input span with the same offsets.

    Parameters
    ----------
    data : canonical annotation table with a span field.
    field : the span field; may be omitted when the table has one field.
    min_share : a span (or character label) needs strictly more than this share of
        the task's annotations; in [0, 1).
    mode : ``"span"`` or ``"character"``.
    text_lengths : ``{task_id: characters}`` (character mode's confidence).

    Returns
    -------
    pandas.DataFrame
        One row per task: ``task_id``, ``label`` (sorted tuple of Span), ``confidence``,
        ``n_answers``, ``reason`` (None, or why the consensus is thin: one answer only,
        or spans that got exactly ``min_share`` and were left out).
    """
    if mode not in CONSENSUS_MODES:
        raise ValueError(f"mode must be one of {', '.join(CONSENSUS_MODES)}; got {mode!r}")
    if not 0.0 <= min_share < 1.0:
        raise ValueError(f"min_share must be in [0, 1); got {min_share!r}")
    s = _collect(data, field, text_lengths)
    m_task = s.answers_per_task()
    texts: dict[tuple[int, int, int], str] = {}
    for t, a, e, txt in zip(s.task.tolist(), s.start.tolist(), s.end.tolist(), s.text.tolist()):
        if txt is not None:
            texts.setdefault((t, a, e), txt)
    spans: list[list[tuple[int, int, str]]] = [[] for _ in range(s.n_tasks)]
    reasons: list[str | None] = [None] * s.n_tasks
    if mode == "span":
        confidence = _vote_spans(s, m_task, min_share, spans, reasons)
    else:
        confidence = _vote_characters(s, m_task, min_share, text_lengths, spans, reasons)
    for t in np.flatnonzero(m_task == 1):
        reasons[t] = "one answer: the consensus is that answer"
    labels = [_as_spans(t, spans[t], texts) for t in range(s.n_tasks)]
    return pd.DataFrame({
        "task_id": s.task_ids,
        "label": pd.Series(labels, dtype=object).to_numpy(),
        "confidence": confidence,
        "n_answers": m_task,
        "reason": np.asarray(reasons, dtype=object),
    }).loc[:, list(CONSENSUS_COLUMNS)]


def _as_spans(
    task: int, items: list[tuple[int, int, str]], texts: Mapping[tuple[int, int, int], str]
) -> tuple[Span, ...]:
    grouped: dict[tuple[int, int], list[str]] = {}
    for start, end, lab in items:
        grouped.setdefault((start, end), []).append(lab)
    return tuple(
        Span(start, end, tuple(sorted(set(labs))), texts.get((task, start, end)))
        for (start, end), labs in sorted(grouped.items())
    )


def _vote_spans(
    s: _Spans, m_task: IntArray, min_share: float,
    spans: list[list[tuple[int, int, str]]], reasons: list[str | None],
) -> FloatArray:
    if s.ann.size == 0:
        return np.ones(s.n_tasks)
    c = pd.DataFrame({"t": s.task, "s": s.start, "e": s.end, "l": s.label}).groupby(
        ["t", "s", "e", "l"], sort=True).size()
    t = c.index.get_level_values("t").to_numpy().astype(np.int64)
    share = c.to_numpy() / m_task[t]
    kept = share > min_share + 1e-12
    tied = np.isclose(share, min_share, rtol=0.0, atol=1e-12)
    agree = np.where(kept, share, 1.0 - share)
    sums = np.bincount(t, weights=agree, minlength=s.n_tasks)
    n_prop = np.bincount(t, minlength=s.n_tasks)
    confidence = np.where(n_prop > 0, sums / np.maximum(n_prop, 1), 1.0)
    starts = c.index.get_level_values("s").to_numpy()
    ends = c.index.get_level_values("e").to_numpy()
    labs = c.index.get_level_values("l").to_numpy()
    for k in np.flatnonzero(kept):
        spans[t[k]].append((int(starts[k]), int(ends[k]), str(s.labels[labs[k]])))
    n_tied = np.bincount(t[tied], minlength=s.n_tasks)
    for task in np.flatnonzero(n_tied):
        reasons[task] = (f"{n_tied[task]} span(s) had exactly {min_share:g} of the answers "
                         "(a tie) and were left out")
    return np.asarray(confidence, dtype=np.float64)


def _vote_characters(
    s: _Spans, m_task: IntArray, min_share: float, text_lengths: Mapping[str, int] | None,
    spans: list[list[tuple[int, int, str]]], reasons: list[str | None],
) -> FloatArray:
    seg = _segments(s, text_lengths, min_answers=1)
    if seg.width.size == 0:
        return np.ones(s.n_tasks)
    n_seg = seg.width.size
    share = seg.cat_n / seg.m[seg.cat_seg]
    order = np.lexsort((seg.cat_code, -seg.cat_n, seg.cat_seg))
    top = order[np.concatenate([[True], seg.cat_seg[order][1:] != seg.cat_seg[order][:-1]])]
    win_seg, win_cat, win_share = seg.cat_seg[top], seg.cat_code[top], share[top]
    win = np.zeros(n_seg, dtype=np.int64)  # 0: outside
    ok = win_share > min_share + 1e-12
    win[win_seg[ok]] = win_cat[ok]
    tied = np.zeros(n_seg, dtype=bool)
    tied[win_seg[~ok]] = True
    # the share agreeing with each segment's chosen category
    chosen = seg.cat_code == win[seg.cat_seg]
    agree = np.bincount(seg.cat_seg[chosen], weights=share[chosen], minlength=n_seg)
    w = seg.width.astype(np.float64)
    num = np.bincount(seg.seg_task, weights=w * agree, minlength=s.n_tasks)
    den = np.bincount(seg.seg_task, weights=w, minlength=s.n_tasks)
    confidence = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    # runs of segments with one category (and touching) become spans
    names = [OUTSIDE] + seg.categories
    end = seg.seg_start + seg.width
    run_start = np.ones(n_seg, dtype=bool)
    run_start[1:] = (win[1:] != win[:-1]) | (seg.seg_task[1:] != seg.seg_task[:-1]) | (
        seg.seg_start[1:] != end[:-1])
    starts = np.flatnonzero(run_start)
    stops = np.append(starts[1:], n_seg) - 1
    for a, z in zip(starts, stops):
        if win[a] != 0:
            for lab in names[win[a]].split(LABEL_SEPARATOR) if win[a] > len(s.labels) else [names[win[a]]]:
                spans[seg.seg_task[a]].append((int(seg.seg_start[a]), int(end[z]), lab))
    n_tied = np.bincount(seg.seg_task[tied], weights=w[tied], minlength=s.n_tasks)
    for task in np.flatnonzero(n_tied):
        reasons[task] = (f"{int(n_tied[task])} character(s) had no category with more than "
                         f"{min_share:g} of the answers and became {OUTSIDE!r}")
    return np.asarray(confidence, dtype=np.float64)


__all__ = [
    "MICRO",
    "OUTSIDE",
    "check_spans",
    "disagreement_summary",
    "span_agreement",
    "span_character_alpha",
    "span_consensus",
    "span_disagreements",
    "split_valid_spans",
]
