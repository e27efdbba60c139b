r"""Time windows (day, week, month) where agreement is low, and the trend across them.

Each window gets Krippendorff's alpha on the answers created in it, with its analytic
interval, as :func:`labelcheck.agreement.breakdown.by_period` computes it (answers
are paired within a window only).  As a hotspot a window has ``share`` = its pairable answers
over the field's pairable answers and ``chance_ratio`` = its expected disagreement over
the field's; the gain of :mod:`labelcheck.hotspots.ranking` is then exact when every
task's answers fall in one window and an approximation otherwise.  Each window is
tested against the task-weighted mean of the other windows, as slices are
(:mod:`labelcheck.hotspots.slices`).

Trend: the weighted least-squares line :math:`\alpha_w = \beta_0 + \beta_1 t_w` over
the windows, :math:`t_w` the window's start in units of the window (days, weeks of 7
days, months of 30.4375 days) and weights the windows' pairable tasks, with a t-test
(:math:`W - 2` df) and interval for the slope.  Step: the split of the window
sequence (at least two windows each side) with the largest
:math:`|z| = |\bar\alpha_{\text{after}} - \bar\alpha_{\text{before}}| /
\sqrt{s^2_{\text{before}} + s^2_{\text{after}}}` between task-weighted means, its
two-sided p-value Bonferroni-adjusted for the number of splits tried: a simple
single change-point scan, not a full change-point model.

References
----------
Montgomery, D. C., Peck, E. A., & Vining, G. G. (2012). Introduction to Linear
Regression Analysis, 5th ed., sec. 5.5 (weighted least squares). Wiley.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.breakdown import FREQUENCIES
from labelcheck.agreement.intervals import Interval
from labelcheck.agreement.krippendorff import krippendorff_alpha
from labelcheck.hotspots.coincidences import Coincidences
from labelcheck.hotspots.ranking import Hotspot, make_hotspot, records
from labelcheck.hotspots.slices import _against_rest
from labelcheck.table import CodedRatings, created_at_keys

_NORMAL = NormalDist()
_DAY_NS = 86_400 * 10**9
_UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375}
EXAMPLES = 5


def period_agreement(co: Coincidences, freq: str, *, confidence: float = 0.95) -> pd.DataFrame:
    """Alpha per window with its interval, share, chance ratio and the test against
    the other windows.

    The windows are :func:`labelcheck.agreement.breakdown.by_period`'s (weeks run
    Monday to Sunday, UTC), found from ``created_at``'s integers rather than one
    timestamp object per answer; each window's alpha is
    :func:`labelcheck.agreement.krippendorff_alpha` on the answers created in it.

    Returns
    -------
    pandas.DataFrame
        ``period`` (ISO date of the window's first day), ``agreement``, ``se``,
        ``ci_low``, ``ci_high``, ``n_items``, ``n_annotations``, ``share``,
        ``chance_ratio``, ``rest_agreement``, ``z``, ``p_value``, ``reason``; windows
        in time order.  Answers without ``created_at`` belong to no window.
    """
    windows, names = answer_windows(co.coded, freq)
    interval = Interval(confidence=confidence)
    rows = []
    for w, name in enumerate(names):
        r = krippendorff_alpha(co.coded.subset(windows == w), level=co.level, ci=interval)
        ci = r.ci or (math.nan, math.nan)
        rows.append({
            "period": name, "agreement": r.value, "se": r.se,
            "ci_low": ci[0], "ci_high": ci[1], "n_items": r.n_items,
            "n_annotations": r.n_annotations, "share": r.n_annotations / co.n_values,
            "chance_ratio": r.expected / co.expected if r.defined else math.nan,
            "reason": r.reason,
        })
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["rest_agreement"], frame["z"], frame["p_value"] = _against_rest(frame)
    return frame


def answer_windows(coded: CodedRatings, freq: str) -> tuple[npt.NDArray[np.intp], list[str]]:
    """Each answer's window (an index into the returned window names, ISO dates of the
    windows' first days in time order; -1 without ``created_at``)."""
    if freq not in FREQUENCIES:
        raise ValueError(f"freq must be one of {', '.join(FREQUENCIES)}; got {freq!r}")
    kind = FREQUENCIES[freq]
    out = np.full(coded.n_annotations, -1, dtype=np.intp)
    keys = created_at_keys(coded)
    if keys is None:
        return out, []
    ok = keys != np.iinfo(np.int64).min
    if not ok.any():
        return out, []
    day = keys[ok] // _DAY_NS
    days, inverse = np.unique(day, return_inverse=True)  # few distinct days
    dates = pd.to_datetime(days * _DAY_NS, unit="ns")
    if kind == "day":
        start = dates
    elif kind == "week":
        start = dates - pd.to_timedelta(dates.dayofweek, unit="D")
    else:
        start = dates.to_period("M").start_time
    starts, window_of_day = np.unique(np.asarray(start, dtype="datetime64[ns]"), return_inverse=True)
    out[ok] = window_of_day.ravel()[inverse.ravel()]
    return out, [pd.Timestamp(x).date().isoformat() for x in starts]


def trend(frame: pd.DataFrame, freq: str) -> dict[str, Any] | None:
    """The weighted least-squares trend of per-window alpha and the largest step
    (module docstring); None with fewer than three defined windows."""
    from scipy.special import stdtr, stdtrit

    ok = frame[np.isfinite(frame["agreement"].to_numpy(dtype=float))] if len(frame) else frame
    if len(ok) < 3:
        return None
    unit = _UNIT_DAYS[FREQUENCIES[freq]]
    start = pd.to_datetime(ok["period"])
    t = ((start - start.iloc[0]).dt.days / unit).to_numpy(dtype=float)
    y = ok["agreement"].to_numpy(dtype=float)
    w = ok["n_items"].to_numpy(dtype=float)
    tm, ym = float(w @ t / w.sum()), float(w @ y / w.sum())
    sxx = float(w @ (t - tm) ** 2)
    slope = float(w @ ((t - tm) * (y - ym))) / sxx
    resid = y - ym - slope * (t - tm)
    df = len(ok) - 2
    sigma2 = float(w @ resid**2) / df
    se = math.sqrt(sigma2 / sxx) if sxx > 0 else math.nan
    q = float(stdtrit(df, 0.975))
    p = float(2.0 * stdtr(df, -abs(slope / se))) if se > 0 else math.nan
    return {
        "slope_per_period": slope, "se": se, "ci": [slope - q * se, slope + q * se],
        "p_value": p, "n_periods": int(len(ok)), "unit": FREQUENCIES[freq],
        "step": _step(ok),
    }


def _step(frame: pd.DataFrame) -> dict[str, Any] | None:
    y = frame["agreement"].to_numpy(dtype=float)
    se = frame["se"].to_numpy(dtype=float)
    w = frame["n_items"].to_numpy(dtype=float)
    splits = range(2, len(frame) - 1)
    if len(splits) == 0 or not np.isfinite(se).all():
        return None

    def mean_se(sl: slice) -> tuple[float, float]:
        ws = w[sl]
        return float(ws @ y[sl] / ws.sum()), math.sqrt(float(ws**2 @ se[sl] ** 2)) / ws.sum()

    best: dict[str, Any] | None = None
    for s in splits:
        (before, s_b), (after, s_a) = mean_se(slice(0, s)), mean_se(slice(s, None))
        z = (after - before) / math.hypot(s_b, s_a)
        if best is None or abs(z) > abs(best["z"]):
            best = {"at": frame["period"].iloc[s], "before": before, "after": after,
                    "difference": after - before, "z": z}
    if best is not None:
        best["p_value"] = min(1.0, len(splits) * 2.0 * _NORMAL.cdf(-abs(best["z"])))
    return best


def period_hotspots(
    co: Coincidences, freq: str, target: float, *, confidence: float = 0.95
) -> tuple[list[Hotspot], dict[str, Any] | None, list[dict[str, Any]]]:
    """Windows as hotspots (``key`` the window's first day), the trend, and the windows
    left out because alpha is undefined there."""
    frame = period_agreement(co, freq, confidence=confidence)
    if frame.empty:
        return [], None, []
    windows, names = answer_windows(co.coded, freq)
    window = windows[co.answer]
    index = {name: w for w, name in enumerate(names)}
    out: list[Hotspot] = []
    skipped: list[dict[str, Any]] = []
    for row in records(frame):
        if not math.isfinite(row["agreement"]):
            skipped.append({"kind": "period", "key": row["period"], "reason": row["reason"] or "alpha undefined"})
            continue
        units = np.unique(co.unit[window == index[row["period"]]])
        out.append(make_hotspot(
            "period", row["period"], share=row["share"], agreement=row["agreement"], target=target,
            ci=(row["ci_low"], row["ci_high"]), reference=row["rest_agreement"],
            chance_ratio=row["chance_ratio"],
            p_value=row["p_value"] if math.isfinite(row["p_value"]) else None,
            test="one-sided z-test of alpha against the task-weighted mean of the other windows",
            n_items=int(row["n_items"]), n_annotations=int(row["n_annotations"]),
            evidence={
                "counts": {"n_items": int(row["n_items"]), "n_annotations": int(row["n_annotations"])},
                "rest_agreement": row["rest_agreement"],
                "example_item_ids": co.most_split(units, EXAMPLES),
            },
        ))
    return out, trend(frame, freq), skipped


__all__ = ["answer_windows", "period_agreement", "period_hotspots", "trend"]
