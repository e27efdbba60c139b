"""Agreement broken down by class, by annotator, by task slice and by time window.

Every breakdown runs one coefficient of :data:`labelcheck.agreement.METRICS` (or any
function with the same calling convention) on parts of one field's answers and
returns one :class:`~labelcheck.agreement.result.AgreementResult` per part, with the
part named in ``details`` (``class``, ``annotator``, ``slice`` or ``period``).

The field is encoded **once** (:func:`labelcheck.table.encode`) and every part is a
:meth:`~labelcheck.table.CodedRatings.subset` of that encoding, so all parts share the
global category set: a coefficient whose chance term depends on the number of
categories ``K`` (Brennan-Prediger, Gwet) uses the same ``K`` in every cell, and a
category unused in one week still counts.

Options passed to a breakdown (``level``, ``weights``, ``weights_basis``, ``ci`` and
any other keyword) are handed to the coefficient only when its signature accepts
them (:func:`call_metric`), so one call can serve every coefficient:

==================================================  ============================
coefficient                                         options it reads
==================================================  ============================
krippendorff_alpha                                  level
cohen_kappa, conger_kappa, gwet_ac2                 level, weights, weights_basis
fleiss_kappa, brennan_prediger, percent_agreement   weights, weights_basis
scott_pi, gwet_ac1                                  (categories only)
icc_oneway, icc_agreement, icc_consistency          labels read as numbers; ci="F"
==================================================  ============================

Every coefficient takes ``ci`` (``"analytic"``, ``"bootstrap"``, an
:class:`~labelcheck.agreement.intervals.Interval` or None; the intraclass
correlations also ``"F"``).

This module is part of the computational core: pure functions, no I/O.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from itertools import pairwise
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.intervals import Interval, as_interval, bootstrap_tasks
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.errors import InvalidInput
from labelcheck.table import (
    ANNOTATOR_ID,
    COLUMNS,
    CREATED_AT,
    TASK_ID,
    CodedRatings,
    Level,
    encode,
    task_column,
)

MetricFunction = Callable[..., AgreementResult]
MetricSpec = str | MetricFunction
IntArray = npt.NDArray[np.intp]

#: Numeric slicing columns with more distinct values than this are cut into quintiles.
MAX_NUMERIC_SLICES = 12
#: ``freq`` spellings accepted by :func:`by_period`, mapped to the window kind.
FREQUENCIES: Mapping[str, str] = {
    "day": "day", "D": "day", "week": "week", "W": "week",
    "month": "month", "MS": "month", "M": "month",
}
#: Label of the pseudo-annotator that pools "the others" in :func:`by_annotator`.
OTHERS = "(others)"
_ENCODING_OPTIONS = ("field", "level", "categories")


# --- calling a coefficient ----------------------------------------------------------
def resolve_metric(metric: MetricSpec) -> tuple[str, MetricFunction]:
    """``(name, function)`` for a metric name of :data:`METRICS` or a function."""
    from labelcheck.agreement import METRICS  # late: this module is imported by the package

    if callable(metric):
        func: MetricFunction = metric
        return getattr(metric, "__name__", "metric"), func
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    return metric, cast(MetricFunction, METRICS[metric])


def accepted_options(func: MetricFunction, opts: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``opts`` that ``func`` accepts as keywords (all of them when it
    takes ``**kwargs``).  Options set to None are left out, so the function's own
    default applies (``gwet_ac2`` defaults to quadratic weights, for instance)."""
    params = inspect.signature(func).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return {
        k: v
        for k, v in opts.items()
        if (takes_any or k in params) and (v is not None or k == "ci")
    }


def call_metric(metric: MetricSpec, data: pd.DataFrame | CodedRatings, **opts: Any) -> AgreementResult:
    """Run ``metric`` on ``data`` with the options it accepts (see the module table)."""
    _, func = resolve_metric(metric)
    return func(data, **accepted_options(func, opts))


def encoding_level(metric: MetricSpec, level: Level | None) -> Level:
    """The level a field must be encoded at for ``metric``: the intraclass correlations
    read labels as numbers (``interval`` unless ``ratio`` was asked); every other
    coefficient uses ``level`` (default ``nominal``)."""
    name, _ = resolve_metric(metric)
    if name.startswith("icc"):
        return level if level in ("interval", "ratio") else "interval"
    return level or "nominal"


def encode_for(
    annotations: pd.DataFrame | CodedRatings,
    metric: MetricSpec,
    *,
    field: str | None = None,
    level: Level | None = None,
    categories: Sequence[Any] | None = None,
) -> CodedRatings:
    """Encode ``annotations`` once, at the level ``metric`` needs (reuse a coding)."""
    if isinstance(annotations, CodedRatings):
        if field is not None and field != annotations.field:
            raise ValueError(f"coded ratings are for field {annotations.field!r}, not {field!r}")
        return annotations
    return encode(
        annotations, field=field, level=encoding_level(metric, level), categories=categories
    )


def _run(func: MetricFunction, coded: CodedRatings, opts: Mapping[str, Any]) -> AgreementResult:
    # the coding carries field and categories; level is passed only when the caller
    # chose one, so each coefficient otherwise keeps its own default
    opts = {k: v for k, v in opts.items() if k not in ("field", "categories")}
    return func(coded, **accepted_options(func, opts))


def _prepare(
    annotations: pd.DataFrame | CodedRatings, metric: MetricSpec, opts: dict[str, Any]
) -> tuple[str, MetricFunction, CodedRatings]:
    name, func = resolve_metric(metric)
    enc = {k: opts.pop(k, None) for k in _ENCODING_OPTIONS}
    coded = encode_for(annotations, metric, **enc)
    if enc["level"] is not None:
        opts["level"] = enc["level"]
    return name, func, coded


def _with_details(result: AgreementResult, **extra: Any) -> AgreementResult:
    return replace(result, details={**result.details, **extra})


# --- by class -----------------------------------------------------------------------
def by_class(
    annotations: pd.DataFrame | CodedRatings, metric: MetricSpec, **opts: Any
) -> list[AgreementResult]:
    """The coefficient on the one-vs-rest binarisation of each category.

    For category :math:`k` every answer becomes 1 if it is :math:`k`, else 0, and the
    coefficient is computed on these binary answers.  For Fleiss' kappa this is
    exactly Fleiss' (1971, eq. 17) per-category kappa

    .. math:: \\kappa_k = 1 - \\frac{\\sum_i n_{ik}(m - n_{ik})}{N m (m - 1) p_k q_k},

    with :math:`n_{ik}` the answers putting task :math:`i` in :math:`k`, :math:`m` the
    answers per task, :math:`N` the tasks, :math:`p_k` the share of answers in
    :math:`k` and :math:`q_k = 1 - p_k`: the binary kappa's observed disagreement is
    :math:`2\\sum_i n_{ik}(m-n_{ik}) / (N m (m-1))` and its chance disagreement
    :math:`2 p_k q_k`.

    Parameters
    ----------
    annotations : canonical table, or coded ratings of one field.
    metric : a name of :data:`labelcheck.agreement.METRICS` or a coefficient function.
    **opts : ``field``, ``level``, ``categories``, ``ci`` and the coefficient's options.

    Returns
    -------
    One result per category (in category order), ``details["class"]`` the category
    and ``details["specific_agreement"]`` the category's specific agreement
    (:func:`labelcheck.agreement.specific_agreement`: of the pairs of answers on one
    task whose first answer is the category, the share whose second is too), with its
    interval in ``details["specific_agreement_ci"]``.

    Notes
    -----
    The binary answers are nominal with two categories, so level and weights do not
    change the value (linear and quadratic weights coincide with none when
    :math:`K = 2`); they are forced to nominal / unweighted.  A category nobody used
    gives NaN: its binarisation has one category in use.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    Psychological Bulletin 76(5), 378-382. https://doi.org/10.1037/h0031619
    """
    _, func, coded = _prepare(annotations, metric, opts)
    opts.pop("level", None)
    if "weights" in opts:
        opts["weights"] = "unweighted"
    specific = _specific_agreement(coded, opts.get("ci", "analytic"))
    results: list[AgreementResult] = []
    for k, category in enumerate(coded.categories):
        binary = CodedRatings(
            task=coded.task,
            label=(coded.label == k).astype(np.intp),
            task_ids=coded.task_ids,
            categories=pd.Index([f"not {category}", category], dtype=object),
            values=np.array([0.0, 1.0]),
            level="nominal",
            field=coded.field,
            rows=coded.rows,
            frame=coded.frame,
        )
        res = _run(func, binary, {**opts, "level": "nominal"})
        spec = specific.get(_key(category))
        results.append(_with_details(
            res,
            **{"class": _plain(category)},
            specific_agreement=math.nan if spec is None else spec.value,
            specific_agreement_ci=None if spec is None or spec.ci is None else list(spec.ci),
        ))
    return results


def _specific_agreement(coded: CodedRatings, ci: Any) -> dict[Any, AgreementResult]:
    """Specific agreement per category (keyed by :func:`_key`), with the breakdown's
    interval request (none for the intraclass correlations' ``"F"``)."""
    from labelcheck.agreement import specific_agreement

    request = ci if isinstance(ci, Interval) or ci in ("analytic", "bootstrap") else None
    return {_key(cat): res for cat, res in specific_agreement(coded, ci=request).items()}


def _key(category: Any) -> Any:
    return str(_plain(category))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- by annotator -------------------------------------------------------------------
def by_annotator(
    annotations: pd.DataFrame | CodedRatings, metric: MetricSpec, **opts: Any
) -> list[AgreementResult]:
    """Each annotator against the others, and the coefficient without them.

    For annotator :math:`a` the *pair table* turns every pair (a's answer, b's answer)
    on a task both answered, for every other annotator :math:`b`, into a pseudo-task
    with two answers: one by :math:`a`, one by a pooled annotator ``(others)``.  The
    coefficient on the pair table is ``value``; for Cohen's kappa it is a's kappa
    against the pooled others.

    Parameters
    ----------
    annotations : canonical table, or coded ratings of one field.
    metric : a name of :data:`labelcheck.agreement.METRICS` or a coefficient function.
    **opts : ``field``, ``level``, ``categories``, ``ci`` and the coefficient's options.

    Returns
    -------
    One result per annotator (sorted by id, numerically for numeric ids).  ``n_items`` is the number of original
    tasks :math:`a` shares with another annotator and ``n_annotations`` a's answers on
    them.  ``details``: ``annotator``; ``n_pairs`` (pseudo-tasks); ``leave_one_out``,
    the coefficient on every answer but a's; ``delta`` = overall - leave_one_out
    (negative: agreement is higher without a, so a lowers it); ``n_items`` and
    ``n_annotations`` again.

    Notes
    -----
    Uncertainty.  ``ci="bootstrap"`` runs a cluster bootstrap over the *original*
    tasks: a resample draws tasks with replacement and brings along every pair of a
    drawn task, then re-runs the coefficient's point estimate (``ci=None``).  The
    number of resamples is ``Interval.n_boot``; 200 is plenty for a breakdown (the
    interval's ends move by about 0.01 against 2000), and the cost is ``n_boot`` calls
    of the coefficient per annotator.  ``ci="analytic"`` is the coefficient's own
    analytic interval on the pair table: optimistic, because the pairs of one task
    are not independent.  An annotator who shares no task with anyone gets NaN with
    the reason.  An ``annotators=`` option is ignored: the pair table defines its two
    annotators (for Cohen's kappa the leave-one-out value is then undefined when more
    than two annotators remain).
    """
    name, func, coded = _prepare(annotations, metric, opts)
    opts.pop("annotators", None)  # the pair table defines its two annotators
    ci = opts.get("ci")
    bootstrap = ci == "bootstrap" or (isinstance(ci, Interval) and ci.method == "bootstrap")
    interval = as_interval(ci) if bootstrap else None
    point_opts = {**opts, "ci": None}
    overall = _run(func, coded, point_opts).value
    annotator = coded.annotator
    results: list[AgreementResult] = []
    for a, annotator_id in enumerate(coded.annotator_ids):
        mine = annotator == a
        loo = _run(func, coded.subset(~mine), point_opts)
        a_rows, o_rows = _pairs(coded.task, mine)
        shared = np.unique(coded.task[o_rows])
        n_items = int(shared.size)
        n_annotations = int(np.isin(coded.task[mine], shared).sum())
        extra = {
            "annotator": str(annotator_id),
            "n_pairs": int(a_rows.size),
            "leave_one_out": loo.value,
            "delta": overall - loo.value,
            "n_items": n_items,
            "n_annotations": n_annotations,
        }
        if a_rows.size == 0:
            res = undefined(
                name,
                f"annotator {annotator_id} shares no task with another annotator",
                n_annotations=int(mine.sum()),
                level=coded.level,
            )
            results.append(_with_details(res, **extra))
            continue
        pair_task = np.unique(coded.task[o_rows], return_inverse=True)[1]
        pairs = _pair_table(coded, a_rows, o_rows, str(annotator_id))
        res = _run(func, pairs, point_opts if bootstrap else opts)
        if interval is not None and res.defined:
            res = _cluster_bootstrap(func, coded, a_rows, o_rows, str(annotator_id),
                                     pair_task, n_items, res, point_opts, interval)
        res = replace(res, n_items=n_items, n_annotations=n_annotations)
        results.append(_with_details(res, **extra))
    return sorted(results, key=lambda r: _natural(r.details["annotator"]))


def _natural(annotator_id: str) -> tuple[int, int, str]:
    """Label Studio user ids are numbers: order 2 before 13."""
    return (0, int(annotator_id), "") if annotator_id.isdigit() else (1, 0, annotator_id)


def _pairs(task: IntArray, mine: npt.NDArray[np.bool_]) -> tuple[IntArray, IntArray]:
    """Rows ``(a_rows, o_rows)``: every (a's answer, other's answer) on one task."""
    a_idx = np.flatnonzero(mine)
    a_idx = a_idx[np.argsort(task[a_idx], kind="stable")]
    a_task = task[a_idx]
    o_idx = np.flatnonzero(~mine)
    start = np.searchsorted(a_task, task[o_idx], side="left")
    count = np.searchsorted(a_task, task[o_idx], side="right") - start
    o_rows = np.repeat(o_idx, count)
    # positions start, start+1, ..., start+count-1 for each other answer
    offsets = np.repeat(start - (np.cumsum(count) - count), count) + np.arange(count.sum())
    return a_idx[offsets].astype(np.intp), o_rows.astype(np.intp)


def _pair_table(
    coded: CodedRatings, a_rows: IntArray, o_rows: IntArray, annotator_id: str
) -> CodedRatings:
    """The pair table as coded ratings: pseudo-task ``j`` holds answers
    ``a_rows[j]`` (by ``annotator_id``) and ``o_rows[j]`` (by ``(others)``).

    Its ``frame`` has two rows, one per annotator, and every answer points at its
    annotator's row: all a coefficient reads from the frame is who answered, and the
    cluster bootstrap builds one pair table per resample, so it must be cheap."""
    n = a_rows.size
    both = np.empty(2 * n, dtype=np.intp)
    both[0::2], both[1::2] = a_rows, o_rows
    frame = pd.DataFrame({
        TASK_ID: ["", ""],
        ANNOTATOR_ID: np.array([annotator_id, OTHERS], dtype=object),
    })
    return CodedRatings(
        task=np.repeat(np.arange(n, dtype=np.intp), 2),
        label=coded.label[both],
        task_ids=pd.RangeIndex(n),
        categories=coded.categories,
        values=coded.values,
        level=coded.level,
        field=coded.field,
        rows=np.tile(np.array([0, 1], dtype=np.intp), n),
        frame=frame,
    )


def _cluster_bootstrap(
    func: MetricFunction,
    coded: CodedRatings,
    a_rows: IntArray,
    o_rows: IntArray,
    annotator_id: str,
    pair_task: IntArray,
    n_items: int,
    point: AgreementResult,
    opts: Mapping[str, Any],
    interval: Interval,
) -> AgreementResult:
    """Resample original tasks; each drawn task brings all its pairs."""

    def statistic(draws: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        out = np.empty(draws.shape[0])
        for b, times in enumerate(draws):  # one coefficient call per resample
            take = np.repeat(np.arange(pair_task.size), times[pair_task])
            if take.size == 0:
                out[b] = math.nan
                continue
            out[b] = _run(func, _pair_table(coded, a_rows[take], o_rows[take], annotator_id),
                          opts).value
        return out

    boot = bootstrap_tasks(statistic, n_items, interval, point.value)
    return point.with_interval(boot.se, boot.ci, boot.method, interval.confidence)


# --- by slice -----------------------------------------------------------------------
def by_slice(
    annotations: pd.DataFrame | CodedRatings,
    tasks: pd.DataFrame,
    metric: MetricSpec,
    column: str,
    *,
    min_items: int = 30,
    **opts: Any,
) -> list[AgreementResult]:
    """The coefficient on the tasks of each value of a metadata column.

    Parameters
    ----------
    annotations : canonical table, or coded ratings of one field.
    tasks : the task table (one row per ``task_id``); the column is read from the
        annotation table when it has it, else from here
        (:func:`labelcheck.table.task_column`).  A task field named like a canonical
        column (``source``) is read from the task table (also as ``upstream_source``,
        the long-CSV loader's name for it).
    metric : a name of :data:`labelcheck.agreement.METRICS` or a coefficient function.
    column : the slicing column.  A numeric column with more than 12 distinct values
        is cut into quintile buckets of tasks, labelled ``"[a, b)"`` (the last one
        ``"[a, b]"``).
    min_items : slices resting on fewer tasks keep their value and interval but get
        the reason ``small slice: N tasks (< min_items); read the interval, not the
        value``.
    **opts : ``field``, ``level``, ``categories``, ``ci`` and the coefficient's options.

    Returns
    -------
    One result per value (sorted; tasks without a value last, as value None),
    ``details["slice"] = {"column": column, "value": value}``.
    """
    _, func, coded = _prepare(annotations, metric, opts)
    raw = _slice_column(tasks, coded.frame, column).to_numpy()[coded.rows]
    values, order = _slice_values(raw, coded.task, coded.n_tasks)
    results: list[AgreementResult] = []
    for value in order:
        mask = _equal(values, value)
        res = _run(func, coded.subset(mask), opts)
        n_tasks = int(np.unique(coded.task[mask]).size)
        if res.defined and n_tasks < min_items:
            note = (f"small slice: {n_tasks} tasks (< min_items={min_items}); "
                    "read the interval, not the value")
            res = replace(res, reason=f"{res.reason}; {note}" if res.reason else note)
        results.append(_with_details(res, slice={"column": column, "value": value}))
    return results


def _slice_column(tasks: pd.DataFrame, frame: pd.DataFrame, column: str) -> pd.Series:
    """The slicing column per annotation row.  A task data field that shares its name
    with a provenance column of the canonical table (``source``: the file a row came
    from) means the task's field, kept by the loaders as ``source`` or
    ``upstream_source`` in the task table: nobody slices by file name by accident."""
    if column in COLUMNS:
        for name in (column, f"upstream_{column}"):
            if name in tasks.columns:
                return frame[TASK_ID].map(tasks.set_index(TASK_ID)[name])
    return task_column(tasks, frame, column)


def _slice_values(raw: npt.NDArray[Any], task: IntArray, n_tasks: int) -> tuple[npt.NDArray[Any], list[Any]]:
    """Per-answer slice values (quintile labels for rich numeric columns) and the
    distinct values in display order (missing last, as None)."""
    series = pd.Series(raw)
    missing = series.isna().to_numpy()
    numeric = pd.to_numeric(series, errors="coerce")
    is_numeric = bool((numeric.notna() | missing).all()) and not missing.all()
    if is_numeric and numeric.nunique() > MAX_NUMERIC_SLICES:
        per_task = pd.Series(numeric.to_numpy()).groupby(task).first().dropna()
        edges = np.unique(np.quantile(per_task.to_numpy(), [0, 0.2, 0.4, 0.6, 0.8, 1.0]))
        labels = [f"[{_fmt(lo)}, {_fmt(hi)})" for lo, hi in pairwise(edges[:-1])]
        labels.append(f"[{_fmt(edges[-2])}, {_fmt(edges[-1])}]")
        bucket = np.clip(np.searchsorted(edges, numeric.to_numpy(), side="right") - 1, 0, len(labels) - 1)
        out = np.asarray(labels, dtype=object)[bucket]
        out[missing] = None
        order: list[Any] = labels
    else:
        out = np.asarray([_plain(v) for v in raw], dtype=object)
        out[missing] = None
        present = pd.unique(pd.Series(out[~missing]))
        order = sorted(present, key=lambda v: (not isinstance(v, (int, float)), v if isinstance(v, (int, float)) else str(v)))
    if missing.any():
        order = [*order, None]
    return out, order


def _equal(values: npt.NDArray[Any], value: Any) -> npt.NDArray[np.bool_]:
    if value is None:
        return np.asarray(pd.isna(values), dtype=bool)
    return np.asarray(values == value, dtype=bool)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# --- by period ----------------------------------------------------------------------
def by_period(
    annotations: pd.DataFrame | CodedRatings, metric: MetricSpec, freq: str, **opts: Any
) -> list[AgreementResult]:
    """The coefficient on the answers created in each time window.

    Parameters
    ----------
    annotations : canonical table, or coded ratings of one field.
    metric : a name of :data:`labelcheck.agreement.METRICS` or a coefficient function.
    freq : ``day``, ``week`` (Monday to Sunday, UTC) or ``month``; the pandas aliases
        ``D``, ``W`` and ``MS`` (or ``M``) are accepted.
    **opts : ``field``, ``level``, ``categories``, ``ci`` and the coefficient's options.

    Returns
    -------
    One result per window that has answers, in time order,
    ``details["period"]`` the window's first day as an ISO date (``YYYY-MM-DD``).

    Notes
    -----
    Answers are paired only within a window: two answers to one task given in
    different weeks do not meet, so a window's value describes the work done in it.
    Answers without ``created_at`` belong to no window; when there are any, a last
    result with ``details["period"] = None``, value NaN and a reason counts them (and
    the tasks they are on), so they are never dropped silently.
    """
    if freq not in FREQUENCIES:
        raise ValueError(f"freq must be one of {', '.join(FREQUENCIES)}; got {freq!r}")
    kind = FREQUENCIES[freq]
    name, func, coded = _prepare(annotations, metric, opts)
    if CREATED_AT not in coded.frame.columns:
        raise InvalidInput(f"no {CREATED_AT} column: cannot split answers by time")
    created = pd.Series(coded.frame[CREATED_AT].to_numpy()[coded.rows])
    created = pd.to_datetime(created, utc=True).dt.tz_localize(None)
    missing = created.isna().to_numpy()
    if kind == "day":
        start = created.dt.floor("D")
    elif kind == "week":
        start = created.dt.floor("D") - pd.to_timedelta(created.dt.dayofweek, unit="D")
    else:
        start = created.dt.to_period("M").dt.start_time
    start_ns = start.to_numpy()
    results: list[AgreementResult] = []
    for window in np.unique(start_ns[~missing]):
        mask = start_ns == window
        res = _run(func, coded.subset(mask), opts)
        results.append(_with_details(res, period=pd.Timestamp(window).date().isoformat()))
    if missing.any():
        n_tasks = int(np.unique(coded.task[missing]).size)
        res = undefined(
            name,
            f"{int(missing.sum())} answer(s) on {n_tasks} task(s) have no created_at and "
            "belong to no time window",
            n_annotations=int(missing.sum()),
            level=coded.level,
        )
        results.append(_with_details(res, period=None, n_without_time=int(missing.sum())))
    return results


__all__ = [
    "FREQUENCIES",
    "by_annotator",
    "by_class",
    "by_period",
    "by_slice",
    "call_metric",
    "encode_for",
    "encoding_level",
    "resolve_metric",
]
