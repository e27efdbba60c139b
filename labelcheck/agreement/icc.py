r"""Intraclass correlations for single ratings: one-way, two-way agreement, two-way
consistency (Shrout & Fleiss 1979; McGraw & Wong 1996).

Labels are read as numbers (level ``interval``).  All three coefficients come from
ANOVA mean squares, with the F-based confidence intervals of Shrout & Fleiss (1979)
and McGraw & Wong (1996, Table 7), or an item bootstrap over tasks.

Which tasks are used
--------------------
*One-way* (:func:`icc_oneway`): every task with at least two answers; tasks may have
different numbers of answers from different annotators (the unbalanced one-way
ANOVA, with :math:`k_0` in place of :math:`k`).  A task with one answer says nothing
about disagreement and is left out, as for Krippendorff's alpha.

*Two-way* (:func:`icc_agreement`, :func:`icc_consistency`): the two-way ANOVA needs a
complete annotators x tasks design.  The rule: take the annotators of the field (or
those passed as ``annotators=``) and keep only the tasks that *every one* of them
rated (complete cases, as R ``irr::icc`` and pingouin do).  An annotator who answered
a task twice counts with their latest answer.  When no task, or only one, is
complete, the result is undefined with a reason that names the annotators and
suggests :func:`icc_oneway` or a smaller ``annotators=`` list.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement._input import RatingsInput, as_coded
from labelcheck.agreement.intervals import Interval, bootstrap_tasks
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.errors import InvalidInput, name_list
from labelcheck.table import CodedRatings, compact_codes, n_distinct, rating_matrix

FloatArray = npt.NDArray[np.float64]
IccInterval = Literal["F", "bootstrap"] | Interval | None
_Statistic = Callable[[FloatArray], FloatArray]

NO_VARIATION = "all ratings are equal: the intraclass correlation needs variation"


@dataclass(frozen=True)
class _Request:
    method: Literal["F", "bootstrap"] | None
    confidence: float
    boot: Interval | None


def _request(ci: IccInterval, confidence: float) -> _Request:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1; got {confidence}")
    if ci is None:
        return _Request(None, confidence, None)
    if isinstance(ci, Interval):
        if ci.method == "bootstrap":
            return _Request("bootstrap", ci.confidence, ci)
        return _Request("F", ci.confidence, None)
    if ci == "F":
        return _Request("F", confidence, None)
    if ci == "bootstrap":
        return _Request("bootstrap", confidence, Interval("bootstrap", confidence=confidence))
    raise ValueError(f"ci must be 'F', 'bootstrap', an Interval or None; got {ci!r}")


def _numeric(data: RatingsInput, field: str | None) -> tuple[CodedRatings, FloatArray]:
    coded = as_coded(data, field=field, level="interval")
    if coded.values is None:
        raise InvalidInput(
            f'field "{coded.field}": the intraclass correlation needs numeric labels; '
            f"found {name_list(coded.categories)}"
        )
    return coded, np.asarray(coded.values, dtype=np.float64)[coded.label]


def _f_bounds(f_obs: float, df1: float, df2: float, confidence: float) -> tuple[float, float]:
    """``F_L = F / F_{1-a/2}(df1, df2)`` and ``F_U = F x F_{1-a/2}(df2, df1)``."""
    p = 0.5 + confidence / 2
    return f_obs / _f_ppf(p, df1, df2), f_obs * _f_ppf(p, df2, df1)


# --- one-way -------------------------------------------------------------------------
def icc_oneway(
    data: RatingsInput,
    *,
    field: str | None = None,
    ci: IccInterval = "F",
    confidence: float = 0.95,
) -> AgreementResult:
    r"""One-way random-effects intraclass correlation of single ratings, ICC(1).

    .. math:: \rho_1 = \frac{MS_B - MS_W}{MS_B + (k_0 - 1)\,MS_W}, \qquad
              k_0 = \frac{1}{n - 1}\Big(N - \frac{\sum_i k_i^2}{N}\Big)

    :math:`MS_B` and :math:`MS_W` are the between-task and within-task mean squares
    of the one-way ANOVA (degrees of freedom :math:`n - 1` and :math:`N - n`),
    :math:`n` the tasks, :math:`k_i` the answers on task :math:`i` and
    :math:`N = \sum_i k_i`; with :math:`k` answers on every task :math:`k_0 = k` and
    this is Shrout & Fleiss' ICC(1,1), McGraw & Wong's ICC(1).

    Parameters
    ----------
    data : canonical annotation table (labels read as numbers), or
        :class:`~labelcheck.table.CodedRatings` of a numeric field.
    field : the field; may be omitted when the table has one.
    ci : ``"F"`` (default), ``"bootstrap"`` (tasks resampled), an
        :class:`~labelcheck.agreement.Interval`, or None.
    confidence : confidence level of the ``"F"`` and ``"bootstrap"`` intervals.

    Returns
    -------
    AgreementResult
        ``details`` holds the mean squares, ``F``, its degrees of freedom, the
        p-value of :math:`H_0: \rho = 0` and :math:`k_0`.

    Notes
    -----
    Annotators are not identified: each task may be rated by different people, and a
    repeated answer by one annotator is one more rating.  Tasks with one answer are
    left out.  The F interval is
    :math:`((F_L - 1)/(F_L + k_0 - 1),\ (F_U - 1)/(F_U + k_0 - 1))` with
    :math:`F = MS_B / MS_W`, :math:`F_L = F / F_{1-a/2}(n-1, N-n)` and
    :math:`F_U = F \cdot F_{1-a/2}(N-n, n-1)`: exact for balanced data (Shrout &
    Fleiss 1979, eq. 6; McGraw & Wong 1996, Table 7), an approximation when
    :math:`k_i` vary (Donner 1986).  Undefined with fewer than two tasks with two
    answers, or when every rating is equal.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
    rater reliability. Psychological Bulletin 86(2), 420-428.
    https://doi.org/10.1037/0033-2909.86.2.420 (Table 2 data, results on p. 425).
    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass
    correlation coefficients. Psychological Methods 1(1), 30-46.
    https://doi.org/10.1037/1082-989X.1.1.30 (Table 7).
    Donner, A. (1986). A review of inference procedures for the intraclass correlation
    coefficient in the one-way random effects model. International Statistical
    Review 54(1), 67-82. https://doi.org/10.2307/1403259

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges; ICC(1,1) = .17.

    >>> from labelcheck.table import from_records
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
    ...       [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> table = from_records([{"task_id": t, "annotator_id": j, "label": x}
    ...                       for t, row in enumerate(sf) for j, x in enumerate(row)])
    >>> round(icc_oneway(table).value, 2)
    0.17
    """
    request = _request(ci, confidence)
    coded, y = _numeric(data, field)
    k_all = np.bincount(coded.task, minlength=coded.n_tasks)
    keep = k_all[coded.task] >= 2
    tasks, task = compact_codes(coded.task[keep], coded.n_tasks)
    y = y[keep]
    n = len(tasks)
    counts: dict[str, Any] = {
        "level": "interval", "n_items": n, "n_annotations": int(y.size),
        "n_annotators": n_distinct(coded.annotator[keep], coded.n_annotators),
        "n_categories": coded.n_categories,
    }
    if n < 2:
        return undefined(
            "icc_oneway", "fewer than two tasks have two or more answers: "
            "the intraclass correlation needs at least two", **counts,
        )
    k_i = np.bincount(task, minlength=n).astype(np.float64)
    centre = float(y.mean())  # shift first: sums of squares without cancellation
    s1 = np.asarray(np.bincount(task, y - centre, minlength=n), dtype=np.float64)
    s2 = np.asarray(np.bincount(task, (y - centre) ** 2, minlength=n), dtype=np.float64)
    ones = np.ones((1, n))
    ms_b, ms_w, k0 = (float(v[0]) for v in _oneway_ms(ones, k_i, s1, s2))

    def oneway(w: FloatArray) -> FloatArray:
        return _oneway_value(*_oneway_ms(w, k_i, s1, s2))

    return _finish(
        "icc_oneway", ms_b, ms_w, k0, float(n - 1), float(y.size - n), counts, request,
        oneway, n,
        {"ms_between": ms_b, "ms_within": ms_w, "k0": k0},
    )


def _oneway_ms(
    w: FloatArray, k_i: FloatArray, s1: FloatArray, s2: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean squares and k0 of the one-way ANOVA for each row of task weights ``w``."""
    n = w.sum(axis=1)
    n_tot = w @ k_i
    grand = w @ s1
    ss_b = w @ (s1**2 / k_i) - grand**2 / n_tot
    ss_w = w @ (s2 - s1**2 / k_i)
    with np.errstate(invalid="ignore", divide="ignore"):
        k0 = (n_tot - (w @ k_i**2) / n_tot) / (n - 1)
        return ss_b / (n - 1), ss_w / (n_tot - n), k0


def _oneway_value(ms_b: FloatArray, ms_w: FloatArray, k0: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (ms_b - ms_w) / (ms_b + (k0 - 1) * ms_w)
    return np.asarray(np.where(np.isfinite(out), out, np.nan), dtype=np.float64)


# --- two-way -------------------------------------------------------------------------
def icc_agreement(
    data: RatingsInput,
    *,
    field: str | None = None,
    ci: IccInterval = "F",
    confidence: float = 0.95,
    annotators: Sequence[str] | None = None,
) -> AgreementResult:
    r"""Two-way random-effects intraclass correlation for absolute agreement of single
    ratings: Shrout & Fleiss' ICC(2,1), McGraw & Wong's ICC(A,1).

    .. math:: \rho_A = \frac{MS_R - MS_E}
              {MS_R + (k - 1)\,MS_E + \frac{k}{n}(MS_C - MS_E)}

    :math:`MS_R`, :math:`MS_C` and :math:`MS_E` are the task (row), annotator
    (column) and residual mean squares of the two-way ANOVA without replication of
    :math:`n` tasks rated by all :math:`k` annotators.

    Parameters
    ----------
    data : canonical annotation table (labels read as numbers), or
        :class:`~labelcheck.table.CodedRatings` of a numeric field.
    field : the field; may be omitted when the table has one.
    ci : ``"F"`` (default), ``"bootstrap"`` (tasks resampled), an
        :class:`~labelcheck.agreement.Interval`, or None.
    confidence : confidence level of the ``"F"`` and ``"bootstrap"`` intervals.
    annotators : the annotators whose common tasks are used (default: every
        annotator of the field).

    Returns
    -------
    AgreementResult
        ``details`` holds the mean squares, ``F`` (:math:`MS_R/MS_E`), its degrees of
        freedom, the p-value of :math:`H_0: \rho = 0`, and the tasks left out.

    Notes
    -----
    Only the tasks rated by every chosen annotator are used (see the module notes).
    The interval is McGraw & Wong's (1996, Table 7) for ICC(A,1), Satterthwaite's
    degrees of freedom :math:`v` for the denominator (Shrout & Fleiss 1979, eq. 11):

    .. math:: L = \frac{n (MS_R - F^\ast MS_E)}{F^\ast (k MS_C + (kn - k - n) MS_E)
              + n MS_R}, \quad F^\ast = F_{1-a/2}(n - 1, v),

    and :math:`U` likewise with :math:`F^\ast = F_{1-a/2}(v, n - 1)`.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
    rater reliability. Psychological Bulletin 86(2), 420-428.
    https://doi.org/10.1037/0033-2909.86.2.420 (Table 2 data, results on p. 425).
    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass
    correlation coefficients. Psychological Methods 1(1), 30-46.
    https://doi.org/10.1037/1082-989X.1.1.30 (Table 7).

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: ICC(2,1) = .29.

    >>> from labelcheck.table import from_records
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
    ...       [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> table = from_records([{"task_id": t, "annotator_id": j, "label": x}
    ...                       for t, row in enumerate(sf) for j, x in enumerate(row)])
    >>> round(icc_agreement(table).value, 2)
    0.29
    """
    return _twoway("icc_agreement", data, field, ci, confidence, annotators)


def icc_consistency(
    data: RatingsInput,
    *,
    field: str | None = None,
    ci: IccInterval = "F",
    confidence: float = 0.95,
    annotators: Sequence[str] | None = None,
) -> AgreementResult:
    r"""Two-way mixed-effects intraclass correlation for consistency of single
    ratings: Shrout & Fleiss' ICC(3,1), McGraw & Wong's ICC(C,1).

    .. math:: \rho_C = \frac{MS_R - MS_E}{MS_R + (k - 1)\,MS_E}

    :math:`MS_R` and :math:`MS_E` are the task (row) and residual mean squares of the
    two-way ANOVA without replication of :math:`n` tasks rated by all :math:`k`
    annotators.  Differences between the annotators' means do not count as
    disagreement.

    Parameters
    ----------
    data : canonical annotation table (labels read as numbers), or
        :class:`~labelcheck.table.CodedRatings` of a numeric field.
    field : the field; may be omitted when the table has one.
    ci : ``"F"`` (default), ``"bootstrap"`` (tasks resampled), an
        :class:`~labelcheck.agreement.Interval`, or None.
    confidence : confidence level of the ``"F"`` and ``"bootstrap"`` intervals.
    annotators : the annotators whose common tasks are used (default: every
        annotator of the field).

    Returns
    -------
    AgreementResult
        ``details`` holds the mean squares, ``F`` (:math:`MS_R/MS_E`), its degrees of
        freedom, the p-value of :math:`H_0: \rho = 0`, and the tasks left out.

    Notes
    -----
    Only the tasks rated by every chosen annotator are used (see the module notes).
    The interval is :math:`((F_L - 1)/(F_L + k - 1),\ (F_U - 1)/(F_U + k - 1))` with
    :math:`F = MS_R/MS_E`, :math:`F_L = F / F_{1-a/2}(n-1, (n-1)(k-1))` and
    :math:`F_U = F \cdot F_{1-a/2}((n-1)(k-1), n-1)` (Shrout & Fleiss 1979, eq. 13;
    McGraw & Wong 1996, Table 7).

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing
    rater reliability. Psychological Bulletin 86(2), 420-428.
    https://doi.org/10.1037/0033-2909.86.2.420 (Table 2 data, results on p. 425).
    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass
    correlation coefficients. Psychological Methods 1(1), 30-46.
    https://doi.org/10.1037/1082-989X.1.1.30 (Table 7).

    Examples
    --------
    Shrout & Fleiss (1979), Table 2: ICC(3,1) = .71.

    >>> from labelcheck.table import from_records
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
    ...       [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> table = from_records([{"task_id": t, "annotator_id": j, "label": x}
    ...                       for t, row in enumerate(sf) for j, x in enumerate(row)])
    >>> round(icc_consistency(table).value, 2)
    0.71
    """
    return _twoway("icc_consistency", data, field, ci, confidence, annotators)


def _twoway(
    metric: str,
    data: RatingsInput,
    field: str | None,
    ci: IccInterval,
    confidence: float,
    annotators: Sequence[str] | None,
) -> AgreementResult:
    request = _request(ci, confidence)
    coded, _ = _numeric(data, field)
    codes = rating_matrix(coded)  # (n_annotators, n_tasks) of category codes, nan = none
    ids = coded.annotator_ids
    if annotators is not None:
        wanted = [str(a) for a in annotators]
        missing = [a for a in wanted if a not in set(ids)]
        if missing:
            raise InvalidInput(
                f'annotators {name_list(missing)} have no answers on field "{coded.field}"; '
                f"its annotators are {name_list(ids)}"
            )
        rows = ids.get_indexer(pd.Index(list(dict.fromkeys(wanted))))
        codes, ids = codes[rows], ids[rows]
    complete = ~np.isnan(codes).any(axis=0)
    k, n = codes.shape[0], int(complete.sum())
    counts: dict[str, Any] = {
        "level": "interval", "n_items": n, "n_annotations": n * k, "n_annotators": k,
        "n_categories": coded.n_categories,
    }
    if k < 2:
        return undefined(metric, "fewer than two annotators: the intraclass correlation "
                         "needs at least two", **counts)
    if n < 2:
        return undefined(
            metric,
            f"{'no task was' if n == 0 else 'only one task was'} rated by all {k} "
            f"annotators ({name_list(ids)}); the two-way ANOVA needs a complete "
            "annotators x tasks design: use icc_oneway, which allows different "
            "annotators per task, or pass annotators=[...] who rated the same tasks",
            **counts,
        )
    values = np.asarray(coded.values, dtype=np.float64)
    x = values[codes[:, complete].T.astype(np.intp)]  # (n, k)
    x = x - x.mean()
    rows_sum, rows_sq = x.sum(axis=1), (x**2).sum(axis=1)
    ones = np.ones((1, n))
    ms_r, ms_c, ms_e = (float(v[0]) for v in _twoway_ms(ones, x, rows_sum, rows_sq))
    df1, df2 = float(n - 1), float((n - 1) * (k - 1))
    details: dict[str, Any] = {
        "ms_rows": ms_r, "ms_columns": ms_c, "ms_error": ms_e,
        "n_incomplete_tasks": int(coded.n_tasks - n),
    }

    def consistency(w: FloatArray) -> FloatArray:
        return _consistency_value(*_twoway_ms(w, x, rows_sum, rows_sq), k)

    def agreement(w: FloatArray) -> FloatArray:
        return _agreement_value(*_twoway_ms(w, x, rows_sum, rows_sq), k, n)

    if metric == "icc_consistency":
        return _finish(metric, ms_r, ms_e, float(k), df1, df2, counts, request, consistency, n,
                       details)
    stat = agreement
    value = float(stat(ones)[0])
    f_obs = ms_r / ms_e if ms_e > 0 else math.inf
    details.update(_anova_details(f_obs, df1, df2))
    if math.isnan(value):
        return undefined(metric, NO_VARIATION, details=details, **counts)
    result = AgreementResult(metric=metric, value=value, details=details, **counts)
    if request.method == "F":
        ci_f = _agreement_ci(ms_r, ms_c, ms_e, n, k, request.confidence)
        return result.with_interval(math.nan, ci_f, "F", request.confidence)
    if request.method == "bootstrap":
        return _with_bootstrap(result, stat, n, request)
    return result


def _twoway_ms(
    w: FloatArray, x: FloatArray, rows_sum: FloatArray, rows_sq: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Row, column and residual mean squares for each row of task weights ``w``."""
    n_w, k = w.sum(axis=1), x.shape[1]
    grand = (w @ rows_sum) / (n_w * k)
    col_means = (w @ x) / n_w[:, None]  # (B, k)
    ss_t = w @ rows_sq - n_w * k * grand**2
    ss_r = k * (w @ (rows_sum / k) ** 2) - n_w * k * grand**2
    ss_c = n_w * np.sum((col_means - grand[:, None]) ** 2, axis=1)
    ss_e = ss_t - ss_r - ss_c
    with np.errstate(invalid="ignore", divide="ignore"):
        return ss_r / (n_w - 1), ss_c / (k - 1), ss_e / ((n_w - 1) * (k - 1))


def _agreement_value(
    ms_r: FloatArray, ms_c: FloatArray, ms_e: FloatArray, k: int, n: int
) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (ms_r - ms_e) / (ms_r + (k - 1) * ms_e + k * (ms_c - ms_e) / n)
    return np.asarray(np.where(np.isfinite(out), out, np.nan), dtype=np.float64)


def _consistency_value(
    ms_r: FloatArray, ms_c: FloatArray, ms_e: FloatArray, k: int
) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (ms_r - ms_e) / (ms_r + (k - 1) * ms_e)
    return np.asarray(np.where(np.isfinite(out), out, np.nan), dtype=np.float64)


def _agreement_ci(
    ms_r: float, ms_c: float, ms_e: float, n: int, k: int, confidence: float
) -> tuple[float, float] | None:
    icc = (ms_r - ms_e) / (ms_r + (k - 1) * ms_e + k * (ms_c - ms_e) / n)
    if not math.isfinite(icc) or icc >= 1 or ms_e <= 0:
        return None
    a = k * icc / (n * (1 - icc))
    b = 1 + k * icc * (n - 1) / (n * (1 - icc))
    v = (a * ms_c + b * ms_e) ** 2 / (
        (a * ms_c) ** 2 / (k - 1) + (b * ms_e) ** 2 / ((n - 1) * (k - 1))
    )
    p = 0.5 + confidence / 2
    f_low = _f_ppf(p, n - 1, v)
    f_up = _f_ppf(p, v, n - 1)
    c = k * ms_c + (k * n - k - n) * ms_e
    lower = n * (ms_r - f_low * ms_e) / (f_low * c + n * ms_r)
    upper = n * (f_up * ms_r - ms_e) / (c + n * f_up * ms_r)
    return (lower, upper)


# --- shared ending -------------------------------------------------------------------
def _anova_details(f_obs: float, df1: float, df2: float) -> dict[str, Any]:
    p = _f_sf(f_obs, df1, df2) if math.isfinite(f_obs) else 0.0
    return {"F": f_obs, "df1": df1, "df2": df2, "p_value": p}


def _finish(
    metric: str, ms_a: float, ms_b: float, k: float, df1: float, df2: float,
    counts: dict[str, Any], request: _Request, stat: _Statistic, n: int,
    extra: dict[str, Any] | None = None,
) -> AgreementResult:
    """ICC ``(MS_a - MS_b) / (MS_a + (k - 1) MS_b)`` with the F interval of
    ``F = MS_a / MS_b`` (one-way: B/W with k0; consistency: R/E)."""
    details = dict(extra or {})
    denom = ms_a + (k - 1) * ms_b
    if not denom > 0:
        return undefined(metric, NO_VARIATION, details=details, **counts)
    value = (ms_a - ms_b) / denom
    f_obs = ms_a / ms_b if ms_b > 0 else math.inf
    details.update(_anova_details(f_obs, df1, df2))
    result = AgreementResult(metric=metric, value=value, details=details, **counts)
    if request.method == "F":
        if not math.isfinite(f_obs):
            return result.with_interval(math.nan, None, "F", request.confidence)
        f_low, f_up = _f_bounds(f_obs, df1, df2, request.confidence)
        ci = ((f_low - 1) / (f_low + k - 1), (f_up - 1) / (f_up + k - 1))
        return result.with_interval(math.nan, ci, "F", request.confidence)
    if request.method == "bootstrap":
        return _with_bootstrap(result, stat, n, request)
    return result


def _with_bootstrap(
    result: AgreementResult, stat: _Statistic, n: int, request: _Request
) -> AgreementResult:
    interval = request.boot or Interval("bootstrap", confidence=request.confidence)
    boot = bootstrap_tasks(
        lambda draws: stat(np.asarray(draws, dtype=np.float64)), n, interval, result.value
    )
    out = result.with_interval(boot.se, boot.ci, boot.method, request.confidence)
    return replace(out, details={**out.details, "n_boot_valid": boot.n_valid})


def _f_ppf(p: float, dfn: float, dfd: float) -> float:
    """Quantile of the F distribution (scipy.special: importing scipy.stats costs ~0.4 s)."""
    from scipy.special import fdtri

    return float(fdtri(dfn, dfd, p))


def _f_sf(x: float, dfn: float, dfd: float) -> float:
    """Upper tail of the F distribution."""
    from scipy.special import fdtrc

    return float(fdtrc(dfn, dfd, x))
