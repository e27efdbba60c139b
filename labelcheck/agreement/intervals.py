"""Confidence intervals: analytic (value +/- quantile x se) and bootstrap over items.

Bootstrap over items
--------------------
Tasks are the sampling unit (Hayes & Krippendorff 2007 resample pairable values within
the observed units; we resample the units themselves, the usual choice when the
population of interest is items, cf. Gwet 2014 ch. 5).  A resample draws ``n`` tasks
with replacement; each task enters every coefficient of the count family only
through its count row ``n[i, :]``.  Tasks with equal count rows are exchangeable, so
a resample is fully described by how many times each *distinct* count row was drawn:
a multinomial draw over the ``P`` distinct rows with probabilities equal to their
frequencies.  The coefficients' sums are linear in those multiplicities, so one
resample costs ``O(P x K)`` instead of ``O(n x K)``; with 5 categories and 3-5 answers
per task ``P`` is at most a few hundred whatever ``n`` is.

Statistics used here take ``(patterns, weights)``: ``patterns`` is ``(P, K)`` and
``weights`` is ``(B, P)`` (how many times each pattern is in each of ``B`` samples)
and return ``(B,)`` values.

BCa follows Efron (1987); the acceleration comes from the delete-one jackknife, done
per pattern (all tasks with one pattern give the same leave-one-out value), or, when
there are more than ``MAX_JACKKNIFE_PATTERNS`` patterns, from a delete-a-group
jackknife over 200 random groups.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
https://doi.org/10.1080/01621459.1987.10478410
Hayes, A. F., & Krippendorff, K. (2007). Answering the call for a standard reliability
measure for coding data. Communication Methods and Measures 1(1), 77-89.
https://doi.org/10.1080/19312450709336664
Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., Advanced Analytics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from statistics import NormalDist

FloatArray = npt.NDArray[np.float64]
CountArray = npt.NDArray[np.int64]
PatternStatistic = Callable[[CountArray, FloatArray], FloatArray]

MAX_JACKKNIFE_PATTERNS = 4096
_NORMAL = NormalDist()
#: Upper bound on B x P cells materialised at once.
_CHUNK_CELLS = 20_000_000


@dataclass(frozen=True)
class Interval:
    """How to compute a confidence interval.

    method : ``analytic`` (value +/- q x se, with q from ``quantile``) or ``bootstrap``.
    confidence : e.g. 0.95.
    quantile : ``t`` (Student t with n_items - 1 degrees of freedom, as irrCAC and
        Gwet 2014 do) or ``normal``.
    n_boot : bootstrap resamples.
    bootstrap : ``percentile`` or ``bca``.
    seed : seed of the resampling generator; the same seed gives the same interval.
    """

    method: Literal["analytic", "bootstrap"] = "analytic"
    confidence: float = 0.95
    quantile: Literal["t", "normal"] = "t"
    n_boot: int = 1000
    bootstrap: Literal["percentile", "bca"] = "percentile"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("analytic", "bootstrap"):
            raise ValueError(f"method must be 'analytic' or 'bootstrap'; got {self.method!r}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be between 0 and 1; got {self.confidence}")
        if self.quantile not in ("t", "normal"):
            raise ValueError(f"quantile must be 't' or 'normal'; got {self.quantile!r}")
        if self.bootstrap not in ("percentile", "bca"):
            raise ValueError(f"bootstrap must be 'percentile' or 'bca'; got {self.bootstrap!r}")
        if self.n_boot < 2:
            raise ValueError(f"n_boot must be at least 2; got {self.n_boot}")


IntervalSpec = Interval | Literal["analytic", "bootstrap"] | None


def as_interval(spec: IntervalSpec) -> Interval | None:
    """Accept ``"analytic"``, ``"bootstrap"``, an :class:`Interval` or None."""
    if spec is None or isinstance(spec, Interval):
        return spec
    if spec in ("analytic", "bootstrap"):
        return Interval(method=spec)
    raise ValueError(f"ci must be 'analytic', 'bootstrap', an Interval or None; got {spec!r}")


def critical_value(interval: Interval, n_items: int) -> float:
    """Two-sided quantile: ``t_{n-1}`` or the normal ``z`` for ``interval.confidence``."""
    p = 0.5 + interval.confidence / 2
    if interval.quantile == "t":
        if n_items < 2:
            return math.nan
        # scipy.special, not scipy.stats: the latter costs ~0.4 s to import
        from scipy.special import stdtrit

        return float(stdtrit(n_items - 1, p))
    return _NORMAL.inv_cdf(p)


def analytic_ci(
    value: float, se: float, n_items: int, interval: Interval
) -> tuple[float, float] | None:
    """``value +/- q x se``, not truncated (irrCAC truncates the lower end at 0; we
    keep the interval symmetric so that it can be compared with the bootstrap)."""
    if math.isnan(value) or math.isnan(se):
        return None
    q = critical_value(interval, n_items)
    if math.isnan(q):
        return None
    return (value - q * se, value + q * se)


def count_patterns(counts: CountArray) -> tuple[CountArray, npt.NDArray[np.int64]]:
    """Distinct rows of ``counts`` and how many tasks have each: ``(patterns, freq)``.

    Rows are keyed by a mixed-radix integer when it fits in 63 bits (fast 1-d unique),
    else by ``np.unique(axis=0)``."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.shape[0] == 0:
        return counts.reshape(0, counts.shape[1]), np.zeros(0, dtype=np.int64)
    k = counts.shape[1]
    base = int(counts.max()) + 1
    if k * math.log2(max(base, 2)) < 62:
        radix = base ** np.arange(k, dtype=np.int64)
        keys = counts @ radix
        _, first, freq = np.unique(keys, return_index=True, return_counts=True)
        return counts[first], freq.astype(np.int64)
    patterns, freq = np.unique(counts, axis=0, return_counts=True)
    return patterns, freq.astype(np.int64)


@dataclass(frozen=True)
class BootstrapResult:
    se: float
    ci: tuple[float, float] | None
    method: str
    n_valid: int
    replicates: FloatArray


def bootstrap_patterns(
    statistic: PatternStatistic,
    patterns: CountArray,
    freq: npt.NDArray[np.int64],
    interval: Interval,
    point: float | None = None,
) -> BootstrapResult:
    """Bootstrap a count-row statistic by multinomial draws over distinct count rows.

    ``statistic(patterns, weights)`` must accept ``weights`` of shape ``(B, P)``.
    Replicates where the statistic is undefined (NaN) are left out and counted in
    ``n_valid``."""
    n = int(freq.sum())
    p = freq / n
    rng = np.random.default_rng(interval.seed)
    n_pat = patterns.shape[0]
    chunk = max(1, _CHUNK_CELLS // max(n_pat, 1))
    reps: list[FloatArray] = []
    remaining = interval.n_boot
    while remaining > 0:
        b = min(chunk, remaining)
        w = rng.multinomial(n, p, size=b).astype(np.float64)
        reps.append(np.asarray(statistic(patterns, w), dtype=np.float64))
        remaining -= b
    replicates = np.concatenate(reps)
    if point is None:
        point = float(statistic(patterns, freq[None, :].astype(np.float64))[0])
    jack: tuple[FloatArray, FloatArray] | None = None
    if interval.bootstrap == "bca":
        jack = _pattern_jackknife(statistic, patterns, freq, rng)
    return _summarise(replicates, point, interval, jack)


def _pattern_jackknife(
    statistic: PatternStatistic,
    patterns: CountArray,
    freq: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Leave-one-task-out values and the number of tasks each stands for."""
    n_pat = patterns.shape[0]
    base = freq.astype(np.float64)
    if n_pat <= MAX_JACKKNIFE_PATTERNS:
        values = np.empty(n_pat)
        step = max(1, _CHUNK_CELLS // max(n_pat, 1))
        for start in range(0, n_pat, step):
            idx = np.arange(start, min(start + step, n_pat))
            w = np.repeat(base[None, :], len(idx), axis=0)
            w[np.arange(len(idx)), idx] -= 1.0
            values[idx] = statistic(patterns, w)
        return values, base
    # delete-a-group jackknife: tasks split into G random groups
    g = 200
    group_of_task = rng.integers(0, g, size=int(freq.sum()))
    pattern_of_task = np.repeat(np.arange(n_pat), freq)
    values = np.empty(g)
    for j in range(g):
        removed = np.bincount(pattern_of_task[group_of_task == j], minlength=n_pat)
        values[j] = statistic(patterns, (base - removed)[None, :])[0]
    return values, np.ones(g)


def bootstrap_tasks(
    statistic: Callable[[npt.NDArray[np.int64]], FloatArray],
    n_tasks: int,
    interval: Interval,
    point: float,
) -> BootstrapResult:
    """Bootstrap any statistic by resampling tasks.

    ``statistic(counts)`` receives a ``(B, n_tasks)`` array of how many times each task
    is drawn in each of ``B`` samples and returns ``(B,)`` values; use it for
    coefficients that need annotator identity (Cohen, Conger, intraclass
    correlations), where count rows are not sufficient."""
    rng = np.random.default_rng(interval.seed)
    chunk = max(1, _CHUNK_CELLS // max(n_tasks, 1))
    reps: list[FloatArray] = []
    remaining = interval.n_boot
    while remaining > 0:
        b = min(chunk, remaining)
        # n draws with replacement, counted per task: the same law as a multinomial
        # over n equiprobable cells, much faster to draw for large n
        drawn = rng.integers(0, n_tasks, size=(b, n_tasks))
        drawn += (np.arange(b) * n_tasks)[:, None]
        w: npt.NDArray[np.int64] = (
            np.bincount(drawn.ravel(), minlength=b * n_tasks).reshape(b, n_tasks)
        )
        reps.append(np.asarray(statistic(w), dtype=np.float64))
        remaining -= b
    replicates = np.concatenate(reps)
    jack: tuple[FloatArray, FloatArray] | None = None
    if interval.bootstrap == "bca":
        if n_tasks <= MAX_JACKKNIFE_PATTERNS:
            w = np.ones((n_tasks, n_tasks), dtype=np.int64) - np.eye(n_tasks, dtype=np.int64)
            jack = (np.asarray(statistic(w), dtype=np.float64), np.ones(n_tasks))
        else:
            g = 200
            group = rng.integers(0, g, size=n_tasks)
            w = np.ones((g, n_tasks), dtype=np.int64)
            w[group, np.arange(n_tasks)] = 0
            jack = (np.asarray(statistic(w), dtype=np.float64), np.ones(g))
    return _summarise(replicates, point, interval, jack)


def _summarise(
    replicates: FloatArray,
    point: float,
    interval: Interval,
    jack: tuple[FloatArray, FloatArray] | None,
) -> BootstrapResult:
    valid = replicates[~np.isnan(replicates)]
    method = f"bootstrap-{interval.bootstrap}"
    if valid.size < 2 or math.isnan(point):
        return BootstrapResult(math.nan, None, method, int(valid.size), replicates)
    se = float(np.std(valid, ddof=1))
    alpha = 1.0 - interval.confidence
    lo_q, hi_q = alpha / 2, 1 - alpha / 2
    if interval.bootstrap == "bca" and jack is not None:
        lo_q, hi_q = _bca_levels(valid, point, jack, alpha)
    if math.isnan(lo_q) or math.isnan(hi_q):
        return BootstrapResult(se, None, method, int(valid.size), replicates)
    lo, hi = np.quantile(valid, [lo_q, hi_q])
    return BootstrapResult(se, (float(lo), float(hi)), method, int(valid.size), replicates)


def _bca_levels(
    valid: FloatArray, point: float, jack: tuple[FloatArray, FloatArray], alpha: float
) -> tuple[float, float]:
    """Efron's (1987) bias-corrected and accelerated quantile levels."""
    below = (np.sum(valid < point) + 0.5 * np.sum(valid == point)) / valid.size
    below = min(max(below, 1.0 / (valid.size + 1)), valid.size / (valid.size + 1))
    z0 = _NORMAL.inv_cdf(float(below))
    values, mult = jack
    ok = ~np.isnan(values)
    values, mult = values[ok], mult[ok]
    if values.size < 2:
        return math.nan, math.nan
    mean = np.sum(mult * values) / np.sum(mult)
    d = mean - values
    denom = 6.0 * np.sum(mult * d**2) ** 1.5
    accel = float(np.sum(mult * d**3) / denom) if denom > 0 else 0.0
    z = np.array([_NORMAL.inv_cdf(alpha / 2), _NORMAL.inv_cdf(1 - alpha / 2)])
    shifted = z0 + (z0 + z) / (1 - accel * (z0 + z))
    adj = [_NORMAL.cdf(float(x)) for x in shifted]
    return float(adj[0]), float(adj[1])
