"""The flat table of regions that the region statistics
(:mod:`labelcheck.agreement.regions`) and the region consensus
(:mod:`labelcheck.consensus.regions`) work on, built once per call by
:func:`collect_regions`, and the pairs of overlapping regions (:func:`cross_pairs`).

A region's label is its labels joined by ``|`` (sorted), ``""`` for none: one region
with two labels is one object of category ``a|b``.  Keypoints have no area: they are
left out of the table and counted (``n_keypoints``).  Malformed regions stop
:func:`collect_regions` with one :class:`~labelcheck.errors.InvalidInput` naming each
bad region (:mod:`labelcheck.agreement.region_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.region_checks import DEFAULT_TOLERANCE, malformed_regions_error, scan_regions
from labelcheck.agreement.region_iou import RegionGeometry, pair_iou, region_geometry
from labelcheck.agreement.structured_labels import LABEL_SEPARATOR, is_missing
from labelcheck.table import ANNOTATION_ID, ANNOTATOR_ID, LABEL, TASK_ID, Region, select_field, validate

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True, eq=False)
class RegionTable:
    """One region field as flat arrays: per annotation ``ann_task`` and ids; per
    region (keypoints left out) ``ann``, ``label`` (code into ``labels``), the
    :class:`Region` objects and their :class:`RegionGeometry`."""

    field: str
    ann_task: IntArray
    task_ids: ObjectArray
    annotation_ids: ObjectArray
    annotator_ids: ObjectArray
    ann: IntArray
    label: IntArray
    labels: ObjectArray
    regions: list[Region]
    geometry: RegionGeometry
    n_keypoints: int

    @property
    def task(self) -> IntArray:
        out: IntArray = self.ann_task[self.ann]
        return out

    @property
    def n_tasks(self) -> int:
        return int(self.task_ids.size)

    def answers_per_task(self) -> IntArray:
        return np.bincount(self.ann_task, minlength=self.n_tasks).astype(np.int64)


def _label_key(region: Region) -> str:
    labels = (region.labels,) if isinstance(region.labels, str) else region.labels
    return LABEL_SEPARATOR.join(sorted(str(x) for x in labels))


def collect_regions(
    data: pd.DataFrame, field: str | None, tolerance: float = DEFAULT_TOLERANCE
) -> RegionTable:
    """The flat table of regions of one region field of the canonical table ``data``;
    :class:`~labelcheck.errors.InvalidInput` listing every malformed region when
    there is one."""
    validate(data)
    frame, field_name = select_field(data, field)
    items, _, problems = scan_regions(frame, field_name, tolerance)
    if problems:
        raise malformed_regions_error(field_name, problems)
    answered = np.asarray([not is_missing(v) for v in frame[LABEL].to_numpy()], dtype=bool)
    rows = np.flatnonzero(answered)
    ann_of_row = np.full(len(frame), -1, dtype=np.int64)
    ann_of_row[rows] = np.arange(rows.size)
    task_codes, task_ids = pd.factorize(frame[TASK_ID].to_numpy()[rows])
    kept = [(i, r) for i, r in items if r.shape != "keypoint"]
    regions = [r for _, r in kept]
    lab_codes, labels = pd.factorize(np.asarray([_label_key(r) for r in regions], dtype=object), sort=True)
    return RegionTable(
        field=field_name,
        ann_task=task_codes.astype(np.int64),
        task_ids=np.asarray(task_ids, dtype=object),
        annotation_ids=frame[ANNOTATION_ID].to_numpy(dtype=object)[rows],
        annotator_ids=frame[ANNOTATOR_ID].to_numpy(dtype=object)[rows],
        ann=ann_of_row[np.asarray([i for i, _ in kept], dtype=np.int64)],
        label=lab_codes.astype(np.int64),
        labels=np.asarray(labels, dtype=object),
        regions=regions,
        geometry=region_geometry(regions),
        n_keypoints=len(items) - len(kept),
    )


def cross_pairs(r: RegionTable) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs ``(i, j)`` of regions of two different annotations of a task
    (``ann[i] < ann[j]``) whose IoU is positive, with the IoU."""
    task = r.task
    order = np.lexsort((r.ann, task))
    sizes = np.bincount(task, minlength=r.n_tasks)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    parts_a: list[IntArray] = []
    parts_b: list[IntArray] = []
    for m in np.unique(sizes[sizes >= 2]):
        ia, ib = np.triu_indices(int(m), 1)
        base = first[sizes == m][:, None]
        parts_a.append(order[(base + ia).ravel()])
        parts_b.append(order[(base + ib).ravel()])
    if not parts_a:
        empty = np.asarray([], dtype=np.int64)
        return empty, empty, np.asarray([], dtype=np.float64)
    i, j = np.concatenate(parts_a), np.concatenate(parts_b)
    g = r.geometry
    keep = (r.ann[i] != r.ann[j]) & (g.x1[i] < g.x2[j]) & (g.x1[j] < g.x2[i]) & (
        g.y1[i] < g.y2[j]) & (g.y1[j] < g.y2[i])
    i, j = i[keep], j[keep]
    swap = r.ann[i] > r.ann[j]
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    iou = pair_iou(g, i, g, j)
    pos = iou > 0
    return i[pos], j[pos], iou[pos]


__all__ = ["RegionTable", "collect_regions", "cross_pairs"]
