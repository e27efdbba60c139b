r"""The flat table of labelled spans that the span statistics
(:mod:`labelcheck.agreement.spans`) and the span consensus
(:mod:`labelcheck.consensus.spans`) work on, built once per call by
:func:`collect_spans`.

A span field's ``label`` is a tuple of :class:`~labelcheck.table.Span`, character
offsets ``[start, end)`` into the task's text.  In the flat table:

* a span carrying several labels (Label Studio ``Labels`` with ``choice="multiple"``)
  counts as one labelled span per label; a span with no label has label ``""``;
* exact duplicates inside one annotation (same start, end and label) count once;
* a row whose label is missing (None/NaN) is no answer and is skipped; an empty
  tuple is an answer with no spans (it still pairs with the other annotations).
  Label Studio writes no result at all for an annotation without spans, so such an
  annotation reaches this module only if the adapter adds the empty row.

Malformed spans stop :func:`collect_spans` with one
:class:`~labelcheck.errors.InvalidInput` naming each bad span
(:mod:`labelcheck.agreement.span_checks`).  Also here, shared by the statistics and
the consensus: the overlapping pairs of spans (:func:`overlap_pairs`) and the
elementary character segments (:func:`character_segments`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.span_checks import malformed_spans_error, scan_spans
from labelcheck.agreement.structured_labels import LABEL_SEPARATOR, is_missing
from labelcheck.table import ANNOTATION_ID, ANNOTATOR_ID, LABEL, TASK_ID, select_field, validate

IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]

#: The category of a character no span covers.
OUTSIDE = "O"


@dataclass(frozen=True, eq=False)
class SpanTable:
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


def collect_spans(
    data: pd.DataFrame, field: str | None, text_lengths: Mapping[str, int] | None = None
) -> SpanTable:
    """The flat table of labelled spans of one span field of the canonical table
    ``data``; :class:`~labelcheck.errors.InvalidInput` listing every malformed span
    when there is one (``text_lengths``: ``{task_id: characters}``, to check ends)."""
    validate(data)
    frame, field_name = select_field(data, field)
    spans, _, problems = scan_spans(frame, field_name, text_lengths)
    if problems:
        raise malformed_spans_error(field_name, problems)
    answered = np.asarray([not is_missing(v) for v in frame[LABEL].to_numpy()], dtype=bool)
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
    return SpanTable(
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


def overlap_pairs(task: IntArray, start: IntArray, end: IntArray) -> tuple[IntArray, IntArray]:
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


# --- elementary character segments ---------------------------------------------------
@dataclass(frozen=True, eq=False)
class CharacterSegments:
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


def character_segments(
    s: SpanTable, text_lengths: Mapping[str, int] | None, min_answers: int = 2
) -> CharacterSegments:
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
    return CharacterSegments(
        seg_task=b_task[seg_ids],
        seg_start=b_pos[seg_ids],
        width=width_all[seg_ids],
        m=m_seg,
        cat_seg=np.concatenate([pos[p_seg], np.flatnonzero(has_out)]),
        cat_code=np.concatenate([p_cat, np.zeros(int(has_out.sum()), dtype=np.int64)]),
        cat_n=np.concatenate([p_n, outside[has_out]]),
        categories=categories,
    )


__all__ = [
    "OUTSIDE",
    "CharacterSegments",
    "SpanTable",
    "character_segments",
    "collect_spans",
    "overlap_pairs",
]
