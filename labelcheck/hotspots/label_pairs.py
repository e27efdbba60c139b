r"""Pairs of labels that annotators confuse, against what chance predicts.

From Krippendorff's coincidence matrix :math:`o_{ck}` (ordered pairs of answers on
one task, each weighted :math:`1/(m_u-1)`) and its chance counterpart
:math:`e_{ck} = n_c n_k / (n_{\cdot\cdot} - 1)` (Krippendorff 2011), each unordered
pair of labels :math:`\{c, k\}` with :math:`o_{ck} > 0` gets:

- ``observed`` :math:`o_{ck}`, ``expected`` :math:`e_{ck}`, ``ratio``
  :math:`o_{ck}/e_{ck}` (below 1: confused less often than chance);
- ``relative_confusion`` :math:`\rho_{ck} = (o_{ck}/O)/(e_{ck}/E)`, with
  :math:`O = \sum_{c<k} o_{ck}` and :math:`E = \sum_{c<k} e_{ck}`: the pair's share of
  all confusions over the share chance gives it.  :math:`\rho = 1` when disagreement
  spreads over the pairs as chance predicts; a confused pair has :math:`\rho > 1`;
- ``agreement`` :math:`\alpha_{ck}`: alpha on the coincidence matrix restricted to the
  two labels, :math:`1 - (n_s - 1)\,o_{ck} / (n'_c n'_k)` with
  :math:`n'_c = o_{cc} + o_{ck}`, :math:`n'_k = o_{kk} + o_{ck}` and
  :math:`n_s = n'_c + n'_k`: how well annotators tell ``c`` from ``k`` when the
  answers are one of the two.  The hotspot's pairs are the :math:`n_s` coincidences
  of that block, so ``share`` is :math:`n_s / n_{\cdot\cdot}` and ``chance_ratio``
  :math:`\delta_{ck} D_{e,s} / D_e` with :math:`D_{e,s} = 2 n'_c n'_k / (n_s(n_s-1))`;
- ``confusions`` :math:`x_{ck}`: how often an answer says one label where the other
  answers' plurality (its leave-one-out consensus) is the other, in either
  direction, and ``confusions_expected`` :math:`\mu_{ck} = (E_c + E_k)/(K - 1)`, what
  they would be if each consensus label's errors (:math:`E_c` answers departing
  from consensus :math:`c`) spread evenly over the other :math:`K - 1` labels in
  use: no pair preferred.  The one-sided test of "more confusions than that" is
  :math:`z = (x_{ck} - \mu_{ck}) / \widehat{se}`, the standard error linearised over
  tasks (:math:`x - \mu` is a sum of per-task terms).
  Two other nulls fail on data without any planted pair: Krippendorff's chance term
  flags every pair of rare labels when errors spread evenly (their chance share is
  tiny; a third of such pairs came out "significant" in our simulations), and
  quasi-independence of the consensus x answer table (Goodman 1968) cannot tell a
  confused pair from its complement when :math:`K \le 4` (both get the same z).
  Errors drawn to a frequent label do count as confusions here: "D is often
  answered A" is a pair a guideline can clarify;
- the interval of :math:`\alpha_{ck}` is linearised over tasks (delta method,
  normal quantile);
- ``symmetry``: how often an answer says ``k`` where the other answers' plurality
  (its leave-one-out consensus) is ``c``, and the reverse, with an exact two-sided
  binomial test of equal counts (McNemar 1947, exact form).  A small p-value means
  the confusion is one-sided: ``direction`` names the frequent way.

Only the :data:`MAX_PAIRS` pairs with the most observed confusion are analysed.

References
----------
Goodman, L. A. (1968). The analysis of cross-classified data: independence,
quasi-independence, and interactions in contingency tables with or without missing
entries. JASA 63(324), 1091-1131. https://doi.org/10.1080/01621459.1968.10480916
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
https://repository.upenn.edu/asc_papers/43
McNemar, Q. (1947). Note on the sampling error of the difference between correlated
proportions or percentages. Psychometrika 12(2), 153-157.
https://doi.org/10.1007/BF02295996
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.hotspots.coincidences import Coincidences
from labelcheck.hotspots.ranking import Hotspot, make_hotspot, records

FloatArray = npt.NDArray[np.float64]
MAX_PAIRS = 100
EXAMPLES = 5
_NORMAL = NormalDist()


def label_pairs(co: Coincidences, *, confidence: float = 0.95) -> pd.DataFrame:
    """One row per confused pair of labels (module docstring), most confused first.

    Returns
    -------
    pandas.DataFrame
        Columns ``label_a``, ``label_b`` (in category order), ``code_a``, ``code_b``,
        ``observed``, ``expected``, ``ratio``, ``relative_confusion``,
        ``confusions``, ``confusions_expected``, ``z``,
        ``p_value``, ``agreement``, ``ci_low``, ``ci_high``, ``share``,
        ``chance_ratio``, ``n_items`` (tasks with both labels), ``a_to_b``, ``b_to_a``
        (answers saying one where the others' plurality is the other),
        ``rate_a_to_b``, ``rate_b_to_a`` (over the answers whose consensus is ``a``,
        resp. ``b``), ``symmetry_p``.
    """
    f = co.freq.astype(np.float64)
    pat = co.patterns.astype(np.float64)
    w = pat / (co.m_pattern - 1.0)[:, None]  # n_pc / (m_p - 1)
    o = (pat * f[:, None]).T @ w  # o_ck off the diagonal; diagonal needs -[c=k]
    o[np.diag_indices_from(o)] -= (f[:, None] * w).sum(axis=0)
    n_c = co.n_c
    n = float(co.n_values)
    e = np.outer(n_c, n_c) / (n - 1.0)
    iu = np.triu_indices(co.n_categories, 1)
    o_pairs, e_pairs = o[iu], e[iu]
    big_o, big_e = float(o_pairs.sum()), float(e_pairs.sum())
    confused = np.flatnonzero(o_pairs > 0)
    confused = confused[np.argsort(-o_pairs[confused], kind="stable")][:MAX_PAIRS]
    a_codes, b_codes = iu[0][confused], iu[1][confused]
    if confused.size == 0:
        return pd.DataFrame(columns=_COLUMNS)

    # per-pattern terms, shape (P, n_pairs)
    o_u = pat[:, a_codes] * w[:, b_codes]
    o_aa = pat[:, a_codes] * (pat[:, a_codes] - 1.0) / (co.m_pattern - 1.0)[:, None]
    o_bb = pat[:, b_codes] * (pat[:, b_codes] - 1.0) / (co.m_pattern - 1.0)[:, None]
    o_ab, oaa, obb = o_pairs[confused], o[a_codes, a_codes], o[b_codes, b_codes]
    units = float(co.n_units)
    scale = units / (units - 1.0) if units > 1 else math.nan

    rho = (o_ab / big_o) / (e_pairs[confused] / big_e)

    # the test: consensus -> answer confusions against evenly spread errors
    cells = _consensus_cells(co)
    spread = 1.0 / max(int(np.count_nonzero(n_c)) - 1, 1)
    x_p, errors_p = _pattern_confusions(co, a_codes, b_codes)
    stat_p = x_p - (errors_p[:, a_codes] + errors_p[:, b_codes]) * spread
    errors = f @ errors_p
    x = cells[a_codes, b_codes] + cells[b_codes, a_codes]
    mu_ab = (errors[a_codes] + errors[b_codes]) * spread
    mean_p = (f @ stat_p) / units
    se = np.sqrt(scale * (f @ (stat_p - mean_p) ** 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x - mu_ab) / se, np.nan)
    p_value = np.array([1.0 - _NORMAL.cdf(t) if math.isfinite(t) else math.nan for t in z])

    na, nb = oaa + o_ab, obb + o_ab
    ns = na + nb
    alpha = 1.0 - (ns - 1.0) * o_ab / (na * nb)
    infl = (alpha - 1.0) * (o_u / o_ab - (o_aa + o_u) / na - (o_bb + o_u) / nb
                            + (o_aa + o_bb + 2 * o_u) / (ns - 1.0))
    mean_infl = (f @ infl) / units
    se_alpha = np.sqrt(scale * (f @ (infl - mean_infl) ** 2))
    q = _NORMAL.inv_cdf(0.5 + confidence / 2)
    de_sub = 2.0 * na * nb / (ns * (ns - 1.0))
    chance_ratio = co.delta[a_codes, b_codes] * de_sub / co.expected

    has_both = (pat[:, a_codes] > 0) & (pat[:, b_codes] > 0)
    n_items = f @ has_both

    a2b, b2a = cells[a_codes, b_codes].astype(float), cells[b_codes, a_codes].astype(float)
    per_consensus = cells.sum(axis=1).astype(float)
    cons_a, cons_b = per_consensus[a_codes], per_consensus[b_codes]
    sym_p = _binomial_two_sided(a2b, a2b + b2a)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_ab = np.where(cons_a > 0, a2b / cons_a, np.nan)
        rate_ba = np.where(cons_b > 0, b2a / cons_b, np.nan)

    return pd.DataFrame({
        "label_a": [co.category(int(c)) for c in a_codes],
        "label_b": [co.category(int(c)) for c in b_codes],
        "code_a": a_codes, "code_b": b_codes,
        "observed": o_ab, "expected": e_pairs[confused], "ratio": o_ab / e_pairs[confused],
        "relative_confusion": rho, "confusions": x, "confusions_expected": mu_ab,
        "z": z, "p_value": p_value,
        "agreement": alpha, "ci_low": alpha - q * se_alpha, "ci_high": alpha + q * se_alpha,
        "share": ns / n, "chance_ratio": chance_ratio, "n_items": n_items.astype(np.int64),
        "a_to_b": a2b, "b_to_a": b2a, "rate_a_to_b": rate_ab, "rate_b_to_a": rate_ba,
        "symmetry_p": sym_p,
    })


_COLUMNS = ["label_a", "label_b", "code_a", "code_b", "observed", "expected", "ratio",
            "relative_confusion", "confusions", "confusions_expected", "z", "p_value", "agreement", "ci_low", "ci_high", "share",
            "chance_ratio", "n_items", "a_to_b", "b_to_a", "rate_a_to_b", "rate_b_to_a",
            "symmetry_p"]


def _consensus_cells(co: Coincidences) -> npt.NDArray[np.int64]:
    """``cells[c, k]``: answers saying ``k`` where the other answers' plurality is
    ``c`` (tied pluralities left out)."""
    k = co.n_categories
    ok = co.consensus >= 0
    return np.bincount(co.consensus[ok] * k + co.label[ok], minlength=k * k).reshape(k, k)


def _pattern_confusions(
    co: Coincidences, a: npt.NDArray[Any], b: npt.NDArray[Any]
) -> tuple[FloatArray, FloatArray]:
    """Per count pattern: the answers on the wrong side of each pair ``(a, b)``
    (saying ``b`` where the others' plurality is ``a``, or the reverse), shape
    ``(P, n_pairs)``, and the answers departing from each consensus label, ``(P, K)``."""
    pat = co.patterns.astype(np.float64)
    plur = co.pattern_consensus
    x = pat[:, b] * (plur[:, b] == a) + pat[:, a] * (plur[:, a] == b)
    n_pat, k = pat.shape
    p_idx, j_idx = np.nonzero((plur >= 0) & (plur != np.arange(k)[None, :]))
    errors = np.bincount(p_idx * k + plur[p_idx, j_idx], weights=pat[p_idx, j_idx],
                         minlength=n_pat * k).astype(np.float64).reshape(n_pat, k)
    return np.asarray(x, dtype=np.float64), errors


def _binomial_two_sided(x: FloatArray, n: FloatArray) -> FloatArray:
    """Exact two-sided binomial p-value of ``x`` successes in ``n`` at p = 1/2."""
    from scipy.special import bdtr

    x = np.rint(np.asarray(x, dtype=float)).astype(np.int64)
    n = np.rint(np.asarray(n, dtype=float)).astype(np.int64)
    out = np.ones(x.shape)
    ok = n > 0
    lo = np.minimum(x, n - x)
    out[ok] = np.minimum(1.0, 2.0 * bdtr(lo[ok], n[ok], 0.5))
    return out


def label_pair_hotspots(
    co: Coincidences,
    target: float,
    *,
    confidence: float = 0.95,
    frame: pd.DataFrame | None = None,
    symmetry_level: float = 0.05,
) -> list[Hotspot]:
    """Each confused pair as a hotspot; ``evidence`` has the counts, the symmetry
    test, the most split tasks holding both labels and the annotators most often on
    either side of the confusion."""
    pairs = label_pairs(co, confidence=confidence) if frame is None else frame
    out: list[Hotspot] = []
    for row in records(pairs):
        a, b = int(row["code_a"]), int(row["code_b"])
        both = (co.patterns[:, a] > 0) & (co.patterns[:, b] > 0)
        units = np.flatnonzero(both[co.unit_pattern])
        score = (co.patterns[:, a] * co.patterns[:, b] / (co.m_pattern - 1.0))[co.unit_pattern]
        direction = None
        if row["symmetry_p"] < symmetry_level and row["a_to_b"] != row["b_to_a"]:
            direction = ([row["label_a"], row["label_b"]] if row["a_to_b"] > row["b_to_a"]
                         else [row["label_b"], row["label_a"]])
        out.append(make_hotspot(
            "label_pair", [row["label_a"], row["label_b"]],
            share=row["share"], agreement=row["agreement"], target=target,
            ci=(row["ci_low"], row["ci_high"]), reference=co.alpha, chance_ratio=row["chance_ratio"],
            p_value=row["p_value"],
            test="one-sided z-test: confusions above evenly spread errors (SE linearised over tasks)",
            n_items=int(row["n_items"]), n_annotations=int(round(row["share"] * co.n_values)),
            evidence={
                "counts": {
                    "observed": float(row["observed"]), "expected": float(row["expected"]),
                    "ratio": float(row["ratio"]), "relative_confusion": float(row["relative_confusion"]),
                    "confusions": int(row["confusions"]),
                    "confusions_expected": float(row["confusions_expected"]),
                    "n_items_with_both": int(row["n_items"]),
                },
                "symmetry": {
                    "a_to_b": int(row["a_to_b"]), "b_to_a": int(row["b_to_a"]),
                    "rate_a_to_b": float(row["rate_a_to_b"]), "rate_b_to_a": float(row["rate_b_to_a"]),
                    "p_value": float(row["symmetry_p"]),
                    "one_sided": direction is not None, "direction": direction,
                },
                "example_item_ids": co.most_split(units, EXAMPLES, score),
                "annotators": _drivers(co, a, b),
            },
        ))
    return out


def _drivers(co: Coincidences, a: int, b: int, limit: int = 3) -> list[dict[str, Any]]:
    """Annotators with the most answers on the wrong side of the pair: saying ``b``
    where the others' plurality is ``a``, or ``a`` where it is ``b``."""
    ab = (co.consensus == a) & (co.label == b)
    ba = (co.consensus == b) & (co.label == a)
    n_ann = co.annotator_ids.size
    c_ab = np.bincount(co.annotator[ab], minlength=n_ann)
    c_ba = np.bincount(co.annotator[ba], minlength=n_ann)
    total = c_ab + c_ba
    order = np.lexsort((np.arange(n_ann), -total))[:limit]
    return [{"annotator_id": str(co.annotator_ids[i]), "a_to_b": int(c_ab[i]), "b_to_a": int(c_ba[i])}
            for i in order if total[i] > 0]


__all__ = ["MAX_PAIRS", "label_pair_hotspots", "label_pairs"]
