r"""Fleiss' kappa (multi-annotator Scott's pi), with Gwet's variance and missing answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelcheck.agreement import _count_family as cf
from labelcheck.agreement._input import RatingsInput, SingleAnswerItems, Weights, WeightsBasis
from labelcheck.agreement.intervals import IntervalSpec
from labelcheck.agreement.result import AgreementResult


def fleiss_kappa(
    data: RatingsInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    weights: Weights = "unweighted",
    weights_basis: WeightsBasis = "ranks",
    single_answer_items: SingleAnswerItems = "gwet",
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Fleiss' kappa for any number of answers per task (Gwet's generalisation).

    .. math:: \kappa = \frac{p_a - p_e}{1 - p_e}, \qquad
        p_e = \sum_{k,l} w_{kl} \, \pi_k \pi_l, \qquad
        \pi_k = \frac{1}{n} \sum_{i=1}^{n} \frac{n_{ik}}{r_i}

    :math:`p_a` is the mean, over the :math:`n'` tasks with at least two answers, of
    the share of agreeing answer pairs on a task,
    :math:`\sum_k n_{ik}(n^\star_{ik} - 1) / (r_i (r_i - 1))` with
    :math:`n^\star_{ik} = \sum_l w_{kl} n_{il}`; :math:`n_{ik}` is the number of answers
    putting task :math:`i` in category :math:`k`, :math:`r_i` the answers on task
    :math:`i`, :math:`\pi_k` the propensity of category :math:`k` and :math:`w` the
    agreement weights (the identity when unweighted).  With the same number of answers
    on every task this is Fleiss' (1971) kappa exactly.

    Parameters
    ----------
    data : canonical annotation table (one row per answer) or
        :class:`~labelcheck.table.CodedRatings`; only the count matrix
        ``(n_tasks, n_categories)`` is used, so annotator identity does not matter.
    field : the field to analyse; may be omitted when the table has one.
    categories : the declared categories (in order, for weighted kappa).
    weights : ``unweighted``, ``linear`` or ``quadratic`` agreement weights; weighted
        kappa needs ordered categories (numeric labels or declared ``categories``).
    weights_basis : ``ranks`` (category positions 0..K-1, as R irr, SAS and
        scikit-learn) or ``values`` (numeric category values, as irrCAC).
    single_answer_items : ``gwet`` (tasks with one answer count in :math:`\pi_k` and in
        :math:`n`, as Gwet and irrCAC) or ``ignore`` (dropped entirely, as
        Krippendorff's alpha does).
    ci : ``analytic`` (Gwet's variance, Student t with :math:`n - 1` degrees of
        freedom; ``Interval(quantile="normal")`` for the normal), ``bootstrap``
        (tasks resampled; ``Interval(method="bootstrap", bootstrap="bca")`` for BCa),
        an :class:`~labelcheck.agreement.intervals.Interval`, or None.

    Returns
    -------
    AgreementResult
        ``metric="fleiss_kappa"``; ``observed`` is :math:`p_a`, ``expected``
        :math:`p_e`; ``n_items`` counts tasks with at least two answers and
        ``n_annotations`` the answers on them.  When unweighted, ``details`` holds
        ``category_kappas``: Fleiss' per-category kappas (see
        :func:`fleiss_category_kappas`).

    Notes
    -----
    Fleiss (1971) generalised Scott's (1955) pi, not Cohen's kappa, to many annotators:
    chance agreement comes from the pooled category shares.  Artstein & Poesio (2008)
    call it multi-pi; :func:`scott_pi` is the same number under its own name.

    Missing answers: tasks may have any number of answers; repeated answers by one
    annotator count as separate answers.  Tasks with a single answer carry no pair; by
    default they still inform :math:`\pi_k` (Gwet 2014, ch. 2).

    Undefined (NaN with a reason) when no task has two answers or when only one
    category is in use (:math:`p_e = 1`).

    The variance is Gwet's (2008) linearisation, valid without assuming the annotators
    independent; it is not Fleiss' (1971) variance under the null hypothesis of no
    agreement (R irr's z test).  No finite-population correction is applied, and the
    interval is not truncated at 0 or 1 (irrCAC cuts it at 1).

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    Psychological Bulletin 76(5), 378-382. https://doi.org/10.1037/h0031619
    Scott, W. A. (1955). Reliability of content analysis: the case of nominal scale
    coding. Public Opinion Quarterly 19(3), 321-325. https://doi.org/10.1086/266577
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
    presence of high agreement. Br J Math Stat Psychol 61(1), 29-48.
    https://doi.org/10.1348/000711006X126600
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 2 and 5.
    Artstein, R., & Poesio, M. (2008). Inter-coder agreement for computational
    linguistics. Computational Linguistics 34(4), 555-596.
    https://doi.org/10.1162/coli.07-034-R2

    Examples
    --------
    Gwet's 12 subjects rated by 4 raters with missing ratings (irrCAC's
    ``cac.raw4raters``; irrCAC README: kappa 0.76117, se 0.15302):

    >>> from labelcheck.table import from_records
    >>> ratings = [[1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...            [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5],
    ...            [1, 1], [3]]
    >>> table = from_records([{"task_id": t, "annotator_id": a, "label": x}
    ...                       for t, row in enumerate(ratings) for a, x in enumerate(row)])
    >>> res = fleiss_kappa(table)
    >>> round(res.value, 5), round(res.se, 5)
    (0.76117, 0.15302)

    Fleiss' (1971) 30 patients, 6 psychiatrists each (kappa .430; R
    ``irr::kappam.fleiss(diagnoses)`` gives 0.4302445):

    >>> rows = ("444444 222555 233335 555555 222444 113333 333355 113334 114444 555555 "
    ...         "144444 124444 222333 144444 224445 333335 111455 111112 224444 133555 "
    ...         "555555 244444 224555 114444 144445 222224 111155 224444 133333 555555")
    >>> table = from_records([{"task_id": t, "annotator_id": a, "label": int(x)}
    ...                       for t, row in enumerate(rows.split())
    ...                       for a, x in enumerate(row)])
    >>> round(fleiss_kappa(table).value, 7)
    0.4302445
    """
    prepared = cf.prepare(
        data, field=field, categories=categories, weights=weights,
        weights_basis=weights_basis, single_answer_items=single_answer_items,
    )
    details = cf.convention_details(single_answer_items, weights, weights_basis)
    if weights == "unweighted":
        values = cf.one_vs_rest_fleiss(prepared.counts)
        details["category_kappas"] = {
            str(cat): float(v) for cat, v in zip(prepared.coded.categories, values)
        }
    return cf.build_result("fleiss_kappa", prepared, "fleiss", ci, details=details)


def scott_pi(
    data: RatingsInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    weights: Weights = "unweighted",
    weights_basis: WeightsBasis = "ranks",
    single_answer_items: SingleAnswerItems = "gwet",
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Scott's pi generalised to many annotators: the same number as Fleiss' kappa.

    .. math:: \pi = \frac{p_a - p_e}{1 - p_e}, \qquad
        p_e = \sum_{k,l} w_{kl} \, \pi_k \pi_l

    with :math:`p_a` the mean share of agreeing answer pairs over tasks with at least
    two answers and :math:`\pi_k` the mean share of category :math:`k` over tasks (see
    :func:`fleiss_kappa`, which documents every parameter).  Scott (1955) defined it for
    two coders; Fleiss (1971) generalised it to many, and Artstein & Poesio (2008) call
    the generalisation multi-pi.  For two annotators who answered every task it is
    Scott's pi exactly.

    Parameters
    ----------
    data, field, categories, weights, weights_basis, single_answer_items, ci :
        as for :func:`fleiss_kappa`.

    Returns
    -------
    AgreementResult
        As :func:`fleiss_kappa`, with ``metric="scott_pi"``.

    Notes
    -----
    Kept as its own metric name because the literature on two coders (content
    analysis, computational linguistics) reports it as Scott's pi.

    References
    ----------
    Scott, W. A. (1955). Reliability of content analysis: the case of nominal scale
    coding. Public Opinion Quarterly 19(3), 321-325. https://doi.org/10.1086/266577
    Fleiss, J. L. (1971). Psychological Bulletin 76(5), 378-382.
    https://doi.org/10.1037/h0031619
    Artstein, R., & Poesio, M. (2008). Computational Linguistics 34(4), 555-596.
    https://doi.org/10.1162/coli.07-034-R2

    Examples
    --------
    Gwet's 15 patients rated by 6 psychiatrists (irrCAC ``distrib.6raters``, a subset of
    Fleiss 1971; irrCAC README: 0.4139265):

    >>> from labelcheck.table import from_records
    >>> counts = [[0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6],
    ...           [0, 3, 0, 3, 0], [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0],
    ...           [2, 0, 0, 4, 0], [0, 0, 0, 0, 6], [1, 0, 0, 5, 0], [1, 1, 0, 4, 0],
    ...           [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1]]
    >>> table = from_records([{"task_id": t, "annotator_id": f"r{j}", "label": k}
    ...                       for t, row in enumerate(counts)
    ...                       for k, c in enumerate(row) for j in range(c)])
    >>> round(scott_pi(table).value, 7)
    0.4139265
    """
    prepared = cf.prepare(
        data, field=field, categories=categories, weights=weights,
        weights_basis=weights_basis, single_answer_items=single_answer_items,
    )
    details = cf.convention_details(single_answer_items, weights, weights_basis)
    return cf.build_result("scott_pi", prepared, "fleiss", ci, details=details)


def fleiss_category_kappas(
    data: RatingsInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    single_answer_items: SingleAnswerItems = "gwet",
    ci: IntervalSpec = "analytic",
) -> dict[Any, AgreementResult]:
    r"""Fleiss' (1971) kappa of each category against all the others.

    .. math:: \kappa_j = 1 - \frac{\sum_i n_{ij} (m - n_{ij})}{N m (m - 1) p_j q_j}

    for :math:`N` tasks with :math:`m` answers each, :math:`n_{ij}` answers in category
    :math:`j` on task :math:`i`, :math:`p_j` the share of answers in :math:`j` and
    :math:`q_j = 1 - p_j`.  This is Fleiss' kappa of the two-category table
    (:math:`j`, not :math:`j`); with varying numbers of answers per task that
    two-category kappa is computed with Gwet's generalisation (:func:`fleiss_kappa`),
    which reduces to the formula above when :math:`m` is constant.

    Parameters
    ----------
    data, field, categories, single_answer_items, ci : as for :func:`fleiss_kappa`.

    Returns
    -------
    dict
        ``{category: AgreementResult}`` in category order, each with
        ``metric="fleiss_kappa"``, ``n_categories=2`` and ``details["category"]``.
        A category never (or always) chosen gets NaN with the reason.

    Notes
    -----
    Shows which categories annotators agree on and which they confuse; a category
    never chosen has no one-vs-rest kappa.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    Psychological Bulletin 76(5), 378-382 (per-category kappas of the diagnoses
    example: .245, .245, .520, .471, .566). https://doi.org/10.1037/h0031619

    Examples
    --------
    Fleiss' (1971) 30 patients, 6 psychiatrists each, diagnoses 1-5 (one string of six
    diagnoses per patient); Fleiss reports .245, .245, .520, .471, .566:

    >>> from labelcheck.table import from_records
    >>> rows = ("444444 222555 233335 555555 222444 113333 333355 113334 114444 555555 "
    ...         "144444 124444 222333 144444 224445 333335 111455 111112 224444 133555 "
    ...         "555555 244444 224555 114444 144445 222224 111155 224444 133333 555555")
    >>> table = from_records([{"task_id": t, "annotator_id": a, "label": int(x)}
    ...                       for t, row in enumerate(rows.split())
    ...                       for a, x in enumerate(row)])
    >>> {k: round(v.value, 3) for k, v in fleiss_category_kappas(table).items()}
    {1: 0.245, 2: 0.245, 3: 0.52, 4: 0.471, 5: 0.566}
    """
    prepared = cf.prepare(
        data, field=field, categories=categories, weights="unweighted",
        weights_basis="ranks", single_answer_items=single_answer_items,
    )
    return _category_kappas(prepared, ci)


def _category_kappas(prepared: cf.Prepared, ci: IntervalSpec) -> dict[Any, AgreementResult]:
    counts = prepared.counts
    r = counts.sum(axis=1)
    one_vs_rest = dataclasses.replace(prepared, weights=np.eye(2))
    n_annotators = cf.n_annotators_on(prepared, r >= 2) if (r >= 2).any() else 0
    out: dict[Any, AgreementResult] = {}
    for j, cat in enumerate(prepared.coded.categories):
        pair = np.stack([counts[:, j], r - counts[:, j]], axis=1)
        res = cf.build_result(
            "fleiss_kappa", one_vs_rest, "fleiss", ci, counts=pair,
            details={"category": cat, "single_answer_items": prepared.single_answer_items},
            n_annotators=n_annotators,
        )
        if not res.defined and res.n_items and not np.isnan(res.expected):
            used = bool(counts[:, j].any())
            res = dataclasses.replace(
                res,
                reason=f"category {cat} is {'always' if used else 'never'} chosen, so its "
                "one-vs-rest kappa is undefined",
            )
        out[cat] = res
    return out
