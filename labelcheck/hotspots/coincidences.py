r"""Krippendorff's observed disagreement taken apart, answer by answer.

Every hotspot kind rests on one decomposition of alpha's observed disagreement.  With
:math:`n_{uc}` the answers putting pairable unit (task) :math:`u` in category
:math:`c`, :math:`m_u = \sum_c n_{uc} \ge 2` and :math:`\delta_{ck}` the level's
difference function, Krippendorff's (2011) coincidence matrix counts every ordered
pair of answers :math:`(v, w)` on one unit with weight :math:`1/(m_u - 1)`:

.. math:: o_{ck} = \sum_u \frac{n_{uc}(n_{uk} - [c = k])}{m_u - 1}, \qquad
          n_{\cdot\cdot} D_o = \sum_{c,k} o_{ck}\,\delta_{ck}
                             = \sum_v d_v, \qquad
          d_v = \frac{(n_u \delta)_{c_v}}{m_u - 1},

so :math:`d_v`, answer :math:`v`'s mean difference from the other answers on its unit,
adds up to the observed disagreement.  Any set :math:`H` of ordered pairs (an item's,
a label pair's, an annotator's, a slice's) thus has an additive share of
:math:`D_o`, and lowering the disagreement inside :math:`H` moves alpha by an amount
that can be written down exactly (:mod:`labelcheck.hotspots.ranking`).

The count rows of the pairable units take few distinct values (*patterns*), so every
per-answer quantity is a lookup in a ``(n_patterns, n_categories)`` table: the cost
is one ``bincount`` over the answers plus work on the patterns.

This module is part of the computational core: pure functions, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.krippendorff import _distance_matrix, _ordinal_scores
from labelcheck.errors import InvalidInput, name_list
from labelcheck.table import CodedRatings, Level, compact_codes, created_at_keys

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Most categories the hotspot analysis handles (a ``(K, K)`` table per pattern chunk).
MAX_CATEGORIES = 200


@dataclass(frozen=True, eq=False)
class Coincidences:
    """One field's pairable answers, their count patterns and the per-answer
    decomposition of Krippendorff's observed disagreement.

    Arrays of shape ``(n_answers,)`` describe the pairable answers (answers on tasks
    with two or more answers), in the order of ``coded``: ``answer`` (their positions
    in ``coded``), ``unit``, ``label`` (category code) and ``annotator`` (annotator
    code).  ``unit_task`` maps each unit to its task code in ``coded.task_ids``;
    ``unit_pattern`` to its row of ``patterns`` ``(n_patterns, n_categories)``, whose
    ``freq`` counts the units with that pattern.  ``delta`` is the ``(K, K)``
    difference matrix of the level (ordinal: from the pairable marginals ``n_c``).
    """

    coded: CodedRatings
    level: Level
    answer: IntArray
    unit: IntArray
    label: IntArray
    unit_task: IntArray
    unit_pattern: IntArray
    patterns: npt.NDArray[np.int64]
    freq: npt.NDArray[np.int64]
    delta: FloatArray

    # --- totals ------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return int(self.unit_task.size)

    @property
    def n_values(self) -> int:
        """:math:`n_{\\cdot\\cdot}`, the pairable answers."""
        return int(self.answer.size)

    @property
    def n_categories(self) -> int:
        return int(self.delta.shape[0])

    @cached_property
    def n_c(self) -> FloatArray:
        """Pairable answers per category."""
        return np.asarray(self.freq @ self.patterns, dtype=np.float64)

    @cached_property
    def m_pattern(self) -> FloatArray:
        return np.asarray(self.patterns.sum(axis=1), dtype=np.float64)

    @cached_property
    def n_delta(self) -> FloatArray:
        """:math:`(n_p \\delta)_c`: per pattern, the summed difference of a ``c``
        answer from every answer of the pattern, shape ``(n_patterns, K)``."""
        return np.asarray(self.patterns @ self.delta, dtype=np.float64)

    @cached_property
    def q_pattern(self) -> FloatArray:
        """:math:`\\sum_{c,k} n_{pc} n_{pk} \\delta_{ck}` per pattern."""
        return np.asarray(np.einsum("pc,pc->p", self.patterns, self.n_delta), dtype=np.float64)

    @cached_property
    def expected(self) -> float:
        """:math:`D_e = \\sum_{c,k} n_c n_k \\delta_{ck} / (n(n-1))`."""
        n = float(self.n_values)
        if n < 2:
            return math.nan
        return float(self.n_c @ self.delta @ self.n_c) / (n * (n - 1.0))

    @cached_property
    def observed(self) -> float:
        """:math:`D_o = \\sum_v d_v / n_{\\cdot\\cdot}`."""
        if self.n_values == 0:
            return math.nan
        return float(self.freq @ (self.q_pattern / (self.m_pattern - 1.0))) / self.n_values

    @property
    def alpha(self) -> float:
        if not self.expected > 0:
            return math.nan
        return 1.0 - self.observed / self.expected

    # --- per answer --------------------------------------------------------------
    @cached_property
    def pattern(self) -> IntArray:
        return self.unit_pattern[self.unit]

    @cached_property
    def m(self) -> FloatArray:
        """Answers on each answer's unit."""
        return self.m_pattern[self.pattern]

    @cached_property
    def disagreement(self) -> FloatArray:
        """:math:`d_v / 1`: answer ``v``'s mean difference from its unit's other answers."""
        return np.asarray(self.n_delta[self.pattern, self.label] / (self.m - 1.0), dtype=np.float64)

    @cached_property
    def rest_disagreement(self) -> FloatArray:
        """The mean difference between the *other* answers of ``v``'s unit (pairs not
        involving ``v``): :math:`(q_u - 2 (n_u\\delta)_{c_v}) / ((m_u-1)(m_u-2))`;
        NaN on units with two answers."""
        num = self.q_pattern[self.pattern] - 2.0 * self.n_delta[self.pattern, self.label]
        den = (self.m - 1.0) * (self.m - 2.0)
        out = np.full(self.n_values, np.nan)
        ok = den > 0
        out[ok] = num[ok] / den[ok]
        return out

    @cached_property
    def _plurality_tables(self) -> tuple[IntArray, FloatArray]:
        """Per (pattern, label): the leave-one-out plurality label (-1 on a tie or when
        the label is absent) and the chance of matching it with random tie-breaking."""
        p, k = self.patterns.shape
        plurality = np.full((p, k), -1, dtype=np.intp)
        match = np.zeros((p, k))
        step = max(1, 4_000_000 // max(k * k, 1))
        eye = np.eye(k, dtype=np.int64)
        for s in range(0, p, step):
            others = self.patterns[s : s + step, None, :] - eye[None, :, :]  # (b, K, K)
            top = others.max(axis=2, keepdims=True)
            tied = others == top
            n_tied = tied.sum(axis=2)
            plurality[s : s + step] = np.where(n_tied == 1, tied.argmax(axis=2), -1)
            own = tied[:, np.arange(k), np.arange(k)]  # is the answer's label among the top?
            match[s : s + step] = own / n_tied
        present = self.patterns > 0
        plurality[~present] = -1
        match[~present] = 0.0
        return plurality, match

    @property
    def pattern_consensus(self) -> IntArray:
        """``(n_patterns, K)``: the leave-one-out plurality label of a ``c`` answer on a
        unit with that pattern (-1 on a tie or when ``c`` is absent)."""
        return self._plurality_tables[0]

    @cached_property
    def consensus(self) -> IntArray:
        """The plurality label of the *other* answers on each answer's unit (its
        leave-one-out consensus), -1 when they tie."""
        return self._plurality_tables[0][self.pattern, self.label]

    @cached_property
    def consensus_match(self) -> FloatArray:
        """1 when the answer is the others' plurality label, ``1/t`` when it is one of
        ``t`` tied labels, else 0."""
        return self._plurality_tables[1][self.pattern, self.label]

    @cached_property
    def annotator(self) -> IntArray:
        return self.coded.annotator[self.answer]

    @property
    def annotator_ids(self) -> pd.Index:
        return self.coded.annotator_ids

    @cached_property
    def created_ns(self) -> npt.NDArray[np.int64] | None:
        """``created_at`` of each pairable answer in ns (NaT: the int64 minimum)."""
        keys = created_at_keys(self.coded)
        return None if keys is None else keys[self.answer]

    # --- per unit ----------------------------------------------------------------
    @cached_property
    def unit_m(self) -> FloatArray:
        return self.m_pattern[self.unit_pattern]

    @cached_property
    def unit_disagreement(self) -> FloatArray:
        """Each unit's mean difference over its ordered pairs of answers,
        :math:`q_u / (m_u (m_u - 1))`."""
        m = self.unit_m
        return np.asarray(self.q_pattern[self.unit_pattern] / (m * (m - 1.0)), dtype=np.float64)

    def unit_ids(self, units: IntArray) -> list[str]:
        return [str(x) for x in self.coded.task_ids[self.unit_task[units]]]

    def most_split(self, units: IntArray, limit: int, score: FloatArray | None = None) -> list[str]:
        """Task ids of the ``limit`` units (among ``units``) with the highest ``score``
        (default: the unit's disagreement), ties broken by task id order."""
        units = np.asarray(units, dtype=np.intp)
        if units.size == 0 or limit <= 0:
            return []
        s = (self.unit_disagreement if score is None else score)[units]
        order = np.lexsort((units, -s))[:limit]
        return self.unit_ids(units[order])

    def category(self, code: int) -> object:
        value = self.coded.categories[code]
        return value.item() if hasattr(value, "item") else value


def coincidences(coded: CodedRatings, level: Level = "nominal") -> Coincidences:
    r"""Decompose one field's observed disagreement (see the module docstring).

    Parameters
    ----------
    coded : one field's answers (:func:`labelcheck.table.encode`).
    level : level of measurement, for the difference function :math:`\delta`
        (nominal, ordinal, interval or ratio, as Krippendorff 2011 defines them).

    Returns
    -------
    Coincidences
        ``alpha`` equals :func:`labelcheck.agreement.krippendorff_alpha` on ``coded``.

    Raises
    ------
    InvalidInput : no task has two answers, or more than :data:`MAX_CATEGORIES`
        categories are in use.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
    School for Communication, University of Pennsylvania.
    https://repository.upenn.edu/asc_papers/43

    Examples
    --------
    Krippendorff's (2011, pp. 5-9) example, nominal alpha 0.743; the per-answer terms
    :math:`d_v` add up to :math:`n_{\cdot\cdot} D_o`:

    >>> from labelcheck.table import encode, from_records
    >>> nan = float("nan")
    >>> rows = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> table = from_records(
    ...     [{"task_id": u, "annotator_id": o, "label": v}
    ...      for o, row in enumerate(rows) for u, v in enumerate(row) if v == v])
    >>> co = coincidences(encode(table))
    >>> round(co.alpha, 3), co.n_values, round(float(co.disagreement.sum()), 4)
    (0.743, 40, 8.0)
    """
    k = coded.n_categories
    if k > MAX_CATEGORIES:
        raise InvalidInput(
            f'field "{coded.field}" has {k} distinct values; the hotspot analysis handles '
            f"up to {MAX_CATEGORIES} (bin or round the values first)"
        )
    m_all = np.bincount(coded.task, minlength=coded.n_tasks)
    keep = m_all[coded.task] >= 2
    if not keep.any():
        raise InvalidInput(
            f'field "{coded.field}": no task has two or more answers, so there is no '
            "disagreement to locate"
        )
    answer = np.flatnonzero(keep).astype(np.intp)
    unit_task, unit = compact_codes(coded.task[answer], coded.n_tasks)
    label = coded.label[answer].astype(np.intp, copy=False)
    n_units = unit_task.size
    counts = np.bincount(unit * k + label, minlength=n_units * k).reshape(n_units, k)
    patterns, unit_pattern = _patterns(counts)
    freq = np.bincount(unit_pattern, minlength=patterns.shape[0]).astype(np.int64)
    delta = _delta(coded, level, np.asarray(freq @ patterns, dtype=np.float64))
    return Coincidences(
        coded=coded, level=level, answer=answer, unit=unit.astype(np.intp),
        label=label, unit_task=unit_task, unit_pattern=unit_pattern,
        patterns=patterns, freq=freq, delta=delta,
    )


def _patterns(counts: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], IntArray]:
    """Distinct count rows and each row's pattern index (mixed-radix keys when they
    fit in 63 bits, as :func:`labelcheck.agreement.intervals.count_patterns`)."""
    k = counts.shape[1]
    base = int(counts.max()) + 1
    if k * math.log2(max(base, 2)) < 62:
        keys = counts @ (base ** np.arange(k, dtype=np.int64))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return counts[first].astype(np.int64), inverse.astype(np.intp)
    patterns, inverse = np.unique(counts, axis=0, return_inverse=True)
    return patterns.astype(np.int64), inverse.ravel().astype(np.intp)


def _delta(coded: CodedRatings, level: Level, n_c: FloatArray) -> FloatArray:
    """The ``(K, K)`` difference matrix over all categories of ``coded``."""
    k = coded.n_categories
    if level == "nominal":
        return _distance_matrix("nominal", np.zeros(k))
    if level == "ordinal":
        z = _ordinal_scores(n_c)
        return np.asarray((z[:, None] - z[None, :]) ** 2, dtype=np.float64)
    if coded.values is None:
        raise InvalidInput(
            f'field "{coded.field}" is {level} but its categories are not numbers; '
            f"found {name_list(coded.categories[:10])}"
        )
    return _distance_matrix(level, np.asarray(coded.values, dtype=np.float64))


__all__ = ["MAX_CATEGORIES", "Coincidences", "coincidences"]
