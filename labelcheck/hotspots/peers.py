r"""Each answer against its *peers*: the other answers on its task, optionally without
the answers of annotators already found to be outliers.

One careless annotator who co-annotates a third of the tasks lowers the agreement of
everyone they work with, so the others look better than "the rest" and a second,
milder outlier is masked (in the bundled support-ticket demo the contrarian
annotator's excess disagreement was 0.00 against all peers and clearly positive
against the peers without the careless one).  :func:`peers` therefore takes a mask
of excluded answers: they are nobody's peers, though their own answers are still
compared with the remaining peers.

For answer :math:`v` on task :math:`u`, let :math:`P_v` be the count vector of its
peers (the task's non-excluded answers other than :math:`v`) and
:math:`m'_v = |P_v|`:

- ``disagreement`` :math:`d'_v = (P_v \delta)_{c_v} / m'_v`, its mean difference
  from its peers;
- ``rest`` :math:`r'_v = P_v^\top \delta P_v / (m'_v (m'_v - 1))`, the mean
  difference among the peers themselves;
- ``share`` :math:`p_v = P_v / m'_v`, the peers' label shares (for the bias profile).

Count rows are grouped into patterns as in :mod:`labelcheck.hotspots.coincidences`, so
the cost is a few ``bincount`` calls and sparse products over the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelcheck.hotspots.coincidences import Coincidences, _patterns

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class Peers:
    """Per pairable answer (arrays ``(n_answers,)``, the order of ``co``): ``rows``
    indexes ``patterns`` ``(n_rows, K)``, the count row of the task's non-excluded
    answers; ``inside`` says whether the answer itself is in that row (not excluded);
    ``m`` is :math:`m'_v`; ``disagreement``, ``rest`` as in the module docstring (NaN
    where there are too few peers)."""

    patterns: npt.NDArray[np.int64]
    rows: IntArray
    inside: npt.NDArray[np.bool_]
    m: FloatArray
    disagreement: FloatArray
    rest: FloatArray


def peers(co: Coincidences, excluded: npt.NDArray[np.bool_] | None = None) -> Peers:
    """The peer comparison of every pairable answer (module docstring); ``excluded``
    (a mask over ``co``'s answers) removes answers from everyone's peers."""
    label = co.label
    if excluded is None or not excluded.any():
        patterns, rows = co.patterns, co.pattern
        inside: npt.NDArray[np.bool_] = np.ones(co.n_values, dtype=bool)
    else:
        k = co.n_categories
        keep = ~excluded
        counts = np.bincount(co.unit[keep] * k + label[keep], minlength=co.n_units * k)
        patterns, unit_rows = _patterns(counts.reshape(co.n_units, k))
        rows, inside = unit_rows[co.unit], keep
    pat = patterns.astype(np.float64)
    n_delta = pat @ co.delta
    q = np.einsum("pc,pc->p", pat, n_delta)
    m = pat.sum(axis=1)[rows] - inside
    nd = n_delta[rows, label]
    with np.errstate(divide="ignore", invalid="ignore"):
        disagreement = np.where(m >= 1, nd / m, np.nan)
        rest = np.where(m >= 2, (q[rows] - 2.0 * inside * nd) / (m * (m - 1.0)), np.nan)
    return Peers(patterns=patterns, rows=rows, inside=inside, m=m.astype(np.float64),
                 disagreement=disagreement, rest=rest)


def usage_moments(co: Coincidences, peer: Peers) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Per annotator, the label counts :math:`O_a`, the peer-expected counts
    :math:`E_a = \sum_{v \in a} p_v` and the second moments
    :math:`S_a = \sum_{v \in a} d_v d_v^\top` of :math:`d_v = e_{c_v} - p_v`.
    Shapes ``(A, K)``, ``(A, K)``, ``(A, K, K)``; answers without peers are left out.

    With :math:`s_v = [v \text{ inside}]`, :math:`w_v = 1/m'_v` and :math:`R_v` the
    task's count row, :math:`p_v = w_v (R_v - s_v e_{c_v})`, so every sum is a sparse
    product over (annotator, row) or (annotator, label, row) with weights :math:`w_v`
    or :math:`w_v^2`: no per-answer ``K x K`` work."""
    from scipy.sparse import coo_matrix

    n_ann, k = co.annotator_ids.size, co.n_categories
    ok = peer.m >= 1
    a, c, r = co.annotator[ok], co.label[ok], peer.rows[ok]
    w = 1.0 / peer.m[ok]
    s = peer.inside[ok].astype(np.float64)
    pat = peer.patterns.astype(np.float64)
    n_rows = pat.shape[0]
    cell = a * k + c

    def by_annotator(weights: FloatArray) -> Any:
        return coo_matrix((weights, (a, r)), shape=(n_ann, n_rows)).tocsr()

    def by_label(weights: FloatArray) -> Any:
        return coo_matrix((weights, (cell, r)), shape=(n_ann * k, n_rows)).tocsr()

    def diag(weights: FloatArray) -> FloatArray:
        out = np.bincount(cell, weights=weights, minlength=n_ann * k).astype(np.float64)
        return out.reshape(n_ann, k)

    eye = np.eye(k)[None]
    observed = diag(np.ones(len(a)))
    expected = np.asarray(by_annotator(w) @ pat) - diag(s * w)
    c_sum = np.asarray(by_label(w) @ pat).reshape(n_ann, k, k) - diag(s * w)[:, :, None] * eye
    outer = np.einsum("pc,pk->pck", pat, pat).reshape(n_rows, k * k)
    rr = np.asarray(by_annotator(w**2) @ outer).reshape(n_ann, k, k)
    g = np.asarray(by_label(s * w**2) @ pat).reshape(n_ann, k, k)
    pp = rr - g - g.transpose(0, 2, 1) + diag(s * w**2)[:, :, None] * eye
    second = observed[:, :, None] * eye - c_sum - c_sum.transpose(0, 2, 1) + pp
    return observed, expected, second


__all__ = ["Peers", "peers", "usage_moments"]
