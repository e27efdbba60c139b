"""Majority vote with an explicit tie policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.consensus._responses import ConsensusInput, FloatArray, Responses, as_coded
from labelcheck.consensus.result import (
    ConsensusResult,
    TiePolicy,
    answers_per,
    check_tie_policy,
    tie_reasons,
    top_categories,
)
from labelcheck.errors import InvalidInput, name_list


def majority_vote(
    annotations: ConsensusInput,
    *,
    field: str | None = None,
    categories: Sequence[Any] | None = None,
    tie: TiePolicy = "unresolved",
    reliability: Mapping[Any, float] | pd.Series | None = None,
) -> ConsensusResult:
    r"""The most frequent answer of each item, with an explicit tie policy.

    .. math:: \hat y_i = \arg\max_k n_{ik}, \qquad
        \mathrm{confidence}_i = \frac{n_{i \hat y_i}}{n_i}

    :math:`n_{ik}` is the number of answers putting item :math:`i` in category
    :math:`k` and :math:`n_i = \sum_k n_{ik}`.  Every answer counts, including an
    annotator's repeated answers on one item.  The ``posterior`` of an item is its
    vote shares :math:`n_{ik} / n_i`.

    Parameters
    ----------
    annotations : canonical annotation table (one row per answer) or
        :class:`~labelcheck.table.CodedRatings` of one field.
    field : the field; may be omitted when the table has one.
    categories : the declared categories (unused ones get share 0).
    tie : what to do when two or more categories share the most answers:

        * ``unresolved`` (default): no label; ``reason`` names the tied categories;
        * ``reliability``: the tied category whose voters have the largest summed
          reliability wins (a weighted vote restricted to the tied categories); if
          that is tied too, the item stays unresolved;
        * ``deterministic``: the tied category that comes first in the field's
          category order (declared, else sorted), as crowd-kit's ``idxmax`` does.

        ``tie`` stays True for a tie that a policy broke.
    reliability : ``{annotator_id: weight}`` for ``tie="reliability"``, one entry per
        annotator of the field.  Default: each annotator's agreement with the majority
        on the items that have a strict majority; an annotator with no such item gets
        the mean of the others.

    Returns
    -------
    ConsensusResult
        with ``reliability`` per annotator = the share of their answers equal to the
        final consensus label, over resolved items (``agreement_with_consensus``).

    Notes
    -----
    Majority vote treats all annotators alike: a careless annotator's vote weighs as
    much as a careful one's; :class:`~labelcheck.consensus.DawidSkene` and
    :class:`~labelcheck.consensus.MACE` weigh answers by estimated reliability.

    References
    ----------
    Sheng, V. S., Provost, F. & Ipeirotis, P. G. (2008). Get another label? Improving
    data quality and data mining using multiple, noisy labelers. KDD '08, 614-622.
    https://doi.org/10.1145/1401890.1401965 (majority voting as the baseline).

    Examples
    --------
    >>> from labelcheck.table import from_records
    >>> rows = [("t1", "a", "x"), ("t1", "b", "x"), ("t1", "c", "y"),
    ...         ("t2", "a", "x"), ("t2", "b", "y")]
    >>> table = from_records([dict(task_id=t, annotator_id=a, label=l) for t, a, l in rows])
    >>> result = majority_vote(table)
    >>> result.labels.tolist(), result.confidence.round(3).tolist(), result.tie.tolist()
    (['x', None], [0.667, 0.5], [False, True])
    >>> result.reasons[1]
    'tie between x and y (1 answer each)'
    """
    check_tie_policy(tie)
    coded = as_coded(annotations, field=field, categories=categories)
    resp = Responses(coded)
    counts = resp.counts.astype(np.float64)
    n_answers = counts.sum(axis=1)
    shares: FloatArray = counts / n_answers[:, None]
    first, best, is_tie, at_top = top_categories(counts)
    codes = first.copy()
    reasons = np.full(resp.n_tasks, None, dtype=object)
    tied = np.flatnonzero(is_tie)
    details: dict[str, Any] = {"tie_policy": tie, "n_ties": int(len(tied))}

    if tie == "unresolved" and len(tied):
        codes[tied] = -1
        each, which = np.unique(best[tied].astype(np.int64), return_inverse=True)
        suffix = np.array([f" ({n} answer{'s' if n != 1 else ''} each)" for n in each],
                          dtype=object)[np.asarray(which).ravel()]
        reasons[tied] = tie_reasons(at_top[tied], coded.categories) + suffix
    elif tie == "reliability" and len(tied):
        weights, source = _reliability_weights(resp, reliability, first, is_tie)
        details["reliability_source"] = source
        k = resp.n_categories
        weighted = np.bincount(
            resp.task * k + resp.label, weights=weights[resp.annotator], minlength=resp.n_tasks * k
        ).reshape(resp.n_tasks, k)
        restricted = np.where(at_top[tied], weighted[tied], -np.inf)
        winner, _, still_tied, still_top = top_categories(restricted)
        codes[tied[~still_tied]] = winner[~still_tied]
        stuck = tied[still_tied]
        codes[stuck] = -1
        reasons[stuck] = tie_reasons(
            still_top[still_tied], coded.categories,
            " (the tie persists after weighting answers by annotator reliability)",
        )
        details["n_broken_by_reliability"] = int(np.count_nonzero(~still_tied))

    details["n_unresolved"] = int(np.count_nonzero(codes < 0))
    return ConsensusResult(
        method="majority_vote",
        field=coded.field,
        item_ids=coded.task_ids,
        categories=coded.categories,
        codes=codes,
        confidence=shares[np.arange(resp.n_tasks), first],
        tie=is_tie,
        posterior=shares,
        reasons=reasons,
        n_answers=n_answers.astype(np.intp),
        annotator_ids=coded.annotator_ids,
        reliability=agreement_with(resp, codes),
        reliability_name="agreement_with_consensus",
        annotator_answers=answers_per(resp.annotator, resp.n_annotators),
        details=details,
    )


def agreement_with(resp: Responses, codes: npt.NDArray[Any]) -> FloatArray:
    """Per annotator, the share of their answers on resolved items that equal the
    item's consensus code (NaN for an annotator with no answer on a resolved item)."""
    on_resolved = codes[resp.task] >= 0
    hits = (resp.label == codes[resp.task]) & on_resolved
    n = np.bincount(resp.annotator, weights=on_resolved, minlength=resp.n_annotators)
    agree = np.bincount(resp.annotator, weights=hits, minlength=resp.n_annotators)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(n > 0, agree / np.where(n > 0, n, 1), np.nan)
    return out


def _reliability_weights(
    resp: Responses,
    reliability: Mapping[Any, float] | pd.Series | None,
    first: npt.NDArray[Any],
    is_tie: npt.NDArray[Any],
) -> tuple[FloatArray, str]:
    ids = resp.coded.annotator_ids
    if reliability is not None:
        given = pd.Series(reliability, dtype=float)
        given.index = given.index.map(str)
        missing = [a for a in ids if str(a) not in given.index]
        if missing:
            raise InvalidInput(
                f'tie="reliability": no reliability for annotator(s) {name_list(missing)} '
                f'of field "{resp.coded.field}"; give one weight per annotator'
            )
        values = given.reindex([str(a) for a in ids]).to_numpy(dtype=float)
        bad = [str(a) for a, v in zip(ids, values) if not np.isfinite(v) or v < 0]
        if bad:
            raise InvalidInput(
                f"reliability must be a finite number >= 0; annotator(s) {name_list(bad)} "
                "have another value"
            )
        return values, "given"
    codes = np.where(is_tie, -1, first)
    estimated = agreement_with(resp, codes)
    known = np.isfinite(estimated)
    fill = float(estimated[known].mean()) if known.any() else 1.0
    return np.where(known, estimated, fill), "agreement_with_strict_majority"
