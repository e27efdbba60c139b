"""MACE: multi-annotator competence estimation (annotators who know or spam)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import digamma

from labelcheck.consensus._responses import (
    ConsensusInput,
    FloatArray,
    Responses,
    as_coded,
    normalise_log_rows,
    safe_log,
)
from labelcheck.consensus.result import ConsensusResult, check_tie_policy, from_posterior

MaceMethod = Literal["vb", "em"]
ModelTiePolicy = Literal["unresolved", "deterministic"]


@dataclass
class _Params:
    """Per annotator: weight of knowing, weight of spamming, spamming strategy
    ``(n_annotators, K)``.  Under EM ``know + spam = 1``; under VB they are the
    sub-normalised weights ``exp(E[log theta])`` and ``exp(E[log(1 - theta)])``."""

    know: FloatArray
    spam: FloatArray
    strategy: FloatArray


@dataclass
class _Fit:
    params: _Params
    posterior: FloatArray
    objective: float
    log_marginal: float
    know_counts: FloatArray
    spam_counts: FloatArray
    history: list[float]
    n_iter: int
    converged: bool


class MACE:
    r"""MACE (Hovy et al. 2013): each answer is the truth or a spammer's guess.

    .. math:: P(A_{ij} = l \mid T_i = k) = \theta_j \, [l = k]
        + (1 - \theta_j) \, \xi_{jl}

    Item :math:`i`'s true label :math:`T_i` is uniform over the :math:`K`
    categories; annotator :math:`j` knows it with probability :math:`\theta_j` (their
    *competence*) and otherwise spams, answering :math:`l` with probability
    :math:`\xi_{jl}` (their *strategy*) whatever the truth.  EM alternates

    * E-step: :math:`T_{ik} \propto \prod_{n \in i} P(A_n \mid T_i = k)` and, for each
      answer :math:`n` (annotator :math:`j`, label :math:`l`), the posterior that it
      was known, :math:`T_{il} \, \theta_j / (\theta_j + (1 - \theta_j) \xi_{jl})`;
    * M-step: :math:`\theta_j` from the expected known / spammed counts, and
      :math:`\xi_j` from the expected spammed counts per label: with ``method="em"``
      by normalising after adding ``smoothing`` to each count (the MACE program's
      ``--em``), with ``method="vb"`` (the program's default) by the variational
      Bayes update under :math:`\theta_j \sim \mathrm{Beta}(\alpha, \beta)` and
      :math:`\xi_j \sim \mathrm{Dirichlet}(\gamma)`:
      :math:`\exp(\psi(c + a) - \psi(\sum (c + a)))`, with :math:`\psi` the digamma
      function, :math:`c` the expected counts and :math:`a` the prior.

    from ``n_restarts`` random starts; the start with the best final objective wins.

    Parameters
    ----------
    n_restarts : random starts (MACE's ``--restarts``, default 10).
    n_iter : the most EM iterations per start (MACE's ``--iterations``, default 50).
    tol : a start stops early when no parameter (:math:`\theta`, :math:`\xi`) moves
        by more than ``tol`` in an iteration.
    method : ``vb`` (default, as MACE) or ``em``.
    smoothing : pseudo-count for ``method="em"``; default ``0.01 / K`` (MACE's).
    alpha, beta : Beta prior on competence (:math:`\alpha` on knowing,
        :math:`\beta` on spamming), for ``vb``; MACE's default 0.5 each.
    strategy_prior : symmetric Dirichlet prior :math:`\gamma` on the strategy, for
        ``vb``; 10, as MACE and crowd-kit.
    seed : seed of the random starts.
    tie : ``unresolved`` (default) or ``deterministic``, as for Dawid-Skene.

    Attributes
    ----------
    labels_, posteriors_ : consensus label and posterior per item.
    competence_ : pandas.Series per annotator: :math:`\theta_j` (``em``) or its
        variational posterior mean :math:`(c_\mathrm{know} + \alpha) /
        (c_\mathrm{know} + c_\mathrm{spam} + \alpha + \beta)` (``vb``).
    strategies_ : pandas.DataFrame, annotators x categories, :math:`\xi_{jl}`.
    weights_ : pandas.DataFrame, annotators x (``know``, ``spam``): the weights the
        likelihood uses, :math:`\theta_j` and :math:`1 - \theta_j` (``em``), or
        :math:`\exp E[\log \theta_j]` and :math:`\exp E[\log(1 - \theta_j)]` (``vb``,
        crowd-kit's ``spamming_`` with the columns swapped).
    log_marginal_likelihood_ : :math:`\sum_i \log \frac{1}{K} \sum_k
        \prod_{n \in i} P(A_n \mid k)` of the best start (with the VB weights, the
        quantity MACE prints).
    objectives_ : per iteration of the best start, the monotone objective under
        ``em``: the log-likelihood plus the log prior :math:`s \sum_j (\log \theta_j +
        \log(1 - \theta_j) + \sum_l \log \xi_{jl})` that ``smoothing`` :math:`s`
        implies; under ``vb``, the log marginal likelihood (not guaranteed monotone).
    n_iter_, converged_ : iterations and convergence of the best start.
    result_ : the :class:`~labelcheck.consensus.ConsensusResult` (reliability =
        competence; the strategy as a per-annotator extra).

    Notes
    -----
    Convergence is judged on the parameters, for both methods: the VB objective is
    the evidence lower bound, not the printed likelihood, so only the parameters give
    one criterion for both.  Under ``em``, ``objectives_`` is non-decreasing
    (Dempster, Laird & Rubin 1977); the tests check it.

    A repeated answer by one annotator on one item counts as another answer.  The
    consensus label is always a label some annotator gave the item (a given label gets
    a factor :math:`\ge 1` over one nobody gave).  One iteration is a few
    ``bincount`` passes over the answers, O(n_annotations + n_items x K).

    References
    ----------
    Hovy, D., Berg-Kirkpatrick, T., Vaswani, A. & Hovy, E. (2013). Learning whom to
    trust with MACE. Proceedings of NAACL-HLT 2013, 1120-1130.
    https://aclanthology.org/N13-1132

    Paun, S., Carpenter, B., Chamberlain, J., Hovy, D., Kruschwitz, U. & Poesio, M.
    (2018). Comparing Bayesian models of annotation. TACL 6, 571-585.
    https://doi.org/10.1162/tacl_a_00040

    Examples
    --------
    ``s`` answers "y" whatever the item; MACE gives it a low competence.

    >>> from labelcheck.table import from_records
    >>> truth = ["x", "y", "x", "x", "y", "x", "y", "x"]
    >>> rows = [(f"t{i}", who, lab) for i, t in enumerate(truth)
    ...         for who, lab in (("a", t), ("b", t), ("c", t), ("s", "y"))]
    >>> table = from_records([dict(task_id=t, annotator_id=a, label=l) for t, a, l in rows])
    >>> model = MACE(seed=0).fit(table)
    >>> model.labels_.tolist() == truth
    True
    >>> model.competence_.round(2).to_dict()
    {'a': 0.93, 'b': 0.93, 'c': 0.93, 's': 0.07}
    """

    def __init__(
        self,
        n_restarts: int = 10,
        n_iter: int = 50,
        tol: float = 1e-6,
        method: MaceMethod = "vb",
        smoothing: float | None = None,
        alpha: float = 0.5,
        beta: float = 0.5,
        strategy_prior: float = 10.0,
        seed: int | None = 0,
        tie: ModelTiePolicy = "unresolved",
    ) -> None:
        self.n_restarts = n_restarts
        self.n_iter = n_iter
        self.tol = tol
        self.method = method
        self.smoothing = smoothing
        self.alpha = alpha
        self.beta = beta
        self.strategy_prior = strategy_prior
        self.seed = seed
        self.tie = tie

    def _check_params(self) -> None:
        for name in ("n_restarts", "n_iter"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        if self.method not in ("vb", "em"):
            raise ValueError(f"method must be 'vb' or 'em'; got {self.method!r}")
        if not (self.tol >= 0):
            raise ValueError(f"tol must be >= 0; got {self.tol!r}")
        if self.smoothing is not None and not (self.smoothing >= 0 and np.isfinite(self.smoothing)):
            raise ValueError(f"smoothing must be a finite number >= 0; got {self.smoothing!r}")
        for name in ("alpha", "beta", "strategy_prior"):
            value = getattr(self, name)
            if not (value > 0 and np.isfinite(value)):
                raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
        check_tie_policy(self.tie, ("unresolved", "deterministic"))

    def fit(
        self,
        annotations: ConsensusInput,
        *,
        field: str | None = None,
        categories: Sequence[Any] | None = None,
    ) -> MACE:
        """Fit on one field of the canonical table (or its ``CodedRatings``)."""
        self._check_params()
        coded = as_coded(annotations, field=field, categories=categories)
        resp = Responses(coded)
        k = resp.n_categories
        smoothing = 0.01 / k if self.smoothing is None else float(self.smoothing)
        rng = np.random.default_rng(self.seed)
        best = self._fit_from(resp, _random_params(rng, resp.n_annotators, k), smoothing)
        for _ in range(int(self.n_restarts) - 1):
            fit = self._fit_from(resp, _random_params(rng, resp.n_annotators, k), smoothing)
            if fit.objective > best.objective:
                best = fit

        ids = coded.annotator_ids
        if self.method == "em":
            competence = best.params.know
        else:
            total = best.know_counts + best.spam_counts + self.alpha + self.beta
            competence = (best.know_counts + self.alpha) / total
        strategy = best.params.strategy / best.params.strategy.sum(axis=1, keepdims=True)
        self.categories_ = coded.categories
        self.annotator_ids_ = ids
        self.item_ids_ = coded.task_ids
        self.posteriors_ = pd.DataFrame(
            best.posterior, index=pd.Index(coded.task_ids, name="item_id"),
            columns=pd.Index(coded.categories, name="label"),
        )
        self.competence_ = pd.Series(competence, index=ids, name="competence")
        self.strategies_ = pd.DataFrame(strategy, index=ids, columns=coded.categories)
        self.weights_ = pd.DataFrame(
            {"know": best.params.know, "spam": best.params.spam}, index=ids
        )
        self.log_marginal_likelihood_ = best.log_marginal
        self.objectives_ = np.asarray(best.history)
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.result_ = from_posterior(
            "mace", resp, best.posterior, self.tie,
            reliability=np.asarray(competence, dtype=float), reliability_name="competence",
            annotator_details={"spam_strategy": strategy},
            details={
                "tie_policy": self.tie, "method": self.method, "n_restarts": int(self.n_restarts),
                "n_iter": best.n_iter, "max_iter": int(self.n_iter), "converged": best.converged,
                "tol": self.tol, "smoothing": smoothing if self.method == "em" else None,
                "alpha": self.alpha, "beta": self.beta, "strategy_prior": self.strategy_prior,
                "seed": self.seed, "log_marginal_likelihood": best.log_marginal,
                "convergence_on": "parameters",
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

    def _fit_from(self, resp: Responses, params: _Params, smoothing: float) -> _Fit:
        """EM from the given starting parameters."""
        history: list[float] = []
        converged = False
        posterior, log_marginal, know_n = _e_step(resp, params)
        n_iter = 0
        for n_iter in range(1, int(self.n_iter) + 1):
            know_c, spam_c, strat_c = _expected_counts(resp, know_n)
            new = self._m_step(know_c, spam_c, strat_c, smoothing)
            posterior, log_marginal, know_n = _e_step(resp, new)
            history.append(self._objective(log_marginal, new, smoothing))
            moved = max(
                float(np.max(np.abs(new.know - params.know), initial=0.0)),
                float(np.max(np.abs(new.strategy - params.strategy), initial=0.0)),
            )
            params = new
            if moved < self.tol:
                converged = True
                break
        know_c, spam_c, _ = _expected_counts(resp, know_n)
        return _Fit(params, posterior, history[-1], log_marginal, know_c, spam_c,
                    history, n_iter, converged)

    def _m_step(
        self, know_c: FloatArray, spam_c: FloatArray, strat_c: FloatArray, smoothing: float
    ) -> _Params:
        if self.method == "em":
            s = smoothing
            total = know_c + spam_c + 2 * s
            know = np.divide(know_c + s, total, out=np.full_like(total, 0.5), where=total > 0)
            strat = strat_c + s
            rows = strat.sum(axis=1, keepdims=True)
            strategy = np.divide(strat, rows, out=np.full_like(strat, 1.0 / strat.shape[1]),
                                 where=rows > 0)
            return _Params(know, 1.0 - know, strategy)
        a, b, g = self.alpha, self.beta, self.strategy_prior
        norm = digamma(know_c + spam_c + a + b)
        know = np.exp(digamma(know_c + a) - norm)
        spam = np.exp(digamma(spam_c + b) - norm)
        strategy = np.exp(digamma(strat_c + g) - digamma((strat_c + g).sum(axis=1, keepdims=True)))
        return _Params(know, spam, strategy)

    def _objective(self, log_marginal: float, params: _Params, smoothing: float) -> float:
        if self.method == "vb" or smoothing == 0:
            return log_marginal
        prior = smoothing * float(
            safe_log(params.know).sum() + safe_log(params.spam).sum()
            + safe_log(params.strategy).sum()
        )
        return log_marginal + prior


def mace(
    annotations: ConsensusInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    tie: ModelTiePolicy = "unresolved",
    **options: Any,
) -> ConsensusResult:
    """:class:`MACE` as a function returning its ``result_``; ``options`` go to
    :class:`MACE` (``n_restarts``, ``n_iter``, ``tol``, ``method``, ``seed``, ...)."""
    model = MACE(tie=tie, **options)
    return model.fit(annotations, field=field, categories=categories).result_


def _random_params(rng: np.random.Generator, n_annotators: int, k: int) -> _Params:
    """MACE's random start: values in [1, 1.5) normalised (its ``noise`` of 0.5)."""
    know_spam = rng.uniform(1.0, 1.5, size=(n_annotators, 2))
    know_spam /= know_spam.sum(axis=1, keepdims=True)
    strategy = rng.uniform(1.0, 1.5, size=(n_annotators, k))
    strategy /= strategy.sum(axis=1, keepdims=True)
    return _Params(know_spam[:, 0].copy(), know_spam[:, 1].copy(), strategy)


def _e_step(resp: Responses, params: _Params) -> tuple[FloatArray, float, FloatArray]:
    """Item posteriors, the log marginal likelihood, and per answer the posterior
    probability that the annotator knew (did not spam)."""
    j, y, k = resp.annotator, resp.label, resp.n_categories
    spam = params.spam[j] * params.strategy[j, y]  # P(answer y | spamming), per answer
    know = params.know[j]
    # log P(A_n | T = k) = log(spam_n) for k != y_n, log(spam_n + know_n) for k = y_n
    log_spam = safe_log(spam)
    bonus = safe_log(spam + know) - log_spam
    base = np.bincount(resp.task, weights=log_spam, minlength=resp.n_tasks)
    extra = np.bincount(resp.task * k + y, weights=bonus, minlength=resp.n_tasks * k)
    log_scores = base[:, None] + extra.reshape(resp.n_tasks, k) - np.log(k)
    posterior, log_norm = normalise_log_rows(log_scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_known = np.where(spam + know > 0, know / (spam + know), 0.0)
    knew = posterior[resp.task, y] * share_known
    return posterior, float(log_norm.sum()), knew


def _expected_counts(resp: Responses, knew: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Expected known and spammed answers per annotator, and spammed answers per
    (annotator, label) ``(n_annotators, K)``."""
    n_ann, k = resp.n_annotators, resp.n_categories
    spammed = 1.0 - knew
    know_c = np.bincount(resp.annotator, weights=knew, minlength=n_ann).astype(np.float64)
    spam_c = np.bincount(resp.annotator, weights=spammed, minlength=n_ann).astype(np.float64)
    strat_c = np.bincount(resp.response, weights=spammed, minlength=n_ann * k).astype(np.float64)
    return know_c, spam_c, strat_c.reshape(n_ann, k)
