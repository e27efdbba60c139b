r"""Agreement and disagreements for labelled text spans (NER).

A span field's ``label`` is a tuple of :class:`~labelcheck.table.Span`, character
offsets ``[start, end)`` into the task's text.  Everything here works on the flat
table of *labelled spans* of :mod:`labelcheck.agreement.span_table` (one labelled
span per label of a span; duplicates inside an annotation count once; a missing
label is no answer, an empty tuple an answer with no spans).

Every pair of *annotations* on a task is compared, including two annotations by the
same annotator.  Malformed spans stop every function here with one
:class:`~labelcheck.errors.InvalidInput` naming each bad span; use
:func:`~labelcheck.agreement.span_checks.split_valid_spans` to drop just those spans
and go on with the rest.

The statistics:

* :func:`span_agreement`: pairwise F1 pooled over annotation pairs (Hripcsak &
  Rothschild 2005), exact or overlap matching, per label and micro-pooled;
* :func:`span_character_alpha`: nominal Krippendorff's alpha with characters as
  units, computed on elementary segments weighted by their length;
* :func:`span_disagreements` / :func:`disagreement_summary`: every unmatched span,
  classified as ``boundary``, ``label``, ``boundary+label`` or ``missing``.

The span consensus is :func:`labelcheck.consensus.spans.span_consensus`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.intervals import IntervalSpec, as_interval, bootstrap_tasks
from labelcheck.agreement.matching import group_codes, one_to_one, pairs_with_label
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.agreement.span_table import (
    OUTSIDE,
    SpanTable,
    character_segments,
    collect_spans,
    overlap_pairs,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]

SpanMatch = Literal["exact", "overlap"]
SPAN_MATCHES: tuple[str, ...] = get_args(SpanMatch)
DisagreementKind = Literal["boundary", "label", "boundary+label", "missing"]

#: ``label`` of the micro-pooled row of :func:`span_agreement`.
MICRO = "(micro)"

AGREEMENT_COLUMNS = ("label", "match", "tp", "n_a_plus_b", "f1", "n_pairs")
DISAGREEMENT_COLUMNS = (
    "task_id", "annotation_a", "annotation_b", "annotator_a", "annotator_b", "kind",
    "start", "end", "label", "other_start", "other_end", "other_label",
)


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
    s = collect_spans(data, field)
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
    pairs = pairs_with_label(s.task, s.label, s.ann, s.ann_task, s.n_tasks, m_task, n_labels)
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


def _overlap_tp(s: SpanTable, n_labels: int) -> FloatArray:
    i, j = overlap_pairs(s.task, s.start, s.end)
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
def span_character_alpha(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    text_lengths: Mapping[str, int] | None = None,
    ci: IntervalSpec | None = None,
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
    ci : None, or ``"bootstrap"`` / an :class:`~labelcheck.agreement.intervals.Interval`
        with ``method="bootstrap"``: an item bootstrap over *tasks* (the characters of
        one text are not independent, so the task is the unit resampled).  Each
        task's observed disagreement mass :math:`\sum_{u \in t} w_u (m_u^2 - \sum_c
        n_{uc}^2)/(m_u - 1)`, its values :math:`\sum_{u \in t} w_u m_u` and its
        category values are summed once; a replicate reweights them by how often each
        task is drawn, so 1,000 replicates cost a few matrix products.

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
    s = collect_spans(data, field, text_lengths)
    m_task = s.answers_per_task()
    base: dict[str, Any] = {"level": "nominal"}
    if not (m_task >= 2).any():
        return undefined(metric, "no task has two or more annotations: alpha needs pairable values", **base)
    seg = character_segments(s, text_lengths)
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
    result = AgreementResult(metric=metric, value=1.0 - d_o / d_e, observed=d_o, expected=d_e, **base)
    interval = as_interval(ci)
    if interval is None:
        return result
    if interval.method != "bootstrap":
        raise ValueError("span_character_alpha has no analytic standard error; use ci='bootstrap' or None")
    # per-task sums (tasks renumbered 0..T-1 among the pairable ones)
    task_of_seg = np.searchsorted(pairable_tasks, seg.seg_task)
    n_t = pairable_tasks.size
    obs_t = np.bincount(task_of_seg, weights=w * (m * m - sq) / (m - 1.0), minlength=n_t)
    val_t = np.bincount(task_of_seg, weights=w * m, minlength=n_t)
    k = len(seg.categories) + 1
    cat_t = np.zeros((n_t, k))
    np.add.at(cat_t, (task_of_seg[seg.cat_seg], seg.cat_code), w[seg.cat_seg] * seg.cat_n)

    def replicate(draws: npt.NDArray[np.int64]) -> FloatArray:
        r = draws.astype(np.float64)
        n = r @ val_t
        n_c_b = r @ cat_t
        with np.errstate(invalid="ignore", divide="ignore"):
            d_o_b = (r @ obs_t) / n
            d_e_b = (n * n - np.einsum("bk,bk->b", n_c_b, n_c_b)) / (n * (n - 1.0))
            out: FloatArray = np.where(d_e_b > 0, 1.0 - d_o_b / d_e_b, np.nan)
        return out

    boot = bootstrap_tasks(replicate, n_t, interval, result.value)
    return result.with_interval(boot.se, boot.ci, boot.method, interval.confidence)


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
    s = collect_spans(data, field)
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
    ci, cj = overlap_pairs(task, s.start, s.end)
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


__all__ = [
    "MICRO",
    "disagreement_summary",
    "span_agreement",
    "span_character_alpha",
    "span_disagreements",
]
