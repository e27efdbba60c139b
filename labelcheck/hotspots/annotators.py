r"""Annotators: agreement with their peers, outliers, bias profile, drift and speed.

Every quantity compares an annotator with the *other* answers on the *same* tasks (their
peers), so an annotator who drew harder tasks is not blamed for it.  With
:math:`d'_v` answer :math:`v`'s mean difference from its peers and :math:`r'_v` the
mean difference among those peers (:mod:`labelcheck.hotspots.peers`):

- the outlier test: :math:`x_v = d'_v - r'_v` (does :math:`a` disagree with the peers
  more than they disagree among themselves?), a one-sided one-sample t-test of
  :math:`ar x_a > 0` over :math:`a`'s answers with two or more peers (tasks are
  independent; Student 1908).  It runs as a forward search (:func:`find_outliers`):
  annotators flagged in one round (BH over annotators) are removed from everyone's
  peers in the next, so that one strong outlier does not mask another by dragging
  their common peers down;
- ``agreement`` :math:`lpha_a = 1 - ar d'_a / D_e`: alpha of the pairs between
  :math:`a` and their peers (the outliers left out of the peers), judged against the
  field's chance term; ``share`` the coincidences those pairs carry, about
  :math:`2 n_a / n_{\cdot\cdot}` (:func:`annotator_agreement`);
- ``consensus_agreement``: the share of :math:`a`'s answers equal to the plurality of
  the other answers on the task (the leave-one-out consensus; a tie of :math:`t`
  labels counts :math:`1/t`), beside ``peer_consensus_agreement``, the same for the
  other annotators' answers on :math:`a`'s tasks;
- bias profile: for each label :math:`k`, :math:`O_{ak}` answers of :math:`a` with
  :math:`k` against :math:`E_{ak} = \sum_{v \in a} p_{vk}`, :math:`p_v` the peers'
  label shares on :math:`v`'s task: what :math:`a` would give by answering like a
  random peer.  A z-test per label (:func:`label_usage`) and a chi-square of the
  whole profile (:func:`bias_test`), both with variances estimated from the
  per-task differences, BH-adjusted.  An annotator whose label use differs
  significantly *and* materially (a shift of at least :data:`MIN_BIAS_SHIFT` of
  their answers) is an ``annotator_bias`` hotspot, any other an ``annotator``
  hotspot;
- drift: the least-squares slope of :math:`1 - d_v/D_e` on ``created_at`` (per 30
  days), with a two-sided t-test; speed: the median ``lead_time`` and the Pearson
  correlation of :math:`\log(1 + 	ext{lead time})` with :math:`1 - d_v/D_e`;
- :func:`pairwise_agreement`: Cohen's kappa of every pair of annotators.

References
----------
Student (1908). The probable error of a mean. Biometrika 6(1), 1-25.
https://doi.org/10.2307/2331554
Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B
57(1), 289-300. https://doi.org/10.1111/j.2517-6161.1995.tb02031.x
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.hotspots.coincidences import Coincidences
from labelcheck.hotspots.peers import peers, usage_moments
from labelcheck.hotspots.ranking import Hotspot, benjamini_hochberg, make_hotspot, records
from labelcheck.table import LEAD_TIME, CodedRatings

FloatArray = npt.NDArray[np.float64]
_NORMAL = NormalDist()
_DAY_NS = 86_400 * 10**9
EXAMPLES = 5


def _sums(codes: npt.NDArray[np.intp], n: int, values: FloatArray) -> FloatArray:
    return np.bincount(codes, weights=values, minlength=n).astype(np.float64)


def annotator_agreement(
    co: Coincidences,
    *,
    excluded: npt.NDArray[np.bool_] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    r"""Per annotator: agreement with peers, its interval and the outlier test.

    Everything is measured against the annotator's *peers*, the other answers on their
    tasks except the ``excluded`` ones (:mod:`labelcheck.hotspots.peers`).  The
    hotspot's pairs are those between the annotator and a peer, in both orientations,
    each weighted :math:`1/(m_u - 1)` as in the coincidence matrix: answer :math:`v`
    carries :math:`\omega_v = m'_v / (m_u - 1)` of them, so ``share`` is
    :math:`\min(1, 2\sum_v \omega_v / n_{\cdot\cdot})` and ``agreement`` is
    :math:`1 - \bar d'_a / D_e` with :math:`\bar d'_a = \sum_v \omega_v d'_v /
    \sum_v \omega_v`; its standard error is the ratio estimator's,
    :math:`\sqrt{\sum_v \omega_v^2 (d'_v - \bar d'_a)^2} / \sum_v \omega_v / D_e`.
    Without exclusions :math:`\omega_v = 1` and :math:`d'_v = d_v`.

    Returns
    -------
    pandas.DataFrame
        One row per annotator with pairable answers: ``annotator_id``, ``n_answers``,
        ``share``, ``disagreement`` (:math:`\bar d'_a`), ``agreement``, ``se``,
        ``ci_low``, ``ci_high``, ``consensus_agreement``, ``peer_consensus_agreement``,
        ``n_tested`` (answers with two or more peers), ``rest_agreement`` (the
        peers among themselves, :math:`1 - \bar r'_a / D_e`), ``excess`` (:math:`\bar x_a /
        D_e`), ``t``, ``p_value`` (one-sided, worse than peers).
    """
    a, n_ann = co.annotator, co.annotator_ids.size
    peer = peers(co, excluded)
    has = peer.m >= 1
    omega = np.where(has, peer.m / (co.m - 1.0), 0.0)
    d = np.where(has, peer.disagreement, 0.0)
    n = np.bincount(a, minlength=n_ann).astype(np.float64)
    w_sum = _sums(a, n_ann, omega)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = _sums(a, n_ann, omega * d) / w_sum
        resid = omega * (d - mean[a])
        se = np.sqrt(_sums(a, n_ann, resid**2)) / w_sum / co.expected
    agreement = 1.0 - mean / co.expected
    q = _NORMAL.inv_cdf(0.5 + confidence / 2)

    match = co.consensus_match
    unit_match = np.bincount(co.unit, weights=match, minlength=co.n_units)
    peer_match = (unit_match[co.unit] - match) / (co.m - 1.0)

    x = peer.disagreement - peer.rest
    tested = ~np.isnan(x)
    at = a[tested]
    nt = np.bincount(at, minlength=n_ann).astype(np.float64)
    t1, t2 = _sums(at, n_ann, x[tested]), _sums(at, n_ann, x[tested] ** 2)
    rest = _sums(at, n_ann, peer.rest[tested])
    with np.errstate(divide="ignore", invalid="ignore"):
        rest_agreement = 1.0 - rest / nt / co.expected
        xm = t1 / nt
        xsd = np.sqrt(np.maximum(t2 - nt * xm**2, 0.0) / (nt - 1.0))
        t = xm / (xsd / np.sqrt(nt))
    p = _t_sf(t, nt - 1.0)
    p[(nt >= 2) & (xsd == 0) & (xm == 0)] = 1.0
    present = w_sum > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame({
            "annotator_id": co.annotator_ids.astype(str),
            "n_answers": n.astype(np.int64),
            "share": np.minimum(1.0, 2.0 * w_sum / co.n_values),
            "disagreement": mean,
            "agreement": agreement,
            "se": se,
            "ci_low": agreement - q * se,
            "ci_high": agreement + q * se,
            "consensus_agreement": _sums(a, n_ann, match) / n,
            "peer_consensus_agreement": _sums(a, n_ann, peer_match) / n,
            "n_tested": nt.astype(np.int64),
            "rest_agreement": rest_agreement,
            "excess": xm / co.expected,
            "t": t,
            "p_value": p,
        })
    return frame[present].reset_index(drop=True)


def _t_sf(t: FloatArray, df: FloatArray) -> FloatArray:
    """Upper tail of Student's t (NaN where undefined)."""
    from scipy.special import stdtr

    out = np.full(t.shape, np.nan)
    ok = np.isfinite(t) & (df >= 1)
    out[ok] = stdtr(df[ok], -t[ok])
    return out


def label_usage(co: Coincidences, excluded: npt.NDArray[np.bool_] | None = None) -> pd.DataFrame:
    r"""The bias profile: each annotator's use of each label against peers on the same
    tasks, one row per (annotator, label) with ``observed`` :math:`O_{ak}`,
    ``expected`` :math:`E_{ak}`, ``ratio``, ``z`` = :math:`(O_{ak} - E_{ak}) /
    \sqrt{S_{a,kk}}` (:func:`usage_moments`; a self-normalised sum of independent
    per-task differences), ``p_value`` (two-sided, normal) and ``q_value`` (BH over
    every row with a defined test).  ``excluded`` answers are nobody's peers."""
    observed, expected, second = usage_moments(co, peers(co, excluded))
    n_ann, k = observed.shape
    var = second[:, np.arange(k), np.arange(k)]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (observed - expected) / np.sqrt(var), np.nan)
        ratio = observed / expected
    p = np.array([2.0 * _NORMAL.cdf(-abs(v)) if math.isfinite(v) else math.nan for v in z.ravel()])
    frame = pd.DataFrame({
        "annotator_id": np.repeat(co.annotator_ids.astype(str), k),
        "label": [co.category(c) for c in range(k)] * n_ann,
        "code": np.tile(np.arange(k), n_ann),
        "observed": observed.ravel(), "expected": expected.ravel(), "ratio": ratio.ravel(),
        "z": z.ravel(), "p_value": p,
    })
    frame = frame[(frame["observed"] > 0) | (frame["expected"] > 0)].reset_index(drop=True)
    frame["q_value"] = np.nan
    ok = frame["p_value"].notna().to_numpy()
    frame.loc[ok, "q_value"] = benjamini_hochberg(frame.loc[ok, "p_value"].to_numpy())
    return frame


def bias_test(co: Coincidences, excluded: npt.NDArray[np.bool_] | None = None) -> pd.DataFrame:
    r"""Whether each annotator's label use as a whole departs from peers' on the same
    tasks: :math:`W_a = (O_a - E_a)^	op S_a^{+} (O_a - E_a)` on
    :math:`\operatorname{rank}(S_a)` degrees of freedom (about :math:`K_a - 1`), with
    :math:`S_a` the second moments of the per-task differences :math:`d_v = e_{c_v} -
    p_v` (:func:`usage_moments`) and :math:`S_a^{+}` its Moore-Penrose inverse; BH
    q-values over annotators.

    Under the null the annotator answers like their peers, so :math:`E[d_v] = 0`
    and the :math:`d_v` of different tasks are independent: :math:`W_a` is the
    score-type (sandwich) chi-square of a mean of independent vectors.  The variance
    comes from the differences themselves, not from the peers' shares taken as the
    truth: the latter (a Poisson-binomial variance) ignores that a few peers' shares
    are noisy, and rejected a true null about 30% of the time at 5% in our simulations.

    Returns
    -------
    pandas.DataFrame
        ``annotator_id``, ``chi2`` (:math:`W_a`), ``df``, ``shift`` (the effect size:
        :math:`\frac{1}{2}\sum_k |O_{ak} - E_{ak}| / n_a`, the share of the annotator's
        answers that would have to change label to match the peers), ``p_value``,
        ``q_value``.
    """
    from scipy.special import chdtrc

    observed, expected, second = usage_moments(co, peers(co, excluded))
    ids, stats, dfs, shifts = [], [], [], []
    for a in np.flatnonzero(observed.sum(axis=1) > 0):
        d = observed[a] - expected[a]
        cov = second[a]
        scale = max(1.0, float(np.abs(cov).max()))
        ids.append(str(co.annotator_ids[int(a)]))
        stats.append(float(d @ np.linalg.pinv(cov, rcond=1e-10, hermitian=True) @ d))
        dfs.append(int(np.linalg.matrix_rank(cov, tol=1e-8 * scale)))
        shifts.append(0.5 * float(np.abs(d).sum()) / float(observed[a].sum()))
    df = np.asarray(dfs, dtype=float)
    stat = np.asarray(stats)
    p = np.where(df > 0, chdtrc(np.maximum(df, 1.0), stat), np.nan)
    frame = pd.DataFrame({"annotator_id": ids, "chi2": stat, "df": df.astype(np.int64),
                          "shift": shifts, "p_value": p})
    frame["q_value"] = np.nan
    ok = frame["p_value"].notna().to_numpy()
    frame.loc[ok, "q_value"] = benjamini_hochberg(frame.loc[ok, "p_value"].to_numpy())
    return frame


def consensus_confusion(co: Coincidences) -> npt.NDArray[np.int64]:
    """Per annotator, the confusion matrix against the leave-one-out consensus:
    ``cells[a, c, k]`` answers of ``a`` saying ``k`` where the others' plurality is
    ``c`` (tied pluralities left out).  Shape ``(n_annotators, K, K)``."""
    k, n_ann = co.n_categories, co.annotator_ids.size
    ok = co.consensus >= 0
    idx = (co.annotator[ok] * k + co.consensus[ok]) * k + co.label[ok]
    return np.bincount(idx, minlength=n_ann * k * k).reshape(n_ann, k, k).astype(np.int64)


def drift(co: Coincidences) -> pd.DataFrame:
    """Per annotator, the slope of answer agreement :math:`1 - d_v/D_e` over time
    (per 30 days), its standard error and a two-sided t-test (``n - 2`` df).
    Empty when the answers have no ``created_at``."""
    from scipy.special import stdtr

    times = co.created_ns
    cols = ["annotator_id", "n_timed", "slope_per_30_days", "se", "p_value"]
    if times is None:
        return pd.DataFrame(columns=cols)
    ok = times != np.iinfo(np.int64).min
    if not ok.any():
        return pd.DataFrame(columns=cols)
    x = (times[ok] - times[ok].min()) / (30 * _DAY_NS)
    y = 1.0 - co.disagreement[ok] / co.expected
    a, n_ann = co.annotator[ok], co.annotator_ids.size
    n = np.bincount(a, minlength=n_ann).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xm, ym = _sums(a, n_ann, x) / n, _sums(a, n_ann, y) / n
        sxx = _sums(a, n_ann, x * x) - n * xm**2
        sxy = _sums(a, n_ann, x * y) - n * xm * ym
        syy = _sums(a, n_ann, y * y) - n * ym**2
        slope = sxy / sxx
        resid = np.maximum(syy - slope * sxy, 0.0) / (n - 2.0)
        se = np.sqrt(resid / sxx)
        t = slope / se
    good = np.isfinite(t) & (n > 2)
    p = np.full(n_ann, np.nan)
    p[good] = 2.0 * stdtr(n[good] - 2.0, -np.abs(t[good]))
    frame = pd.DataFrame({"annotator_id": co.annotator_ids.astype(str), "n_timed": n.astype(np.int64),
                          "slope_per_30_days": slope, "se": se, "p_value": p})
    return frame[n > 0].reset_index(drop=True)


def speed(co: Coincidences) -> pd.DataFrame:
    """Per annotator, the median ``lead_time`` (seconds) and the correlation of
    :math:`\\log(1 + \\text{lead time})` with answer agreement, with a two-sided
    t-test of zero correlation.  Empty when no lead times are known."""
    from scipy.special import stdtr

    cols = ["annotator_id", "n_timed", "median_lead_time", "r", "p_value"]
    frame = co.coded.frame
    if LEAD_TIME not in frame.columns:
        return pd.DataFrame(columns=cols)
    lead = frame[LEAD_TIME].to_numpy(dtype=float)[co.coded.rows[co.answer]]
    ok = np.isfinite(lead) & (lead >= 0)
    if not ok.any():
        return pd.DataFrame(columns=cols)
    a, n_ann = co.annotator[ok], co.annotator_ids.size
    x, y = np.log1p(lead[ok]), 1.0 - co.disagreement[ok] / co.expected
    n = np.bincount(a, minlength=n_ann).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xm, ym = _sums(a, n_ann, x) / n, _sums(a, n_ann, y) / n
        sxx = _sums(a, n_ann, x * x) - n * xm**2
        syy = _sums(a, n_ann, y * y) - n * ym**2
        sxy = _sums(a, n_ann, x * y) - n * xm * ym
        r = sxy / np.sqrt(sxx * syy)
        t = r * np.sqrt((n - 2.0) / np.maximum(1.0 - r**2, 1e-300))
    p = np.full(n_ann, np.nan)
    good = np.isfinite(t) & (n > 2)
    p[good] = 2.0 * stdtr(n[good] - 2.0, -np.abs(t[good]))
    median = pd.Series(lead[ok]).groupby(a).median().reindex(range(n_ann)).to_numpy()
    out = pd.DataFrame({"annotator_id": co.annotator_ids.astype(str), "n_timed": n.astype(np.int64),
                        "median_lead_time": median, "r": r, "p_value": p})
    return out[n > 0].reset_index(drop=True)


def pairwise_agreement(coded: CodedRatings, *, min_items: int = 10) -> pd.DataFrame:
    """Cohen's kappa of every pair of annotators as a square frame (annotator ids on
    both axes, NaN where a pair shares fewer than ``min_items`` tasks); built on
    :func:`labelcheck.agreement.cohen_kappa_matrix`."""
    from labelcheck.agreement import cohen_kappa_matrix

    pairs = cohen_kappa_matrix(coded, min_items=min_items)
    return pairs.pivot(index="annotator_a", columns="annotator_b", values="value")


#: Most rounds of the outlier search (:func:`find_outliers`).
MAX_ROUNDS = 5
#: Smallest label-use shift (share of the annotator's answers) called a bias.
MIN_BIAS_SHIFT = 0.05


def find_outliers(
    co: Coincidences, *, fdr: float = 0.05, confidence: float = 0.95
) -> tuple[pd.DataFrame, list[str]]:
    """The annotator table of the last round of a forward search for outliers, and the
    outliers found.

    Round 0 compares everyone with all their peers; each later round removes the
    answers of the annotators flagged so far (BH q-value of the outlier test <=
    ``fdr`` over annotators) from everyone's peers and tests again, until the flagged
    set stops changing (at most :data:`MAX_ROUNDS` rounds).  A strong outlier thus
    cannot mask a milder one by dragging their common peers down."""
    flagged: list[str] = []
    excluded: npt.NDArray[np.bool_] | None = None
    for _ in range(MAX_ROUNDS):
        table = annotator_agreement(co, excluded=excluded, confidence=confidence)
        p = table["p_value"].to_numpy(dtype=float)
        q = np.full(len(p), np.nan)
        ok = np.isfinite(p)
        q[ok] = benjamini_hochberg(p[ok])
        now = sorted(table.loc[q <= fdr, "annotator_id"].tolist())
        if now == flagged:
            break
        flagged = now
        codes = [i for i, x in enumerate(co.annotator_ids.astype(str)) if x in set(flagged)]
        excluded = np.isin(co.annotator, codes)
    return table, flagged


def annotator_hotspots(
    co: Coincidences, target: float, *, confidence: float = 0.95, fdr: float = 0.05
) -> list[Hotspot]:
    """One hotspot per annotator, with the outlier test of :func:`find_outliers`'s
    last round as its p-value: ``annotator_bias`` when their label use differs from
    their peers' (the peers without the outliers) significantly (bias q-value <=
    ``fdr``) and materially (``shift`` >= :data:`MIN_BIAS_SHIFT`), else ``annotator``.
    ``evidence`` holds the counts, the consensus agreement, the bias profile (labels
    with the largest deviations), the most frequent "says k where peers say c" cells,
    drift, speed and the tasks where the annotator departed most from the others."""
    table, outliers = find_outliers(co, fdr=fdr, confidence=confidence)
    codes = [i for i, x in enumerate(co.annotator_ids.astype(str)) if x in set(outliers)]
    excluded = np.isin(co.annotator, codes) if codes else None
    usage = label_usage(co, excluded)
    bias = bias_test(co, excluded).set_index("annotator_id")
    drifts = drift(co).set_index("annotator_id")
    speeds = speed(co).set_index("annotator_id")
    confusion = consensus_confusion(co)
    code_of = {str(x): i for i, x in enumerate(co.annotator_ids)}
    usage_by = {a: g for a, g in usage.groupby("annotator_id", sort=False)}
    out: list[Hotspot] = []
    for row in records(table):
        a_id = row["annotator_id"]
        b = bias.loc[a_id] if a_id in bias.index else None
        biased = b is not None and bool(b["q_value"] <= fdr) and bool(b["shift"] >= MIN_BIAS_SHIFT)
        mine = np.flatnonzero(co.annotator == code_of[a_id])
        score = np.zeros(co.n_units)
        np.maximum.at(score, co.unit[mine], co.disagreement[mine])
        answered = np.unique(co.unit[mine])
        units = answered[score[answered] > 0]
        out.append(make_hotspot(
            "annotator_bias" if biased else "annotator", a_id,
            share=row["share"], agreement=row["agreement"], target=target,
            ci=(row["ci_low"], row["ci_high"]), reference=row["rest_agreement"], p_value=row["p_value"],
            test="one-sided t-test: disagreement with peers minus the peers' among themselves, "
                 "same tasks, outliers removed from the peers",
            n_items=int(answered.size),
            n_annotations=int(row["n_answers"]),
            evidence={
                "counts": {"n_answers": int(row["n_answers"]), "n_tested": int(row["n_tested"])},
                "consensus_agreement": float(row["consensus_agreement"]),
                "peer_consensus_agreement": float(row["peer_consensus_agreement"]),
                "rest_agreement": float(row["rest_agreement"]),
                "excess_disagreement": float(row["excess"]),
                "peers_without": [x for x in outliers if x != a_id],
                "bias": _bias_evidence(b, usage_by.get(a_id)),
                "confusions": _confusions(co, confusion, code_of[a_id]),
                "drift": _row(drifts, a_id, ("n_timed", "slope_per_30_days", "p_value")),
                "speed": _row(speeds, a_id, ("n_timed", "median_lead_time", "r", "p_value")),
                "example_item_ids": co.most_split(units, EXAMPLES, score),
            },
        ))
    return out


def _row(frame: pd.DataFrame, key: str, cols: tuple[str, ...]) -> dict[str, Any] | None:
    if key not in frame.index:
        return None
    return {c: frame.loc[key, c] for c in cols}


def _bias_evidence(b: Any, usage: pd.DataFrame | None, limit: int = 5) -> dict[str, Any] | None:
    if b is None or usage is None:
        return None
    rows = usage.assign(abs_z=usage["z"].abs()).sort_values(["abs_z", "code"], ascending=[False, True])
    return {
        "chi2": float(b["chi2"]), "df": int(b["df"]), "shift": float(b["shift"]),
        "p_value": float(b["p_value"]), "q_value": float(b["q_value"]),
        "labels": [
            {"label": r["label"], "observed": int(r["observed"]), "expected": float(r["expected"]),
             "ratio": float(r["ratio"]), "z": float(r["z"]), "q_value": float(r["q_value"])}
            for r in records(rows.head(limit))
        ],
    }


def _confusions(co: Coincidences, cells: npt.NDArray[np.int64], a: int, limit: int = 3) -> list[dict[str, Any]]:
    """The annotator's most frequent departures from the consensus beyond what peers
    do: ``excess`` = count - (answers with that consensus) x peers' rate."""
    mine = cells[a].astype(np.float64)
    peers = cells.sum(axis=0) - mine
    with np.errstate(divide="ignore", invalid="ignore"):
        peer_rate = np.nan_to_num(peers / peers.sum(axis=1, keepdims=True))
    excess = mine - mine.sum(axis=1, keepdims=True) * peer_rate
    np.fill_diagonal(excess, -np.inf)
    flat = np.argsort(-excess, axis=None, kind="stable")[:limit]
    out = []
    k = co.n_categories
    for idx in flat:
        c, lab = divmod(int(idx), k)
        if not excess[c, lab] > 0:
            continue
        out.append({"consensus": co.category(c), "label": co.category(lab), "count": int(mine[c, lab]),
                    "rate": float(mine[c, lab] / mine[c].sum()), "peer_rate": float(peer_rate[c, lab])})
    return out


__all__ = [
    "MAX_ROUNDS",
    "MIN_BIAS_SHIFT",
    "annotator_agreement",
    "annotator_hotspots",
    "bias_test",
    "consensus_confusion",
    "drift",
    "find_outliers",
    "label_usage",
    "pairwise_agreement",
    "speed",
]
