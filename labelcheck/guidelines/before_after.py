r"""Did a guideline revision work?  Agreement before and after a time, compared.

Answers are split at the revision time ``at`` by ``created_at``: an answer created
before ``at`` was given under the old guideline, one created at or after ``at`` under
the new one.  Answers without ``created_at`` cannot be placed; they are left out and
counted (:attr:`RevisionEffect.n_annotations_without_time`).

The unit of analysis is the *(item, period)* pair.  The answers an item received
before ``at`` form its "before" unit and those it received from ``at`` on its "after"
unit, so an item whose answers straddle the revision gives a unit to each side and no
answer is ever paired with one from the other period.  A unit with fewer than two
answers is not pairable and carries no information on agreement (Krippendorff 2011).

On each side Krippendorff's alpha is computed on that side's units alone (its own
observed and expected disagreement, the level of measurement of the field); the
effect is :math:`\Delta = \alpha_{after} - \alpha_{before}` with

- a percentile bootstrap interval: units are resampled with replacement within each
  side, the two sides independently (Efron & Tibshirani 1993, ch. 13);
- a two-sided permutation p-value: under "no change" the period of a unit is
  exchangeable, so the before/after labels of the pooled units are permuted, keeping
  the number of units per side (Efron & Tibshirani 1993, ch. 15).

Both run on *distinct count rows*: a unit enters alpha only through its count row
:math:`n_{u\cdot}`, so a sample of units is described by how many units of each
distinct row it holds.  A bootstrap resample is a multinomial draw over the rows of a
side (:func:`labelcheck.agreement.intervals.bootstrap_patterns`); a permutation is a
multivariate hypergeometric draw of the "before" units from the pooled rows, the rest
being "after".  Alpha's sums are linear in these multiplicities, so each resample or
permutation is one matrix product, whatever the number of units.

References
----------
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School
for Communication, University of Pennsylvania. https://repository.upenn.edu/asc_papers/43
Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap, ch. 13
(percentile intervals) and ch. 15 (permutation tests). Chapman & Hall.
https://doi.org/10.1201/9780429246593
Phipson, B., & Smyth, G. K. (2010). Permutation p-values should never be zero.
Statistical Applications in Genetics and Molecular Biology 9(1), 39.
https://doi.org/10.2202/1544-6115.1585
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field as dc_field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.intervals import Interval, bootstrap_patterns
from labelcheck.agreement.krippendorff import MAX_COUNT_CELLS, krippendorff_alpha
from labelcheck.agreement.result import AgreementResult
from labelcheck.errors import InvalidInput, name_list
from labelcheck.table import (
    ANNOTATION_ID, CREATED_AT, CodedRatings, Level, compact_codes, encode,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

METRIC = "krippendorff_alpha"
#: Ids listed in results (annotations without time, annotators); the rest are counted.
MAX_LISTED_IDS = 50
#: Most cells of the ``(P, B)`` arrays one chunk of resamples materialises.
_CELLS = 4_000_000
BEFORE, AFTER = "before the revision", "after the revision"


@dataclass(frozen=True)
class PeriodComparison:
    """Krippendorff's alpha before and after a revision, and their difference.

    ``before`` and ``after`` carry each side's alpha with its own bootstrap interval,
    counts (``n_items``: pairable units) and, when undefined, the reason.
    ``conclusive`` is true only when both sides have at least ``min_items`` pairable
    items, the interval of the difference excludes 0 and the permutation p-value is
    below ``1 - confidence``; ``verdict`` says so in one sentence with the numbers.
    """

    name: str
    before: AgreementResult
    after: AgreementResult
    difference: float
    ci: tuple[float, float] | None
    p_value: float
    conclusive: bool
    verdict: str
    confidence: float
    min_items: int
    n_boot: int
    n_boot_valid: int
    n_perm: int
    n_perm_valid: int
    restricted_to: Mapping[str, Any] | None = None

    @property
    def n_items_before(self) -> int:
        return self.before.n_items

    @property
    def n_items_after(self) -> int:
        return self.after.n_items

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None): the contract keys first, then extras."""
        return {
            "before": _num(self.before.value),
            "after": _num(self.after.value),
            "difference": _num(self.difference),
            "ci": None if self.ci is None else [_num(self.ci[0]), _num(self.ci[1])],
            "p_value": _num(self.p_value),
            "n_items_before": self.n_items_before,
            "n_items_after": self.n_items_after,
            "conclusive": self.conclusive,
            "verdict": self.verdict,
            "metric": METRIC,
            "level": self.before.level,
            "confidence": self.confidence,
            "ci_before": _pair(self.before.ci),
            "ci_after": _pair(self.after.ci),
            "n_annotations_before": self.before.n_annotations,
            "n_annotations_after": self.after.n_annotations,
            "n_annotators_before": self.before.n_annotators,
            "n_annotators_after": self.after.n_annotators,
            "reason_before": self.before.reason,
            "reason_after": self.after.reason,
            "min_items": self.min_items,
            "n_boot": self.n_boot,
            "n_boot_valid": self.n_boot_valid,
            "n_perm": self.n_perm,
            "n_perm_valid": self.n_perm_valid,
            "restricted_to": None if self.restricted_to is None else dict(self.restricted_to),
        }


@dataclass(frozen=True)
class RevisionEffect:
    """The three comparisons of :func:`revision_effect` and what was left out.

    ``targeted`` is None when no labels were given.  ``annotation_ids_without_time``
    lists the first :data:`MAX_LISTED_IDS` answers left out for lacking ``created_at``.
    """

    at: pd.Timestamp
    field: str
    level: str
    overall: PeriodComparison
    targeted: PeriodComparison | None
    same_annotators: PeriodComparison
    labels: tuple[str, ...] | None
    n_annotations_before: int
    n_annotations_after: int
    n_annotations_without_time: int
    annotation_ids_without_time: tuple[str, ...] = dc_field(default=())

    def to_dict(self) -> dict[str, Any]:
        """``{"overall", "targeted", "same_annotators"}`` plus the settings and counts."""
        return {
            "overall": self.overall.to_dict(),
            "targeted": None if self.targeted is None else self.targeted.to_dict(),
            "same_annotators": self.same_annotators.to_dict(),
            "at": self.at.isoformat(),
            "field": self.field,
            "metric": METRIC,
            "level": self.level,
            "labels": None if self.labels is None else list(self.labels),
            "n_annotations_before": self.n_annotations_before,
            "n_annotations_after": self.n_annotations_after,
            "n_annotations_without_time": self.n_annotations_without_time,
            "annotation_ids_without_time": list(self.annotation_ids_without_time),
        }


def revision_effect(
    annotations: pd.DataFrame,
    at: str | datetime | pd.Timestamp,
    *,
    field: str | None = None,
    level: Level = "nominal",
    categories: Sequence[Any] | None = None,
    labels: Sequence[Any] | None = None,
    n_boot: int = 2000,
    n_perm: int = 2000,
    confidence: float = 0.95,
    min_items: int = 30,
    seed: int = 0,
) -> RevisionEffect:
    r"""Whether agreement rose after a guideline revision at time ``at``.

    .. math:: \Delta = \alpha_{after} - \alpha_{before}

    :math:`\alpha_{before}` is Krippendorff's alpha on the answers created before
    ``at`` (units: items, each with its answers from that period) and
    :math:`\alpha_{after}` on those created at or after ``at``.  Three comparisons:

    - ``overall``: every timed answer of the field;
    - ``targeted``: only items where some annotator, in either period, chose one of
      ``labels`` (the labels the revision was about); None without ``labels``;
    - ``same_annotators``: only annotators with answers in both periods, each side
      keeping their answers, so a change of annotator mix cannot pass as an effect.

    Parameters
    ----------
    annotations : canonical annotation table (columns of :mod:`labelcheck.table`).
    at : the revision time, ISO 8601; a time without zone is read as UTC.
    field : the field; may be omitted when the table has one.
    level, categories : level of measurement and declared categories, as in
        :func:`labelcheck.table.encode`; they come from the field's spec.
    labels : the labels the revision targeted (matched as text; a multi-choice
        answer matches when it contains one).
    n_boot, n_perm : bootstrap resamples and permutations.
    confidence : level of the intervals; the test's significance level is
        ``1 - confidence``.
    min_items : fewest pairable items a side needs for a conclusive comparison.
    seed : seed of the bootstrap and permutation generators.

    Returns
    -------
    RevisionEffect

    Raises
    ------
    InvalidInput : ``at`` is not a time, no answer has ``created_at``, or a label in
        ``labels`` is not one of the field's.

    Notes
    -----
    Answers are placed by ``created_at``; an answer edited after ``at`` still counts
    where it was created.  The permutation test treats units as exchangeable under no
    change; an item with units on both sides makes them mildly dependent, which the
    test ignores.  Neither resampling scheme corrects for annotator effects beyond
    the ``same_annotators`` restriction.  A conclusive rise says agreement was higher
    after the revision, not that the revision caused it.

    Examples
    --------
    Two annotators, four items before the revision (x/y confused twice) and four
    after (one confusion): alpha 0.125 before, 0.533 after (Krippendorff's nominal
    formula by hand), far too few items to conclude.

    >>> from labelcheck.table import from_records
    >>> def answers(labels, day):
    ...     return [{"task_id": f"{day}-{i}", "annotator_id": who, "label": lab,
    ...              "created_at": f"2024-03-{day}"}
    ...             for i, pair in enumerate(labels) for who, lab in zip("ab", pair)]
    >>> table = from_records(answers(["xx", "xy", "yx", "yy"], "01")
    ...                      + answers(["xx", "xy", "yy", "yy"], "20"))
    >>> result = revision_effect(table, "2024-03-10")
    >>> round(result.overall.before.value, 3), round(result.overall.after.value, 3)
    (0.125, 0.533)
    >>> result.overall.conclusive, result.overall.verdict.split(": ")[-1]
    (False, 'too few items before the revision (4 < 30).')
    """
    if n_boot < 2 or n_perm < 1:
        raise ValueError(f"need n_boot >= 2 and n_perm >= 1; got {n_boot}, {n_perm}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1; got {confidence}")
    cut = parse_time(at)
    coded = encode(annotations, field=field, level=level, categories=categories)
    if CREATED_AT not in coded.frame.columns:
        raise InvalidInput(
            f'field "{coded.field}": the table has no {CREATED_AT} column; answers are '
            "split at the revision by when they were created"
        )
    col = coded.frame[CREATED_AT]
    if not isinstance(col.dtype, pd.DatetimeTZDtype):  # a table built by hand
        col = pd.to_datetime(col, utc=True, errors="coerce", format="mixed")
    keys = np.asarray(col.array.asi8)[coded.rows]
    timed = ~np.asarray(col.isna().to_numpy())[coded.rows]
    if not timed.any():
        raise InvalidInput(
            f'field "{coded.field}": none of its {coded.n_annotations} answers has a '
            "created_at time; answers are split at the revision by when they were created"
        )
    unit = col.dtype.unit if isinstance(col.dtype, pd.DatetimeTZDtype) else "ns"
    cut_key = cut.as_unit(unit).value
    after = timed & (keys >= cut_key)
    before = timed & ~after
    untimed_ids = pd.unique(coded.frame[ANNOTATION_ID].to_numpy()[coded.rows[~timed]])
    opts: dict[str, Any] = {"n_boot": n_boot, "n_perm": n_perm, "confidence": confidence,
                            "min_items": min_items, "seed": seed}
    overall = compare_periods(coded, before, after, name="overall", **opts)

    targeted = None
    label_names = None if labels is None else tuple(str(x) for x in labels)
    if label_names:
        chosen = _matching_categories(coded, label_names)[coded.label] & timed
        items = np.zeros(coded.n_tasks, dtype=np.bool_)
        items[coded.task[chosen]] = True
        on_items = items[coded.task]
        targeted = compare_periods(
            coded, before & on_items, after & on_items, name="targeted",
            restricted_to={"labels": list(label_names), "n_items": int(items.sum())}, **opts,
        )

    annotator = coded.annotator
    present_before = np.bincount(annotator[before], minlength=coded.n_annotators) > 0
    present_after = np.bincount(annotator[after], minlength=coded.n_annotators) > 0
    shared = present_before & present_after
    shared_ids = [str(x) for x in coded.annotator_ids[shared]]
    by_shared = shared[annotator]
    same = compare_periods(
        coded, before & by_shared, after & by_shared, name="same_annotators",
        restricted_to={"n_annotators": len(shared_ids), "annotators": shared_ids[:MAX_LISTED_IDS]},
        **opts,
    )
    return RevisionEffect(
        at=cut, field=coded.field, level=coded.level, overall=overall, targeted=targeted,
        same_annotators=same, labels=label_names or None,
        n_annotations_before=int(before.sum()), n_annotations_after=int(after.sum()),
        n_annotations_without_time=int((~timed).sum()),
        annotation_ids_without_time=tuple(str(x) for x in untimed_ids[:MAX_LISTED_IDS]),
    )


def compare_periods(
    coded: CodedRatings,
    before: BoolArray,
    after: BoolArray,
    *,
    name: str = "overall",
    n_boot: int = 2000,
    n_perm: int = 2000,
    confidence: float = 0.95,
    min_items: int = 30,
    seed: int = 0,
    restricted_to: Mapping[str, Any] | None = None,
) -> PeriodComparison:
    r"""Krippendorff's alpha on two disjoint sets of answers, compared.

    .. math:: \Delta = \alpha(A) - \alpha(B), \qquad
              p = \min\Big(1,\ 2 \min_{\lessgtr}
                  \frac{1 + \#\{\Delta^\ast_j \lessgtr \Delta\}}{1 + R}\Big)

    :math:`B` and :math:`A` are the answers where ``before`` and ``after`` are true;
    each item's answers within one set form a unit.  The interval is the percentile
    interval of :math:`\alpha^\ast(A) - \alpha^\ast(B)` over ``n_boot`` pairs of
    independent unit resamples of each side.  :math:`\Delta^\ast_j` is the
    difference after the ``j``-th of :math:`R` random re-assignments of the pooled
    pairable units to the two sides (the sides' sizes kept); the p-value is
    two-sided as in :func:`scipy.stats.permutation_test`, with the ``+1`` that keeps
    a Monte Carlo p-value valid (Phipson & Smyth 2010).  Resamples and permutations
    where an alpha is undefined are left out and counted (``n_boot_valid``,
    ``n_perm_valid``).

    Parameters
    ----------
    coded : one field's answers (:func:`labelcheck.table.encode`); its ``level``
        sets alpha's metric.
    before, after : boolean masks of shape ``(coded.n_annotations,)``.
    name : a name for the comparison (``overall``, ``targeted``, ...).
    n_boot, n_perm, confidence, min_items, seed : as in :func:`revision_effect`.
    restricted_to : what the comparison was restricted to, kept in the result.

    Returns
    -------
    PeriodComparison
    """
    level = coded.level
    alpha_b = krippendorff_alpha(coded.subset(before), level=level, ci=None)
    alpha_a = krippendorff_alpha(coded.subset(after), level=level, ci=None)
    difference = alpha_a.value - alpha_b.value
    patterns, freq_b, freq_a, values = _unit_patterns(coded, before, after)

    def statistic(rows: IntArray, weights: FloatArray) -> FloatArray:
        return _alpha_of_patterns(rows, weights, level, values)

    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(3)]
    ci: tuple[float, float] | None = None
    p_value, n_boot_valid, n_perm_valid = math.nan, 0, 0
    if not math.isnan(difference):
        reps = []
        for k, (result, freq) in enumerate(((alpha_b, freq_b), (alpha_a, freq_a))):
            interval = Interval(method="bootstrap", confidence=confidence, n_boot=n_boot,
                                seed=seeds[k])
            keep = freq > 0
            boot = bootstrap_patterns(statistic, patterns[keep], freq[keep], interval,
                                      result.value)
            reps.append(boot.replicates)
            if k == 0:
                alpha_b = alpha_b.with_interval(boot.se, boot.ci, boot.method, confidence)
            else:
                alpha_a = alpha_a.with_interval(boot.se, boot.ci, boot.method, confidence)
        diffs = reps[1] - reps[0]
        diffs = diffs[~np.isnan(diffs)]
        n_boot_valid = int(diffs.size)
        if n_boot_valid >= 2:
            lo, hi = np.quantile(diffs, [(1 - confidence) / 2, (1 + confidence) / 2])
            ci = (float(lo), float(hi))
        observed = float(statistic(patterns, freq_a[None, :].astype(np.float64))[0]
                         - statistic(patterns, freq_b[None, :].astype(np.float64))[0])
        p_value, n_perm_valid = _permutation_p(statistic, patterns, freq_b, freq_a,
                                               observed, n_perm, seeds[2])
    reason = _inconclusive_reason(alpha_b, alpha_a, ci, p_value, confidence, min_items)
    return PeriodComparison(
        name=name, before=alpha_b, after=alpha_a, difference=difference, ci=ci,
        p_value=p_value, conclusive=reason is None,
        verdict=_verdict(alpha_b, alpha_a, difference, ci, p_value, confidence, reason),
        confidence=confidence, min_items=min_items, n_boot=n_boot,
        n_boot_valid=n_boot_valid, n_perm=n_perm, n_perm_valid=n_perm_valid,
        restricted_to=restricted_to,
    )


def parse_time(at: str | datetime | pd.Timestamp) -> pd.Timestamp:
    """``at`` as a UTC :class:`pandas.Timestamp`; a time without zone is read as UTC."""
    try:
        ts = pd.Timestamp(at)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"revision time {at!r} is not an ISO 8601 time "
            f"(expected e.g. 2024-04-01T09:00:00Z): {exc}"
        ) from None
    if pd.isna(ts):
        raise InvalidInput(f"revision time {at!r} is missing; expected e.g. 2024-04-01T09:00:00Z")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# --- units as distinct count rows -----------------------------------------------------
def _unit_patterns(
    coded: CodedRatings, before: BoolArray, after: BoolArray
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Distinct count rows ``(P, K)`` of the pairable units of both sides, how many
    units of each side have each row, and the ``K`` category values (ranks for
    nominal and ordinal), over the categories the two sides use."""
    either = before | after
    present = np.bincount(coded.label[either], minlength=coded.n_categories) > 0
    remap = np.cumsum(present) - 1
    k = max(int(present.sum()), 1)
    if coded.level in ("interval", "ratio") and coded.values is not None:
        values = np.asarray(coded.values, dtype=np.float64)[present]
    else:
        values = np.arange(k, dtype=np.float64)
    sides = []
    for mask in (before, after):
        task = coded.task[mask]
        m = np.bincount(task, minlength=coded.n_tasks)
        keep = m[task] >= 2
        units, unit = compact_codes(task[keep], coded.n_tasks)
        if len(units) * k > MAX_COUNT_CELLS:
            raise InvalidInput(
                f'field "{coded.field}": {len(units)} units x {k} distinct values is more '
                f"than {MAX_COUNT_CELLS:,} count cells; bin or round the values"
            )
        flat = np.bincount(unit * k + remap[coded.label[mask][keep]], minlength=len(units) * k)
        sides.append(flat.reshape(len(units), k).astype(np.int64))
    counts = np.concatenate(sides)
    patterns, inverse = _distinct_rows(counts)
    n_b = sides[0].shape[0]
    freq_b = np.bincount(inverse[:n_b], minlength=len(patterns)).astype(np.int64)
    freq_a = np.bincount(inverse[n_b:], minlength=len(patterns)).astype(np.int64)
    return patterns, freq_b, freq_a, values


def _distinct_rows(counts: IntArray) -> tuple[IntArray, npt.NDArray[np.intp]]:
    """Distinct rows of ``counts`` and each row's position among them; rows are keyed
    by one mixed-radix integer when it fits in 63 bits (a fast 1-d unique)."""
    if counts.shape[0] == 0:
        return counts, np.zeros(0, dtype=np.intp)
    k = counts.shape[1]
    base = int(counts.max()) + 1
    if k * math.log2(max(base, 2)) < 62:
        keys = counts @ (base ** np.arange(k, dtype=np.int64))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return counts[first], inverse.astype(np.intp)
    patterns, inverse = np.unique(counts, axis=0, return_inverse=True)
    return patterns, np.asarray(inverse, dtype=np.intp).ravel()


def _alpha_of_patterns(
    patterns: IntArray, weights: FloatArray, level: str, values: FloatArray
) -> FloatArray:
    r"""Alpha of every sample in ``weights`` ``(B, P)`` (how many units with each of
    the count rows ``patterns`` ``(P, K)`` the sample holds).

    With :math:`m_p` the answers of row :math:`p`, :math:`n_c = \sum_p w_p n_{pc}` and
    :math:`n = \sum_c n_c`, :math:`\alpha = 1 - (n - 1) \sum_p w_p q_p / (m_p - 1)
    \,/\, \sum_{c,k} n_c n_k \delta_{ck}` where :math:`q_p = \sum_{c,k} n_{pc} n_{pk}
    \delta_{ck}` (Krippendorff 2011).  Squared-difference metrics use
    :math:`\sum_{c,k} a_c b_k (z_c - z_k)^2 = \ldots` expanded over scores :math:`z`
    (values for interval, mid-ranks of the sample's own marginals for ordinal), so no
    ``(K, K)`` matrix is built except for ratio."""
    p = patterns.astype(np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    m = p.sum(axis=1)
    with np.errstate(divide="ignore"):
        inv = np.where(m > 1, 1.0 / (m - 1.0), 0.0)
    out = np.empty(w.shape[0])
    delta = _ratio_delta(values) if level == "ratio" else None
    z_fixed = values - values.mean() if level == "interval" else None
    q_fixed: FloatArray | None = None
    if level == "nominal":
        q_fixed = (m * m - np.einsum("pk,pk->p", p, p)) * inv
    elif z_fixed is not None:
        q_fixed = (2.0 * m * (p @ z_fixed**2) - 2.0 * (p @ z_fixed) ** 2) * inv
    elif delta is not None:
        q_fixed = np.einsum("pk,pk->p", p @ delta, p) * inv
    step = max(1, _CELLS // max(p.shape[0], p.shape[1] ** 2, 1))
    for s in range(0, w.shape[0], step):
        wb = w[s : s + step]
        n_c = wb @ p
        n_tot = n_c.sum(axis=1)
        if level == "nominal":
            num_e = n_tot**2 - np.sum(n_c**2, axis=1)
        elif z_fixed is not None:
            num_e = _squared_sum(n_c, z_fixed)
        elif delta is not None:
            num_e = np.einsum("bk,bk->b", n_c @ delta, n_c)
        else:  # ordinal: the metric follows each sample's own marginals
            z = np.cumsum(n_c, axis=1) - n_c / 2.0
            with np.errstate(invalid="ignore", divide="ignore"):
                z = z - (np.sum(n_c * z, axis=1) / n_tot)[:, None]
            q = (2.0 * m[:, None] * (p @ (z * z).T) - 2.0 * (p @ z.T) ** 2) * inv[:, None]
            num_o = np.einsum("bp,pb->b", wb, q)
            num_e = _squared_sum(n_c, z)
        if q_fixed is not None:
            num_o = wb @ q_fixed
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = 1.0 - (n_tot - 1.0) * num_o / num_e
        # alpha needs two values in use (else D_e = 0; rounding may leave a tiny one)
        alpha[(np.count_nonzero(n_c, axis=1) < 2) | ~(num_e > 0)] = np.nan
        out[s : s + step] = alpha
    out[~np.isfinite(out)] = np.nan
    return out


def _squared_sum(n_c: FloatArray, z: FloatArray) -> FloatArray:
    """``sum_{c,k} n_c n_k (z_c - z_k)^2`` for each row of ``n_c``."""
    total = n_c.sum(axis=1)
    return np.asarray(
        2.0 * total * np.sum(n_c * z * z, axis=1) - 2.0 * np.sum(n_c * z, axis=1) ** 2,
        dtype=np.float64,
    )


def _ratio_delta(x: FloatArray) -> FloatArray:
    num, den = x[:, None] - x[None, :], x[:, None] + x[None, :]
    ratio = np.divide(num, den, out=np.zeros_like(num), where=den != 0)
    return np.asarray(ratio**2, dtype=np.float64)


def _permutation_p(
    statistic: Any, patterns: IntArray, freq_b: IntArray, freq_a: IntArray,
    observed: float, n_perm: int, seed: int,
) -> tuple[float, int]:
    """Two-sided permutation p-value of ``after - before`` and the valid permutations."""
    pooled = freq_b + freq_a
    n_before = int(freq_b.sum())
    rng = np.random.default_rng(seed)
    tol = 1e-9 * max(1.0, abs(observed))  # equal statistics computed in another order
    less = greater = valid = 0
    step = max(1, _CELLS // max(len(patterns), 1))
    for s in range(0, n_perm, step):
        drawn = rng.multivariate_hypergeometric(pooled, n_before, size=min(step, n_perm - s))
        d = statistic(patterns, pooled - drawn) - statistic(patterns, drawn)
        d = d[~np.isnan(d)]
        valid += d.size
        less += int(np.sum(d <= observed + tol))
        greater += int(np.sum(d >= observed - tol))
    if valid == 0:
        return math.nan, 0
    return min(1.0, 2.0 * min(less + 1, greater + 1) / (valid + 1)), valid


# --- labels of the targeted comparison ------------------------------------------------
def _matching_categories(coded: CodedRatings, labels: Sequence[str]) -> BoolArray:
    """Which categories are one of ``labels`` (text match; numbers also by value; a
    multi-choice tuple when it holds one).  Unknown labels are an error."""
    def names(c: Any) -> set[str]:
        parts = c if isinstance(c, tuple) else (c,)
        out = {str(x) for x in parts}
        for x in parts:
            if isinstance(x, (int, float, np.integer, np.floating)) and float(x).is_integer():
                out.add(str(int(x)))
        return out

    cats = [names(c) for c in coded.categories]
    match = np.array([any(lab in n for lab in labels) for n in cats], dtype=np.bool_)
    unknown = [lab for lab in labels if not any(lab in n for n in cats)]
    if unknown:
        raise InvalidInput(
            f'field "{coded.field}": label(s) {name_list(unknown)} not found; '
            f"the field's labels are {name_list(coded.categories, limit=30)}"
        )
    return match


# --- verdict ---------------------------------------------------------------------------
def _inconclusive_reason(
    before: AgreementResult, after: AgreementResult, ci: tuple[float, float] | None,
    p_value: float, confidence: float, min_items: int,
) -> str | None:
    for result, side in ((before, BEFORE), (after, AFTER)):
        if not result.defined:
            return f"alpha {side} is undefined ({result.reason})"
    for result, side in ((before, BEFORE), (after, AFTER)):
        if result.n_items < min_items:
            return f"too few items {side} ({result.n_items} < {min_items})"
    if ci is None:
        return "the bootstrap interval of the difference is undefined"
    if ci[0] <= 0.0 <= ci[1]:
        return "the CI spans zero"
    if not p_value < 1.0 - confidence:
        return f"the CI excludes zero but the permutation test does not ({_p_text(p_value)})"
    return None


def _verdict(
    before: AgreementResult, after: AgreementResult, difference: float,
    ci: tuple[float, float] | None, p_value: float, confidence: float, reason: str | None,
) -> str:
    if math.isnan(difference):
        return f"Agreement cannot be compared: {reason}."
    move = "rose" if difference > 0 else "fell" if difference < 0 else "did not change"
    interval = "CI undefined" if ci is None else f"CI [{ci[0]:.2f}, {ci[1]:.2f}]"
    numbers = (
        f"({difference:+.2f}, {confidence:.0%} {interval}, {_p_text(p_value)}, "
        f"{before.n_items} vs {after.n_items} items)"
    )
    head = f"Agreement {move} from {before.value:.2f} to {after.value:.2f} {numbers}"
    if reason is not None:
        return f"{head}, but the data cannot support a conclusion: {reason}."
    higher = "higher" if difference > 0 else "lower"
    return f"{head}: the revision is followed by {higher} agreement."


def _p_text(p: float) -> str:
    if math.isnan(p):
        return "p undefined"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _num(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def _pair(ci: tuple[float, float] | None) -> list[float | None] | None:
    return None if ci is None else [_num(ci[0]), _num(ci[1])]


__all__ = ["PeriodComparison", "RevisionEffect", "compare_periods", "parse_time",
           "revision_effect"]
