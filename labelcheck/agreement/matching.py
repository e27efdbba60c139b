"""One-to-one matching of the items of two annotations, shared by span and region
agreement: group codes for the pairs of annotations, and the Hungarian assignment run
only where items compete."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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


__all__ = ["group_codes", "one_to_one"]


def pairs_with_label(task: IntArray, label: IntArray, ann: IntArray, ann_task: IntArray, n_tasks: int,
                     m_task: IntArray, n_labels: int) -> IntArray:
    """Annotation pairs of a task in which at least one side has an item (span or
    region) of each label, then (last entry) in which at least one side has any item.

    A task with :math:`m` annotations, :math:`h` of them with the label, has
    :math:`\binom{m}{2} - \binom{m - h}{2}` such pairs.  ``task``, ``label``, ``ann``:
    per item; ``ann_task``: per annotation; ``m_task``: annotations per task."""
    def pairs(m: IntArray) -> IntArray:
        out: IntArray = m * (m - 1) // 2
        return out

    out = np.zeros(n_labels + 1, dtype=np.int64)
    if ann.size == 0:
        return out
    has = pd.DataFrame({"t": task, "l": label, "a": ann}).drop_duplicates()
    per = has.groupby(["l", "t"], sort=False).size()
    l_code = per.index.get_level_values("l").to_numpy()
    m = m_task[per.index.get_level_values("t").to_numpy()]
    h = per.to_numpy().astype(np.int64)
    out[:n_labels] = np.bincount(l_code, weights=pairs(m) - pairs(m - h), minlength=n_labels)
    h_ann = np.bincount(np.unique(ann), minlength=ann_task.size)
    h_task = np.bincount(ann_task, weights=h_ann, minlength=n_tasks).astype(np.int64)
    out[n_labels] = int(np.sum(pairs(m_task) - pairs(m_task - h_task)))
    return out
