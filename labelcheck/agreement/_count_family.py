r"""Shared machinery of the count-based chance-corrected coefficients (Gwet's framework).

Every coefficient here is built from the task x category count matrix ``n[i, k]``
(:func:`labelcheck.table.count_matrix`) and a weight matrix ``w[k, l]``:

.. math::

    \kappa = \frac{p_a - p_e}{1 - p_e}, \qquad
    p_a = \frac{1}{n'} \sum_{i: r_i \ge 2} \sum_k
          \frac{n_{ik} (n^\star_{ik} - 1)}{r_i (r_i - 1)}, \qquad
    n^\star_{ik} = \sum_l w_{kl} n_{il}

with :math:`r_i = \sum_k n_{ik}` the answers on task :math:`i` and :math:`n'` the number
of tasks with at least two answers (Gwet 2014, ch. 2-3).  The coefficients differ only
in the chance agreement :math:`p_e`, computed from the category propensities
:math:`\pi_k = \frac{1}{n} \sum_i n_{ik} / r_i` averaged over the :math:`n` tasks:

``fleiss`` (Fleiss' kappa, Scott's pi)
    :math:`p_e = \sum_{k,l} w_{kl} \pi_k \pi_l`
``gwet`` (AC1, AC2)
    :math:`p_e = \frac{T_w}{K (K - 1)} \sum_k \pi_k (1 - \pi_k)`, :math:`T_w = \sum_{k,l} w_{kl}`
``uniform`` (Brennan-Prediger)
    :math:`p_e = T_w / K^2`
``none`` (percent agreement)
    :math:`p_e = 0`

Variance (Gwet 2008, sec. 5; Gwet 2014, sec. 5.3), by linearisation around the
estimate, with no finite-population correction:

.. math::

    v(\kappa) = \frac{1}{n (n - 1)} \sum_i (\kappa^\star_i - \kappa)^2, \quad
    \kappa^\star_i = \frac{n}{n'} \frac{p_{a|i} - p_e \, [r_i \ge 2]}{1 - p_e}
        - 2 (1 - \kappa) \frac{p_{e|i} - p_e}{1 - p_e}

where :math:`p_{a|i}` is task :math:`i`'s term of :math:`p_a` (0 for a task with one
answer) and :math:`p_{e|i}` its term of :math:`p_e`:
:math:`\sum_k (n_{ik}/r_i) \bar\pi_k` with :math:`\bar\pi = (W + W^\top)\pi / 2` for
``fleiss``, :math:`\frac{T_w}{K(K-1)} \sum_k (n_{ik}/r_i)(1 - \pi_k)` for ``gwet``, and
:math:`p_e` itself (no term) for ``uniform`` and ``none``.

The terms scale task :math:`i` by :math:`n / n'` as if the number of tasks with two
answers were fixed.  When some tasks have a single answer that number is random under
task sampling, and this variance is conservative: on tables with a quarter of the tasks
single-answer, the se of :math:`p_a` is about a quarter above the task bootstrap's.
Without single-answer tasks (or with ``"ignore"``) the two agree.

Tasks with a single answer (``single_answer_items``): ``"gwet"`` keeps them in
:math:`n` and in :math:`\pi_k` (they carry no pair, so they do not enter :math:`p_a`),
as Gwet's formulas and irrCAC do; ``"ignore"`` drops them entirely (:math:`n = n'`),
as Krippendorff's alpha does.  Either way :math:`K` is the number of categories of
the encoding: the declared ones, else those in use anywhere in the field (so a category
seen only on a single-answer task still counts; declare the categories to fix K).

References
----------
Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence
of high agreement. British Journal of Mathematical and Statistical Psychology 61(1),
29-48. https://doi.org/10.1348/000711006X126600
Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed. Advanced Analytics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement._input import (
    RatingsInput,
    SingleAnswerItems,
    Weights,
    WeightsBasis,
    as_coded,
    weight_matrix,
)
from labelcheck.agreement.intervals import (
    Interval,
    IntervalSpec,
    analytic_ci,
    as_interval,
    bootstrap_patterns,
    count_patterns,
)
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.errors import InvalidInput
from labelcheck.table import DEFAULT_FIELD, CodedRatings, Level, count_matrix

FloatArray = npt.NDArray[np.float64]
Chance = Literal["fleiss", "gwet", "uniform", "none"]
CHANCE: tuple[str, ...] = ("fleiss", "gwet", "uniform", "none")
SINGLE_ANSWER_ITEMS: tuple[str, ...] = ("gwet", "ignore")

#: 1 - p_e below this counts as zero: the coefficient is undefined.
_EPS = 1e-12


@dataclass(frozen=True)
class Estimate:
    """A count-family coefficient computed from a count matrix (no labels, no ids)."""

    value: float
    se: float
    observed: float
    expected: float
    n_tasks: int  # tasks entering the chance term and the variance (n)
    n_items: int  # tasks with at least two answers (n')
    n_annotations: int  # answers on those tasks
    reason: str | None = None


@dataclass(frozen=True)
class Prepared:
    """What a public coefficient needs: the kept counts, the weights and the labels."""

    coded: CodedRatings
    counts: npt.NDArray[np.int64]  # (n, K) tasks kept (>= 1 or >= 2 answers)
    task_index: npt.NDArray[np.intp]  # rows of the full count matrix that were kept
    weights: FloatArray  # (K, K)
    weights_name: str
    level: str
    single_answer_items: str


def check_options(single_answer_items: str, weights_basis: str) -> None:
    if single_answer_items not in SINGLE_ANSWER_ITEMS:
        raise ValueError(
            f"single_answer_items must be 'gwet' or 'ignore'; got {single_answer_items!r}"
        )
    if weights_basis not in ("ranks", "values"):
        raise ValueError(f"weights_basis must be 'ranks' or 'values'; got {weights_basis!r}")


def prepare(
    data: RatingsInput,
    *,
    field: str | None,
    categories: Any,
    weights: Weights,
    weights_basis: WeightsBasis,
    single_answer_items: SingleAnswerItems,
    level: Level | None = None,
) -> Prepared:
    """Encode ``data``, build the count matrix and the weight matrix.

    Weighted coefficients need ordered categories: numeric labels (ordered by value) or
    declared ``categories``; unweighted ones read the field as nominal unless ``level``
    says otherwise."""
    check_options(single_answer_items, weights_basis)
    weighted = weights != "unweighted"
    if level is None:
        level = "ordinal" if weighted else "nominal"
    if isinstance(data, pd.DataFrame) and len(data) == 0:
        coded = _empty_coded(data, field, level, categories)
    else:
        coded = as_coded(data, field=field, level=level, categories=categories)
    if weighted and coded.level == "nominal":
        raise InvalidInput(
            f'field "{coded.field}": {weights} weights need ordered categories, but the '
            "ratings were encoded as nominal; encode with level='ordinal' (numeric labels "
            "or declared categories=[...])"
        )
    values = coded.values
    if weighted and weights_basis == "values" and values is None:
        raise InvalidInput(
            f'field "{coded.field}": weights over category values need numeric categories; '
            f"found {', '.join(map(str, coded.categories[:10]))}; use weights_basis='ranks'"
        )
    w = weight_matrix(weights, coded.n_categories, values, weights_basis)
    full = count_matrix(coded)
    r = full.sum(axis=1)
    keep = r >= (2 if single_answer_items == "ignore" else 1)
    task_index = np.flatnonzero(keep)
    return Prepared(
        coded=coded,
        counts=full[task_index],
        task_index=task_index,
        weights=w,
        weights_name=weights,
        level=coded.level,
        single_answer_items=single_answer_items,
    )


def _empty_coded(
    frame: pd.DataFrame, field: str | None, level: Level, categories: Any
) -> CodedRatings:
    """Coded ratings with no answer, so an empty table gives NaN with a reason."""
    none = np.zeros(0, dtype=np.intp)
    cats = pd.Index(list(categories) if categories is not None else [], dtype=object)
    return CodedRatings(
        task=none, label=none, task_ids=pd.Index([], dtype=object), categories=cats,
        values=None, level=level, field=field or DEFAULT_FIELD, rows=none, frame=frame,
    )


def task_terms(
    counts: npt.NDArray[np.int64] | FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], FloatArray]:
    """Per-task quantities: the counts as floats, answers ``r``, observed term
    ``p_a|i`` (0 below two answers), the mask of tasks with two or more answers, and
    ``1 / r`` (0 for a task without answers)."""
    n: FloatArray = np.asarray(counts, dtype=np.float64)
    # row sums and row dot products through BLAS: much faster than .sum(axis=1) for
    # the narrow (n_tasks, K) matrices of this family
    r: FloatArray = n @ np.ones(n.shape[1])
    agree: FloatArray
    if np.array_equal(w, np.eye(w.shape[0])):
        agree = np.einsum("ij,ij->i", n, n) - r
    else:
        agree = np.einsum("ij,ij->i", n, n @ w.T) - r
    two: npt.NDArray[np.bool_] = r >= 2
    pa_i: FloatArray = agree / np.where(two, r * (r - 1.0), 1.0)
    pa_i[~two] = 0.0
    inv_r: FloatArray = np.divide(1.0, r, out=np.zeros_like(r), where=r > 0)
    return n, r, pa_i, two, inv_r


def chance_agreement(
    chance: Chance, pi: FloatArray, w: FloatArray
) -> FloatArray:
    """``p_e`` for propensities ``pi`` of shape ``(..., K)``; returns shape ``(...)``."""
    k = w.shape[0]
    out: FloatArray
    if chance == "fleiss":
        out = np.einsum("...k,kl,...l->...", pi, w, pi)
        return out
    if chance == "gwet":
        if k < 2:
            # Gwet's irrCAC (R) takes p_e = 0 when only one category exists.
            return np.zeros(pi.shape[:-1])
        out = float(w.sum()) / (k * (k - 1)) * np.sum(pi * (1.0 - pi), axis=-1)
        return out
    if chance == "uniform":
        return np.full(pi.shape[:-1], float(w.sum()) / k**2)
    if chance == "none":
        return np.zeros(pi.shape[:-1])
    raise ValueError(f"chance must be one of {', '.join(CHANCE)}; got {chance!r}")


def _chance_task_terms(
    chance: Chance, pi: FloatArray, n: FloatArray, inv_r: FloatArray, w: FloatArray,
    pe: float,
) -> FloatArray | float:
    """``p_e|i``: task i's term of the chance agreement (Gwet 2008, sec. 5)."""
    k = w.shape[0]
    if chance == "fleiss":
        terms: FloatArray = (n @ ((w + w.T) @ pi / 2.0)) * inv_r
        return terms
    if chance == "gwet" and k >= 2:
        gwet_terms: FloatArray = float(w.sum()) / (k * (k - 1)) * (n @ (1.0 - pi)) * inv_r
        return gwet_terms
    return pe


def estimate(
    counts: npt.NDArray[np.int64] | FloatArray,
    w: FloatArray,
    chance: Chance,
    *,
    with_se: bool = True,
) -> Estimate:
    """The coefficient and Gwet's analytic standard error from a count matrix.

    ``counts`` holds the tasks that enter the chance term (rows with no answer are
    ignored): pass tasks with one answer to follow Gwet, drop them to ignore them.
    Vectorised: ``O(n K + K^2)``."""
    if counts.ndim != 2 or counts.shape[1] != w.shape[0]:
        raise ValueError(
            f"counts must have shape (n_tasks, {w.shape[0]}); got {counts.shape}"
        )
    n_f, r, pa_i, two, inv_r = task_terms(counts, w)
    rated = r >= 1
    if not rated.all():
        n_f, r, pa_i, two, inv_r = n_f[rated], r[rated], pa_i[rated], two[rated], inv_r[rated]
    n = int(r.shape[0])
    n2 = int(np.count_nonzero(two))
    n_ann = int(r[two].sum()) if n2 < n else int(r.sum())
    if n == 0:
        return Estimate(
            math.nan, math.nan, math.nan, math.nan, 0, 0, 0,
            "no answers: the table is empty or every label is missing",
        )
    if n2 == 0:
        return Estimate(
            math.nan, math.nan, math.nan, math.nan, n, 0, 0,
            "no task has two or more answers, so there is no pair of answers to compare",
        )
    pa = float(pa_i.sum() / n2)
    pi = (inv_r @ n_f) / n
    pe = float(chance_agreement(chance, pi, w))
    if 1.0 - pe < _EPS:
        if chance == "uniform":
            why = "only one category: chance agreement 1/K is 1, so the coefficient is undefined"
        else:
            why = (
                "only one category in use: chance agreement is 1, so the coefficient is "
                "undefined (declare the categories, or use gwet_ac1 or percent_agreement)"
            )
        return Estimate(math.nan, math.nan, pa, pe, n, n2, n_ann, why)
    value = (pa - pe) / (1.0 - pe)
    se = math.nan
    if with_se and n >= 2:
        pe_i = _chance_task_terms(chance, pi, n_f, inv_r, w, pe)
        # kappa*_i - kappa, Gwet (2008) eq. for the linearised task terms
        lin = (n / n2 / (1.0 - pe)) * (pa_i - pe * two)
        lin -= (2.0 * (1.0 - value) / (1.0 - pe)) * (pe_i - pe)
        lin -= value
        se = math.sqrt(float(lin @ lin) / (n * (n - 1)))
    return Estimate(value, se, pa, pe, n, n2, n_ann)


def one_vs_rest_fleiss(counts: npt.NDArray[np.int64]) -> FloatArray:
    """Fleiss' kappa of each category against the rest, all categories at once.

    Same numbers as :func:`estimate` with ``chance="fleiss"`` on the two-column tables
    ``[n_ik, r_i - n_ik]`` (NaN where a category is never or always chosen)."""
    n_f, r, _, two, inv_r = task_terms(counts, np.eye(counts.shape[1]))
    rated = r >= 1
    n, n2 = int(np.count_nonzero(rated)), int(np.count_nonzero(two))
    if n2 == 0:
        return np.full(counts.shape[1], np.nan)
    # agreeing pairs on task i for (j, not j): n(n-1) + (r-n)(r-n-1) = r(r-1) - 2n(r-n),
    # so p_a = 1 - (2/n') sum_i c_i n_ij (r_i - n_ij) with c_i = [r_i >= 2] / (r_i(r_i-1))
    c = np.where(two, 1.0 / np.where(two, r * (r - 1.0), 1.0), 0.0)
    pa = 1.0 - 2.0 / n2 * ((c * r) @ n_f - c @ (n_f * n_f))
    pi = (inv_r @ n_f) / n
    pe = pi**2 + (1.0 - pi) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(1.0 - pe < _EPS, np.nan, (pa - pe) / (1.0 - pe))
    return out


def pattern_statistic(chance: Chance, w: FloatArray) -> Any:
    """``statistic(patterns (P, K), weights (B, P)) -> (B,)`` for :func:`bootstrap_patterns`."""

    def statistic(patterns: npt.NDArray[np.int64], mult: FloatArray) -> FloatArray:
        n_f, r, pa_i, two, inv_r = task_terms(patterns, w)
        mult = np.asarray(mult, dtype=np.float64)
        n = mult @ (r >= 1).astype(np.float64)
        n2 = mult @ two.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            pa = (mult @ pa_i) / n2
            pi = (mult @ (n_f * inv_r[:, None])) / n[:, None]
            pe = chance_agreement(chance, pi, w)
            value = (pa - pe) / (1.0 - pe)
        bad = (n2 == 0) | (1.0 - pe < _EPS)
        return np.where(bad, np.nan, value)

    return statistic


def ratio_statistic(a: FloatArray, b: FloatArray) -> Any:
    """Pattern statistic of a ratio ``sum(a) / sum(b)`` over tasks (specific agreement)."""

    def statistic(patterns: npt.NDArray[np.int64], mult: FloatArray) -> FloatArray:
        den = np.asarray(mult, dtype=np.float64) @ b
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (np.asarray(mult, dtype=np.float64) @ a) / den
        return np.where(den > 0, out, np.nan)

    return statistic


def n_annotators_on(prepared: Prepared, tasks_mask: npt.NDArray[np.bool_]) -> int:
    """Distinct annotators with an answer on the kept tasks where ``tasks_mask`` holds."""
    coded = prepared.coded
    full_mask = np.zeros(coded.n_tasks, dtype=bool)
    full_mask[prepared.task_index[tasks_mask]] = True
    rows = full_mask[coded.task]
    if not rows.any():
        return 0
    return int(np.count_nonzero(np.bincount(coded.annotator[rows])))


def convention_details(
    single_answer_items: str, weights: str, weights_basis: str
) -> dict[str, Any]:
    """The conventions a result was computed under, for its ``details``."""
    details: dict[str, Any] = {"single_answer_items": single_answer_items}
    if weights != "unweighted":
        details["weights_basis"] = weights_basis
    return details


def build_result(
    metric: str,
    prepared: Prepared,
    chance: Chance,
    ci: IntervalSpec,
    *,
    counts: npt.NDArray[np.int64] | None = None,
    details: dict[str, Any] | None = None,
    caution: str | None = None,
    n_annotators: int | None = None,
) -> AgreementResult:
    """Compute ``metric`` on the prepared counts and attach the requested interval."""
    interval = as_interval(ci)
    counts = prepared.counts if counts is None else counts
    w = prepared.weights
    est = estimate(counts, w, chance, with_se=interval is not None)
    if n_annotators is None:
        two = counts @ np.ones(counts.shape[1], dtype=counts.dtype) >= 2
        n_annotators = n_annotators_on(prepared, two) if est.n_items else 0
    common: dict[str, Any] = {
        "n_items": est.n_items,
        "n_annotations": est.n_annotations,
        "n_annotators": n_annotators,
        "n_categories": int(w.shape[0]),
        "level": prepared.level,
        "weights": prepared.weights_name,
        "observed": est.observed,
        "expected": est.expected,
        "details": dict(details or {}),
    }
    if est.reason is not None:
        return undefined(metric, est.reason, **common)
    reasons = [m for m in (caution, _one_annotator(common["n_annotators"])) if m]
    result = AgreementResult(
        metric=metric, value=est.value, reason="; ".join(reasons) or None, **common
    )
    if interval is None:
        return result
    if interval.method == "analytic":
        bounds = analytic_ci(est.value, est.se, est.n_tasks, interval)
        return result.with_interval(
            est.se, bounds, f"analytic-{interval.quantile}", interval.confidence
        )
    return with_bootstrap(result, counts, pattern_statistic(chance, w), interval)


def with_bootstrap(
    result: AgreementResult,
    counts: npt.NDArray[np.int64],
    statistic: Any,
    interval: Interval,
) -> AgreementResult:
    patterns, freq = count_patterns(counts)
    boot = bootstrap_patterns(statistic, patterns, freq, interval, point=result.value)
    return result.with_interval(boot.se, boot.ci, boot.method, interval.confidence)


def _one_annotator(n_annotators: int) -> str | None:
    if n_annotators == 1:
        return (
            "only one annotator: the value measures that annotator's consistency across "
            "repeated answers, not agreement between annotators"
        )
    return None

