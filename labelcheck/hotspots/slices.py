r"""Slices of tasks (values of a task metadata column) where agreement is low.

Each value of a slicing column gets Krippendorff's alpha on its tasks, with its
analytic interval, as :func:`labelcheck.agreement.breakdown.by_slice` computes it
(its helpers assign the values; numeric columns with many values are cut into
quintile buckets of tasks; a column
``NAME:length`` is the character length of the text column ``NAME``, bucketed the
same way).  Slices are whole tasks, so a slice's pairs are exactly its tasks'
pairs: ``share`` is the slice's pairable answers over all pairable answers and
``chance_ratio`` the slice's expected disagreement over the field's
(:mod:`labelcheck.hotspots.ranking` turns these into the gain).

Test: alpha of the slice against the rest of the column, the rest summarised by
the task-weighted mean :math:`\bar\alpha_r = \sum_j w_j \alpha_j / \sum_j w_j` of the
other slices (:math:`w_j` their pairable tasks) with standard error
:math:`\sqrt{\sum_j w_j^2 s_j^2} / \sum_j w_j`; slices share no task, so
:math:`z = (\bar\alpha_r - \alpha_s)/\sqrt{s_s^2 + s_r^2}` and the one-sided p-value
is :math:`1 - \Phi(z)` (the slice is worse).  Standard errors are Gwet's (2014, ch. 5)
linearised ones.  Slices with fewer than ``min_items`` pairable tasks are left out
of the ranking (and of the test family) and reported as skipped, so that tiny slices
do not top the list.

References
----------
Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 5. Advanced
Analytics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.breakdown import _slice_column, _slice_values
from labelcheck.agreement.intervals import Interval
from labelcheck.agreement.krippendorff import krippendorff_alpha
from labelcheck.errors import InvalidInput, name_list
from labelcheck.hotspots.coincidences import Coincidences
from labelcheck.hotspots.ranking import Hotspot, make_hotspot, records
from labelcheck.table import COLUMNS, TASK_ID

#: Columns with 2 to this many distinct values are sliced when none are named.
MAX_AUTO_VALUES = 12
#: Suffix of a derived slicing column: the text length of the named column.
LENGTH_SUFFIX = ":length"
MIN_ITEMS = 30
EXAMPLES = 5
_NORMAL = NormalDist()


def slice_columns(tasks: pd.DataFrame, annotations: pd.DataFrame) -> list[str]:
    """Columns to slice by when none are named: task-table columns, and extra
    columns of the annotation table, with 2 to :data:`MAX_AUTO_VALUES` distinct
    values (text fields and ids have more)."""
    names = [c for c in tasks.columns if c != TASK_ID]
    names += [c for c in annotations.columns if c not in COLUMNS and c not in names]
    out = []
    for name in names:
        col = tasks[name] if name in tasks.columns else annotations[name]
        try:
            n = col.nunique(dropna=True)
        except TypeError:  # unhashable values (lists, dicts)
            continue
        if 2 <= n <= MAX_AUTO_VALUES:
            out.append(name)
    return out


def with_length_columns(tasks: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``tasks`` with a ``NAME:length`` column (characters of ``NAME``) for each such
    name in ``columns``; other names are left alone."""
    extra = {}
    for name in columns:
        if not name.endswith(LENGTH_SUFFIX) or name in tasks.columns:
            continue
        base = name[: -len(LENGTH_SUFFIX)]
        if base not in tasks.columns:
            available = [c for c in tasks.columns if c != TASK_ID]
            raise InvalidInput(
                f'cannot slice by "{name}": no task column "{base}" to measure; '
                f'available: {name_list(available) or "none"}'
            )
        text = tasks[base]
        extra[name] = text.where(text.isna(), text.astype(str).str.len())
    if not extra:
        return tasks
    out = tasks.copy()
    for name, values in extra.items():
        out[name] = pd.to_numeric(values, errors="coerce")
    return out


def slice_agreement(
    co: Coincidences,
    tasks: pd.DataFrame,
    column: str,
    *,
    min_items: int = MIN_ITEMS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Alpha per value of ``column`` with its interval, share, chance ratio and the
    test against the rest (module docstring).

    The values and buckets are those of :func:`labelcheck.agreement.breakdown.by_slice`
    (its helpers assign them), computed once per task instead of once per answer; each
    slice's alpha is :func:`labelcheck.agreement.krippendorff_alpha` on its tasks.

    Returns
    -------
    pandas.DataFrame
        ``column``, ``value``, ``agreement``, ``se``, ``ci_low``, ``ci_high``,
        ``n_items`` (pairable tasks), ``n_annotations`` (their answers), ``share``,
        ``chance_ratio``, ``rest_agreement``, ``z``, ``p_value``, ``small`` (fewer than
        ``min_items`` pairable tasks), ``reason`` (why alpha is undefined).
    """
    values, order = task_values(co, tasks, column)
    return _slice_rows(co, column, values, order, min_items, confidence)


def _slice_rows(
    co: Coincidences, column: str, values: npt.NDArray[Any], order: list[Any],
    min_items: int, confidence: float,
) -> pd.DataFrame:
    interval = Interval(confidence=confidence)
    rows: list[dict[str, Any]] = []
    for value in order:
        mask = _same(values, value)[co.coded.task]
        r = krippendorff_alpha(co.coded.subset(mask), level=co.level, ci=interval)
        ci = r.ci or (math.nan, math.nan)
        rows.append({
            "column": column, "value": value, "agreement": r.value,
            "se": r.se, "ci_low": ci[0], "ci_high": ci[1], "n_items": r.n_items,
            "n_annotations": r.n_annotations, "share": r.n_annotations / co.n_values,
            "chance_ratio": r.expected / co.expected if r.defined else math.nan,
            "small": r.n_items < min_items, "reason": r.reason,
        })
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["rest_agreement"], frame["z"], frame["p_value"] = _against_rest(frame)
    return frame


def task_values(
    co: Coincidences, tasks: pd.DataFrame, column: str,
) -> tuple[npt.NDArray[Any], list[Any]]:
    """The slice value of every task of ``co.coded`` (by position in ``task_ids``) and
    the distinct values in display order, as :func:`by_slice` assigns them (quintile
    labels for numeric columns with many values; missing as None, last)."""
    coded = co.coded
    tasks = with_length_columns(tasks, [column])
    if column in coded.frame.columns and column not in COLUMNS:
        _, first = np.unique(coded.task, return_index=True)
        raw = coded.frame[column].to_numpy()[coded.rows[first]]
    else:
        ids = pd.DataFrame({TASK_ID: np.asarray(coded.task_ids, dtype=object)})
        raw = _slice_column(tasks, ids, column).to_numpy()
    n = coded.n_tasks
    values, order = _slice_values(raw, np.arange(n, dtype=np.intp), n)
    return np.asarray(values, dtype=object), order


def _against_rest(
    frame: pd.DataFrame,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each part's alpha against the task-weighted mean of the other parts."""
    value = frame["agreement"].to_numpy(dtype=float)
    se = frame["se"].to_numpy(dtype=float)
    w = frame["n_items"].to_numpy(dtype=float)
    ok = np.isfinite(value) & np.isfinite(se) & (w > 0)
    rest = np.full(len(frame), np.nan)
    z = np.full(len(frame), np.nan)
    p = np.full(len(frame), np.nan)
    for i in range(len(frame)):
        others = ok.copy()
        others[i] = False
        if not ok[i] or not others.any():
            continue
        wo = w[others]
        rest[i] = float(wo @ value[others] / wo.sum())
        se_rest = math.sqrt(float((wo**2) @ (se[others] ** 2))) / wo.sum()
        denom = math.hypot(se[i], se_rest)
        if denom > 0:
            z[i] = (rest[i] - value[i]) / denom
            p[i] = 1.0 - _NORMAL.cdf(z[i])
    return rest, z, p


def slice_hotspots(
    co: Coincidences,
    tasks: pd.DataFrame,
    columns: Sequence[str],
    target: float,
    *,
    min_items: int = MIN_ITEMS,
    confidence: float = 0.95,
) -> tuple[list[Hotspot], list[dict[str, Any]]]:
    """Slices of every column as hotspots, and the slices left out (too small or
    alpha undefined) with the reason.  ``key`` is ``{"column", "value"}``."""
    out: list[Hotspot] = []
    skipped: list[dict[str, Any]] = []
    for column in columns:
        values, order = task_values(co, tasks, column)
        frame = _slice_rows(co, column, values, order, min_items, confidence)
        if frame.empty:
            continue
        members = values[co.unit_task]
        for row in records(frame):
            key = {"column": column, "value": row["value"]}
            if row["small"] or not math.isfinite(row["agreement"]):
                why = (f"{row['n_items']} pairable task(s) (< min_items={min_items})" if row["small"]
                       else row["reason"] or "alpha undefined")
                skipped.append({"kind": "slice", "key": key, "reason": why})
                continue
            units = np.flatnonzero(_same(members, row["value"]))
            out.append(make_hotspot(
                "slice", key, share=row["share"], agreement=row["agreement"], target=target,
                ci=(row["ci_low"], row["ci_high"]), reference=row["rest_agreement"],
                chance_ratio=row["chance_ratio"],
                p_value=row["p_value"] if math.isfinite(row["p_value"]) else None,
                test="one-sided z-test of alpha against the task-weighted mean of the other slices",
                n_items=int(row["n_items"]), n_annotations=int(row["n_annotations"]),
                evidence={
                    "counts": {"n_items": int(row["n_items"]), "n_annotations": int(row["n_annotations"])},
                    "rest_agreement": row["rest_agreement"],
                    "example_item_ids": co.most_split(units, EXAMPLES),
                },
            ))
    return out, skipped


def _same(values: npt.NDArray[Any], value: Any) -> npt.NDArray[np.bool_]:
    if value is None:
        return np.asarray(pd.isna(values), dtype=bool)
    return np.asarray(values == value, dtype=bool)


__all__ = [
    "LENGTH_SUFFIX",
    "MAX_AUTO_VALUES",
    "slice_agreement",
    "slice_columns",
    "slice_hotspots",
    "task_values",
    "with_length_columns",
]
