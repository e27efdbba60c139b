r"""Conger's kappa: Cohen's kappa generalised to any number of identified annotators,
with Gwet's extension to missing answers and his linearised variance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from labelcheck.agreement._input import RatingsInput, Weights, WeightsBasis, as_coded
from labelcheck.agreement.cohen import DUPLICATES_RULE, AnswerCells, _weights, answer_cells
from labelcheck.agreement.intervals import (
    IntervalSpec,
    analytic_ci,
    as_interval,
    bootstrap_tasks,
)
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.errors import name_list
from labelcheck.table import Level

METRIC = "conger_kappa"
FloatArray = npt.NDArray[np.float64]
_PE_TOL = 1e-12


def conger_kappa(
    data: RatingsInput,
    *,
    field: str | None = None,
    level: Level = "nominal",
    categories: Sequence[Any] | None = None,
    weights: Weights = "unweighted",
    weights_basis: WeightsBasis = "ranks",
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Conger's kappa for two or more identified annotators, with missing answers.

    .. math:: \kappa_C = \frac{p_a - p_e}{1 - p_e}, \quad
       p_a = \frac{1}{n'} \sum_{i: r_i \ge 2} \sum_k
             \frac{r_{ik} (r^\star_{ik} - 1)}{r_i (r_i - 1)}, \quad
       p_e = \sum_{k,l} w_{kl} \Big(\bar p_{+k} \bar p_{+l} - \frac{s^2_{kl}}{r}\Big)

    :math:`r_{ik}` is the number of annotators who put task :math:`i` in category
    :math:`k`, :math:`r_i = \sum_k r_{ik}`, :math:`r^\star_{ik} = \sum_l w_{kl} r_{il}`,
    and :math:`n'` the number of tasks with at least two answers (the percent
    agreement of Fleiss).  :math:`p_{gk}` is the share of annotator :math:`g`'s
    answers in category :math:`k` over all the tasks :math:`g` answered,
    :math:`\bar p_{+k}` its mean over the :math:`r` annotators and
    :math:`s^2_{kl} = \frac{1}{r-1}\sum_g (p_{gk} - \bar p_{+k})(p_{gl} - \bar p_{+l})`
    their covariance: :math:`p_e` is the mean over annotator pairs of the Cohen-type
    chance agreement :math:`\sum_{k,l} w_{kl}\, p_{gk} p_{hl}` (Conger 1980).

    Parameters
    ----------
    data : canonical annotation table, or :class:`~labelcheck.table.CodedRatings`.
    field : the field; may be omitted when the table has one.
    level, categories, weights, weights_basis : as
        :func:`~labelcheck.agreement.cohen.cohen_kappa` (weights need an ordered
        level; ``weights_basis="values"`` reproduces irrCAC's weights).
    ci : ``"analytic"`` (Gwet's linearised variance, t quantile with ``n - 1``
        degrees of freedom), ``"bootstrap"`` (resampling tasks), an
        :class:`~labelcheck.agreement.intervals.Interval`, or None.

    Returns
    -------
    AgreementResult
        ``observed`` and ``expected`` are :math:`p_a` and :math:`p_e`; ``n_items`` is
        the number of tasks with at least one answer (all of them enter
        :math:`p_{gk}` and the variance); ``details["n_pairable_tasks"]`` is
        :math:`n'`.

    Notes
    -----
    The annotator x task rating matrix may have empty cells: each annotator's
    category shares come from the tasks that annotator answered, and :math:`p_a`
    from the tasks with two answers or more (Gwet 2014, ch. 5; the generalisation
    irrCAC's ``conger()`` and R's ``conger.kappa.raw`` implement).  An annotator who
    answered a task more than once counts with the latest answer
    (``rating_matrix(duplicates="latest")``).

    The variance is Gwet's linearisation (Gwet 2008; 2014, ch. 5):
    :math:`v = \frac{1}{n(n-1)} \sum_i (\kappa^\star_i - \kappa_C)^2` with
    :math:`\kappa^\star_i = \kappa_i - 2 (1 - \kappa_C) \frac{p_{e|i} - p_e}{1 - p_e}`,
    :math:`\kappa_i = \frac{n}{n'} \frac{p_{a|i} - p_e}{1 - p_e}` (zero-agreement
    terms for single-answer tasks), and :math:`p_{e|i}` task :math:`i`'s share of
    :math:`p_e`.  With two annotators and no missing answers Conger's kappa equals
    Cohen's kappa, and this standard error is Cohen's (Fleiss-Cohen-Everitt) times
    :math:`\sqrt{n / (n - 1)}`.

    Undefined (NaN, with a reason) with fewer than two annotators, with no task
    answered twice, and when :math:`p_e = 1` (one category in use).

    References
    ----------
    Conger, A. J. (1980). Integration and generalization of kappas for multiple
    raters. Psychological Bulletin 88(2), 322-328.
    https://doi.org/10.1037/0033-2909.88.2.322

    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
    presence of high agreement. British Journal of Mathematical and Statistical
    Psychology 61(1), 29-48. https://doi.org/10.1348/000711006X126600

    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 5 (the
    4 raters x 12 subjects dataset shipped with irrCAC as ``raw_4raters``).
    Advanced Analytics.

    Examples
    --------
    Gwet's (2014) 4 raters x 12 subjects with missing ratings (irrCAC's
    ``raw_4raters``): Conger's kappa 0.763, p_a 0.818, p_e 0.233.

    >>> from labelcheck.table import from_records
    >>> ratings = {"R1": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    ...            "R2": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, None],
    ...            "R3": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
    ...            "R4": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]}
    >>> rows = [{"task_id": i, "annotator_id": g, "label": x}
    ...         for g, xs in ratings.items() for i, x in enumerate(xs) if x is not None]
    >>> result = conger_kappa(from_records(rows))
    >>> round(result.value, 3), round(result.observed, 3), round(result.expected, 3)
    (0.763, 0.818, 0.233)
    """
    interval = as_interval(ci)
    coded = as_coded(data, field=field, level=level, categories=categories)
    w = _weights(coded, weights, weights_basis)
    cells = answer_cells(coded)
    n, r, q = coded.n_tasks, coded.n_annotators, coded.n_categories
    common: dict[str, Any] = {
        "n_categories": q,
        "level": coded.level,
        "weights": weights,
        "n_annotators": r,
        "n_annotations": len(cells.task),
    }
    details: dict[str, Any] = {
        "duplicates": DUPLICATES_RULE,
        "n_duplicates": cells.n_duplicates,
        "weights_basis": weights_basis,
    }
    if r < 2:
        who = f" ({name_list(coded.annotator_ids)})" if r else ""
        return undefined(
            METRIC,
            f'field "{coded.field}" has {r} annotator(s){who}: Conger\'s kappa needs two '
            "or more",
            n_items=n,
            details=details,
            **common,
        )
    model = _ConditionalSums(cells, n, r, q, w)
    details["n_pairable_tasks"] = int(model.pairable.sum())
    if not model.pairable.any():
        return undefined(
            METRIC,
            f'no task on field "{coded.field}" has answers from two annotators',
            n_items=n,
            details=details,
            **common,
        )
    po, pe, kappa = (float(x[0]) for x in model.coefficient(np.ones((1, n))))
    if math.isnan(kappa):
        used = name_list(str(coded.categories[int(k)]) for k in np.flatnonzero(model.agree.sum(0)))
        return undefined(
            METRIC,
            f'only category {used} is in use on field "{coded.field}": chance agreement '
            "is 1, so kappa is undefined",
            n_items=n,
            observed=po,
            expected=pe,
            details=details,
            **common,
        )
    result = AgreementResult(
        metric=METRIC, value=kappa, observed=po, expected=pe, n_items=n,
        details=details, **common,
    )
    if interval is None:
        return result
    if interval.method == "analytic":
        se = model.standard_error(po, pe, kappa)
        return result.with_interval(
            se, analytic_ci(kappa, se, n, interval), f"analytic-{interval.quantile}",
            interval.confidence,
        )

    def statistic(draws: npt.NDArray[np.int64]) -> FloatArray:
        return model.coefficient(draws.astype(np.float64))[2]

    boot = bootstrap_tasks(statistic, n, interval, kappa)
    return result.with_interval(boot.se, boot.ci, boot.method, interval.confidence)


class _ConditionalSums:
    """The per-task pieces of Conger's kappa, so that a task multiplicity vector
    (1 for the estimate, bootstrap counts for a resample) gives the coefficient
    with a few matrix products."""

    def __init__(self, cells: AnswerCells, n: int, r: int, q: int, w: FloatArray) -> None:
        self.cells, self.n, self.r, self.q, self.w = cells, n, r, q, w
        self.agree = np.bincount(cells.task * q + cells.label, minlength=n * q).reshape(n, q)
        r_i = self.agree.sum(axis=1)
        sum_q = (self.agree * (self.agree @ w.T - 1.0)).sum(axis=1)
        self.pairable = r_i >= 2
        with np.errstate(divide="ignore", invalid="ignore"):
            self.pa_i = np.where(self.pairable, sum_q / (r_i * (r_i - 1.0)), 0.0)
        # task x (annotator, category) indicator: classification counts per annotator
        self.design = _csr()(
            (np.ones(len(cells.task)), (cells.task, cells.annotator * q + cells.label)),
            shape=(n, r * q),
        )

    def coefficient(self, mult: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(p_a, p_e, kappa)`` for task multiplicities ``mult`` of shape ``(B, n)``.

        Annotators with no answer in a resample are left out of that resample's
        :math:`p_e`, as if they had not taken part."""
        r, q, w = self.r, self.q, self.w
        with np.errstate(divide="ignore", invalid="ignore"):
            pa = (mult @ self.pa_i) / (mult @ self.pairable.astype(np.float64))
            classif = np.asarray(self.design.T @ mult.T).T.reshape(-1, r, q)
            n_g = classif.sum(axis=2)
            present = n_g > 0
            r_b = present.sum(axis=1).astype(np.float64)
            p_gk = np.where(present[:, :, None], classif / n_g[:, :, None], 0.0)
            p_bar = p_gk.sum(axis=1) / r_b[:, None]
            cross = np.einsum("bgk,bgl->bkl", p_gk, p_gk)
            outer = p_bar[:, :, None] * p_bar[:, None, :]
            s2 = (cross - r_b[:, None, None] * outer) / (r_b - 1.0)[:, None, None]
            pe = np.einsum("kl,bkl->b", w, outer - s2 / r_b[:, None, None])
            ok = (r_b >= 2) & ((1.0 - pe) > _PE_TOL)
            kappa = np.where(ok, (pa - pe) / (1.0 - pe), np.nan)
        return pa, pe, kappa

    def standard_error(self, pa: float, pe: float, kappa: float) -> float:
        """Gwet's linearised standard error (irrCAC ``conger()``, finite population
        correction off)."""
        cells, n, r, w = self.cells, self.n, self.r, self.w
        if n < 2:
            return math.nan
        classif = np.asarray(self.design.sum(axis=0)).reshape(r, self.q)
        n_g = classif.sum(axis=1)
        p_gk = classif / n_g[:, None]
        p_bar = p_gk.mean(axis=0)
        # lambda_ig = sum_l A_gl [(n / n_g)(delta_igl - eps_ig p_gl) + p_gl],
        # A = (r p_bar - p_gk) W: a constant b_g per annotator plus a term per answer
        a_gl = (r * p_bar[None, :] - p_gk) @ w
        b_g = (a_gl * p_gk).sum(axis=1)
        g, lab = cells.annotator, cells.label
        per_answer = (n / n_g[g]) * (a_gl[g, lab] - b_g[g])
        lambda_i = b_g.sum() + np.bincount(cells.task, weights=per_answer, minlength=n)
        pe_i = lambda_i / (r * (r - 1.0))
        n2 = float(self.pairable.sum())
        kappa_i = (n / n2) * (self.pa_i - pe * self.pairable) / (1.0 - pe)
        kappa_star = kappa_i - 2.0 * (1.0 - kappa) * (pe_i - pe) / (1.0 - pe)
        var = float(np.sum((kappa_star - kappa) ** 2)) / (n * (n - 1.0))
        return math.sqrt(var)


def _csr() -> Any:
    """scipy.sparse.csr_matrix, imported on first use (scipy.sparse costs ~0.16 s)."""
    from scipy.sparse import csr_matrix

    return csr_matrix
