"""The answers of one field as integer codes and as the sparse response matrix that
every EM model of this package runs on.

Response ``r = j * K + l`` is "annotator ``j`` answered category ``l``".  The sparse
matrix ``N`` of shape ``(n_annotators * K, n_tasks)`` holds ``n_{ijl}``, how many
times annotator ``j`` gave task ``i`` the answer ``l`` (every answer counts, repeats
included, as Dawid & Skene 1979 count them).  With it, one EM iteration is two
sparse-dense products, each O(n_annotations x K):

* E-step: ``log T = N^T @ log(pi)`` sums each task's answer log-probabilities;
* M-step: ``N @ T`` gives every annotator's expected (true, given) counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from labelcheck.errors import InvalidInput
from labelcheck.table import CodedRatings, count_matrix, encode, validate

ConsensusInput = pd.DataFrame | CodedRatings
IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

#: Where a probability is exactly zero its log is floored here (the log of the
#: smallest normal float64), which keeps -inf, and 0 * -inf = NaN, out of the sums.
LOG_FLOOR = float(np.log(np.finfo(np.float64).tiny))


def as_coded(
    data: ConsensusInput, *, field: str | None = None, categories: Sequence[Any] | None = None
) -> CodedRatings:
    """Encode ``data`` (nominal) unless it is already coded; refuse an empty field."""
    if isinstance(data, CodedRatings):
        if field is not None and field != data.field:
            raise ValueError(f"coded ratings are for field {data.field!r}, not {field!r}")
        coded = data
    else:
        coded = encode(data, field=field, level="nominal", categories=categories)
    if coded.n_annotations == 0:
        raise InvalidInput(f'field "{coded.field}" has no answers: every label is missing')
    unknown = coded.annotator < 0  # encode checked task ids; annotator ids are checked here
    if unknown.any():
        validate(coded.frame.iloc[coded.rows[unknown]])  # raises, naming the rows
    return coded


@dataclass(frozen=True, eq=False)
class Responses:
    """Codes of one field's answers plus the derived shapes the models need."""

    coded: CodedRatings

    @property
    def task(self) -> IntArray:
        return self.coded.task

    @property
    def label(self) -> IntArray:
        return self.coded.label

    @property
    def annotator(self) -> IntArray:
        return self.coded.annotator

    @property
    def n_tasks(self) -> int:
        return self.coded.n_tasks

    @property
    def n_categories(self) -> int:
        return self.coded.n_categories

    @property
    def n_annotators(self) -> int:
        return self.coded.n_annotators

    @property
    def n_annotations(self) -> int:
        return self.coded.n_annotations

    @cached_property
    def counts(self) -> npt.NDArray[np.int64]:
        """Task x category answer counts ``n[i, k]``."""
        return count_matrix(self.coded)

    @cached_property
    def response(self) -> IntArray:
        """Response code ``annotator * K + label`` of every answer."""
        r: IntArray = self.annotator * self.n_categories + self.label
        return r

    @cached_property
    def matrix(self) -> sp.csr_matrix:
        """``N``: (n_annotators * K) x n_tasks answer counts (duplicates summed)."""
        shape = (self.n_annotators * self.n_categories, self.n_tasks)
        ones = np.ones(self.n_annotations, dtype=np.float64)
        return sp.csr_matrix((ones, (self.response, self.task)), shape=shape)

    @cached_property
    def matrix_t(self) -> sp.csr_matrix:
        """``N^T`` in CSR form, for the E-step's row sums per task."""
        return self.matrix.T.tocsr()

    def vote_shares(self) -> FloatArray:
        """Each task's answers as shares over categories (rows sum to 1)."""
        n = self.counts.astype(np.float64)
        shares: FloatArray = n / n.sum(axis=1, keepdims=True)
        return shares


def normalise_log_rows(log_scores: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Posterior ``exp(s - logsumexp(s))`` per row and the per-row ``logsumexp``.

    Works on a categories x items copy: numpy reduces a (n_items, K) array along its
    short rows about 20x slower than along the long columns of its transpose."""
    by_category = np.ascontiguousarray(log_scores.T)
    top = by_category.max(axis=0)
    by_category -= top
    np.exp(by_category, out=by_category)
    total = by_category.sum(axis=0)
    by_category /= total
    posterior: FloatArray = np.ascontiguousarray(by_category.T)
    log_norm: FloatArray = np.log(total) + top
    return posterior, log_norm


def safe_log(p: FloatArray) -> FloatArray:
    """``log(p)`` with zeros floored at :data:`LOG_FLOOR`."""
    with np.errstate(divide="ignore"):
        out: FloatArray = np.maximum(np.log(p), LOG_FLOOR)
    return out
