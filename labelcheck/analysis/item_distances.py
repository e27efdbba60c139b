r"""Type-aware disagreement of one item: the mean distance between its answers, for
fields whose answers are sets, texts, spans or regions.

For task :math:`u` with :math:`m_u \ge 2` answers :math:`a_1, \dots, a_{m_u}`:

.. math:: D_u = \frac{1}{m_u (m_u - 1)} \sum_{i \ne j} \delta(a_i, a_j)

with :math:`\delta` by value type:

* ``multichoice``: the MASI distance :math:`1 - J(A, B)\,M(A, B)` (Passonneau 2006),
  :math:`J` Jaccard's similarity and :math:`M` the monotonicity weight (1, 2/3, 1/3, 0
  for equal, nested, overlapping, disjoint sets);
  :func:`~labelcheck.agreement.multilabel.set_distances` on bit rows;
* ``text``: :math:`\mathrm{lev}(a, b) / \max(|a|, |b|)` after
  :func:`~labelcheck.agreement.text.normalise_text` (Levenshtein 1966; RapidFuzz
  through :func:`~labelcheck.agreement.text.text_distances`);
* ``span``: :math:`1 - F_1(A, B)`, :math:`F_1 = 2\,TP / (|A| + |B|)`, :math:`TP` the
  labelled spans in both answers with the same start, end and label (exact match) and
  :math:`|A|` the labelled spans of :math:`A`; two answers without spans have
  :math:`\delta = 0` (the pairwise F-measure of Hripcsak & Rothschild 2005);
* ``region``: :math:`1 - F_1(A, B)` with :math:`TP` the pairs of regions matched
  one-to-one among regions of the same label by the assignment that maximises the
  summed IoU (Hungarian algorithm, Kuhn 1955) and whose IoU is at least 0.5 (PASCAL
  VOC, Everingham et al. 2010): the pairwise F1 of
  :func:`~labelcheck.agreement.regions.region_agreement`, per pair of answers.

Every :math:`\delta` lies in [0, 1], is symmetric and is 0 for equal answers, so
:math:`D_u \in [0, 1]`, :math:`D_u = 0` when all answers agree, and the mean over the
ordered pairs equals the mean over the unordered ones, which is what is computed.
With :math:`\delta` the nominal difference (0 when equal, 1 otherwise) :math:`D_u` is
the share of differing answer pairs that :mod:`labelcheck.analysis.items` reports for
choices.  :math:`D_u` is the task's term of Krippendorff's observed disagreement with
the same :math:`\delta`, :math:`D_o = \frac{1}{n} \sum_u m_u D_u` over the tasks with
two or more answers (:math:`n = \sum_u m_u`), as
:func:`~labelcheck.agreement.multilabel.multilabel_alpha` and
:func:`~labelcheck.agreement.text.text_alpha` compute it.

Pairs of answers are built once per field, with no loop over tasks: answers are
sorted by task and, for each distinct number of answers per task, one
``numpy.triu_indices`` block covers every task of that size.  Costs beyond that:
multi-choice and text distances are evaluated once per distinct pair of distinct
(normalised) answers; span true positives come from one grouping of identical
labelled spans; region matching runs the Hungarian algorithm only on pairs of answers
in which a region overlaps two regions of the other answer
(:func:`~labelcheck.agreement.matching.one_to_one`).

Pure: no I/O.

References
----------
Passonneau, R. (2006). Measuring agreement on set-valued items (MASI) for semantic and
pragmatic annotation. Proceedings of LREC 2006, 831-836.
http://www.lrec-conf.org/proceedings/lrec2006/pdf/636_pdf.pdf

Levenshtein, V. I. (1966). Binary codes capable of correcting deletions, insertions,
and reversals. Soviet Physics Doklady 10(8), 707-710.

Hripcsak, G., & Rothschild, A. S. (2005). Agreement, the F-measure, and reliability in
information retrieval. JAMIA 12(3), 296-298. https://doi.org/10.1197/jamia.M1733

Everingham, M., Van Gool, L., Williams, C. K. I., Winn, J., & Zisserman, A. (2010). The
PASCAL Visual Object Classes (VOC) Challenge. IJCV 88, 303-338.
https://doi.org/10.1007/s11263-009-0275-4

Kuhn, H. W. (1955). The Hungarian method for the assignment problem. Naval Research
Logistics Quarterly 2, 83-97. https://doi.org/10.1002/nav.3800020109

Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School
for Communication, University of Pennsylvania. https://repository.upenn.edu/asc_papers/43
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.matching import group_codes, one_to_one
from labelcheck.agreement.multilabel import label_sets, set_distances
from labelcheck.agreement.region_checks import split_valid_regions
from labelcheck.agreement.region_table import collect_regions, cross_pairs
from labelcheck.agreement.span_checks import split_valid_spans
from labelcheck.agreement.span_table import collect_spans
from labelcheck.agreement.text import read_texts, text_distances
from labelcheck.table import LABEL, TASK_ID, select_field

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DistanceType = Literal["multichoice", "span", "region", "text"]
#: Value types whose item disagreement is a mean pairwise distance.
DISTANCE_TYPES: tuple[str, ...] = get_args(DistanceType)
#: IoU from which two matched regions count as a true positive.
IOU_THRESHOLD = 0.5
# IoU of the same boxes can land a hair below a threshold it meets exactly (as in
# labelcheck.agreement.regions.region_agreement)
_IOU_SLACK = 1e-12


def answer_pairs(ann_task: IntArray) -> tuple[IntArray, IntArray]:
    """Every pair ``(i, j)``, ``i < j``, of answers on the same task.

    ``ann_task[a]`` is the task code of answer ``a``.  Answers are sorted by task
    (stably) and the pairs of all tasks with the same number of answers :math:`m`
    come from one ``numpy.triu_indices(m, 1)`` block: the loop runs over the distinct
    values of :math:`m`, not over tasks.

    >>> i, j = answer_pairs(np.array([0, 1, 0, 0, 1]))
    >>> sorted(zip(i.tolist(), j.tolist()))
    [(0, 2), (0, 3), (1, 4), (2, 3)]
    """
    task = np.asarray(ann_task, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if task.size == 0:
        return empty, empty
    order = np.argsort(task, kind="stable")
    sizes = np.bincount(task)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    parts_i: list[IntArray] = []
    parts_j: list[IntArray] = []
    for m in np.unique(sizes[sizes >= 2]):
        ia, ib = np.triu_indices(int(m), 1)
        base = first[sizes == m][:, None]
        # stable order: within a task, positions ascend, so order[base + ia] < order[base + ib]
        parts_i.append(order[(base + ia).ravel()])
        parts_j.append(order[(base + ib).ravel()])
    if not parts_i:
        return empty, empty
    return np.concatenate(parts_i).astype(np.int64), np.concatenate(parts_j).astype(np.int64)


def item_disagreement(
    rows: pd.DataFrame,
    value_type: DistanceType,
    *,
    field: str | None = None,
    text_lengths: Mapping[str, int] | None = None,
    iou_threshold: float = IOU_THRESHOLD,
) -> pd.Series:
    r"""Mean pairwise distance :math:`D_u` between the answers of every task of one
    field (module docstring for :math:`\delta` per type).

    .. math:: D_u = \frac{1}{m_u (m_u - 1)} \sum_{i \ne j} \delta(a_i, a_j)

    :math:`m_u` is the number of answers of task :math:`u` that can be compared and
    :math:`a_i` the :math:`i`-th of them.

    Parameters
    ----------
    rows : canonical annotation table (any fields; ``field`` selects one).
    value_type : ``multichoice``, ``span``, ``region`` or ``text``.
    field : the field; may be omitted when the table has one.
    text_lengths : ``{task_id: characters of the task's text}``, for span fields: a
        span ending past the text is malformed.
    iou_threshold : IoU from which matched regions are a true positive.

    Returns
    -------
    pandas.Series
        :math:`D_u` (float in [0, 1]) indexed by ``task_id`` (str) for every task with
        a comparable answer, in order of first appearance; 0 for a task with a single
        one (no pair).

    Notes
    -----
    - A missing label is no answer.  Malformed spans and regions are taken out with
      :func:`~labelcheck.agreement.span_checks.split_valid_spans` and
      :func:`~labelcheck.agreement.region_checks.split_valid_regions`: an answer keeps
      its good items, one left with none is not compared.  A multi-choice label that
      is not a set of strings, and a text label that is not a string, is not
      compared either.  An empty tuple is an answer (nothing selected or drawn).
    - Spans: a span with two labels is two labelled spans; exact duplicates inside one
      answer count once (:func:`~labelcheck.agreement.span_table.collect_spans`).
    - Regions: a region's label is its labels joined (``a|b``); keypoints have no
      area and are left out, as in the region agreement.  Matching maximises the
      summed IoU over overlapping regions and then thresholds, as
      :func:`~labelcheck.agreement.regions.region_agreement` does, so the two agree.
    """
    if value_type not in DISTANCE_TYPES:
        raise ValueError(
            f"value_type must be one of {', '.join(DISTANCE_TYPES)}; got {value_type!r}")
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1]; got {iou_threshold}")
    frame, name = select_field(rows, field)
    if value_type == "multichoice":
        return _multichoice(frame, name)
    if value_type == "text":
        return _text(frame, name)
    if value_type == "span":
        return _spans(frame, name, text_lengths)
    return _regions(frame, name, iou_threshold)


# --- per value type --------------------------------------------------------------------
def _multichoice(frame: pd.DataFrame, name: str) -> pd.Series:
    keep = np.asarray([_is_label_set(v) for v in frame[LABEL].to_numpy(dtype=object)], dtype=bool)
    if not keep.any():
        return _empty()
    sets = label_sets(frame[keep], field=name)
    bits, sizes = sets.bits, sets.sizes

    def masi(a: IntArray, b: IntArray) -> FloatArray:
        return set_distances(bits, sizes, a, b, "masi")

    return _coded_mean(sets.answers.task_ids, sets.code, masi)


def _text(frame: pd.DataFrame, name: str) -> pd.Series:
    keep = np.asarray([isinstance(v, str) for v in frame[LABEL].to_numpy(dtype=object)], dtype=bool)
    if not keep.any():
        return _empty()
    texts = read_texts(frame[keep], field=name, normalise=True)
    values = texts.texts

    def lev(a: IntArray, b: IntArray) -> FloatArray:
        return text_distances(values[a], values[b])

    return _coded_mean(texts.answers.task_ids, texts.code, lev)


def _spans(frame: pd.DataFrame, name: str, text_lengths: Mapping[str, int] | None) -> pd.Series:
    valid, _ = split_valid_spans(frame, field=name, text_lengths=text_lengths)
    if not valid[LABEL].notna().any():
        return _empty()
    s = collect_spans(valid, name)
    i, j = answer_pairs(s.ann_task)
    # labelled spans present in two answers: pairs of spans with the same
    # (task, start, end, label), found as "answers" of one identity
    identity: IntArray = np.asarray(pd.DataFrame(
        {"t": s.task, "s": s.start, "e": s.end, "l": s.label}
    ).groupby(["t", "s", "e", "l"], sort=False).ngroup(), dtype=np.int64)
    p, q = answer_pairs(identity)
    tp = _pair_counts(i, j, s.ann[p], s.ann[q], s.n_annotations)
    n_items = np.bincount(s.ann, minlength=s.n_annotations)
    return _per_task(s.task_ids, s.ann_task, i, _one_minus_f1(tp, n_items[i] + n_items[j]))


def _regions(frame: pd.DataFrame, name: str, iou_threshold: float) -> pd.Series:
    valid, _ = split_valid_regions(frame, field=name)
    if not valid[LABEL].notna().any():
        return _empty()
    r = collect_regions(valid, name)
    n_ann = int(r.ann_task.size)
    i, j = answer_pairs(r.ann_task)
    ci, cj, iou = cross_pairs(r)  # regions of two answers of a task, IoU > 0, ann[ci] < ann[cj]
    same = r.label[ci] == r.label[cj]
    ci, cj, iou = ci[same], cj[same], iou[same]
    group = (group_codes([r.ann[ci], r.ann[cj], r.label[ci]], [n_ann, n_ann, max(len(r.labels), 1)])
             if ci.size else np.zeros(0, dtype=np.int64))
    hit = one_to_one(group, ci, cj, iou) & (iou >= iou_threshold - _IOU_SLACK)
    tp = _pair_counts(i, j, r.ann[ci[hit]], r.ann[cj[hit]], n_ann)
    n_items = np.bincount(r.ann, minlength=n_ann)
    return _per_task(r.task_ids, r.ann_task, i, _one_minus_f1(tp, n_items[i] + n_items[j]))


# --- shared steps ------------------------------------------------------------------------
def _is_label_set(value: Any) -> bool:
    """What :func:`~labelcheck.agreement.multilabel.label_sets` reads as a set of labels."""
    if isinstance(value, str):
        return True
    return isinstance(value, (tuple, list, set, frozenset)) and all(
        isinstance(x, str) for x in value)


def _coded_mean(
    task_ids: npt.NDArray[Any], code: IntArray, distance: Callable[[IntArray, IntArray], FloatArray]
) -> pd.Series:
    """:math:`D_u` for answers coded by distinct value (``code``), evaluating
    ``distance`` once per distinct pair of distinct values; equal values are at 0."""
    task_codes, uniques = pd.factorize(pd.Series(task_ids, dtype=object))
    ann_task: IntArray = np.asarray(task_codes, dtype=np.int64)
    i, j = answer_pairs(ann_task)
    lo, hi = np.minimum(code[i], code[j]), np.maximum(code[i], code[j])
    delta = np.zeros(i.size)
    differ = lo != hi
    if differ.any():
        k = int(code.max()) + 1
        keys, inverse = np.unique(lo[differ] * k + hi[differ], return_inverse=True)
        delta[differ] = distance(keys // k, keys % k)[inverse]
    return _per_task(np.asarray(uniques, dtype=object), ann_task, i, delta)


def _pair_counts(
    i: IntArray, j: IntArray, hit_a: IntArray, hit_b: IntArray, n_ann: int
) -> IntArray:
    """For each answer pair ``(i[k], j[k])`` (``i < j``), how many of the matched item
    pairs ``(hit_a, hit_b)`` join those two answers."""
    counts = np.zeros(i.size, dtype=np.int64)
    if hit_a.size == 0 or i.size == 0:
        return counts
    a, b = np.minimum(hit_a, hit_b), np.maximum(hit_a, hit_b)
    keys, n = np.unique(a * n_ann + b, return_counts=True)
    pair_key = i * n_ann + j
    pos = np.minimum(np.searchsorted(keys, pair_key), keys.size - 1)
    found = keys[pos] == pair_key
    counts[found] = n[pos[found]]
    return counts


def _one_minus_f1(tp: IntArray, n_a_plus_b: IntArray) -> FloatArray:
    """:math:`1 - 2\\,TP / (|A| + |B|)`, 0 when both answers are empty."""
    delta = np.zeros(tp.size)
    some = n_a_plus_b > 0
    delta[some] = 1.0 - 2.0 * tp[some] / n_a_plus_b[some]
    return delta


def _per_task(
    task_ids: npt.NDArray[Any], ann_task: IntArray, i: IntArray, delta: FloatArray
) -> pd.Series:
    """Mean of ``delta`` over the pairs of each task (pair ``k`` on task
    ``ann_task[i[k]]``); 0 for a task without a pair."""
    n_tasks = int(np.asarray(task_ids).size)
    task = ann_task[i]
    total = np.bincount(task, weights=delta, minlength=n_tasks)
    n_pairs = np.bincount(task, minlength=n_tasks)
    d = np.zeros(n_tasks)
    has = n_pairs > 0
    d[has] = np.clip(total[has] / n_pairs[has], 0.0, 1.0)
    index = pd.Index(np.asarray(task_ids, dtype=object).astype(str), name=TASK_ID)
    return pd.Series(d, index=index, name="disagreement")


def _empty() -> pd.Series:
    return pd.Series([], index=pd.Index([], dtype=object, name=TASK_ID), dtype=np.float64,
                     name="disagreement")


__all__ = ["DISTANCE_TYPES", "IOU_THRESHOLD", "DistanceType", "answer_pairs", "item_disagreement"]
