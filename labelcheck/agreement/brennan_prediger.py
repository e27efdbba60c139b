r"""Brennan and Prediger's coefficient (uniform chance agreement), weighted or not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelcheck.agreement import _count_family as cf
from labelcheck.agreement._input import RatingsInput, SingleAnswerItems, Weights, WeightsBasis
from labelcheck.agreement.intervals import IntervalSpec
from labelcheck.agreement.result import AgreementResult


def brennan_prediger(
    data: RatingsInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    weights: Weights = "unweighted",
    weights_basis: WeightsBasis = "ranks",
    single_answer_items: SingleAnswerItems = "gwet",
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Brennan-Prediger coefficient: agreement corrected for uniform chance.

    .. math:: \kappa_{BP} = \frac{p_a - p_e}{1 - p_e}, \qquad
        p_e = \frac{T_w}{K^2} = \frac{1}{K^2} \sum_{k,l} w_{kl}

    :math:`p_a` is the mean, over tasks with at least two answers, of the weighted share
    of agreeing answer pairs (see :func:`~labelcheck.agreement.fleiss_kappa`),
    :math:`K` the number of categories (the declared ones when ``categories`` is given,
    else those in use) and :math:`w` the agreement weights; unweighted,
    :math:`p_e = 1/K`.

    Parameters
    ----------
    data : canonical annotation table or :class:`~labelcheck.table.CodedRatings`;
        only the count matrix ``(n_tasks, n_categories)`` is used.
    field : the field to analyse; may be omitted when the table has one.
    categories : the declared categories: they fix :math:`K`, unused ones included.
    weights : ``unweighted``, ``linear`` or ``quadratic``; weights need ordered
        categories (numeric labels or declared ``categories``).
    weights_basis : ``ranks`` (positions 0..K-1) or ``values`` (numeric category
        values, as irrCAC).
    single_answer_items : ``gwet`` (single-answer tasks count in :math:`n`, the
        variance's number of tasks, as in irrCAC) or ``ignore``.  The point value does
        not depend on it: the chance term uses no propensities.
    ci : ``analytic`` (Gwet's variance, Student t with :math:`n-1` degrees of freedom),
        ``bootstrap``, an :class:`~labelcheck.agreement.intervals.Interval`, or None.

    Returns
    -------
    AgreementResult
        ``metric="brennan_prediger"``, ``expected`` :math:`= T_w / K^2`.

    Notes
    -----
    Also known as Bennett, Alpert & Goldstein's S (two coders), Randolph's
    free-marginal multirater kappa and statsmodels' ``fleiss_kappa(method="randolph")``.
    The value depends on :math:`K`: declare the categories so that an unused category
    still counts.  The weighted form follows Gwet (2014, ch. 3).

    Undefined (NaN with a reason) when no task has two answers or when :math:`K = 1`
    (chance agreement 1; irrCAC instead sets :math:`p_e = 10^{-15}`).  No
    finite-population correction; the interval is not truncated (irrCAC cuts it at 1).

    References
    ----------
    Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses,
    and alternatives. Educational and Psychological Measurement 41(3), 687-699.
    https://doi.org/10.1177/001316448104100307
    Randolph, J. J. (2005). Free-marginal multirater kappa. Joensuu Learning and
    Instruction Symposium. https://eric.ed.gov/?id=ED490661
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 2-3 and 5.

    Examples
    --------
    Gwet's ``cac.raw4raters`` (irrCAC README: 0.77273, se 0.14472):

    >>> from labelcheck.table import from_records
    >>> ratings = [[1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5],
    ...            [1, 1], [3]]
    >>> table = from_records([{"task_id": t, "annotator_id": a, "label": x}
    ...                       for t, row in enumerate(ratings) for a, x in enumerate(row)])
    >>> res = brennan_prediger(table)
    >>> round(res.value, 5), round(res.se, 5)
    (0.77273, 0.14472)
    """
    prepared = cf.prepare(
        data, field=field, categories=categories, weights=weights,
        weights_basis=weights_basis, single_answer_items=single_answer_items,
    )
    details = cf.convention_details(single_answer_items, weights, weights_basis)
    return cf.build_result("brennan_prediger", prepared, "uniform", ci, details=details)
