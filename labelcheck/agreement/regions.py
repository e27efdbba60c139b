r"""Agreement for labelled image regions (bounding boxes, polygons).

A region field's ``label`` is a tuple of :class:`~labelcheck.table.Region` in percent
of the image (shapes and IoU: :mod:`labelcheck.agreement.region_iou`).  Everything
here works on the flat table of regions of :mod:`labelcheck.agreement.region_table`:
a region's label is its labels joined by ``|`` (sorted), ``""`` for none, so one
region with two labels is one object of category ``a|b``; keypoints have no area and
are left out of every IoU-based statistic here and counted
(``n_keypoints_ignored``).

Malformed regions stop every function here with one
:class:`~labelcheck.errors.InvalidInput` naming each bad region; use
:func:`~labelcheck.agreement.region_checks.split_valid_regions` to drop just those
regions and go on with the rest.

* :func:`region_agreement`: matched IoU and F1 at IoU thresholds, pooled over pairs
  of annotations;
* :func:`region_alpha`: Krippendorff's alpha with distance :math:`1 - \mathrm{IoU}`.

The region consensus (box fusion) is
:func:`labelcheck.consensus.regions.region_consensus`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.matching import group_codes, one_to_one, pairs_with_label
from labelcheck.agreement.region_iou import pair_iou
from labelcheck.agreement.region_table import RegionTable, collect_regions, cross_pairs
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.agreement.spans import MICRO

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: ``label`` of the label-agnostic row of :func:`region_agreement`.
ANY_LABEL = "(any)"


# --- pairwise agreement ----------------------------------------------------------------
def region_agreement(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    thresholds: Sequence[float] = (0.5, 0.75),
    per_label: bool = True,
    confusion_iou: float = 0.5,
) -> pd.DataFrame:
    r"""Pairwise region agreement: matched IoU and F1 at IoU thresholds, pooled over
    every pair of annotations of a task.

    For every unordered pair of annotations :math:`(A, B)` on a task, regions are
    matched one-to-one by the assignment that maximises the summed IoU (Hungarian
    algorithm, ``scipy.optimize.linear_sum_assignment``; pairs with IoU 0 are never
    matched), among regions of the same label.  Then, pooled over pairs,

    .. math:: F_1(t) = \frac{2\,\sum_{(A,B)} TP_{AB}(t)}{\sum_{(A,B)} (|A| + |B|)}

    with :math:`TP_{AB}(t)` the matched pairs with :math:`\mathrm{IoU} \ge t` and
    :math:`|A|` the regions of :math:`A` (of the label, for a per-label row): the
    pairwise F-measure of Hripcsak & Rothschild (2005) with IoU matching as in
    object-detection evaluation (Everingham et al. 2010, PASCAL VOC, IoU >= 0.5).

    Parameters
    ----------
    data : canonical annotation table; ``label`` holds tuples of Region.
    field : the region field; may be omitted when the table has one field.
    thresholds : IoU thresholds :math:`t` for TP and F1.
    per_label : also report one row per label.
    confusion_iou : IoU from which a label-agnostic match between different labels
        counts as a label confusion.

    Returns
    -------
    pandas.DataFrame
        One row per label (when ``per_label``), then ``"(micro)"`` (same-label
        matching, pooled over labels) and ``"(any)"`` (matching that ignores labels,
        so that a box both annotators drew but labelled differently still matches).
        Columns: ``label``, ``n_pairs`` (annotation pairs where at least one side has
        such a region), ``n_a_plus_b``, ``n_matched`` (matched pairs, IoU > 0),
        ``mean_iou`` (over matched pairs), ``tp@t`` and ``f1@t`` per threshold, and
        ``n_label_confusions`` (``(any)`` row only: matched with IoU >=
        ``confusion_iou`` but labelled differently).  ``attrs["n_keypoints_ignored"]``
        counts keypoints left out.

    Notes
    -----
    Maximising summed IoU and then thresholding can match fewer pairs at a high
    threshold than a matching made for that threshold; with boxes that overlap one
    object each, both agree.  Tasks with one annotation have no pair.

    References
    ----------
    Hripcsak, G., & Rothschild, A. S. (2005). Agreement, the F-measure, and reliability
    in information retrieval. JAMIA 12(3), 296-298. https://doi.org/10.1197/jamia.M1733
    Everingham, M., Van Gool, L., Williams, C. K. I., Winn, J., & Zisserman, A. (2010).
    The PASCAL Visual Object Classes (VOC) Challenge. IJCV 88, 303-338.
    https://doi.org/10.1007/s11263-009-0275-4
    Kuhn, H. W. (1955). The Hungarian method for the assignment problem. Naval
    Research Logistics Quarterly 2, 83-97. https://doi.org/10.1002/nav.3800020109
    """
    ts = [float(t) for t in thresholds]
    if any(not 0.0 < t <= 1.0 for t in ts):
        raise ValueError(f"thresholds must be in (0, 1]; got {list(thresholds)}")
    r = collect_regions(data, field)
    n_labels = len(r.labels)
    m_task = r.answers_per_task()
    i, j, iou = cross_pairs(r)
    n_ann = int(r.ann_task.size)
    pair_group = group_codes([r.ann[i], r.ann[j]], [n_ann, n_ann])
    same = r.label[i] == r.label[j]
    lab_group = group_codes([r.ann[i][same], r.ann[j][same], r.label[i][same]], [n_ann, n_ann, n_labels])
    keep_same = one_to_one(lab_group, i[same], j[same], iou[same])
    keep_any = one_to_one(pair_group, i, j, iou)
    m_lab, m_iou = r.label[i][same][keep_same], iou[same][keep_same]
    a_iou = iou[keep_any]
    confused = (r.label[i][keep_any] != r.label[j][keep_any]) & (a_iou >= confusion_iou)
    denom = np.bincount(r.label, weights=(m_task[r.task] - 1).astype(np.float64), minlength=n_labels)
    n_pairs = pairs_with_label(r.task, r.label, r.ann, r.ann_task, r.n_tasks, m_task, n_labels)

    def row(label: str, sel_iou: FloatArray, n_ab: float, pairs: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": label, "n_pairs": int(pairs), "n_a_plus_b": int(n_ab),
            "n_matched": int(sel_iou.size),
            "mean_iou": float(sel_iou.mean()) if sel_iou.size else math.nan,
        }
        for t in ts:
            tp = int(np.count_nonzero(sel_iou >= t - 1e-12))
            out[f"tp@{t:g}"] = tp
            out[f"f1@{t:g}"] = 2.0 * tp / n_ab if n_ab > 0 else math.nan
        return out

    rows: list[dict[str, Any]] = []
    if per_label:
        for k in range(n_labels):
            rows.append(row(str(r.labels[k]), m_iou[m_lab == k], denom[k], n_pairs[k]))
    rows.append(row(MICRO, m_iou, float(denom.sum()), n_pairs[n_labels]))
    rows.append(row(ANY_LABEL, a_iou, float(denom.sum()), n_pairs[n_labels]))
    frame = pd.DataFrame(rows)
    conf = np.zeros(len(frame), dtype=np.int64)
    conf[-1] = int(confused.sum())
    frame["n_label_confusions"] = pd.arrays.IntegerArray(conf, np.arange(len(frame)) != len(frame) - 1)
    frame.attrs["n_keypoints_ignored"] = r.n_keypoints
    return frame


# --- alpha with 1 - IoU ----------------------------------------------------------------
def region_alpha(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    max_expected_pairs: int = 2_000_000,
    seed: int = 0,
    ci: Any = None,
) -> AgreementResult:
    r"""Krippendorff's alpha for single-object localisation, with distance
    :math:`\delta(A, B) = 1 - \mathrm{IoU}(A, B)`.

    .. math:: \alpha = 1 - \frac{D_o}{D_e}

    Units are ``(task, label)``: each annotation's region of that label on that task
    is one value; :math:`D_o` averages :math:`1 - \mathrm{IoU}` within units,
    :math:`D_e` over all pairs of pairable values (Krippendorff 2011; computed by
    :func:`~labelcheck.agreement.distance_alpha.distance_alpha`, which samples
    ``max_expected_pairs`` pairs for :math:`D_e` when there are more).  This is
    the distance-based alpha used for bounding boxes by Nassar et al. (2019).

    Parameters
    ----------
    data : canonical annotation table; ``label`` holds tuples of Region.
    field : the region field; may be omitted when the table has one field.
    max_expected_pairs, seed, ci : passed to ``distance_alpha``.

    Returns
    -------
    AgreementResult
        ``metric="region_alpha"``.  NaN with a reason when some annotation has two
        or more regions of one label on one task (then regions cannot be paired
        without a matching: use :func:`region_agreement`), or when nothing pairs.

    Notes
    -----
    An annotation without a region of the label on the task gives the unit no value
    (missing), so alpha measures *where* annotators put an object they all marked;
    whether they marked it at all is what :func:`region_agreement`'s F1 measures.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    https://repository.upenn.edu/asc_papers/43
    Nassar, J., Pavon-Harr, V., Bosch, M., & McCulloh, I. (2019). Assessing data
    quality of annotations with Krippendorff alpha for applications in computer
    vision. arXiv:1912.10107. https://arxiv.org/abs/1912.10107
    """
    from labelcheck.agreement.distance_alpha import distance_alpha

    metric = "region_alpha"
    r = collect_regions(data, field)
    key = pd.DataFrame({"a": r.ann, "l": r.label})
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        first = np.flatnonzero(dup)
        shown = []
        seen: set[tuple[int, int]] = set()
        for k in first:
            pair = (int(r.ann[k]), int(r.label[k]))
            if pair in seen:
                continue
            seen.add(pair)
            n_same = int(np.sum((r.ann == pair[0]) & (r.label == pair[1])))
            shown.append(f"annotation {r.annotation_ids[pair[0]]} on task "
                         f"{r.task_ids[r.ann_task[pair[0]]]} has {n_same} regions labelled "
                         f"{r.labels[pair[1]]!r}")
            if len(shown) == 3:
                break
        return undefined(metric, (
            "region alpha needs at most one region per label per annotation and task "
            f"(single-object localisation), but {len(seen) if len(shown) < 3 else 'several'} "
            f"annotation(s) have more: {'; '.join(shown)}; use region_agreement instead"),
            level="ratio")
    unit = r.task * max(len(r.labels), 1) + r.label
    g = r.geometry

    def pair_distance(i: IntArray, j: IntArray) -> FloatArray:
        return np.asarray(1.0 - pair_iou(g, np.asarray(i, np.int64), g, np.asarray(j, np.int64)), dtype=np.float64)

    return distance_alpha(
        unit, np.arange(len(r.regions), dtype=np.int64), pair_distance, metric=metric,
        max_expected_pairs=max_expected_pairs, seed=seed, ci=ci,
        n_annotators=int(pd.unique(r.annotator_ids[np.unique(r.ann)]).size) if r.ann.size else 0,
    )


__all__ = [
    "ANY_LABEL",
    "region_agreement",
    "region_alpha",
]
