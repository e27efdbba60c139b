r"""Krippendorff's alpha for any number of annotators, missing answers and any metric.

The coefficient is computed from the coincidence matrix, built from the task x
category count matrix by one matrix product (Krippendorff 2011, sec. "C"; 2019,
ch. 12).  Everything else (observed and expected disagreement, Gwet's standard
error, the item bootstrap) runs on the *distinct* count rows of the pairable tasks,
so its cost depends on the number of count patterns, not on the number of tasks.

Large numbers of distinct values
--------------------------------
The dense route holds a ``(n_units, K)`` count matrix and a ``(K, K)`` coincidence
matrix.  When ``K`` exceeds :data:`MAX_CATEGORIES` (or ``n_units x K`` exceeds
:data:`MAX_COUNT_CELLS`), nominal, ordinal and interval alpha switch to a
*unit-sum* route that needs ``O(n_annotations)`` memory: for the squared-difference
metrics :math:`\delta_{ck} = (z_c - z_k)^2` (interval: ``z`` = the values; ordinal:
``z`` = the mid-ranks of the pairable marginals, see :func:`_ordinal_scores`),

.. math:: \sum_{c,k} n_{uc} n_{uk} \delta_{ck} = 2 m_u \sum_c n_{uc} z_c^2
          - 2 \Big(\sum_c n_{uc} z_c\Big)^2,

and for nominal :math:`\sum_{c \ne k} n_{uc} n_{uk} = m_u^2 - \sum_c n_{uc}^2`.
Ratio alpha and custom distances need the ``(K, K)`` distance matrix and stop with
a clear :class:`~labelcheck.errors.InvalidInput` above that limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from labelcheck.agreement._input import RatingsInput, as_coded
from labelcheck.agreement.intervals import (
    IntervalSpec,
    analytic_ci,
    as_interval,
    bootstrap_patterns,
    bootstrap_tasks,
    count_patterns,
)
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.errors import InvalidInput, name_list
from labelcheck.table import LEVELS, CodedRatings, Level, compact_codes, n_distinct

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

METRIC = "krippendorff_alpha"
#: Most categories (distinct values in use) for the dense ``(K, K)`` coincidence route.
MAX_CATEGORIES = 1000
#: Most cells of the dense ``(n_units, K)`` count matrix.
MAX_COUNT_CELLS = 30_000_000
#: Most ``B x K x K`` cells a bootstrap statistic materialises at once.
_BOOT_CELLS = 4_000_000

ONE_LABEL = "only one label in use: alpha needs variation"
NO_PAIRABLE = "no task has two or more answers: alpha needs pairable values"


class DistanceFunction(Protocol):
    r"""A difference function :math:`\delta(c, k)` between category values.

    Called once as ``distance(values[:, None], values[None, :])`` with the
    categories' values (numbers for numeric fields, else the labels themselves as
    an object array) and must return the ``(K, K)`` matrix of disagreements:
    non-negative, symmetric, zero on the diagonal, like Krippendorff's squared
    differences.  Write it as a broadcasting numpy expression, e.g.
    ``lambda a, b: np.abs(a - b)``.
    """

    def __call__(
        self, values_k: npt.NDArray[Any], values_l: npt.NDArray[Any], /
    ) -> npt.ArrayLike: ...


Distance = npt.ArrayLike | DistanceFunction


def krippendorff_alpha(
    data: RatingsInput,
    *,
    field: str | None = None,
    level: Level = "nominal",
    categories: Sequence[Any] | None = None,
    distance: Distance | None = None,
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Krippendorff's alpha reliability coefficient.

    .. math:: \alpha = 1 - \frac{D_o}{D_e}, \qquad
              D_o = \frac{1}{n_{\cdot\cdot}} \sum_{c,k} o_{ck}\,\delta_{ck}, \qquad
              D_e = \frac{1}{n_{\cdot\cdot}(n_{\cdot\cdot}-1)}
                    \sum_{c,k} n_c\,(n_k - [c=k])\,\delta_{ck}

    :math:`o_{ck} = \sum_u n_{uc}(n_{uk} - [c=k]) / (m_u - 1)` is the coincidence
    matrix, summed over the pairable units (tasks with :math:`m_u \ge 2` answers),
    :math:`n_{uc}` the answers putting unit :math:`u` in category :math:`c`,
    :math:`n_c = \sum_k o_{ck}` the pairable values of :math:`c`,
    :math:`n_{\cdot\cdot}` all pairable values and :math:`\delta_{ck}` the squared
    difference of the level of measurement (Krippendorff 2011):

    - nominal: :math:`\delta_{ck} = [c \ne k]`;
    - ordinal: :math:`\delta_{ck} = (\sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2`, categories
      in their declared (or numeric) order;
    - interval: :math:`(x_c - x_k)^2`;
    - ratio: :math:`((x_c - x_k)/(x_c + x_k))^2` (0 when both are 0).

    Parameters
    ----------
    data : canonical annotation table, or :class:`~labelcheck.table.CodedRatings`.
    field : the field to use; may be omitted when the table has one.
    level : ``nominal``, ``ordinal``, ``interval`` or ``ratio``.
    categories : declared categories in order (needed for ordinal string labels).
    distance : a custom difference function instead of the level's: an array of
        shape ``(n_categories, n_categories)`` over the declared categories, or a
        :class:`DistanceFunction`.  Only its ratios matter (alpha is scale free).
    ci : ``"analytic"`` (Gwet's standard error, t quantile), ``"bootstrap"``
        (item bootstrap over tasks), an :class:`~labelcheck.agreement.Interval`,
        or None.

    Returns
    -------
    AgreementResult
        ``value`` alpha; ``observed`` :math:`D_o`; ``expected`` :math:`D_e`;
        ``n_items`` the pairable tasks; ``n_annotations`` :math:`n_{\cdot\cdot}`.

    Notes
    -----
    Tasks with a single answer carry no information about agreement and are left
    out, as alpha defines.  Every answer counts, including repeated answers by one
    annotator on one task.  Alpha is undefined (NaN with a reason) when no task has
    two answers or when only one value is in use (:math:`D_e = 0`).

    *Analytic interval.*  Gwet (2014, ch. 5; his R/Python ``irrCAC`` package,
    ``krippen.alpha.raw``) writes alpha as :math:`(p_a - p_e)/(1 - p_e)` with
    agreement weights :math:`1 - \delta_{ck}/\max\delta` and linearises it over
    units; the variance is :math:`\frac{1}{n(n-1)}\sum_u (\alpha^\star_u -
    \alpha')^2` and the interval uses Student's t with :math:`n - 1` degrees of
    freedom, :math:`n` the pairable tasks.  The ordinal metric is held fixed at its
    observed marginals.  Unlike ``irrCAC``, the upper end is not cut at 1.

    *Bootstrap.*  Tasks are resampled with replacement (the item bootstrap of
    :mod:`labelcheck.agreement.intervals`); the coincidences are linear in how often
    each distinct count row is drawn, so all resamples are computed at once, and
    the ordinal metric is recomputed from each resample's marginals.  This is not
    Hayes & Krippendorff's (2007) algorithm: their macro keeps the units fixed and
    resamples *pairs of values* from the observed coincidences, approximating the
    sampling distribution of alpha under the observed disagreement; the item
    bootstrap instead treats the tasks as a sample from a population of tasks and
    generalises to new tasks.  Its intervals are usually a little wider.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
    School for Communication, University of Pennsylvania.
    https://repository.upenn.edu/asc_papers/43 (worked example, pp. 5-9).
    Krippendorff, K. (2019). Content Analysis: An Introduction to Its Methodology,
    4th ed., ch. 12. SAGE. https://doi.org/10.4135/9781071878781
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 5.
    Advanced Analytics.
    Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a standard
    reliability measure for coding data. Communication Methods and Measures 1(1),
    77-89. https://doi.org/10.1080/19312450709336664

    Examples
    --------
    Krippendorff's (2011) example: 4 observers, 12 units, values 1-5, missing data.

    >>> from labelcheck.table import from_records
    >>> nan = float("nan")
    >>> rows = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> table = from_records(
    ...     [{"task_id": u, "annotator_id": o, "label": v}
    ...      for o, row in enumerate(rows) for u, v in enumerate(row) if v == v])
    >>> for level in ("nominal", "ordinal", "interval", "ratio"):
    ...     print(level, round(krippendorff_alpha(table, level=level).value, 3))
    nominal 0.743
    ordinal 0.815
    interval 0.849
    ratio 0.797
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    interval = as_interval(ci)
    coded = as_coded(data, field=field, level=level, categories=categories)
    base: dict[str, Any] = {"level": level, "n_categories": coded.n_categories}
    if distance is not None:
        base["weights"] = "custom"

    m_all = np.bincount(coded.task, minlength=coded.n_tasks)
    keep = m_all[coded.task] >= 2
    if not keep.any():
        return undefined(METRIC, NO_PAIRABLE, **base)
    task_codes = coded.task[keep]
    label_codes = coded.label[keep]
    used, code = compact_codes(label_codes, coded.n_categories)
    unit_ids, unit = compact_codes(task_codes, coded.n_tasks)
    code = code.astype(np.int64, copy=False)
    unit = unit.astype(np.int64, copy=False)
    n_units, n_values, k_used = len(unit_ids), int(code.size), len(used)
    base.update(
        n_items=n_units,
        n_annotations=n_values,
        n_annotators=n_distinct(coded.annotator[keep], coded.n_annotators),
        details={"n_categories_used": k_used, "n_single_answer_tasks": int(np.sum(m_all == 1))},
    )
    if k_used < 2:
        return undefined(METRIC, ONE_LABEL, **base)

    values = _category_values(coded, level, used)
    if distance is not None:
        delta = _custom_distance(distance, coded, used, k_used)
    else:
        delta = None
    dense = k_used <= MAX_CATEGORIES and n_units * k_used <= MAX_COUNT_CELLS
    if dense:
        counts = np.bincount(unit * k_used + code, minlength=n_units * k_used)
        patterns, freq = count_patterns(counts.reshape(n_units, k_used))
        model: _Model = _PatternModel(patterns, freq.astype(np.float64), level, values, delta)
    elif delta is None and level in ("nominal", "ordinal", "interval"):
        model = _UnitModel(unit, code, n_units, k_used, level, values)
    else:
        what = "a custom distance" if delta is not None else f"{level} alpha"
        raise InvalidInput(
            f'field "{coded.field}": {what} over {k_used} distinct values would need a '
            f"{k_used} x {k_used} distance matrix, more than this implementation builds "
            f"({MAX_CATEGORIES} values, {MAX_COUNT_CELLS:,} count cells); "
            'bin or round the values, or use level="interval"'
        )

    point = model.point()
    details = dict(base.pop("details"))
    details["route"] = "coincidences" if dense else "unit-sums"
    if isinstance(model, _PatternModel) and k_used <= 50:
        details["coincidences"] = model.coincidences().tolist()
        details["coincidence_categories"] = [_plain(c) for c in coded.categories[used]]
    if point.d_e <= 0:
        reason = ONE_LABEL if point.n_used < 2 else (
            "expected disagreement is 0: the distance gives every pair of values in use "
            "a difference of 0"
        )
        return undefined(METRIC, reason, details=details, **base)
    value = 1.0 - point.d_o / point.d_e
    result = AgreementResult(
        metric=METRIC, value=value, observed=point.d_o, expected=point.d_e,
        details=details, **base,
    )
    if interval is None:
        return result
    if interval.method == "analytic":
        se = model.gwet_se()
        return result.with_interval(
            se, analytic_ci(value, se, n_units, interval),
            f"analytic-{interval.quantile}", interval.confidence,
        )
    boot = model.bootstrap(interval, value)
    details["n_boot_valid"] = boot.n_valid
    return result.with_interval(boot.se, boot.ci, boot.method, interval.confidence)


# --- metrics -------------------------------------------------------------------------
def _category_values(coded: CodedRatings, level: Level, used: npt.NDArray[Any]) -> FloatArray:
    """Values ``x_c`` of the categories in use (interval, ratio) or their ranks."""
    if level in ("interval", "ratio"):
        if coded.values is None:
            raise InvalidInput(
                f'field "{coded.field}" is {level} but its categories are not numbers; '
                f"found {name_list(coded.categories[:10])}"
            )
        x: FloatArray = np.asarray(coded.values, dtype=np.float64)[used]
        if level == "ratio" and (x < 0).any():
            raise InvalidInput(
                f'field "{coded.field}": ratio alpha needs values >= 0 (a true zero); '
                f"found {name_list(x[x < 0])}"
            )
        return x
    return np.arange(len(used), dtype=np.float64)


def _ordinal_scores(n_c: FloatArray) -> FloatArray:
    r"""Mid-ranks :math:`z_c = \sum_{g \le c} n_g - n_c/2` along the last axis, so
    that Krippendorff's ordinal :math:`\delta_{ck} = (z_k - z_c)^2`."""
    return np.asarray(np.cumsum(n_c, axis=-1) - n_c / 2.0, dtype=np.float64)


def _distance_matrix(level: Level, x: FloatArray) -> FloatArray:
    if level == "nominal":
        return np.asarray(1.0 - np.eye(len(x)), dtype=np.float64)
    if level == "interval":
        return np.asarray((x[:, None] - x[None, :]) ** 2, dtype=np.float64)
    if level == "ratio":
        num, den = x[:, None] - x[None, :], x[:, None] + x[None, :]
        ratio = np.divide(num, den, out=np.zeros_like(num), where=den != 0)
        return np.asarray(ratio**2, dtype=np.float64)
    raise ValueError(f"no fixed distance matrix for level {level!r}")  # ordinal: per marginals


def _custom_distance(
    distance: Distance, coded: CodedRatings, used: npt.NDArray[Any], k_used: int
) -> FloatArray:
    k = coded.n_categories
    if callable(distance):
        vals = coded.values if coded.values is not None else coded.categories.to_numpy()
        v = np.asarray(vals)[used]
        d = np.asarray(distance(v[:, None], v[None, :]), dtype=np.float64)
        expected_shape = (k_used, k_used)
    else:
        full = np.asarray(distance, dtype=np.float64)
        if full.shape != (k, k):
            raise ValueError(
                f"distance must have shape ({k}, {k}), one row and column per category "
                f"({name_list(coded.categories)}); got {full.shape}"
            )
        d = full[np.ix_(used, used)]
        expected_shape = d.shape
    if d.shape != expected_shape:
        raise ValueError(f"distance function returned shape {d.shape}; expected {expected_shape}")
    if not np.isfinite(d).all() or (d < 0).any():
        raise ValueError("distance must be finite and non-negative")
    if not np.allclose(d, d.T) or np.any(np.diag(d) != 0):
        raise ValueError("distance must be symmetric with zeros on the diagonal")
    return d


# --- the two computational routes ----------------------------------------------------
@dataclass(frozen=True)
class _Point:
    d_o: float
    d_e: float
    n_used: int


class _Model(Protocol):
    def point(self) -> _Point: ...
    def gwet_se(self) -> float: ...
    def bootstrap(self, interval: Any, point: float) -> Any: ...


def _gwet_se(
    m: FloatArray, q: FloatArray, e: FloatArray, freq: FloatArray, d_pi: float
) -> float:
    r"""Gwet's (2014, ch. 5) linearised standard error of alpha.

    Per unit (or count pattern, weighted by ``freq``): ``m`` answers, ``q`` the
    within-unit disagreement :math:`\sum_{c,k} n_{uc} n_{uk} \delta_{ck}`, ``e``
    :math:`\sum_c n_{uc} (\delta \pi)_c`; ``d_pi`` is :math:`\pi^\top \delta \pi`.
    Written with disagreements, i.e. Gwet's weights :math:`1 - \delta`; the result
    does not depend on the scale of :math:`\delta`."""
    n = float(freq.sum())
    if n < 2 or d_pi <= 0:
        return math.nan
    n_tot = float(freq @ m)
    r_bar = n_tot / n
    d_o = float(freq @ (q / (m - 1))) / n_tot
    pa = 1.0 - (1.0 - 1.0 / n_tot) * d_o
    pe = 1.0 - d_pi
    alpha_prime = 1.0 - d_o / d_pi
    pa_u = m / r_bar - q / (r_bar * (m - 1)) - pa * (m - r_bar) / r_bar
    alpha_u = (pa_u - pe) / d_pi
    pe_u = (m - e) / r_bar - pe * (m - r_bar) / r_bar
    alpha_star = alpha_u - 2.0 * (1.0 - alpha_prime) * (pe_u - pe) / d_pi
    var = float(freq @ (alpha_star - alpha_prime) ** 2) / (n * (n - 1))
    return math.sqrt(var)


def _squared_de(n_c: FloatArray, z: FloatArray) -> FloatArray:
    """``sum_{c,k} n_c n_k (z_c - z_k)^2`` along the last axis."""
    total = n_c.sum(axis=-1)
    s1 = (n_c * z).sum(axis=-1)
    s2 = (n_c * z * z).sum(axis=-1)
    return np.asarray(2.0 * total * s2 - 2.0 * s1**2, dtype=np.float64)


class _PatternModel:
    """Dense route: distinct count rows ``patterns (P, K)`` seen ``freq (P,)`` times."""

    def __init__(
        self, patterns: IntArray, freq: FloatArray, level: Level, values: FloatArray,
        delta: FloatArray | None,
    ) -> None:
        self.patterns, self.freq, self.level = patterns, freq, level
        self.m = patterns.sum(axis=1).astype(np.float64)
        self.n_c = freq @ patterns.astype(np.float64)
        self.n_tot = float(self.n_c.sum())
        if delta is not None:
            self.delta: FloatArray = delta
        elif level == "ordinal":
            z = _ordinal_scores(self.n_c)
            self.delta = np.asarray((z[:, None] - z[None, :]) ** 2, dtype=np.float64)
        else:
            self.delta = _distance_matrix(level, values)
        self.fixed = delta is not None or level != "ordinal"

    def coincidences(self) -> FloatArray:
        """``o = N^T diag(f / (m - 1)) N - diag(sum_u n_uc / (m_u - 1))``."""
        p = self.patterns.astype(np.float64)
        w = self.freq / (self.m - 1.0)
        return np.asarray(p.T @ (p * w[:, None]) - np.diag(w @ p), dtype=np.float64)

    def _q(self) -> FloatArray:
        p = self.patterns.astype(np.float64)
        return np.asarray(np.einsum("pk,pk->p", p @ self.delta, p), dtype=np.float64)

    def point(self) -> _Point:
        d_o = float(np.sum(self.coincidences() * self.delta)) / self.n_tot
        d_e = float(self.n_c @ self.delta @ self.n_c) / (self.n_tot * (self.n_tot - 1.0))
        return _Point(d_o, d_e, int(np.sum(self.n_c > 0)))

    def gwet_se(self) -> float:
        pi = self.n_c / self.n_tot
        d_pi = float(pi @ self.delta @ pi)
        e = self.patterns.astype(np.float64) @ (self.delta @ pi)
        return _gwet_se(self.m, self._q(), e, self.freq, d_pi)

    def statistic(self, patterns: IntArray, weights: FloatArray) -> FloatArray:
        """Alpha for each row of ``weights (B, P)``: coincidences are linear in them."""
        p = patterns.astype(np.float64)
        inv = 1.0 / (p.sum(axis=1) - 1.0)
        out = np.empty(weights.shape[0])
        step = max(1, _BOOT_CELLS // max(p.shape[1] ** 2, p.shape[0], 1))
        q_fixed = self._q() * inv if self.fixed else None
        for s in range(0, weights.shape[0], step):
            w = weights[s : s + step]
            n_c = w @ p  # (b, K): marginals of each resample's coincidences
            n_tot = n_c.sum(axis=1)
            if q_fixed is not None:
                num_o = w @ q_fixed
                num_e = np.einsum("bk,bk->b", n_c @ self.delta, n_c)
            else:  # ordinal: the metric follows each resample's marginals
                z = _ordinal_scores(n_c)
                s1, s2 = p @ z.T, p @ (z * z).T  # (P, b)
                q = 2.0 * p.sum(axis=1)[:, None] * s2 - 2.0 * s1**2
                num_o = np.einsum("bp,pb->b", w, q * inv[:, None])
                num_e = _squared_de(n_c, z)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[s : s + step] = 1.0 - (num_o / n_tot) / (num_e / (n_tot * (n_tot - 1.0)))
        out[~np.isfinite(out)] = np.nan
        return out

    def bootstrap(self, interval: Any, point: float) -> Any:
        return bootstrap_patterns(
            self.statistic, self.patterns, self.freq.astype(np.int64), interval, point
        )


class _UnitModel:
    """Unit-sum route for many distinct values: per-unit sums, no ``(K, K)`` matrix."""

    def __init__(
        self, unit: IntArray, code: IntArray, n_units: int, k: int, level: Level,
        values: FloatArray,
    ) -> None:
        self.unit, self.code, self.n_units, self.k, self.level = unit, code, n_units, k, level
        self.m = np.bincount(unit, minlength=n_units).astype(np.float64)
        self.n_c = np.bincount(code, minlength=k).astype(np.float64)
        self.n_tot = float(self.n_c.sum())
        self.values = values
        self.counts = _csr()(
            (np.ones(code.size), (unit, code)), shape=(n_units, k), dtype=np.float64
        )
        self.counts.sum_duplicates()

    def _scores(self, n_c: FloatArray) -> FloatArray:
        z = _ordinal_scores(n_c) if self.level == "ordinal" else self.values
        return np.asarray(z - (n_c @ z) / n_c.sum(), dtype=np.float64)  # centred: avoids cancellation in 2mS2 - 2S1^2

    def _unit_q_e(self) -> tuple[FloatArray, FloatArray, float]:
        pi = self.n_c / self.n_tot
        if self.level == "nominal":
            sq = np.asarray(self.counts.multiply(self.counts).sum(axis=1)).ravel()
            q = self.m**2 - sq
            e = self.m - np.asarray(self.counts @ pi).ravel()
            return q, e, float(1.0 - pi @ pi)
        z = self._scores(self.n_c)
        s1 = np.asarray(self.counts @ z).ravel()
        s2 = np.asarray(self.counts @ (z * z)).ravel()
        q = 2.0 * self.m * s2 - 2.0 * s1**2
        z_bar, z2_bar = float(pi @ z), float(pi @ (z * z))
        e = s2 - 2.0 * z_bar * s1 + self.m * z2_bar
        return q, e, float(_squared_de(pi, z))

    def point(self) -> _Point:
        q, _, d_pi = self._unit_q_e()
        d_o = float(np.sum(q / (self.m - 1.0))) / self.n_tot
        d_e = d_pi * self.n_tot / (self.n_tot - 1.0)
        return _Point(d_o, d_e, int(np.sum(self.n_c > 0)))

    def gwet_se(self) -> float:
        q, e, d_pi = self._unit_q_e()
        return _gwet_se(self.m, q, e, np.ones(self.n_units), d_pi)

    def statistic(self, draws: npt.NDArray[np.int64]) -> FloatArray:
        w = np.asarray(draws, dtype=np.float64)  # (B, n_units)
        inv = 1.0 / (self.m - 1.0)
        n_c = np.asarray((self.counts.T @ w.T).T)  # (B, K)
        n_tot = w @ self.m
        if self.level == "nominal":
            sq = np.asarray(self.counts.multiply(self.counts).sum(axis=1)).ravel()
            num_o = w @ ((self.m**2 - sq) * inv)
            num_e = n_tot**2 - np.sum(n_c**2, axis=1)
        elif self.level == "interval":
            z = self._scores(self.n_c)
            s1: npt.NDArray[Any] = np.asarray(self.counts @ z).ravel()
            s2: npt.NDArray[Any] = np.asarray(self.counts @ (z * z)).ravel()
            num_o = w @ ((2.0 * self.m * s2 - 2.0 * s1**2) * inv)
            num_e = _squared_de(n_c, np.broadcast_to(z, n_c.shape))
        else:
            z = _ordinal_scores(n_c)  # (B, K)
            z = z - (np.einsum("bk,bk->b", n_c, z) / n_tot)[:, None]
            s1 = np.asarray(self.counts @ z.T)  # (n_units, B)
            s2 = np.asarray(self.counts @ (z * z).T)
            q = 2.0 * self.m[:, None] * s2 - 2.0 * s1**2
            num_o = np.einsum("bu,ub->b", w, q * inv[:, None])
            num_e = _squared_de(n_c, z)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = 1.0 - (num_o / n_tot) / (num_e / (n_tot * (n_tot - 1.0)))
        out[~np.isfinite(out)] = np.nan
        return np.asarray(out, dtype=np.float64)

    def bootstrap(self, interval: Any, point: float) -> Any:
        return bootstrap_tasks(self.statistic, self.n_units, interval, point)


def _plain(x: Any) -> Any:
    return x.item() if hasattr(x, "item") else x


__all__ = ["DistanceFunction", "krippendorff_alpha"]


def _csr() -> Any:
    """scipy.sparse.csr_matrix, imported on first use (scipy.sparse costs ~0.16 s)."""
    from scipy.sparse import csr_matrix

    return csr_matrix
