"""The result every agreement statistic returns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class AgreementResult:
    """An agreement coefficient with its uncertainty and the counts it rests on.

    ``value`` is NaN when the coefficient is undefined for the data; ``reason`` then
    says why in plain words (one category in use, no task with two answers, ...).

    Attributes
    ----------
    metric : the coefficient's name (``krippendorff_alpha``, ``fleiss_kappa``, ...).
    value : the point estimate.
    se : standard error (analytic or bootstrap, see ``ci_method``); NaN if unknown.
    ci : ``(low, high)`` confidence interval, or None when not computed.
    ci_method : ``analytic-t``, ``analytic-normal``, ``bootstrap-percentile``,
        ``bootstrap-bca`` or ``F`` (intraclass correlations).
    confidence : the interval's confidence level.
    n_items : tasks that carry information for this coefficient (for most, tasks with
        at least two answers).
    n_annotations : answers on those tasks.
    n_annotators, n_categories : annotators and categories involved.
    level : level of measurement (``nominal``, ``ordinal``, ``interval``, ``ratio``).
    weights : weighting scheme for weighted coefficients (``unweighted``, ``linear``,
        ``quadratic``, ...), else None.
    observed, expected : the observed and chance agreement (or disagreement, for
        alpha) the value is built from, when the coefficient has them.
    reason : why ``value`` is NaN, or a caution (small sample) when it is not.
    details : extras specific to the coefficient (per-category kappas, the pair of
        annotators, ...).
    """

    metric: str
    value: float
    se: float = math.nan
    ci: tuple[float, float] | None = None
    ci_method: str | None = None
    confidence: float = 0.95
    n_items: int = 0
    n_annotations: int = 0
    n_annotators: int = 0
    n_categories: int = 0
    level: str | None = None
    weights: str | None = None
    observed: float = math.nan
    expected: float = math.nan
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def defined(self) -> bool:
        return not math.isnan(self.value)

    def with_interval(
        self, se: float, ci: tuple[float, float] | None, ci_method: str, confidence: float
    ) -> AgreementResult:
        return replace(self, se=se, ci=ci, ci_method=ci_method, confidence=confidence)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None."""
        return {
            "metric": self.metric,
            "level": self.level,
            "weights": self.weights,
            "value": _num(self.value),
            "se": _num(self.se),
            "ci": None if self.ci is None else [_num(self.ci[0]), _num(self.ci[1])],
            "ci_method": self.ci_method,
            "confidence": self.confidence,
            "n_items": self.n_items,
            "n_annotations": self.n_annotations,
            "n_annotators": self.n_annotators,
            "n_categories": self.n_categories,
            "observed": _num(self.observed),
            "expected": _num(self.expected),
            "reason": self.reason,
            "details": _jsonable(self.details),
        }


def undefined(metric: str, reason: str, **counts: Any) -> AgreementResult:
    """A result whose value is NaN, with the plain-words reason."""
    return AgreementResult(metric=metric, value=math.nan, reason=reason, **counts)


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        obj = obj.item()
    if isinstance(obj, float):
        return _num(obj)
    return obj
