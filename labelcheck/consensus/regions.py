r"""Consensus regions of a region field (bounding boxes, polygons) by clustering and
fusing (box fusion).

Works on the flat table of regions of :mod:`labelcheck.agreement.region_table`
(labels joined by ``|``; keypoints left out and counted) and the IoU of
:mod:`labelcheck.agreement.region_iou`.  Malformed regions stop
:func:`region_consensus` with one :class:`~labelcheck.errors.InvalidInput`; use
:func:`~labelcheck.agreement.region_checks.split_valid_regions` first to drop them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.region_iou import RECTANGLE_CODE, pair_iou
from labelcheck.agreement.region_table import RegionTable, collect_regions, cross_pairs
from labelcheck.table import Region

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

CONSENSUS_COLUMNS = ("task_id", "label", "confidence", "n_answers", "reason")


def region_consensus(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    iou: float = 0.5,
    min_share: float = 0.5,
) -> pd.DataFrame:
    r"""Consensus regions of each task by clustering and fusing (box fusion).

    1. *Clustering.*  Pairs of regions from different annotations of a task, with
       the same label and :math:`\mathrm{IoU} \ge` ``iou``, are taken in decreasing
       IoU and their clusters merged (single linkage) unless the merged cluster
       would hold two regions of one annotation.  Greedy and order-free of any
       reference annotation; as in weighted box fusion (Solovyev et al. 2021), a
       cluster has at most one region per annotation.
    2. *Voting.*  A cluster is kept when it holds regions of more than ``min_share``
       of the task's :math:`m` annotations (:math:`c/m > \text{min\_share}`).
    3. *Fusion.*  A cluster of rectangles becomes the rectangle with the
       coordinate-wise median ``x, y, width, height, rotation``; any other cluster
       (polygons, ellipses, mixed shapes) keeps its medoid, the member with the
       largest summed IoU to the others.

    ``confidence`` is the mean over the task's clusters of the share of annotations
    agreeing with the decision on it (:math:`c/m` if kept, :math:`1 - c/m` if not);
    1 when there is no region.

    Parameters
    ----------
    data : canonical annotation table; ``label`` holds tuples of Region.
    field : the region field; may be omitted when the table has one field.
    iou : the IoU from which two regions may describe one object.
    min_share : a cluster needs strictly more than this share of the annotations.

    Returns
    -------
    pandas.DataFrame
        One row per task: ``task_id``, ``label`` (tuple of Region), ``confidence``,
        ``n_answers``, ``reason`` (one answer only; clusters with exactly
        ``min_share``; keypoints left out).

    Notes
    -----
    The median of rotations does not wrap around 360 degrees; the median of
    corners of rotated boxes is taken in Label Studio's parameters, not on corners.

    References
    ----------
    Solovyev, R., Wang, W., & Gabruseva, T. (2021). Weighted boxes fusion: Ensembling
    boxes from different object detection models. Image and Vision Computing 107,
    104117. https://doi.org/10.1016/j.imavis.2021.104117
    """
    if not 0.0 < iou <= 1.0:
        raise ValueError(f"iou must be in (0, 1]; got {iou!r}")
    if not 0.0 <= min_share < 1.0:
        raise ValueError(f"min_share must be in [0, 1); got {min_share!r}")
    r = collect_regions(data, field)
    m_task = r.answers_per_task()
    i, j, v = cross_pairs(r)
    ok = (r.label[i] == r.label[j]) & (v >= iou - 1e-12)
    cluster = _greedy_clusters(r.ann, i[ok], j[ok], v[ok])
    _, c_of = np.unique(cluster, return_inverse=True)
    size = np.bincount(c_of)
    c_task = r.task[np.unique(c_of, return_index=True)[1]]
    share = size / m_task[c_task]
    kept = share > min_share + 1e-12
    tied = np.isclose(share, min_share, rtol=0.0, atol=1e-12)
    agree = np.where(kept, share, 1.0 - share)
    n_clusters = np.bincount(c_task, minlength=r.n_tasks)
    sums = np.bincount(c_task, weights=agree, minlength=r.n_tasks)
    confidence = np.where(n_clusters > 0, sums / np.maximum(n_clusters, 1), 1.0)
    fused: list[list[Region]] = [[] for _ in range(r.n_tasks)]
    if r.ann.size:
        g = r.geometry
        # clusters of rectangles only: coordinate-wise medians, one groupby for all
        not_rect = np.bincount(c_of, weights=(g.shape != RECTANGLE_CODE).astype(np.float64)) > 0
        rect_kept = kept & ~not_rect
        sel = rect_kept[c_of]
        med = pd.DataFrame({"c": c_of[sel], "x": g.x[sel], "y": g.y[sel], "w": g.w[sel],
                            "h": g.h[sel], "r": g.rot[sel]}).groupby("c", sort=True).median()
        first = np.unique(c_of, return_index=True)[1]
        for c, x, y, w, h, rot in zip(med.index.to_numpy(), *(med[k].to_numpy() for k in "xywhr")):
            labels = r.regions[int(first[c])].labels
            fused[int(c_task[c])].append(Region("rectangle", labels, float(x), float(y), float(w),
                                                float(h), float(rot)))
        other = np.flatnonzero(kept & not_rect)
        if other.size:
            members = np.argsort(c_of, kind="stable")
            groups = np.split(members, np.cumsum(size)[:-1])
            for c in other:
                fused[int(c_task[c])].append(_fuse(r, groups[int(c)]))
    reasons: list[str | None] = [None] * r.n_tasks
    n_tied = np.bincount(c_task[tied], minlength=r.n_tasks)
    for t in np.flatnonzero(n_tied):
        reasons[t] = f"{n_tied[t]} region cluster(s) had exactly {min_share:g} of the answers (a tie) and were left out"
    for t in np.flatnonzero(m_task == 1):
        reasons[t] = "one answer: the consensus is that answer"
    if r.n_keypoints:
        note = f"{r.n_keypoints} keypoint(s) in the field were left out (no area for IoU)"
        reasons = [note if x is None else f"{x}; {note}" for x in reasons]
    return pd.DataFrame({
        "task_id": r.task_ids,
        "label": pd.Series([tuple(sorted(f, key=_region_key)) for f in fused], dtype=object).to_numpy(),
        "confidence": np.asarray(confidence, dtype=np.float64),
        "n_answers": m_task,
        "reason": np.asarray(reasons, dtype=object),
    }).loc[:, list(CONSENSUS_COLUMNS)]


def _region_key(region: Region) -> tuple[Any, ...]:
    return (region.labels, region.shape, region.y or 0.0, region.x or 0.0, region.points)


def _greedy_clusters(ann: IntArray, i: IntArray, j: IntArray, v: FloatArray) -> IntArray:
    """Cluster ids: union-find over pairs by decreasing IoU, never putting two regions
    of one annotation in one cluster."""
    parent = list(range(ann.size))
    anns: dict[int, set[int]] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in np.lexsort((j, i, -v)).tolist():
        a, b = find(int(i[k])), find(int(j[k]))
        if a == b:
            continue
        sa = anns.get(a, {int(ann[a])})
        sb = anns.get(b, {int(ann[b])})
        if sa & sb:
            continue
        parent[b] = a
        anns[a] = sa | sb
        anns.pop(b, None)
    return np.asarray([find(x) for x in range(ann.size)], dtype=np.int64)


def _fuse(r: RegionTable, idx: IntArray) -> Region:
    """The medoid of a cluster that is not all rectangles: the member with the
    largest summed IoU to the others."""
    a, b = np.meshgrid(idx, idx, indexing="ij")
    scores = pair_iou(r.geometry, a.ravel(), r.geometry, b.ravel()).reshape(idx.size, idx.size)
    return r.regions[int(idx[int(np.argmax(scores.sum(axis=1)))])]


__all__ = [
    "ANY_LABEL",
    "check_regions",
    "iou_matrix",
    "region_agreement",
    "region_alpha",
    "region_consensus",
    "split_valid_regions",
]


__all__ = ["region_consensus"]
