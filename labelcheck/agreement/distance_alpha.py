r"""Krippendorff's alpha for values of any type, given a pairwise distance.

:func:`~labelcheck.agreement.krippendorff.krippendorff_alpha` works on a
``(K, K)`` matrix over the distinct categories, which suits choices and numbers.
Set-valued choices, free text, spans and regions have as many distinct values as
answers, and their distances (MASI, edit distance, IoU) are costly: this module
computes alpha straight from Krippendorff's pairable-value definitions, calling a
vectorised distance on index pairs, and evaluates each distinct pair of distinct
values at most once.

Values equal under ``==`` (and hashing) are merged before any distance is
evaluated: a distance must give 0 to identical values anyway, and merging lets a
field with few distinct answers (multi-choice sets) cost ``O(K^2)`` distance
evaluations for ``K`` distinct values instead of ``O(n^2)``.  Unhashable values are
kept apart (one value per answer).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from labelcheck.agreement.intervals import IntervalSpec, as_interval, bootstrap_tasks
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.errors import InputProblem, InvalidInput
from labelcheck.table import (
    ANNOTATION_ID,
    ANNOTATOR_ID,
    LABEL,
    SOURCE,
    SOURCE_ROW,
    TASK_ID,
    select_field,
    validate,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
PairDistance = Callable[[IntArray, IntArray], FloatArray]
#: A sequence of values, or a 1-d array (numeric codes take a fast path).
Values = Sequence[Any] | npt.NDArray[Any]

NO_PAIRABLE = "no task has two or more answers: alpha needs pairable values"
ONE_VALUE = "only one distinct value in use: alpha needs variation"
ZERO_EXPECTED = (
    "expected disagreement is 0: the distance gives every pair of values in use a "
    "difference of 0"
)
#: Pairs handed to ``pair_distance`` in one call.
CHUNK_PAIRS = 1_000_000
#: Most distinct values for which the bootstrap recomputes the expected
#: disagreement from a dense ``(K, K)`` distance matrix.
MAX_BOOTSTRAP_VALUES = 1500


def distance_alpha(
    task_ids: npt.ArrayLike,
    values: Values,
    pair_distance: PairDistance,
    *,
    metric: str,
    max_expected_pairs: int = 2_000_000,
    seed: int = 0,
    ci: IntervalSpec | None = None,
    n_annotators: int = 0,
) -> AgreementResult:
    r"""Krippendorff's alpha over arbitrary values with a pairwise distance.

    .. math:: \alpha = 1 - \frac{D_o}{D_e}, \qquad
              D_o = \frac{1}{n} \sum_u \frac{1}{m_u - 1}
                    \sum_{i \ne j \in u} \delta_{ij}, \qquad
              D_e = \frac{1}{n(n-1)} \sum_{i \ne j} \delta_{ij}

    The sums run over the *pairable* values: those of units (tasks) with
    :math:`m_u \ge 2` values; :math:`n = \sum_u m_u` is their number, the inner sum
    of :math:`D_o` runs over ordered pairs of values within unit :math:`u`, the sum
    of :math:`D_e` over all ordered pairs of distinct pairable values, and
    :math:`\delta_{ij}` is ``pair_distance`` (Krippendorff 2011; 2019 sec. 12.3).
    With :math:`\delta = [a \ne b]` this is nominal alpha, with
    :math:`(a - b)^2` interval alpha.

    Parameters
    ----------
    task_ids : shape ``(n_values,)``, the unit of each value.
    values : ``n_values`` values of any type (a sequence, or a 1-d array);
        ``values[i]`` belongs to unit ``task_ids[i]``.  Missing answers must be left
        out by the caller.  Values equal under ``==`` are merged (see the module
        docstring); pass integer codes of distinct values for speed.
    pair_distance : ``pair_distance(i, j)`` receives two equal-length int64 arrays
        of positions in ``values`` and returns the distance of each pair as an array
        of the same length: non-negative, symmetric and 0 for identical values.
        It is called on chunks of at most :data:`CHUNK_PAIRS` pairs.
    metric : the name stored in the result (``multilabel_alpha``, ``text_alpha``...).
    max_expected_pairs : budget of distance evaluations for :math:`D_e`.  When the
        ``K`` distinct pairable values have :math:`K(K-1)/2` pairs or fewer,
        :math:`D_e` is exact; otherwise it is estimated from this many ordered pairs
        of pairable values drawn uniformly with replacement (seeded by ``seed``).
    seed : seed of that sample.
    ci : None (default), ``"bootstrap"`` or an
        :class:`~labelcheck.agreement.Interval` with ``method="bootstrap"``: an item
        bootstrap over tasks.  No analytic standard error is implemented here.
    n_annotators : stored in the result (this function does not see annotators).

    Returns
    -------
    AgreementResult
        ``value`` alpha; ``observed`` :math:`D_o`; ``expected`` :math:`D_e`;
        ``n_items`` the pairable tasks; ``n_annotations`` :math:`n`;
        ``n_categories`` the distinct pairable values.  ``details``:
        ``expected_route`` (``exact`` or ``sampled``), ``expected_se`` (the sampling
        standard error of :math:`D_e`, 0 when exact), ``n_expected_pairs`` (pairs
        :math:`D_e` rests on), ``n_distance_evaluations``, ``n_distinct_values``,
        ``n_single_answer_tasks``.

    Notes
    -----
    Tasks with one value are left out, as alpha defines.  Alpha is undefined (NaN
    with a reason) when no task has two values, when a single distinct value is in
    use, or when :math:`D_e = 0`.

    *Sampled expected disagreement.*  :math:`D_e` is the mean distance of a pair of
    pairable values drawn at random, so a uniform sample of ``s`` such pairs gives
    an unbiased estimate with standard error :math:`\mathrm{sd}(\delta)/\sqrt{s}`,
    reported as ``details["expected_se"]`` and in ``reason``; alpha is then a ratio
    estimate, approximately unbiased.  :math:`D_o` is always exact.

    *Bootstrap.*  Tasks are resampled with replacement
    (:func:`~labelcheck.agreement.intervals.bootstrap_tasks`); :math:`D_o` is
    recomputed from the per-task disagreements and, when :math:`D_e` is exact and
    there are at most :data:`MAX_BOOTSTRAP_VALUES` distinct values, :math:`D_e`
    from the resampled value counts.  Otherwise :math:`D_e` is held at its
    full-sample value (``details["bootstrap_expected"] = "fixed"``) and the interval
    reflects only the variation of :math:`D_o`.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
    School for Communication, University of Pennsylvania.
    https://repository.upenn.edu/asc_papers/43
    Krippendorff, K. (2019). Content Analysis: An Introduction to Its Methodology,
    4th ed., ch. 12. SAGE. https://doi.org/10.4135/9781071878781

    Examples
    --------
    Nominal alpha of Krippendorff's (2011, p. 5) example, written as a distance:

    >>> import numpy as np
    >>> units = [1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6,
    ...          7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 11, 12]
    >>> vals = [1, 1, 1, 2, 2, 3, 2, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 1, 2, 3, 4,
    ...         4, 4, 4, 4, 1, 1, 2, 1, 2, 2, 2, 2, 5, 5, 5, 1, 1, 3]
    >>> x = np.asarray(vals, dtype=float)
    >>> result = distance_alpha(units, vals, lambda i, j: (x[i] != x[j]).astype(float),
    ...                         metric="nominal_alpha")
    >>> round(result.value, 3)
    0.743
    """
    interval = as_interval(ci)
    if interval is not None and interval.method != "bootstrap":
        raise ValueError(
            "distance_alpha has no analytic standard error; use ci='bootstrap' or None"
        )
    if max_expected_pairs < 1:
        raise ValueError(f"max_expected_pairs must be at least 1; got {max_expected_pairs}")
    units_raw = np.asarray(task_ids)
    if units_raw.ndim != 1 or len(units_raw) != len(values):
        raise ValueError(
            f"task_ids must be one-dimensional with one entry per value; got shape "
            f"{units_raw.shape} for {len(values)} values"
        )
    unit_all, _ = pd.factorize(units_raw, sort=False)
    if (unit_all < 0).any():
        raise ValueError(
            f"task_ids has missing entries at positions {np.flatnonzero(unit_all < 0)[:10].tolist()}"
        )
    n_all_units = int(unit_all.max()) + 1 if len(unit_all) else 0
    m_all = np.bincount(unit_all, minlength=n_all_units)
    keep = np.flatnonzero(m_all[unit_all] >= 2)
    details: dict[str, Any] = {"n_single_answer_tasks": int(np.sum(m_all == 1))}
    counts: dict[str, Any] = {"n_annotators": n_annotators, "details": details}
    if keep.size == 0:
        return undefined(metric, NO_PAIRABLE, **counts)

    _, unit = np.unique(unit_all[keep], return_inverse=True)
    unit = unit.astype(np.int64)
    code, rep = _distinct_codes(values, keep)
    n, n_units, k = int(keep.size), int(unit.max()) + 1, int(rep.size)
    m_u = np.bincount(unit, minlength=n_units).astype(np.float64)
    n_k = np.bincount(code, minlength=k).astype(np.float64)
    details["n_distinct_values"] = k
    counts.update(n_items=n_units, n_annotations=n, n_categories=k)
    if k < 2:
        return undefined(metric, ONE_VALUE, **counts)

    distance = _Evaluator(pair_distance, rep)
    pair_unit, pa, pb, weight = _within_unit_pairs(unit, code, n_units, k)
    n_all_pairs = k * (k - 1) // 2
    exact = n_all_pairs <= max_expected_pairs
    delta_all: FloatArray | None = None
    if exact:
        ka, kb = np.triu_indices(k, 1)
        delta_all = distance(ka.astype(np.int64), kb.astype(np.int64))
        delta_within = delta_all[_triu_position(pa, pb, k)]
        d_e = float(2.0 * np.sum(n_k[ka] * n_k[kb] * delta_all) / (n * (n - 1.0)))
        d_e_se, n_expected = 0.0, n_all_pairs
    else:
        rng = np.random.default_rng(seed)
        s = max_expected_pairs
        i = rng.integers(0, n, size=s)
        j = rng.integers(0, n - 1, size=s)
        j += j >= i  # uniform over ordered pairs i != j
        lo, hi = np.minimum(code[i], code[j]), np.maximum(code[i], code[j])
        differ = lo != hi
        # one call for the within-unit pairs and the sampled pairs together
        both = distance.unique(
            np.concatenate([pa, lo[differ]]), np.concatenate([pb, hi[differ]])
        )
        delta_within = both[: pa.size]
        sample = np.zeros(s)
        sample[differ] = both[pa.size:]
        d_e = float(sample.mean())
        d_e_se = float(sample.std(ddof=1) / math.sqrt(s)) if s > 1 else math.nan
        n_expected = s
    per_unit = 2.0 * np.bincount(pair_unit, weights=weight * delta_within, minlength=n_units)
    o_u = per_unit / (m_u - 1.0)
    d_o = float(o_u.sum() / n)
    details.update(
        expected_route="exact" if exact else "sampled",
        expected_se=d_e_se,
        n_expected_pairs=int(n_expected),
        n_distance_evaluations=distance.n_evaluated,
    )
    reason = None
    if not exact:
        reason = (
            f"expected disagreement estimated from {n_expected:,} sampled pairs of values "
            f"(standard error {d_e_se:.2g}); alpha is approximate"
        )
    if d_e <= 0:
        return undefined(metric, ZERO_EXPECTED, observed=d_o, expected=d_e, **counts)
    value = 1.0 - d_o / d_e
    result = AgreementResult(
        metric=metric, value=value, observed=d_o, expected=d_e, reason=reason, **counts
    )
    if interval is None:
        return result
    dense: FloatArray | None = None
    if delta_all is not None and k <= MAX_BOOTSTRAP_VALUES:
        dense = np.zeros((k, k))
        dense[np.triu_indices(k, 1)] = delta_all
        dense += dense.T
    details["bootstrap_expected"] = "recomputed" if dense is not None else "fixed"
    boot_stat = _BootstrapStatistic(o_u, m_u, d_e, dense, unit, code, n_units, k)
    boot = bootstrap_tasks(boot_stat, n_units, interval, value)
    details["n_boot_valid"] = boot.n_valid
    return result.with_interval(boot.se, boot.ci, boot.method, interval.confidence)


# --- pieces --------------------------------------------------------------------------
def _distinct_codes(values: Values, keep: IntArray) -> tuple[IntArray, IntArray]:
    """Code (``0..K-1``) of each kept value and the position in ``values`` of one
    representative per code.  Values equal under hashing share a code."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biufUS":
        codes, _ = pd.factorize(values[keep], use_na_sentinel=False)
    else:
        kept = pd.Series([values[int(i)] for i in keep], dtype=object)
        try:
            codes, _ = pd.factorize(kept, use_na_sentinel=False)
        except TypeError:  # unhashable values: one code per value
            codes = np.arange(len(keep))
    code: IntArray = np.asarray(codes, dtype=np.int64).reshape(-1)
    first = np.full(int(code.max()) + 1, len(code), dtype=np.int64)
    np.minimum.at(first, code, np.arange(len(code), dtype=np.int64))
    return code, keep[first].astype(np.int64)


def _within_unit_pairs(
    unit: IntArray, code: IntArray, n_units: int, k: int
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Pairs of *different* distinct values within each unit: ``(unit, a, b, weight)``
    with codes ``a < b`` and weight ``n_ua * n_ub`` (unordered pairs of values)."""
    keys, cnt = np.unique(unit * k + code, return_counts=True)  # sorted by unit, code
    e_unit, e_code = keys // k, keys % k
    per_unit = np.bincount(e_unit, minlength=n_units)
    starts = np.concatenate([[0], np.cumsum(per_unit)[:-1]])
    parts: list[tuple[IntArray, IntArray, IntArray]] = []
    # one block per distinct number of distinct values in a unit: few iterations
    for size in np.unique(per_unit[per_unit >= 2]):
        units = np.flatnonzero(per_unit == size)
        a, b = np.triu_indices(int(size), 1)
        first = starts[units][:, None]
        parts.append(
            (np.repeat(units, a.size), (first + a).ravel(), (first + b).ravel())
        )
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0)
    u = np.concatenate([p[0] for p in parts]).astype(np.int64)
    ea = np.concatenate([p[1] for p in parts])
    eb = np.concatenate([p[2] for p in parts])
    weight = (cnt[ea] * cnt[eb]).astype(np.float64)
    return u, e_code[ea].astype(np.int64), e_code[eb].astype(np.int64), weight


def _triu_position(a: IntArray, b: IntArray, k: int) -> IntArray:
    """Position of pair ``(a, b)``, ``a < b``, in ``np.triu_indices(k, 1)`` order."""
    pos: IntArray = a * k - a * (a + 1) // 2 + (b - a - 1)
    return pos


class _Evaluator:
    """Calls ``pair_distance`` on distinct-value codes (via their representatives),
    in chunks, checking what it returns."""

    def __init__(self, pair_distance: PairDistance, rep: IntArray) -> None:
        self.pair_distance, self.rep, self.n_evaluated = pair_distance, rep, 0

    def __call__(self, a: IntArray, b: IntArray) -> FloatArray:
        out = np.empty(a.size, dtype=np.float64)
        for start in range(0, a.size, CHUNK_PAIRS):
            stop = min(start + CHUNK_PAIRS, a.size)
            got = np.asarray(
                self.pair_distance(self.rep[a[start:stop]], self.rep[b[start:stop]]),
                dtype=np.float64,
            )
            if got.shape != (stop - start,):
                raise ValueError(
                    f"pair_distance returned shape {got.shape} for {stop - start} pairs; "
                    "it must return one distance per pair"
                )
            if not np.isfinite(got).all() or (got < 0).any():
                raise ValueError("pair_distance must return finite, non-negative distances")
            out[start:stop] = got
        self.n_evaluated += int(a.size)
        return out

    def unique(self, a: IntArray, b: IntArray) -> FloatArray:
        """Like calling, but evaluates each distinct pair once."""
        k = int(self.rep.size)
        keys, inverse = np.unique(a * k + b, return_inverse=True)
        delta: FloatArray = self(keys // k, keys % k)[inverse.ravel()]
        return delta


@dataclass(frozen=True, eq=False)
class _BootstrapStatistic:
    """Alpha of task resamples given as ``(B, n_units)`` multiplicities."""

    o_u: FloatArray
    m_u: FloatArray
    d_e: float
    dense: FloatArray | None
    unit: IntArray
    code: IntArray
    n_units: int
    k: int

    def __call__(self, w: npt.NDArray[np.int64]) -> FloatArray:
        wf = w.astype(np.float64)
        n_b = wf @ self.m_u
        with np.errstate(invalid="ignore", divide="ignore"):
            d_o = (wf @ self.o_u) / n_b
            if self.dense is None:
                d_e = np.full(w.shape[0], self.d_e)
            else:
                counts = sp.csr_matrix(
                    (np.ones(self.unit.size), (self.unit, self.code)),
                    shape=(self.n_units, self.k),
                )
                n_bk = np.asarray((counts.T @ wf.T).T, dtype=np.float64)
                d_e = np.sum((n_bk @ self.dense) * n_bk, axis=1) / (n_b * (n_b - 1.0))
            alpha: FloatArray = np.where(d_e > 0, 1.0 - d_o / d_e, np.nan)
        return alpha


# --- reading one field of the canonical table ----------------------------------------
@dataclass(frozen=True, eq=False)
class FieldAnswers:
    """The answered rows of one field: what the structured coefficients and consensus
    functions start from.  ``frame`` holds only rows with a label (a missing label is
    no answer; an empty tuple *is* an answer); ``labels`` is its label column as an
    object array."""

    frame: pd.DataFrame
    field: str
    task_ids: npt.NDArray[Any]
    labels: npt.NDArray[Any]

    @property
    def n_annotators(self) -> int:
        return int(self.frame[ANNOTATOR_ID].nunique())

    def problems(self, positions: npt.ArrayLike, message: Callable[[Any], str]) -> list[InputProblem]:
        """One :class:`InputProblem` per row position (at most 50), naming its task,
        annotation, field and source row; ``message(label)`` says what is wrong."""
        out: list[InputProblem] = []
        for i in np.asarray(positions, dtype=np.int64)[:50]:
            row = self.frame.iloc[int(i)]
            src_row = row.get(SOURCE_ROW)
            src = row.get(SOURCE)
            out.append(InputProblem(
                message=message(self.labels[int(i)]),
                source=None if src is None or pd.isna(src) else str(src),
                source_row=None if src_row is None or pd.isna(src_row) else int(src_row),
                task_id=str(row[TASK_ID]),
                annotation_id=str(row[ANNOTATION_ID]),
                field=self.field,
            ))
        return out


def field_answers(data: pd.DataFrame, field: str | None) -> FieldAnswers:
    """Rows of ``field`` (may be omitted when the table has one) that have a label."""
    validate(data)
    frame, name = select_field(data, field)
    present = ~frame[LABEL].isna().to_numpy()
    if not present.all():
        frame = frame[present]
    if len(frame) == 0:
        raise InvalidInput(f'field "{name}" has no answers: every label is missing')
    return FieldAnswers(
        frame=frame,
        field=name,
        task_ids=frame[TASK_ID].to_numpy(),
        labels=frame[LABEL].to_numpy(dtype=object),
    )
