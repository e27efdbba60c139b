r"""Gwet's AC1 and its weighted form AC2, for any number of answers per task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelcheck.agreement import _count_family as cf
from labelcheck.agreement._input import RatingsInput, SingleAnswerItems, Weights, WeightsBasis
from labelcheck.agreement.intervals import IntervalSpec
from labelcheck.agreement.result import AgreementResult
from labelcheck.table import Level

_ONE_CATEGORY = (
    "only one category exists, so Gwet's chance agreement is taken as 0 (as in Gwet's "
    "irrCAC) and the value equals the percent agreement; declare the categories to "
    "compare with chance"
)


def gwet_ac1(
    data: RatingsInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    weights: Weights = "unweighted",
    weights_basis: WeightsBasis = "ranks",
    single_answer_items: SingleAnswerItems = "gwet",
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Gwet's first-order agreement coefficient AC1.

    .. math:: AC_1 = \frac{p_a - p_e}{1 - p_e}, \qquad
        p_e = \frac{1}{K - 1} \sum_{k=1}^{K} \pi_k (1 - \pi_k), \qquad
        \pi_k = \frac{1}{n} \sum_{i=1}^{n} \frac{n_{ik}}{r_i}

    :math:`p_a` is the mean, over the :math:`n'` tasks with at least two answers, of
    the share of agreeing answer pairs :math:`\sum_k n_{ik}(n_{ik} - 1) / (r_i(r_i-1))`;
    :math:`n_{ik}` counts the answers putting task :math:`i` in category :math:`k`,
    :math:`r_i` the answers on task :math:`i`, :math:`K` the categories (declared, else
    those in use) and :math:`\pi_k` the propensity of category :math:`k`.

    Parameters
    ----------
    data : canonical annotation table or :class:`~labelcheck.table.CodedRatings`;
        only the count matrix ``(n_tasks, n_categories)`` is used.
    field : the field to analyse; may be omitted when the table has one.
    categories : the declared categories; unused ones count in :math:`K`.  Without
        them :math:`K` counts the categories in use anywhere in the field.
    weights : must be ``unweighted`` (AC1 is unweighted by definition; use
        :func:`gwet_ac2` for weights).  Accepted so every count coefficient has one
        signature.
    weights_basis : unused here; as for :func:`gwet_ac2`.
    single_answer_items : ``gwet`` (single-answer tasks count in :math:`\pi_k` and
        :math:`n`, as Gwet and irrCAC) or ``ignore`` (dropped entirely).
    ci : ``analytic`` (Gwet 2008 variance, Student t with :math:`n-1` degrees of
        freedom), ``bootstrap``, an :class:`~labelcheck.agreement.intervals.Interval`,
        or None.

    Returns
    -------
    AgreementResult
        ``metric="gwet_ac1"``, ``observed`` :math:`p_a`, ``expected`` :math:`p_e`.

    Notes
    -----
    Gwet's chance agreement is the probability of agreeing on a hard-to-classify task
    by guessing; it stays small when one category dominates, so AC1 does not collapse
    the way kappa does under high agreement (the "kappa paradoxes").

    Defined when only one category is in use and :math:`K \ge 2`: then
    :math:`p_e = 0` and AC1 equals :math:`p_a` (1 if everyone agrees), where Fleiss'
    kappa is undefined.  With a single category in total, :math:`K - 1 = 0`; we follow
    Gwet's irrCAC (R), which takes :math:`p_e = 0`, and say so in ``reason`` (irrCAC's
    Python port takes :math:`p_e = 1 - 10^{-15}` instead, which yields a meaningless
    number).  Undefined (NaN with a reason) when no task has two answers.

    Variance: Gwet (2008) linearisation with no finite-population correction; the
    interval is not truncated (irrCAC cuts it at 1).

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
    presence of high agreement. Br J Math Stat Psychol 61(1), 29-48.
    https://doi.org/10.1348/000711006X126600
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., Advanced
    Analytics, ch. 4-5.

    Examples
    --------
    Gwet's 12 subjects rated by 4 raters with missing ratings (irrCAC's
    ``cac.raw4raters``; irrCAC README: AC1 0.77544, se 0.14295):

    >>> from labelcheck.table import from_records
    >>> ratings = [[1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5],
    ...            [1, 1], [3]]
    >>> table = from_records([{"task_id": t, "annotator_id": a, "label": x}
    ...                       for t, row in enumerate(ratings) for a, x in enumerate(row)])
    >>> res = gwet_ac1(table)
    >>> round(res.value, 5), round(res.se, 5), round(res.expected, 7)
    (0.77544, 0.14295, 0.1903212)
    """
    if weights != "unweighted":
        raise ValueError(
            f"gwet_ac1 is unweighted; for {weights} weights use gwet_ac2(weights={weights!r})"
        )
    return _gwet("gwet_ac1", data, field, categories, "unweighted", weights_basis,
                 single_answer_items, ci, None)


def gwet_ac2(
    data: RatingsInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    weights: Weights = "quadratic",
    weights_basis: WeightsBasis = "ranks",
    single_answer_items: SingleAnswerItems = "gwet",
    level: Level = "ordinal",
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Gwet's AC2: AC1 with agreement weights for ordered categories.

    .. math:: AC_2 = \frac{p_a - p_e}{1 - p_e}, \qquad
        p_e = \frac{T_w}{K (K - 1)} \sum_{k=1}^{K} \pi_k (1 - \pi_k)

    :math:`p_a = \frac{1}{n'} \sum_{i: r_i \ge 2} \sum_k
    n_{ik}(n^\star_{ik} - 1) / (r_i (r_i - 1))` with
    :math:`n^\star_{ik} = \sum_l w_{kl} n_{il}`; :math:`w_{kl}` are the agreement
    weights (1 on the diagonal), :math:`T_w = \sum_{k,l} w_{kl}`, and the other symbols
    are those of :func:`gwet_ac1`.  With ``weights="unweighted"``, :math:`T_w = K` and
    AC2 equals AC1.

    Parameters
    ----------
    data, field, single_answer_items, ci : as for :func:`gwet_ac1`.
    categories : the declared categories in order (needed for string labels).
    weights : ``quadratic`` (default), ``linear`` or ``unweighted``.
    weights_basis : ``ranks`` (positions 0..K-1; R irr, SAS, scikit-learn) or
        ``values`` (numeric category values; irrCAC).
    level : level of measurement used to encode a canonical table: ``ordinal``
        (numeric labels ordered by value, string labels by ``categories``),
        ``interval`` or ``ratio``.

    Returns
    -------
    AgreementResult
        ``metric="gwet_ac2"``, with ``weights`` naming the scheme.

    Notes
    -----
    As for :func:`gwet_ac1`.  Weights over ranks and over values differ when numeric
    categories are unevenly spaced (1, 2, 5): pick ``values`` to match irrCAC.

    References
    ----------
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., Advanced
    Analytics, ch. 3 (weighted coefficients) and ch. 5 (variance).
    Gwet, K. L. (2008). Br J Math Stat Psychol 61(1), 29-48.
    https://doi.org/10.1348/000711006X126600

    Examples
    --------
    Gwet's ``cac.raw4raters`` with quadratic weights (irrCAC: AC2 0.914, se 0.104):

    >>> from labelcheck.table import from_records
    >>> ratings = [[1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5],
    ...            [1, 1], [3]]
    >>> table = from_records([{"task_id": t, "annotator_id": a, "label": x}
    ...                       for t, row in enumerate(ratings) for a, x in enumerate(row)])
    >>> res = gwet_ac2(table, weights="quadratic")
    >>> round(res.value, 3), round(res.se, 3)
    (0.914, 0.104)
    """
    # unweighted AC2 is AC1: labels need no order then
    return _gwet("gwet_ac2", data, field, categories, weights, weights_basis,
                 single_answer_items, ci, level if weights != "unweighted" else None)


def _gwet(
    metric: str,
    data: RatingsInput,
    field: str | None,
    categories: Sequence[Any] | None,
    weights: Weights,
    weights_basis: WeightsBasis,
    single_answer_items: SingleAnswerItems,
    ci: IntervalSpec,
    level: Level | None,
) -> AgreementResult:
    prepared = cf.prepare(
        data, field=field, categories=categories, weights=weights,
        weights_basis=weights_basis, single_answer_items=single_answer_items, level=level,
    )
    details = cf.convention_details(single_answer_items, weights, weights_basis)
    caution = _ONE_CATEGORY if prepared.weights.shape[0] == 1 else None
    return cf.build_result(metric, prepared, "gwet", ci, details=details, caution=caution)
