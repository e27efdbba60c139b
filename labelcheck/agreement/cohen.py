r"""Cohen's kappa for two annotators, and Cohen's kappa over every pair of annotators.

Both work on the answers of annotators who are identified (Label Studio
``completed_by``): only the tasks that *both* annotators of a pair answered count.
An annotator who answered one task more than once contributes one answer there,
the latest by ``created_at`` (then by row order): the rule of
:func:`labelcheck.table.rating_matrix` with ``duplicates="latest"``, applied here
without building the dense annotator x task matrix (see :func:`answer_cells`).

The standard error is Gwet's (2008, eq. 12; 2014, ch. 5) large-sample variance of
Cohen's kappa for two raters, which for the unweighted and the weighted coefficient
is the variance of Fleiss, Cohen & Everitt (1969): the same number that
``statsmodels.stats.inter_rater.cohens_kappa`` and ``irrCAC.table.CAC.cohen`` report.
It divides by ``n``; Gwet's linearised raw-data variance (the one
:func:`labelcheck.agreement.conger.conger_kappa` uses) divides by ``n - 1``, so for
two annotators with no missing answers ``conger_kappa`` has the same value and a
standard error larger by ``sqrt(n / (n - 1))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement._input import (
    RatingsInput,
    Weights,
    WeightsBasis,
    as_coded,
    weight_matrix,
)
from labelcheck.agreement.intervals import (
    IntervalSpec,
    analytic_ci,
    as_interval,
    bootstrap_tasks,
)
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.errors import InvalidInput, name_list
from labelcheck.table import CodedRatings, Level, created_at_keys

METRIC = "cohen_kappa"
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: What ``details["duplicates"]`` says about repeated answers.
DUPLICATES_RULE = (
    "latest: an annotator who answered a task more than once counts with the latest "
    "answer by created_at, then by row order (rating_matrix(duplicates='latest'))"
)
#: 1 - p_e below this is treated as p_e = 1 (kappa undefined).
_PE_TOL = 1e-12
#: Up to this many annotator x task cells, repeats are found with one bincount.
_MAX_DENSE_CELLS = 50_000_000


@dataclass(frozen=True)
class AnswerCells:
    """One answer per (annotator, task): arrays of shape ``(n_cells,)`` (in no
    particular order); ``n_duplicates`` answers were set aside as older repeats."""

    annotator: IntArray
    task: IntArray
    label: IntArray
    n_duplicates: int


def answer_cells(coded: CodedRatings) -> AnswerCells:
    """The non-missing cells of ``rating_matrix(coded, duplicates="latest")`` as sparse
    arrays, so that many annotators times many tasks never becomes a dense matrix."""
    cell = coded.annotator.astype(np.int64) * coded.n_tasks + coded.task
    if coded.n_annotators * coded.n_tasks <= _MAX_DENSE_CELLS:
        repeated = np.bincount(cell, minlength=coded.n_annotators * coded.n_tasks)[cell] > 1
    else:
        _, inverse, counts = np.unique(cell, return_inverse=True, return_counts=True)
        repeated = counts[inverse] > 1
    keep = np.flatnonzero(~repeated)
    if repeated.any():
        # among repeated cells the last in time order (then row order) wins, as in
        # rating_matrix; only those rows are sorted
        rows = np.flatnonzero(repeated)
        keys = created_at_keys(coded)
        order = rows
        if keys is not None and (keys[rows] != keys[rows[0]]).any():
            order = rows[np.lexsort((rows, keys[rows]))]
        _, first_in_reversed = np.unique(cell[order][::-1], return_index=True)
        keep = np.concatenate([keep, order[len(order) - 1 - first_in_reversed]])
    return AnswerCells(
        annotator=coded.annotator[keep],
        task=coded.task[keep],
        label=coded.label[keep],
        n_duplicates=int(len(cell) - len(keep)),
    )


def kappa_parts(tables: FloatArray, w: FloatArray) -> dict[str, FloatArray]:
    r"""Observed and expected agreement, kappa and its variance for contingency tables.

    ``tables`` has shape ``(..., K, K)`` (counts; rows: first annotator, columns:
    second), ``w`` is ``(K, K)`` and symmetric.  With :math:`p_{kl}` the shares,
    :math:`p_{k+}, p_{+l}` the margins, :math:`\bar w_{k+} = \sum_l w_{kl} p_{+l}` and
    :math:`\bar w_{+l} = \sum_k w_{kl} p_{k+}`, the variance is (Gwet 2008, eq. 12;
    Fleiss, Cohen & Everitt 1969)

    .. math:: v(\hat\kappa) = \frac{1}{n (1 - p_e)^2} \Big[ \sum_{k,l} p_{kl}
       \big(w_{kl} - (1 - \hat\kappa)(\bar w_{k+} + \bar w_{+l})\big)^2
       - \big(p_a - 2 (1 - \hat\kappa) p_e\big)^2 \Big].

    Entries whose table is empty or whose ``p_e`` is 1 come out NaN.
    """
    tables = np.asarray(tables, dtype=np.float64)
    n = tables.sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = tables / n[..., None, None]
        row = p.sum(axis=-1)
        col = p.sum(axis=-2)
        po = np.einsum("...kl,kl->...", p, w)
        pe = np.einsum("...k,kl,...l->...", row, w, col)
        undefined_pe = (1.0 - pe) <= _PE_TOL
        kappa = np.where(undefined_pe, np.nan, (po - pe) / (1.0 - pe))
        w_row = np.einsum("kl,...l->...k", w, col)
        w_col = np.einsum("kl,...k->...l", w, row)
        spread = w - (1.0 - kappa)[..., None, None] * (w_row[..., :, None] + w_col[..., None, :])
        sum1 = np.einsum("...kl,...kl->...", p, spread**2)
        var = (sum1 - (po - 2.0 * (1.0 - kappa) * pe) ** 2) / (n * (1.0 - pe) ** 2)
    var = np.where(np.isnan(kappa), np.nan, np.maximum(var, 0.0))
    return {"n": n, "observed": po, "expected": pe, "kappa": kappa, "var": var}


def cohen_kappa(
    data: RatingsInput,
    *,
    field: str | None = None,
    annotators: Sequence[str] | None = None,
    level: Level = "nominal",
    categories: Sequence[Any] | None = None,
    weights: Weights = "unweighted",
    weights_basis: WeightsBasis = "ranks",
    ci: IntervalSpec = "analytic",
) -> AgreementResult:
    r"""Cohen's kappa between two annotators, unweighted or weighted.

    .. math:: \kappa = \frac{p_a - p_e}{1 - p_e}, \quad
       p_a = \sum_{k,l} w_{kl}\, p_{kl}, \quad p_e = \sum_{k,l} w_{kl}\, p_{k+} p_{+l}

    :math:`p_{kl}` is the share of common tasks the first annotator put in category
    :math:`k` and the second in :math:`l`, :math:`p_{k+}` and :math:`p_{+l}` are each
    annotator's own category shares on those tasks (Cohen's chance model: each
    annotator keeps their own distribution), and :math:`w_{kl}` are agreement
    weights: the identity (Cohen 1960) or linear / quadratic (Cohen 1968).

    Parameters
    ----------
    data : canonical annotation table, or :class:`~labelcheck.table.CodedRatings`.
    field : the field (question); may be omitted when the table has one.
    annotators : the two ``annotator_id`` values to compare.  When omitted and the
        field has exactly two annotators, those two.
    level : level of measurement; weights other than ``"unweighted"`` need an ordered
        level (``ordinal``, ``interval`` or ``ratio``).
    categories : the declared categories, in order for ordered levels.
    weights : ``"unweighted"``, ``"linear"`` or ``"quadratic"``.
    weights_basis : ``"ranks"`` (category positions 0..K-1, as scikit-learn, R irr
        and SAS) or ``"values"`` (the categories' numeric values, as irrCAC).
    ci : ``"analytic"`` (kappa +/- t quantile x se, ``n - 1`` degrees of freedom),
        ``"bootstrap"`` (resampling the common tasks), an
        :class:`~labelcheck.agreement.intervals.Interval`, or None.

    Returns
    -------
    AgreementResult
        ``value`` is kappa; ``observed`` and ``expected`` are :math:`p_a, p_e`;
        ``n_items`` the number of common tasks; ``details`` holds the two annotators,
        the contingency table (rows: first annotator), the categories and the rule
        used for repeated answers.

    Notes
    -----
    Only tasks both annotators answered count (complete pairs); a task answered by
    one of them only is left out.  An annotator who answered a task more than once
    counts with the latest answer (``rating_matrix(duplicates="latest")``); how many
    answers were set aside is in ``details["n_duplicates"]``.

    Kappa is undefined (NaN, with a reason) when the field has fewer or more than two
    annotators and none were named, when the two have no task in common, and when
    :math:`p_e = 1` (both used one and the same category throughout).  With more
    than two annotators use :func:`~labelcheck.agreement.conger.conger_kappa` (one
    coefficient) or :func:`cohen_kappa_matrix` (every pair).

    Scott's pi differs only in :math:`p_e`, built from the pooled shares; the two
    part when the annotators' distributions differ (coder bias, Artstein & Poesio
    2008, sec. 3.1).  The standard error is Gwet's (2008) variance for two raters,
    equal to that of Fleiss, Cohen & Everitt (1969) and statsmodels' ``cohens_kappa``.

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
    Psychological Measurement 20(1), 37-46. https://doi.org/10.1177/001316446002000104

    Cohen, J. (1968). Weighted kappa. Psychological Bulletin 70(4), 213-220.
    https://doi.org/10.1037/h0026256

    Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors of
    kappa and weighted kappa. Psychological Bulletin 72(5), 323-327.
    https://doi.org/10.1037/h0028106

    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
    presence of high agreement. British Journal of Mathematical and Statistical
    Psychology 61(1), 29-48. https://doi.org/10.1348/000711006X126600

    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 5.
    Advanced Analytics.

    Artstein, R., & Poesio, M. (2008). Inter-coder agreement for computational
    linguistics. Computational Linguistics 34(4), 555-596.
    https://doi.org/10.1162/coli.07-034-R2 (the Stat/IReq/Chck example: 100
    utterances, A_o = 0.88, kappa = 0.8013).

    Examples
    --------
    Artstein & Poesio's (2008) dialogue-act example: two coders, 100 utterances,
    observed agreement 0.88, kappa 0.8013.

    >>> from labelcheck.table import from_records
    >>> cells = {("Stat", "Stat"): 46, ("IReq", "Stat"): 6, ("IReq", "IReq"): 32,
    ...          ("IReq", "Chck"): 6, ("Chck", "Chck"): 10}
    >>> pairs = [p for p, count in cells.items() for _ in range(count)]
    >>> rows = [{"task_id": i, "annotator_id": coder, "label": pair[j]}
    ...         for i, pair in enumerate(pairs) for j, coder in enumerate("AB")]
    >>> result = cohen_kappa(from_records(rows))
    >>> round(result.observed, 2), round(result.value, 4)
    (0.88, 0.8013)
    """
    interval = as_interval(ci)
    coded = as_coded(data, field=field, level=level, categories=categories)
    w = _weights(coded, weights, weights_basis)
    cells = answer_cells(coded)
    ids = coded.annotator_ids
    common: dict[str, Any] = {
        "n_categories": coded.n_categories,
        "level": coded.level,
        "weights": weights,
    }
    if annotators is None:
        if len(ids) != 2:
            return undefined(
                METRIC,
                _not_two_reason(coded),
                n_annotators=len(ids),
                n_annotations=coded.n_annotations,
                **common,
            )
        a, b = 0, 1
    else:
        a, b = _annotator_codes(coded, annotators)
    names = (str(ids[a]), str(ids[b]))
    table, tasks = _pair_table(cells, a, b, coded.n_tasks, coded.n_categories)
    n_items = int(table.sum())
    details: dict[str, Any] = {
        "annotators": list(names),
        "categories": [_plain(c) for c in coded.categories],
        "table": table.tolist(),
        "duplicates": DUPLICATES_RULE,
        "n_duplicates": cells.n_duplicates,
        "weights_basis": weights_basis,
    }
    counts: dict[str, Any] = {"n_items": n_items, "n_annotations": 2 * n_items, "n_annotators": 2}
    if n_items == 0:
        return undefined(
            METRIC,
            f'annotators {names[0]} and {names[1]} have no task in common on field '
            f'"{coded.field}": Cohen\'s kappa needs tasks both answered',
            details=details,
            **counts,
            **common,
        )
    parts = kappa_parts(table.astype(np.float64), w)
    po, pe = float(parts["observed"]), float(parts["expected"])
    if np.isnan(parts["kappa"]):
        return undefined(
            METRIC,
            _pe_one_reason(table, coded, names),
            observed=po,
            expected=pe,
            details=details,
            **counts,
            **common,
        )
    value = float(parts["kappa"])
    reason = (
        f"only {n_items} task(s) in common: the interval is not reliable"
        if n_items < 2
        else None
    )
    result = AgreementResult(
        metric=METRIC,
        value=value,
        observed=po,
        expected=pe,
        reason=reason,
        details=details,
        **counts,
        **common,
    )
    if interval is None:
        return result
    if interval.method == "analytic":
        se = math.sqrt(float(parts["var"]))
        return result.with_interval(
            se,
            analytic_ci(value, se, n_items, interval),
            f"analytic-{interval.quantile}",
            interval.confidence,
        )
    cell_of_task = _pair_cells(cells, a, b, coded.n_tasks, coded.n_categories)[tasks]
    q2 = coded.n_categories**2
    onehot = _csr()(
        (np.ones(n_items), (np.arange(n_items), cell_of_task)), shape=(n_items, q2)
    )

    def statistic(draws: npt.NDArray[np.int64]) -> FloatArray:
        boot_tables = np.asarray((onehot.T @ draws.T.astype(np.float64)).T)
        q = coded.n_categories
        return kappa_parts(boot_tables.reshape(-1, q, q), w)["kappa"]

    boot = bootstrap_tasks(statistic, n_items, interval, value)
    return result.with_interval(boot.se, boot.ci, boot.method, interval.confidence)


def cohen_kappa_matrix(
    data: RatingsInput,
    *,
    field: str | None = None,
    level: Level = "nominal",
    categories: Sequence[Any] | None = None,
    weights: Weights = "unweighted",
    weights_basis: WeightsBasis = "ranks",
    min_items: int = 1,
) -> pd.DataFrame:
    r"""Cohen's kappa for every pair of annotators, as a tidy table.

    For each ordered pair :math:`(a, b)`, :math:`a \ne b`, kappa of :func:`cohen_kappa`
    on the tasks both answered, with its analytic standard error.

    Parameters
    ----------
    data, field, level, categories, weights, weights_basis : as :func:`cohen_kappa`.
    min_items : pairs with fewer common tasks get NaN (with a reason).

    Returns
    -------
    pandas.DataFrame
        One row per ordered pair (both ``(a, b)`` and ``(b, a)``, so that
        ``frame.pivot(index="annotator_a", columns="annotator_b", values="value")``
        is the full symmetric matrix), columns ``annotator_a``, ``annotator_b``,
        ``value``, ``se``, ``n_items`` (common tasks), ``observed``, ``expected``
        and ``reason`` (None when the value is defined).

    Notes
    -----
    All pair contingency tables come from one sparse product ``Y^T Y`` of the
    task x (annotator, category) indicator matrix, so the cost grows with the
    number of co-answering pairs, not with a loop over pairs; the result holds
    ``(n_annotators * n_categories)^2`` counts.  Repeated answers: the latest counts,
    as in :func:`cohen_kappa`.

    References
    ----------
    See :func:`cohen_kappa`.

    Examples
    --------
    The Artstein & Poesio (2008) example of :func:`cohen_kappa`, kappa 0.8013:

    >>> from labelcheck.table import from_records
    >>> cells = {("Stat", "Stat"): 46, ("IReq", "Stat"): 6, ("IReq", "IReq"): 32,
    ...          ("IReq", "Chck"): 6, ("Chck", "Chck"): 10}
    >>> pairs = [p for p, count in cells.items() for _ in range(count)]
    >>> rows = [{"task_id": i, "annotator_id": coder, "label": pair[j]}
    ...         for i, pair in enumerate(pairs) for j, coder in enumerate("AB")]
    >>> frame = cohen_kappa_matrix(from_records(rows))
    >>> frame[["annotator_a", "annotator_b", "n_items"]].values.tolist()
    [['A', 'B', 100], ['B', 'A', 100]]
    >>> frame["value"].round(4).tolist()
    [0.8013, 0.8013]
    """
    if min_items < 1:
        raise ValueError(f"min_items must be at least 1; got {min_items}")
    coded = as_coded(data, field=field, level=level, categories=categories)
    w = _weights(coded, weights, weights_basis)
    cells = answer_cells(coded)
    r, q = coded.n_annotators, coded.n_categories
    tensor = _pair_tensor(cells, coded.n_tasks, r, q)
    parts = kappa_parts(tensor, w)
    a_idx, b_idx = np.nonzero(~np.eye(r, dtype=bool))
    n_items = parts["n"][a_idx, b_idx].astype(np.int64)
    kappa = parts["kappa"][a_idx, b_idx]
    too_few = n_items < min_items
    value = np.where(too_few, np.nan, kappa)
    se = np.where(np.isnan(value), np.nan, np.sqrt(parts["var"][a_idx, b_idx]))
    ids = coded.annotator_ids
    reasons: list[str | None] = [None] * len(a_idx)
    for i in np.flatnonzero(np.isnan(value)):  # only the undefined pairs
        if n_items[i] == 0:
            reasons[i] = "no task in common"
        elif too_few[i]:
            reasons[i] = f"only {n_items[i]} task(s) in common (min_items={min_items})"
        else:
            reasons[i] = _pe_one_reason(tensor[a_idx[i], b_idx[i]], coded, None)
    return pd.DataFrame(
        {
            "annotator_a": np.asarray(ids, dtype=object)[a_idx],
            "annotator_b": np.asarray(ids, dtype=object)[b_idx],
            "value": value,
            "se": se,
            "n_items": n_items,
            "observed": np.where(n_items > 0, parts["observed"][a_idx, b_idx], np.nan),
            "expected": np.where(n_items > 0, parts["expected"][a_idx, b_idx], np.nan),
            "reason": pd.Series(reasons, dtype=object),
        }
    )


# --- internals -----------------------------------------------------------------------
def _weights(coded: CodedRatings, weights: Weights, basis: WeightsBasis) -> FloatArray:
    if weights != "unweighted" and coded.level == "nominal":
        raise ValueError(
            f'{weights} weights need ordered categories, but field "{coded.field}" is '
            "nominal; pass level='ordinal' (with categories=[...] in order) or "
            "weights='unweighted'"
        )
    return weight_matrix(weights, coded.n_categories, coded.values, basis)


def _not_two_reason(coded: CodedRatings) -> str:
    ids = coded.annotator_ids
    if len(ids) < 2:
        who = f" ({name_list(ids)})" if len(ids) else ""
        return (
            f'field "{coded.field}" has {len(ids)} annotator(s){who}: Cohen\'s kappa '
            "needs two"
        )
    return (
        f'field "{coded.field}" has {len(ids)} annotators ({name_list(ids, limit=5)}); '
        "Cohen's kappa compares two: name them with annotators=(a, b) "
        "(CLI: --annotators A,B), or use conger_kappa for one coefficient over all "
        "annotators, or cohen_kappa_matrix for every pair"
    )


def _annotator_codes(coded: CodedRatings, annotators: Sequence[str]) -> tuple[int, int]:
    if isinstance(annotators, str) or len(annotators) != 2:
        raise ValueError(f"annotators must be two annotator ids; got {annotators!r}")
    wanted = [str(x) for x in annotators]
    if wanted[0] == wanted[1]:
        raise ValueError(f"annotators must be two different ids; got {wanted[0]!r} twice")
    codes = coded.annotator_ids.get_indexer(pd.Index(wanted))
    missing = [x for x, c in zip(wanted, codes) if c < 0]
    if missing:
        raise InvalidInput(
            f'annotator(s) {name_list(missing)} have no answers on field "{coded.field}"; '
            f"its annotators are: {name_list(coded.annotator_ids)}"
        )
    return int(codes[0]), int(codes[1])


def _pair_cells(
    cells: AnswerCells, a: int, b: int, n_tasks: int, q: int
) -> IntArray:
    """Per task: ``label_a * q + label_b`` where both answered, else -1."""
    la = np.full(n_tasks, -1, dtype=np.intp)
    lb = np.full(n_tasks, -1, dtype=np.intp)
    mine = cells.annotator == a
    la[cells.task[mine]] = cells.label[mine]
    theirs = cells.annotator == b
    lb[cells.task[theirs]] = cells.label[theirs]
    return np.where((la >= 0) & (lb >= 0), la * q + lb, -1)


def _pair_table(
    cells: AnswerCells, a: int, b: int, n_tasks: int, q: int
) -> tuple[npt.NDArray[np.int64], IntArray]:
    """The ``(q, q)`` contingency table of two annotators and their common tasks."""
    pair = _pair_cells(cells, a, b, n_tasks, q)
    tasks = np.flatnonzero(pair >= 0)
    table = np.bincount(pair[tasks], minlength=q * q).reshape(q, q)
    return table.astype(np.int64), tasks


def _pair_tensor(cells: AnswerCells, n_tasks: int, r: int, q: int) -> FloatArray:
    """Contingency tables of every ordered annotator pair, shape ``(r, r, q, q)``:
    ``[a, b, k, l]`` counts tasks where ``a`` said ``k`` and ``b`` said ``l``."""
    y = _csr()(
        (np.ones(len(cells.task)), (cells.task, cells.annotator * q + cells.label)),
        shape=(n_tasks, r * q),
    )
    gram = np.asarray((y.T @ y).toarray(), dtype=np.float64)
    return gram.reshape(r, q, r, q).transpose(0, 2, 1, 3)


def _pe_one_reason(
    table: npt.NDArray[Any], coded: CodedRatings, names: tuple[str, str] | None
) -> str:
    """Why kappa is undefined when p_e = 1; short (for a matrix row) without names."""
    used = np.flatnonzero((table.sum(axis=0) + table.sum(axis=1)) > 0)
    cats = name_list(_plain(coded.categories[int(i)]) for i in used)
    n = int(np.asarray(table).sum())
    if names is None:
        return f"chance agreement is 1: only category {cats} in use on the common tasks"
    return (
        f"annotators {names[0]} and {names[1]} used only category {cats} on their {n} "
        "common task(s): chance agreement is 1, so kappa is undefined"
    )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _csr() -> Any:
    """scipy.sparse.csr_matrix, imported on first use (scipy.sparse costs ~0.16 s)."""
    from scipy.sparse import csr_matrix

    return csr_matrix
