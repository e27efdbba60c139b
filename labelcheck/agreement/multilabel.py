r"""Agreement on multi-label (set-valued) choices: Jaccard and MASI distances,
Krippendorff's alpha over label sets, and per-label binary agreement.

A multi-choice answer (Label Studio ``Choices choice="multiple"``, ``Taxonomy``) is
a sorted tuple of labels in the canonical table; an empty tuple is an answer (the
annotator selected nothing), a missing label is no answer.  Distinct label sets
are few, so sets are stored once, as bit rows, and pair distances are computed
with popcounts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from labelcheck.agreement.distance_alpha import FieldAnswers, distance_alpha, field_answers
from labelcheck.agreement.intervals import IntervalSpec
from labelcheck.agreement.result import AgreementResult
from labelcheck.errors import InvalidInput, name_list

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SetDistance = Literal["masi", "jaccard"]
SET_DISTANCES: tuple[str, ...] = ("masi", "jaccard")

#: Passonneau's (2006) monotonicity weights: equal sets, one a subset of the
#: other, overlapping without inclusion, disjoint.
MONOTONICITY = (1.0, 2.0 / 3.0, 1.0 / 3.0, 0.0)
NOT_A_SET = "label {!r} is not a set of labels (a tuple of strings), as a multi-choice field needs"


# --- scalar distances ----------------------------------------------------------------
def jaccard_distance(a: Iterable[Any], b: Iterable[Any]) -> float:
    r"""Jaccard distance between two label sets.

    .. math:: d_J(A, B) = 1 - \frac{|A \cap B|}{|A \cup B|}

    Two empty sets are equal: distance 0.

    References
    ----------
    Jaccard, P. (1912). The distribution of the flora in the alpine zone. New
    Phytologist 11(2), 37-50. https://doi.org/10.1111/j.1469-8137.1912.tb05611.x

    Examples
    --------
    >>> jaccard_distance({"a", "b"}, {"b", "c"})
    0.6666666666666667
    """
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return 0.0 if union == 0 else 1.0 - len(sa & sb) / union


def masi_distance(a: Iterable[Any], b: Iterable[Any]) -> float:
    r"""MASI distance (Measuring Agreement on Set-valued Items) between two label sets.

    .. math:: d_{MASI}(A, B) = 1 - J(A, B)\,M(A, B)

    :math:`J = |A \cap B| / |A \cup B|` is Jaccard's similarity and :math:`M` the
    monotonicity: 1 when :math:`A = B`, 2/3 when one is a subset of the other, 1/3
    when they overlap with neither a subset of the other, 0 when disjoint.  Two
    empty sets are equal: distance 0.

    Notes
    -----
    Passonneau (2006) gives the weights as 2/3 and 1/3; NLTK's ``masi_distance``
    used the rounded 0.67 and 0.33 until version 3.9 (3.10 uses 2/3 and 1/3), so
    older NLTK versions differ from this function by up to :math:`0.0033\,J` on
    subset and overlap pairs.  NLTK divides by zero on two empty sets.

    References
    ----------
    Passonneau, R. (2006). Measuring agreement on set-valued items (MASI) for
    semantic and pragmatic annotation. Proceedings of LREC 2006, 831-836.
    http://www.lrec-conf.org/proceedings/lrec2006/pdf/636_pdf.pdf

    Examples
    --------
    NLTK's doctest: :math:`J = 1/2`, subset, so :math:`1 - (1/2)(2/3)`.

    >>> round(masi_distance({1, 2}, {1, 2, 3, 4}), 4)
    0.6667
    """
    sa, sb = set(a), set(b)
    inter, union = len(sa & sb), len(sa | sb)
    if union == 0:
        return 0.0
    if inter == len(sa) == len(sb):
        m = MONOTONICITY[0]
    elif inter == min(len(sa), len(sb)):
        m = MONOTONICITY[1]
    elif inter > 0:
        m = MONOTONICITY[2]
    else:
        m = MONOTONICITY[3]
    return 1.0 - inter / union * m


# --- the label sets of one field -----------------------------------------------------
@dataclass(frozen=True, eq=False)
class LabelSets:
    """The answers of one multi-choice field, coded.

    ``code[i]`` (shape ``(n_answers,)``) indexes ``sets``, the distinct label sets
    (sorted tuples); ``labels`` is the label universe in order; ``bits`` of shape
    ``(n_sets, ceil(n_labels / 64))`` holds each set as bits over ``labels``."""

    answers: FieldAnswers
    code: IntArray
    sets: tuple[tuple[Any, ...], ...]
    labels: tuple[Any, ...]
    bits: npt.NDArray[np.uint64]

    @property
    def sizes(self) -> IntArray:
        sizes: IntArray = np.bitwise_count(self.bits).sum(axis=1).astype(np.int64)
        return sizes

    def membership(self) -> sp.csr_matrix:
        """``(n_sets, n_labels)`` 0/1 matrix: set ``k`` contains label ``l``."""
        rows = np.repeat(np.arange(len(self.sets)), [len(s) for s in self.sets])
        index = {label: j for j, label in enumerate(self.labels)}
        cols = np.asarray([index[x] for s in self.sets for x in s], dtype=np.int64)
        return sp.csr_matrix(
            (np.ones(cols.size), (rows, cols)), shape=(len(self.sets), len(self.labels))
        )

    def pair_distance(self, distance: SetDistance) -> Any:
        """A vectorised ``(i, j) -> d`` over answer positions, for :func:`distance_alpha`."""
        if distance not in SET_DISTANCES:
            raise ValueError(
                f"distance must be one of {', '.join(SET_DISTANCES)}; got {distance!r}"
            )
        bits, sizes, code = self.bits, self.sizes, self.code

        def pair(i: IntArray, j: IntArray) -> FloatArray:
            return set_distances(bits, sizes, code[i], code[j], distance)

        return pair


def set_distances(
    bits: npt.NDArray[np.uint64], sizes: IntArray, a: IntArray, b: IntArray,
    distance: SetDistance,
) -> FloatArray:
    """Jaccard or MASI distance between sets ``a[p]`` and ``b[p]`` given as bit rows."""
    inter = np.bitwise_count(bits[a] & bits[b]).sum(axis=1).astype(np.float64)
    sa, sb = sizes[a].astype(np.float64), sizes[b].astype(np.float64)
    union = sa + sb - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, inter / union, 1.0)
    if distance == "jaccard":
        return np.asarray(1.0 - jac, dtype=np.float64)
    m = np.select(
        [(inter == sa) & (inter == sb), inter == np.minimum(sa, sb), inter > 0],
        list(MONOTONICITY[:3]),
        MONOTONICITY[3],
    )
    return np.asarray(1.0 - jac * m, dtype=np.float64)


def label_sets(
    data: pd.DataFrame, *, field: str | None = None, labels: Sequence[Any] | None = None
) -> LabelSets:
    """Read one multi-choice field of the canonical table as :class:`LabelSets`.

    A label must be a tuple, list, set or frozenset of strings (a bare string is read
    as a one-label set).  Rows whose label is missing are no answer and left out.
    ``labels`` declares the label universe (in order); a label outside it is an
    error naming the rows.  Raises :class:`~labelcheck.errors.InvalidInput` naming
    task, annotation and field of every bad row."""
    answers = field_answers(data, field)
    raw = answers.labels
    try:
        codes, uniques = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=False)
    except TypeError:  # lists are unhashable: make them tuples first
        fixed = pd.Series(
            [tuple(x) if isinstance(x, list) else x for x in raw], dtype=object
        )
        codes, uniques = pd.factorize(fixed, use_na_sentinel=False)
    canonical = [_as_set(u) for u in uniques]
    bad = np.asarray([c is None for c in canonical], dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad[codes])
        found = name_list(sorted({repr(u) for u, b in zip(uniques, bad) if b}))
        raise InvalidInput(
            f'field "{answers.field}": {len(rows)} label(s) are not sets of labels '
            f"(tuples of strings), as a multi-choice field needs; found {found}",
            answers.problems(rows, NOT_A_SET.format),
        )
    sets_per_unique = [c for c in canonical if c is not None]
    set_codes, distinct = pd.factorize(pd.Series(sets_per_unique, dtype=object))
    code = np.asarray(set_codes, dtype=np.int64)[np.asarray(codes)]
    sets: tuple[tuple[Any, ...], ...] = tuple(distinct)
    in_use = sorted({x for s in sets for x in s})
    if labels is not None:
        declared = tuple(labels)
        if len(set(declared)) != len(declared):
            raise ValueError(f"labels contain duplicates: {name_list(declared)}")
        unknown = set(in_use) - set(declared)
        if unknown:
            bad_set = np.asarray([bool(set(s) & unknown) for s in sets])
            rows = np.flatnonzero(bad_set[code])
            raise InvalidInput(
                f'field "{answers.field}": {len(rows)} answer(s) use labels that are not '
                f"among the declared labels ({name_list(declared)}); unknown: "
                f"{name_list(sorted(unknown))}",
                answers.problems(rows, lambda v: f"label {v!r} has undeclared labels"),
            )
        universe = declared
    else:
        universe = tuple(in_use)
    return LabelSets(answers, code, sets, universe, _bit_rows(sets, universe))


def _as_set(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list, set, frozenset)) and all(isinstance(x, str) for x in value):
        return tuple(sorted(set(value)))
    return None


def _bit_rows(sets: Sequence[tuple[Any, ...]], universe: Sequence[Any]) -> npt.NDArray[np.uint64]:
    index = {label: j for j, label in enumerate(universe)}
    n_words = max(1, -(-len(universe) // 64))
    bits = np.zeros((len(sets), n_words), dtype=np.uint64)
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    cols = np.asarray([index[x] for s in sets for x in s], dtype=np.int64)
    if cols.size:
        np.bitwise_or.at(
            bits, (rows, cols // 64), np.left_shift(np.uint64(1), (cols % 64).astype(np.uint64))
        )
    return bits


# --- coefficients --------------------------------------------------------------------
def multilabel_alpha(
    data: pd.DataFrame | LabelSets,
    *,
    field: str | None = None,
    distance: SetDistance = "masi",
    ci: IntervalSpec | None = None,
    max_expected_pairs: int = 2_000_000,
    seed: int = 0,
) -> AgreementResult:
    r"""Krippendorff's alpha for multi-label answers with a set distance.

    .. math:: \alpha = 1 - \frac{D_o}{D_e}

    with :math:`D_o` and :math:`D_e` Krippendorff's observed and expected
    disagreement over pairable answers (see
    :func:`~labelcheck.agreement.distance_alpha.distance_alpha`) and
    :math:`\delta` the MASI distance :math:`1 - J \cdot M` (default; Passonneau
    2006) or the Jaccard distance :math:`1 - J`.

    Parameters
    ----------
    data : canonical annotation table (``label`` a sorted tuple of strings per
        answer) or :class:`LabelSets` from :func:`label_sets`.
    field : the field; may be omitted when the table has one.
    distance : ``masi`` or ``jaccard``.
    ci : None or ``"bootstrap"`` (item bootstrap over tasks); no analytic interval.
    max_expected_pairs, seed : see :func:`distance_alpha` (exact :math:`D_e` below
        that many pairs of distinct label sets, else a seeded sample).

    Returns
    -------
    AgreementResult
        ``metric`` ``multilabel_alpha``; ``n_categories`` the distinct label sets in
        use; ``details["distance"]`` the set distance.

    Notes
    -----
    An empty selection (the empty tuple) is a value: it is at distance 0 from
    another empty selection and 1 from any non-empty one.  A missing label is no
    answer.  Undefined (NaN with a reason) when no task has two answers, when one
    label set is used throughout, or when :math:`D_e = 0`.

    MASI alpha reproduces NLTK's ``AnnotationTask(distance=masi_distance).alpha()``
    where NLTK's MASI uses 2/3 and 1/3 (NLTK >= 3.10; earlier: 0.67 and 0.33).  NLTK
    returns 1 when a single value is in use; this function returns NaN.

    References
    ----------
    Passonneau, R. (2006). Measuring agreement on set-valued items (MASI) for
    semantic and pragmatic annotation. Proceedings of LREC 2006, 831-836.
    Krippendorff, K. (2019). Content Analysis, 4th ed., ch. 12. SAGE.
    https://doi.org/10.4135/9781071878781

    Examples
    --------
    >>> from labelcheck.table import from_records
    >>> rows = [("t1", "a", ("x",)), ("t1", "b", ("x",)), ("t2", "a", ("x", "y")),
    ...         ("t2", "b", ("y",)), ("t3", "a", ()), ("t3", "b", ("z",))]
    >>> table = from_records([dict(task_id=t, annotator_id=c, label=l) for t, c, l in rows])
    >>> round(multilabel_alpha(table).value, 4), multilabel_alpha(table, distance="jaccard").value
    (0.359, 0.4)

    With Jaccard: :math:`D_o = (0 + 2 \cdot 0.5 + 2 \cdot 1)/6 = 0.5`; the 15 pairs of
    the six answers sum to 12.5, so :math:`D_e = 12.5/15` and :math:`\alpha = 0.4`.
    """
    sets = data if isinstance(data, LabelSets) else label_sets(data, field=field)
    answers = sets.answers
    result = distance_alpha(
        answers.task_ids,
        sets.code,
        sets.pair_distance(distance),
        metric="multilabel_alpha",
        max_expected_pairs=max_expected_pairs,
        seed=seed,
        ci=ci,
        n_annotators=answers.n_annotators,
    )
    details = {"distance": distance, "field": answers.field, **result.details}
    return dataclasses.replace(result, details=details)


def per_label_agreement(
    data: pd.DataFrame | LabelSets,
    *,
    field: str | None = None,
    labels: Sequence[Any] | None = None,
) -> pd.DataFrame:
    r"""Agreement on each label of a multi-choice field, read as present / absent.

    For label :math:`l`, every answer is 1 when it contains :math:`l` and 0 when
    not.  With :math:`a_u` the answers of task :math:`u` containing :math:`l`,
    :math:`m_u` its answers, summed over the :math:`N` tasks with
    :math:`m_u \ge 2` and :math:`n = \sum_u m_u`, :math:`n_1 = \sum_u a_u`:

    .. math:: \alpha_l = 1 - (n - 1)\,
              \frac{\sum_u a_u (m_u - a_u) / (m_u - 1)}{n_1 (n - n_1)}, \qquad
              PA_l = \frac{2a}{2a + b + c}
                   = \frac{\sum_u a_u (a_u - 1)}{\sum_u a_u (m_u - 1)}

    :math:`\alpha_l` is Krippendorff's nominal alpha of the binary variable and
    :math:`PA_l` the positive specific agreement pooled over all pairs of answers
    within a task (:math:`a` pairs where both contain :math:`l`, :math:`b + c`
    pairs where one does; Fleiss 1975; Uebersax 1982).  :math:`NA_l` is the
    negative specific agreement, the same with presence and absence swapped.

    Parameters
    ----------
    data : canonical annotation table or :class:`LabelSets`.
    field : the field; may be omitted when the table has one.
    labels : the declared labels, in the order of the output rows (unused ones get
        a row with NaN agreement); default the labels in use, sorted.

    Returns
    -------
    pandas.DataFrame
        One row per label: ``label``, ``alpha``, ``positive_agreement``,
        ``negative_agreement``, ``prevalence`` (share of all answers, including
        single-answer tasks, that contain the label), ``n_items`` (tasks with two or
        more answers), ``n_answers`` (all answers), ``n_present`` (answers containing
        the label), ``reason`` (why alpha is NaN, else None).

    Notes
    -----
    Every answer counts, including repeated answers of one annotator on one task.
    Alpha is NaN when no task has two answers, or when the label is in none or all
    of the pairable answers; positive agreement is NaN when it is in none.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    https://repository.upenn.edu/asc_papers/43
    Fleiss, J. L. (1975). Measuring agreement between two judges on the presence or
    absence of a trait. Biometrics 31(3), 651-659. https://doi.org/10.2307/2529549
    Uebersax, J. S. (1982). A design-independent method for measuring the
    reliability of psychiatric diagnosis. Journal of Psychiatric Research 17(4),
    335-342. https://doi.org/10.1016/0022-3956(82)90039-5

    Examples
    --------
    >>> from labelcheck.table import from_records
    >>> rows = [("t1", "a", ("x",)), ("t1", "b", ("x", "y")), ("t2", "a", ()),
    ...         ("t2", "b", ("y",)), ("t3", "a", ("x",)), ("t3", "b", ())]
    >>> table = from_records([dict(task_id=t, annotator_id=c, label=l) for t, c, l in rows])
    >>> per_label_agreement(table)[["label", "alpha", "positive_agreement"]].round(3)
      label  alpha  positive_agreement
    0     x  0.444               0.667
    1     y -0.250               0.000
    """
    sets = data if isinstance(data, LabelSets) else label_sets(data, field=field, labels=labels)
    if labels is not None and isinstance(data, LabelSets):
        sets = _with_universe(sets, labels)
    unit_all, _ = pd.factorize(sets.answers.task_ids, sort=False)
    n_all_units = int(unit_all.max()) + 1
    m_all = np.bincount(unit_all, minlength=n_all_units)
    member = sets.membership()
    n_labels = len(sets.labels)
    per_set = np.bincount(sets.code, minlength=len(sets.sets)).astype(np.float64)
    n_present = np.asarray(member.T @ per_set, dtype=np.float64)
    n_answers = int(sets.code.size)

    pairable = m_all[unit_all] >= 2
    unit_ids, unit = np.unique(unit_all[pairable], return_inverse=True)
    n_units = len(unit_ids)
    n = int(np.count_nonzero(pairable))
    if n_units:
        by_set = sp.csr_matrix(
            (np.ones(n), (unit.ravel(), sets.code[pairable])), shape=(n_units, len(sets.sets))
        )
        a_matrix = sp.coo_matrix(by_set @ member)
        r, c, a = a_matrix.row, a_matrix.col, a_matrix.data
        m = m_all[unit_ids][r].astype(np.float64)
        n_mm = float(np.sum(m_all[unit_ids] * (m_all[unit_ids] - 1.0)))
    else:
        c = np.zeros(0, dtype=np.int64)
        a = m = np.zeros(0)
        n_mm = 0.0

    def per_label(w: FloatArray) -> FloatArray:
        return np.bincount(c, weights=w, minlength=n_labels).astype(np.float64)

    n1 = per_label(a)
    within = per_label(a * (m - a) / np.maximum(m - 1.0, 1.0))  # sum_u a(m-a)/(m-1)
    both = per_label(a * (a - 1.0))
    neither = n_mm + per_label((m - a) * (m - a - 1.0) - m * (m - 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1.0) * within / (n1 * (n - n1))
        positive = both / (both + per_label(a * (m - a)))
        neg_den = neither + per_label(a * (m - a))
        negative = neither / neg_den
    reason = np.full(n_labels, None, dtype=object)
    if n_units == 0:
        reason[:] = "no task has two or more answers: alpha needs pairable values"
    else:
        reason[n1 == 0] = "label never chosen on a task with two or more answers"
        reason[n1 == n] = (
            "label chosen in every answer on tasks with two or more answers: alpha needs "
            "variation"
        )
    alpha = np.where(reason == None, alpha, np.nan)  # noqa: E711 (elementwise)
    positive = np.where(n1 > 0, positive, np.nan)
    negative = np.where(neg_den > 0, negative, np.nan)
    return pd.DataFrame({
        "label": pd.Series(sets.labels, dtype=object),
        "alpha": alpha,
        "positive_agreement": positive,
        "negative_agreement": negative,
        "prevalence": n_present / n_answers,
        "n_items": n_units,
        "n_answers": n_answers,
        "n_present": n_present.astype(np.int64),
        "reason": reason,
    })


def _with_universe(sets: LabelSets, labels: Sequence[Any]) -> LabelSets:
    declared = tuple(labels)
    unknown = sorted({x for s in sets.sets for x in s} - set(declared))
    if unknown:
        raise InvalidInput(
            f'field "{sets.answers.field}": labels {name_list(unknown)} are in use but not '
            f"among the declared labels ({name_list(declared)})"
        )
    return LabelSets(sets.answers, sets.code, sets.sets, declared, _bit_rows(sets.sets, declared))
