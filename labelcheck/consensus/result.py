"""The result every consensus model returns, and the tie rule they share."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field as dc_field
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.consensus._responses import Responses

TiePolicy = Literal["unresolved", "reliability", "deterministic"]
TIE_POLICIES: tuple[str, ...] = get_args(TiePolicy)

#: Two posteriors (or vote shares) closer than this are a tie.  Exact ties (2 votes
#: against 2, or a symmetric posterior) differ by rounding only, far below this.
TIE_ATOL = 1e-9

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class ConsensusResult:
    """Consensus labels of one field: one row per item, one per annotator.

    Arrays are aligned with ``item_ids`` (shape ``(n_items,)``) or ``annotator_ids``
    (shape ``(n_annotators,)``); ``posterior`` has shape ``(n_items, n_categories)``
    with columns in the order of ``categories``.

    Attributes
    ----------
    method : ``majority_vote``, ``dawid_skene`` or ``mace``.
    field : the field (question) the labels answer.
    item_ids : the items (``task_id``), in order of first appearance in the table.
    categories : the field's categories (declared order, or sorted).
    codes : the consensus category of each item as a position in ``categories``;
        ``-1`` when the item is unresolved.
    confidence : the posterior probability of the chosen label (vote share for
        majority vote); for an unresolved item, the tied top value.
    tie : whether the top value was shared by two or more categories (also True
        when a tie policy then broke the tie).
    posterior : per item, the probability of each category (vote shares for
        majority vote).
    reasons : why an item is unresolved (None when it is resolved).
    n_answers : answers per item (every answer counts, repeats included).
    annotator_ids : the annotators, sorted.
    reliability : one number per annotator from the model (see ``reliability_name``);
        NaN when the model cannot say (an annotator with no resolved item).
    reliability_name : what ``reliability`` measures.
    annotator_answers : answers per annotator.
    annotator_details : per-annotator extras, each an array whose first axis is the
        annotator (a confusion matrix per annotator, MACE's spamming strategy).
    details : how the result was computed: tie policy, iterations, convergence,
        log-likelihood, parameters.
    """

    method: str
    field: str
    item_ids: pd.Index
    categories: pd.Index
    codes: IntArray
    confidence: FloatArray
    tie: BoolArray
    posterior: FloatArray
    reasons: npt.NDArray[np.object_]
    n_answers: IntArray
    annotator_ids: pd.Index
    reliability: FloatArray
    reliability_name: str
    annotator_answers: IntArray
    annotator_details: Mapping[str, npt.NDArray[Any]] = dc_field(default_factory=dict)
    details: Mapping[str, Any] = dc_field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_unresolved(self) -> int:
        return int(np.count_nonzero(self.codes < 0))

    @property
    def labels(self) -> pd.Series:
        """The consensus label of each item (None when unresolved), indexed by item id."""
        values = np.empty(self.n_items, dtype=object)
        resolved = self.codes >= 0
        cats = np.asarray(self.categories, dtype=object)
        values[resolved] = cats[self.codes[resolved]]
        values[~resolved] = None
        return pd.Series(values, index=pd.Index(self.item_ids, name="item_id"), name="label")

    def posterior_frame(self) -> pd.DataFrame:
        """``posterior`` as a frame: items x categories."""
        return pd.DataFrame(
            self.posterior,
            index=pd.Index(self.item_ids, name="item_id"),
            columns=pd.Index(self.categories, name="label"),
        )

    def items(self) -> pd.DataFrame:
        """One row per item: ``item_id``, ``label``, ``confidence``, ``tie``, one
        ``p_<label>`` column per category, ``reason`` and ``n_answers``."""
        frame = pd.DataFrame(
            {
                "item_id": np.asarray(self.item_ids, dtype=object),
                "label": self.labels.to_numpy(),
                "confidence": self.confidence,
                "tie": self.tie,
            }
        )
        for k, cat in enumerate(self.categories):
            frame[f"p_{cat}"] = self.posterior[:, k]
        frame["reason"] = self.reasons
        frame["n_answers"] = self.n_answers
        return frame

    def annotators(self) -> pd.DataFrame:
        """One row per annotator: ``annotator_id``, ``n_annotations``, ``reliability``."""
        return pd.DataFrame(
            {
                "annotator_id": np.asarray(self.annotator_ids, dtype=object),
                "n_annotations": self.annotator_answers,
                "reliability": self.reliability,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"items": [...], "annotators": [...]}`` plus ``method``,
        ``field`` and ``model`` (the ``details``).  NaN becomes None; labels keep
        their type (a multi-choice tuple becomes a list); posterior keys are the
        labels as strings."""
        cats = [_json_value(c) for c in self.categories]
        keys = [str(c) for c in cats]
        post = self.posterior.tolist()
        conf = self.confidence.tolist()
        items = []
        for i, item_id in enumerate(self.item_ids):
            code = int(self.codes[i])
            items.append(
                {
                    "item_id": str(item_id),
                    "label": cats[code] if code >= 0 else None,
                    "confidence": _num(conf[i]),
                    "tie": bool(self.tie[i]),
                    "posterior": dict(zip(keys, post[i])),
                    "reason": self.reasons[i],
                }
            )
        annotators = []
        for j, annotator_id in enumerate(self.annotator_ids):
            entry: dict[str, Any] = {
                "annotator_id": str(annotator_id),
                "n_annotations": int(self.annotator_answers[j]),
                "reliability": _num(float(self.reliability[j])),
            }
            for name, values in self.annotator_details.items():
                entry[name] = _annotator_extra(values[j], keys)
            annotators.append(entry)
        return {
            "method": self.method,
            "field": self.field,
            "items": items,
            "annotators": annotators,
            "model": _jsonable(self.details),
        }


# --- shared pieces of every model ------------------------------------------------------
def check_tie_policy(tie: str, allowed: tuple[str, ...] = TIE_POLICIES) -> None:
    if tie not in allowed:
        raise ValueError(f"tie must be one of {', '.join(allowed)}; got {tie!r}")


def top_categories(scores: FloatArray) -> tuple[IntArray, FloatArray, BoolArray, BoolArray]:
    """Per row of ``scores`` (n_items x n_categories): the first maximal column, the
    maximum, whether two or more columns share it (within :data:`TIE_ATOL`), and the
    mask of the maximal columns."""
    if scores.shape[1] == 0:
        empty = np.zeros(scores.shape[0], dtype=bool)
        return np.zeros(scores.shape[0], dtype=np.intp), np.ones(scores.shape[0]), empty, scores > 0
    best = scores.max(axis=1)
    at_top = scores >= best[:, None] - TIE_ATOL
    tie = np.count_nonzero(at_top, axis=1) > 1
    first = np.argmax(at_top, axis=1).astype(np.intp)
    return first, best, tie, at_top


def tie_reasons(at_top: BoolArray, categories: pd.Index, suffix: str = "") -> npt.NDArray[np.object_]:
    """``tie between A and B<suffix>`` for each row of ``at_top`` (rows x categories,
    True where a category shares the top value), as an object array of str."""
    reasons = np.empty(at_top.shape[0], dtype=object)
    if not len(reasons):
        return reasons
    cats = [str(c) for c in categories]
    # the distinct tie patterns are few (pairs of categories): format each once
    patterns, inverse = np.unique(at_top, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    for k, pattern in enumerate(patterns):
        tied = [c for c, on in zip(cats, pattern) if on]
        reasons[inverse == k] = "tie between " + ", ".join(tied[:-1]) + " and " + tied[-1] + suffix
    return reasons


def from_posterior(
    method: str,
    resp: Responses,
    posterior: FloatArray,
    tie: TiePolicy,
    *,
    reliability: FloatArray,
    reliability_name: str,
    annotator_details: dict[str, Any],
    details: dict[str, Any],
) -> ConsensusResult:
    """A :class:`ConsensusResult` from a posterior ``(n_items, K)``: the arg-max label,
    ties within :data:`~labelcheck.consensus.result.TIE_ATOL` resolved by ``tie``."""
    first, best, is_tie, at_top = top_categories(posterior)
    codes = first.copy()
    reasons = np.full(resp.n_tasks, None, dtype=object)
    tied = np.flatnonzero(is_tie)
    if tie == "unresolved" and len(tied):
        codes[tied] = -1
        reasons[tied] = tie_reasons(at_top[tied], resp.coded.categories, " (equal posterior)")
    details = {**details, "n_ties": int(len(tied)), "n_unresolved": int(np.count_nonzero(codes < 0))}
    return ConsensusResult(
        method=method,
        field=resp.coded.field,
        item_ids=resp.coded.task_ids,
        categories=resp.coded.categories,
        codes=codes,
        confidence=best,
        tie=is_tie,
        posterior=posterior,
        reasons=reasons,
        n_answers=answers_per(resp.task, resp.n_tasks),
        annotator_ids=resp.coded.annotator_ids,
        reliability=reliability,
        reliability_name=reliability_name,
        annotator_answers=answers_per(resp.annotator, resp.n_annotators),
        annotator_details=annotator_details,
        details=details,
    )


def answers_per(codes: IntArray, size: int) -> IntArray:
    counts: IntArray = np.bincount(codes, minlength=size).astype(np.intp)
    return counts


def _num(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else float(x)


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


def _annotator_extra(values: npt.NDArray[Any], keys: list[str]) -> Any:
    """A confusion matrix ``(K, K)`` as ``{true: {given: p}}``, a vector over
    categories as ``{label: p}``, a scalar as a number."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 2:
        return {keys[k]: {keys[l]: _num(float(arr[k, l])) for l in range(arr.shape[1])}
                for k in range(arr.shape[0])}
    if arr.ndim == 1:
        return {keys[l]: _num(float(arr[l])) for l in range(arr.shape[0])}
    return _num(float(arr))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        obj = obj.item()
    if isinstance(obj, float):
        return _num(obj)
    return obj
