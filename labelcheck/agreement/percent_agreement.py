r"""Percent agreement (Gwet's :math:`p_a`) and specific agreement per category."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from labelcheck.agreement import _count_family as cf
from labelcheck.agreement._input import RatingsInput, SingleAnswerItems, Weights, WeightsBasis
from labelcheck.agreement.intervals import (
    Interval,
    IntervalSpec,
    analytic_ci,
    as_interval,
    bootstrap_patterns,
    count_patterns,
)
from labelcheck.agreement.result import AgreementResult, undefined

FloatArray = npt.NDArray[np.float64]


def percent_agreement(
    data: RatingsInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    weights: Weights = "unweighted",
    weights_basis: WeightsBasis = "ranks",
    single_answer_items: SingleAnswerItems = "gwet",
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Share of agreeing answer pairs, averaged over tasks (no chance correction).

    .. math:: p_a = \frac{1}{n'} \sum_{i: r_i \ge 2} \sum_{k}
        \frac{n_{ik} (n^\star_{ik} - 1)}{r_i (r_i - 1)}, \qquad
        n^\star_{ik} = \sum_l w_{kl} n_{il}

    :math:`n_{ik}` counts the answers putting task :math:`i` in category :math:`k`,
    :math:`r_i` the answers on task :math:`i`, :math:`n'` the tasks with at least two
    answers and :math:`w` the agreement weights (the identity when unweighted, so each
    task contributes the share of its answer pairs that agree).

    Parameters
    ----------
    data : canonical annotation table or :class:`~labelcheck.table.CodedRatings`;
        only the count matrix ``(n_tasks, n_categories)`` is used.
    field : the field to analyse; may be omitted when the table has one.
    categories : the declared categories (their order matters for weights).
    weights : ``unweighted``, ``linear`` or ``quadratic`` (ordered categories needed).
    weights_basis : ``ranks`` or ``values`` (numeric category values, as irrCAC).
    single_answer_items : ``gwet`` (single-answer tasks count in the variance's
        :math:`n`, as irrCAC's ``pa.coeff.raw``) or ``ignore``.  The value itself never
        depends on tasks with one answer.
    ci : ``analytic`` (Gwet's variance, Student t with :math:`n-1` degrees of freedom),
        ``bootstrap``, an :class:`~labelcheck.agreement.intervals.Interval`, or None.

    Returns
    -------
    AgreementResult
        ``metric="percent_agreement"``; ``observed`` is :math:`p_a`, ``expected`` 0.

    Notes
    -----
    Variance (Gwet 2014, sec. 5.3): :math:`v(p_a) = \frac{1}{n(n-1)} \sum_i
    (\frac{n}{n'} p_{a|i} - p_a)^2` over the :math:`n` tasks, with :math:`p_{a|i}` task
    :math:`i`'s term (0 for a task with one answer).  It treats the number :math:`n'` of
tasks with two answers as fixed, so with tasks of one answer (``gwet``) it is
conservative compared with the task bootstrap; with ``ignore`` they agree.  No
finite-population correction;
    the interval is not truncated (irrCAC cuts it at 1).  Undefined when no task has
    two answers.  Percent agreement is not corrected for chance: with one dominant
    category it is high whatever the annotators do.

    References
    ----------
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., Advanced
    Analytics, ch. 2 and 5.
    Gwet, K. L. (2008). Br J Math Stat Psychol 61(1), 29-48.
    https://doi.org/10.1348/000711006X126600

    Examples
    --------
    Gwet's ``cac.raw4raters`` (irrCAC README, ``pa.coeff.raw``: 0.8181818, se 0.12561):

    >>> from labelcheck.table import from_records
    >>> ratings = [[1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5],
    ...            [1, 1], [3]]
    >>> table = from_records([{"task_id": t, "annotator_id": a, "label": x}
    ...                       for t, row in enumerate(ratings) for a, x in enumerate(row)])
    >>> res = percent_agreement(table)
    >>> round(res.value, 7), round(res.se, 5)
    (0.8181818, 0.12561)
    """
    prepared = cf.prepare(
        data, field=field, categories=categories, weights=weights,
        weights_basis=weights_basis, single_answer_items=single_answer_items,
    )
    details = cf.convention_details(single_answer_items, weights, weights_basis)
    return cf.build_result("percent_agreement", prepared, "none", ci, details=details)


def specific_agreement(
    data: RatingsInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    ci: IntervalSpec = "bootstrap",
) -> dict[Any, AgreementResult]:
    r"""Specific agreement on each category: how often a second answer confirms it.

    .. math:: p_s(k) = \frac{\sum_i n_{ik} (n_{ik} - 1)}{\sum_i n_{ik} (r_i - 1)}

    :math:`n_{ik}` counts the answers putting task :math:`i` in category :math:`k` and
    :math:`r_i` the answers on task :math:`i`.  Of all ordered pairs of answers on one
    task whose first answer is :math:`k`, :math:`p_s(k)` is the share whose second
    answer is :math:`k` too.  For two annotators and a yes/no question it is the
    positive (and negative) specific agreement :math:`2a / (2a + b + c)`.

    Parameters
    ----------
    data : canonical annotation table or :class:`~labelcheck.table.CodedRatings`;
        only the count matrix ``(n_tasks, n_categories)`` is used.
    field : the field to analyse; may be omitted when the table has one.
    categories : the declared categories (an unused one gets NaN with a reason).
    ci : ``bootstrap`` (default: tasks resampled, the same draws for every category),
        ``analytic`` (linearised ratio estimator, Student t with :math:`n'-1` degrees
        of freedom), an :class:`~labelcheck.agreement.intervals.Interval`, or None.

    Returns
    -------
    dict
        ``{category: AgreementResult}`` in category order, each with
        ``metric="specific_agreement"`` and ``details["category"]``.

    Notes
    -----
    Only tasks with at least two answers hold pairs; tasks with one answer add nothing
    to either sum and are left out (also of the resampling).  Undefined for a category
    never chosen on a task with two or more answers.  Repeated answers by one
    annotator on a task count as separate answers.

    The analytic standard error treats :math:`p_s(k)` as a ratio of task totals:
    :math:`v = \frac{n'}{n'-1} \sum_i (a_i - p_s b_i)^2 / (\sum_i b_i)^2` with
    :math:`a_i = n_{ik}(n_{ik}-1)`, :math:`b_i = n_{ik}(r_i-1)`.

    References
    ----------
    Uebersax, J. S. (1982). A design-independent method for measuring the reliability
    of psychiatric diagnosis. Journal of Psychiatric Research 17(4), 335-342.
    https://doi.org/10.1016/0022-3956(82)90039-5
    Fleiss, J. L. (1971). Psychological Bulletin 76(5), 378-382 (the proportion of
    agreeing assignments to category :math:`j`). https://doi.org/10.1037/h0031619
    Cicchetti, D. V., & Feinstein, A. R. (1990). High agreement but low kappa: II.
    Resolving the paradoxes. J Clin Epidemiol 43(6), 551-558.
    https://doi.org/10.1016/0895-4356(90)90159-M

    Examples
    --------
    Two annotators, 10 yes/no tasks: 4 both yes, 1 split, 5 both no, so positive
    specific agreement is 2*4 / (2*4 + 1) = 0.889 and negative 10 / 11 = 0.909:

    >>> from labelcheck.table import from_records
    >>> pairs = [("yes", "yes")] * 4 + [("yes", "no")] + [("no", "no")] * 5
    >>> table = from_records([{"task_id": t, "annotator_id": a, "label": x}
    ...                       for t, pair in enumerate(pairs) for a, x in enumerate(pair)])
    >>> res = specific_agreement(table, ci=None)
    >>> round(res["yes"].value, 3), round(res["no"].value, 3)
    (0.889, 0.909)
    """
    interval = as_interval(ci)
    prepared = cf.prepare(
        data, field=field, categories=categories, weights="unweighted",
        weights_basis="ranks", single_answer_items="ignore",
    )
    counts = prepared.counts.astype(np.float64)
    r = counts.sum(axis=1)
    n_items = int(counts.shape[0])
    n_annotations = int(r.sum())
    n_annotators = cf.n_annotators_on(prepared, np.ones(n_items, dtype=bool)) if n_items else 0
    a = counts * (counts - 1.0)
    b = counts * (r - 1.0)[:, None]
    if interval is not None and interval.method == "bootstrap":
        patterns, freq = count_patterns(prepared.counts)
    else:
        patterns, freq = prepared.counts[:0], np.zeros(0, dtype=np.int64)
    out: dict[Any, AgreementResult] = {}
    for k, cat in enumerate(prepared.coded.categories):
        common: dict[str, Any] = {
            "n_items": n_items, "n_annotations": n_annotations, "n_annotators": n_annotators,
            "n_categories": prepared.coded.n_categories, "level": prepared.level,
            "weights": "unweighted", "details": {"category": cat},
        }
        den = float(b[:, k].sum())
        if n_items == 0:
            out[cat] = undefined(
                "specific_agreement",
                "no task has two or more answers, so there is no pair of answers to compare",
                **common,
            )
            continue
        if den == 0:
            out[cat] = undefined(
                "specific_agreement",
                f"category {cat} is never chosen on a task with two or more answers",
                **common,
            )
            continue
        value = float(a[:, k].sum()) / den
        res = AgreementResult(
            metric="specific_agreement", value=value, observed=value, **common
        )
        if interval is not None:
            res = _specific_interval(res, k, a[:, k], b[:, k], patterns, freq, interval)
        out[cat] = res
    return out


def _specific_interval(
    res: AgreementResult,
    k: int,
    a: FloatArray,
    b: FloatArray,
    patterns: npt.NDArray[np.int64],
    freq: npt.NDArray[np.int64],
    interval: Interval,
) -> AgreementResult:
    if interval.method == "bootstrap":
        n_k = patterns[:, k].astype(np.float64)
        r = patterns.sum(axis=1).astype(np.float64)
        statistic = cf.ratio_statistic(n_k * (n_k - 1.0), n_k * (r - 1.0))
        boot = bootstrap_patterns(statistic, patterns, freq, interval, point=res.value)
        return res.with_interval(boot.se, boot.ci, boot.method, interval.confidence)
    n = a.shape[0]
    se = math.nan
    if n >= 2:
        se = math.sqrt(n / (n - 1) * float(np.sum((a - res.value * b) ** 2))) / float(b.sum())
    bounds = analytic_ci(res.value, se, n, interval)
    return res.with_interval(se, bounds, f"analytic-{interval.quantile}", interval.confidence)
