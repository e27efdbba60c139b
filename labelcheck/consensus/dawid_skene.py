"""Dawid-Skene: EM over one confusion matrix per annotator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from labelcheck.consensus._responses import (
    ConsensusInput,
    FloatArray,
    Responses,
    as_coded,
    normalise_log_rows,
    safe_log,
)
from labelcheck.consensus.result import ConsensusResult, check_tie_policy, from_posterior

ModelTiePolicy = Literal["unresolved", "deterministic"]
MODEL_TIE_POLICIES: tuple[str, ...] = ("unresolved", "deterministic")


class DawidSkene:
    r"""Dawid & Skene's (1979) latent-class model, fitted by EM.

    .. math:: P(y_{i1}, \dots, y_{in_i}) = \sum_{k} p_k
        \prod_{j} \prod_{l} \left(\pi^{(j)}_{kl}\right)^{n_{ijl}}

    :math:`p_k` is the share of items whose true class is :math:`k`,
    :math:`\pi^{(j)}_{kl}` the probability that annotator :math:`j` answers
    :math:`l` on an item of true class :math:`k` (row :math:`k` of their confusion
    matrix), and :math:`n_{ijl}` the number of times annotator :math:`j` answered
    :math:`l` on item :math:`i` (every answer counts, repeats included, as in the
    paper).  EM alternates

    * M-step (eqs. 2.3-2.4): :math:`\pi^{(j)}_{kl} \propto s + \sum_i T_{ik} n_{ijl}`
      and :math:`p_k \propto s + \sum_i T_{ik}`;
    * E-step (eq. 2.5): :math:`T_{ik} \propto p_k \prod_{j,l}
      (\pi^{(j)}_{kl})^{n_{ijl}}`, the posterior of item :math:`i`'s class,

    starting from the majority-vote shares :math:`T_{ik} = n_{ik} / n_i` (the paper's
    eq. 3.1).  :math:`s` is ``smoothing``: with :math:`s > 0` the M-step is the
    maximum a posteriori estimate under a symmetric Dirichlet(:math:`1 + s`) prior on
    every confusion row and on :math:`p`, which keeps a cell an annotator never used
    from becoming an exact 0 (and an item's posterior from being vetoed by one answer).

    Parameters
    ----------
    n_iter : the most EM iterations (one M-step and one E-step each).
    tol : convergence threshold on the increase of the objective per annotation
        (see Notes); EM stops when an iteration raises it by less than ``tol``.
    smoothing : the pseudo-count :math:`s \ge 0`; ``0`` is the paper's maximum
        likelihood estimate (crowd-kit's choice, which floors probabilities at 1e-10).
    init : ``majority_vote``: the vote shares (the only initialisation offered).
    tie : ``unresolved`` (default): an item whose top posterior is shared by two or
        more categories gets no label; ``deterministic``: the first of them in
        category order.

    Attributes
    ----------
    labels_ : pandas.Series, the consensus label per item (None if unresolved).
    posteriors_ : pandas.DataFrame, items x categories, :math:`T_{ik}`.
    confusions_ : ndarray ``(n_annotators, n_categories, n_categories)``,
        ``confusions_[j, k, l]`` = :math:`\pi^{(j)}_{kl}` (true ``k``, answered ``l``).
    priors_ : pandas.Series, :math:`p_k` per category.
    annotator_ids_, categories_, item_ids_ : the row/column labels of the above.
    log_likelihoods_ : ndarray, the observed-data log-likelihood
        :math:`\sum_i \log P(y_i)` after each iteration.
    log_posteriors_ : ndarray, the objective EM maximises: the log-likelihood plus
        the Dirichlet log prior :math:`s (\sum \log \pi + \sum \log p)` (equal to
        ``log_likelihoods_`` when ``smoothing=0``).
    n_iter_ : iterations run.  converged_ : whether ``tol`` was met before ``n_iter``.
    result_ : the :class:`~labelcheck.consensus.ConsensusResult`; annotator
        reliability is the expected accuracy :math:`\sum_k p_k \pi^{(j)}_{kk}`.

    Notes
    -----
    Convergence is judged on ``log_posteriors_``, which EM makes non-decreasing
    (Dempster, Laird & Rubin 1977, Theorem 1; for MAP-EM, their section 4.6): the
    log-likelihood alone is monotone only when ``smoothing=0``.  The increase is
    divided by the number of annotations so ``tol`` does not depend on data size (as
    crowd-kit's ``tol``, which is on its per-annotation evidence lower bound).

    One iteration costs two sparse-dense products with the
    ``(n_annotators * K) x n_items`` answer-count matrix, O(n_annotations x K).

    EM finds a local maximum; the majority-vote start makes it the one near the
    majority's answer.  An annotator whose answers are systematically permuted
    (always "B" for "A") is read as informative: Dawid-Skene can then give an item a
    label nobody gave it.

    References
    ----------
    Dawid, A. P. & Skene, A. M. (1979). Maximum likelihood estimation of observer
    error-rates using the EM algorithm. Journal of the Royal Statistical Society,
    Series C (Applied Statistics), 28(1), 20-28. https://doi.org/10.2307/2346806
    (Table 1: the anaesthetists' data, 45 patients, 5 observers, observer 1 three
    times.)

    Dempster, A. P., Laird, N. M. & Rubin, D. B. (1977). Maximum likelihood from
    incomplete data via the EM algorithm. JRSS Series B, 39(1), 1-38.
    https://doi.org/10.1111/j.2517-6161.1977.tb01600.x

    Examples
    --------
    Annotators ``a`` and ``b`` are careful, ``c`` and ``d`` always answer "y".  On
    item ``t6`` only ``a``, ``c`` and ``d`` answered: the majority says "y";
    Dawid-Skene has learnt that a "y" from ``c`` or ``d`` says nothing, and follows ``a``.

    >>> from labelcheck.table import from_records
    >>> truth = ["x", "y", "x", "y", "x", "y"]
    >>> rows = [(f"t{i}", who, lab) for i, t in enumerate(truth)
    ...         for who, lab in (("a", t), ("b", t), ("c", "y"), ("d", "y"))]
    >>> rows += [("t6", "a", "x"), ("t6", "c", "y"), ("t6", "d", "y")]
    >>> table = from_records([dict(task_id=t, annotator_id=a, label=l) for t, a, l in rows])
    >>> model = DawidSkene().fit(table)
    >>> model.labels_["t6"], round(float(model.posteriors_.loc["t6", "x"]), 3)
    ('x', 0.997)
    >>> bool(model.converged_), bool(np.all(np.diff(model.log_posteriors_) >= 0))
    (True, True)
    """

    def __init__(
        self,
        n_iter: int = 100,
        tol: float = 1e-5,
        smoothing: float = 0.01,
        init: Literal["majority_vote"] = "majority_vote",
        tie: ModelTiePolicy = "unresolved",
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing
        self.init = init
        self.tie = tie

    def _check_params(self) -> None:
        if not isinstance(self.n_iter, (int, np.integer)) or self.n_iter < 1:
            raise ValueError(f"n_iter must be an integer >= 1; got {self.n_iter!r}")
        if not (self.tol >= 0):
            raise ValueError(f"tol must be >= 0; got {self.tol!r}")
        if not (self.smoothing >= 0) or not np.isfinite(self.smoothing):
            raise ValueError(f"smoothing must be a finite number >= 0; got {self.smoothing!r}")
        if self.init != "majority_vote":
            raise ValueError(f"init must be 'majority_vote'; got {self.init!r}")
        check_tie_policy(self.tie, MODEL_TIE_POLICIES)

    def fit(
        self,
        annotations: ConsensusInput,
        *,
        field: str | None = None,
        categories: Sequence[Any] | None = None,
    ) -> DawidSkene:
        """Fit on one field of the canonical table (or its ``CodedRatings``)."""
        self._check_params()
        coded = as_coded(annotations, field=field, categories=categories)
        resp = Responses(coded)
        n_ann, k = resp.n_annotators, resp.n_categories
        s = float(self.smoothing)
        N, Nt = resp.matrix, resp.matrix_t
        T = resp.vote_shares()
        log_lik: list[float] = []
        log_post: list[float] = []
        converged = False
        for _ in range(int(self.n_iter)):
            confusions, priors = _m_step(N, T, n_ann, k, s)
            log_conf = safe_log(confusions)
            log_priors = safe_log(priors)
            # log_pi_t[j * K + l, k] = log pi^(j)_{kl}: one row per response code
            log_pi_t = log_conf.transpose(0, 2, 1).reshape(n_ann * k, k)
            T, log_norm = normalise_log_rows(Nt @ log_pi_t + log_priors)
            ll = float(log_norm.sum())
            prior_term = s * (float(log_conf.sum()) + float(log_priors.sum())) if s > 0 else 0.0
            log_lik.append(ll)
            log_post.append(ll + prior_term)
            if len(log_post) > 1 and (log_post[-1] - log_post[-2]) / resp.n_annotations < self.tol:
                converged = True
                break

        self.categories_ = coded.categories
        self.annotator_ids_ = coded.annotator_ids
        self.item_ids_ = coded.task_ids
        self.confusions_ = confusions
        self.priors_ = pd.Series(priors, index=coded.categories, name="prior")
        self.posteriors_ = pd.DataFrame(
            T, index=pd.Index(coded.task_ids, name="item_id"),
            columns=pd.Index(coded.categories, name="label"),
        )
        self.log_likelihoods_ = np.asarray(log_lik)
        self.log_posteriors_ = np.asarray(log_post)
        self.n_iter_ = len(log_lik)
        self.converged_ = converged
        accuracy = np.einsum("k,jkk->j", priors, confusions)
        self.result_ = from_posterior(
            "dawid_skene", resp, T, self.tie,
            reliability=accuracy, reliability_name="expected_accuracy",
            annotator_details={"confusion": confusions},
            details={
                "tie_policy": self.tie, "n_iter": self.n_iter_, "converged": converged,
                "max_iter": int(self.n_iter), "tol": self.tol, "smoothing": s,
                "init": self.init, "log_likelihood": log_lik[-1],
                "log_posterior": log_post[-1], "convergence_on": "log_posterior",
                "priors": dict(zip(map(str, coded.categories), priors.tolist())),
            },
        )
        self.labels_ = self.result_.labels
        return self

    def fit_predict(
        self,
        annotations: ConsensusInput,
        *,
        field: str | None = None,
        categories: Sequence[Any] | None = None,
    ) -> pd.Series:
        """Fit and return ``labels_``."""
        return self.fit(annotations, field=field, categories=categories).labels_


def dawid_skene(
    annotations: ConsensusInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    tie: ModelTiePolicy = "unresolved",
    n_iter: int = 100,
    tol: float = 1e-5,
    smoothing: float = 0.01,
) -> ConsensusResult:
    """:class:`DawidSkene` as a function returning its ``result_``."""
    model = DawidSkene(n_iter=n_iter, tol=tol, smoothing=smoothing, tie=tie)
    return model.fit(annotations, field=field, categories=categories).result_


def _m_step(N: Any, T: FloatArray, n_ann: int, k: int, s: float) -> tuple[FloatArray, FloatArray]:
    """Confusion matrices ``(n_annotators, K_true, K_given)`` and class priors from
    the posteriors ``T``; a confusion row with no weight at all is uniform."""
    # expected[j * K + l, k] = sum_i n_ijl T_ik; reshaped to [j, k_true, l_given]
    expected = np.asarray(N @ T).reshape(n_ann, k, k).transpose(0, 2, 1) + s
    totals = expected.sum(axis=2, keepdims=True)
    confusions: FloatArray = np.divide(
        expected, totals, out=np.full_like(expected, 1.0 / k), where=totals > 0
    )
    class_weight = T.sum(axis=0) + s
    priors: FloatArray = class_weight / class_weight.sum()
    return confusions, priors
