r"""What to fix first: one ranked list of hotspots of every kind.

A *hotspot* is a part of one field's answers (an item, a pair of labels, an
annotator, a slice of tasks, a time window) seen through the ordered pairs of answers
that Krippendorff's alpha compares (:mod:`labelcheck.hotspots.coincidences`).  Each
gets the columns of an error-analysis table:

``share``
    :math:`s_H = n_H / n_{\cdot\cdot}`, the hotspot's share of the pairable answers
    (the coincidence mass its pairs carry; for an annotator, the pairs they are on).
``agreement``
    :math:`\alpha_H = 1 - D_{o,H} / D_{e,H}`, alpha of the hotspot's pairs with a
    stated chance term :math:`D_{e,H}` (each kind's module says which).
``gap``
    :math:`\max(0, \alpha^\ast - \alpha_H)` for the target :math:`\alpha^\ast`
    (default 0.8, Krippendorff's 2019 standard for reliable data).
``gain``
    the rise of the *overall* alpha if the disagreement inside the hotspot fell until
    its alpha reached the target, every expected disagreement held fixed:

    .. math:: g_H = \frac{n_{\cdot\cdot} D_{o} - n_{\cdot\cdot} D_o'}{n_{\cdot\cdot} D_e}
              = s_H \, \frac{D_{e,H}}{D_e} \, \max(0, \alpha^\ast - \alpha_H),

    because :math:`D_{o,H}` enters :math:`n_{\cdot\cdot}D_o` as :math:`n_H D_{o,H}`
    and reaching the target means :math:`D_{o,H}' = (1-\alpha^\ast) D_{e,H}`.  The
    ratio :math:`D_{e,H}/D_e` (``chance_ratio``) is 1 when the hotspot is judged
    against the field's own chance term.  Gains of different hotspots overlap (an
    annotator's pairs lie in slices and label pairs too) and do not add up.
``p_value``, ``q_value``, ``significant``
    a one-sided test that the hotspot is *worse* than the rest (each kind names its
    test in ``test``); q-values by Benjamini & Hochberg (1995) over every tested
    hotspot of one analysis (one family); significant when :math:`q \le` ``fdr``.
``priority``
    the gain discounted by how sure we are that *this hotspot* holds agreement back:

    .. math:: \pi_H = s_H \, \frac{D_{e,H}}{D_e} \,
              \max\big(0, \min(\alpha^\ast, \alpha_{\text{ref}}) - \alpha_H^{+}\big),

    with :math:`\alpha_H^{+}` the upper end of the hotspot's confidence interval (so
    the gain is at its lower confidence bound) and :math:`\alpha_{\text{ref}}` the
    agreement of the rest of the data (the other slices or windows, the other pairs on
    an annotator's tasks, the field's alpha for label pairs): only the part of the gap
    that the rest already closes is credited, so a large slice that is merely as low
    as the whole project does not top the list.  A hotspot without an interval (one
    item) gets 0 and ranks by its gain below the others.

References
----------
Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B
57(1), 289-300. https://doi.org/10.1111/j.2517-6161.1995.tb02031.x
Krippendorff, K. (2019). Content Analysis: An Introduction to Its Methodology, 4th
ed., ch. 12 (standards for data reliability: rely on alpha >= .800). SAGE.
https://doi.org/10.4135/9781071878781
Ng, A. (2018). Machine Learning Yearning, the chapters on error analysis (work first
where the share of errors a category explains is largest). deeplearning.ai.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Kind = Literal["label_pair", "annotator", "annotator_bias", "slice", "period", "item"]
KINDS: tuple[str, ...] = ("label_pair", "annotator", "annotator_bias", "slice", "period", "item")
#: Default target agreement.
TARGET = 0.8


@dataclass(frozen=True)
class Hotspot:
    """One row of the "what to fix first" table (see the module docstring).

    ``key`` names the hotspot: the two labels (a list) for ``label_pair``; the
    annotator id for ``annotator`` / ``annotator_bias``; ``{"column", "value"}`` for
    ``slice``; the window's first day (ISO date) for ``period``; the task id for
    ``item``.  ``evidence`` holds ``counts`` and ``example_item_ids`` and the kind's
    extras.
    """

    kind: Kind
    key: Any
    share: float
    agreement: float
    gap: float
    gain: float
    priority: float
    ci: tuple[float, float] | None = None
    reference: float | None = None
    chance_ratio: float = 1.0
    p_value: float | None = None
    q_value: float | None = None
    significant: bool = False
    test: str | None = None
    n_items: int = 0
    n_annotations: int = 0
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain types, NaN as None."""
        return {
            "kind": self.kind,
            "key": plain(self.key),
            "share": num(self.share),
            "agreement": num(self.agreement),
            "gap": num(self.gap),
            "gain": num(self.gain),
            "p_value": num(self.p_value),
            "q_value": num(self.q_value),
            "significant": bool(self.significant),
            "evidence": plain(self.evidence),
            "priority": num(self.priority),
            "ci": None if self.ci is None else [num(self.ci[0]), num(self.ci[1])],
            "reference": num(self.reference),
            "chance_ratio": num(self.chance_ratio),
            "test": self.test,
            "n_items": int(self.n_items),
            "n_annotations": int(self.n_annotations),
        }


def gap(agreement: float, target: float) -> float:
    """:math:`\\max(0, \\alpha^\\ast - \\alpha_H)`."""
    return max(0.0, target - agreement)


def gain(share: float, agreement: float, target: float, chance_ratio: float = 1.0) -> float:
    """:math:`s_H (D_{e,H}/D_e) \\max(0, \\alpha^\\ast - \\alpha_H)`: the exact rise of
    overall alpha when the hotspot's disagreement falls to the target's, chance held
    fixed (module docstring)."""
    return share * chance_ratio * gap(agreement, target)


def make_hotspot(
    kind: Kind,
    key: Any,
    *,
    share: float,
    agreement: float,
    target: float,
    ci: tuple[float, float] | None = None,
    reference: float | None = None,
    chance_ratio: float = 1.0,
    p_value: float | None = None,
    test: str | None = None,
    n_items: int = 0,
    n_annotations: int = 0,
    evidence: Mapping[str, Any] | None = None,
) -> Hotspot:
    """A hotspot with its gap, gain and priority computed from the module's formulas;
    ``reference`` is the rest's agreement (None or NaN: the target alone caps it)."""
    share = min(1.0, max(0.0, float(share)))
    ratio = float(chance_ratio) if math.isfinite(chance_ratio) else 1.0
    upper = None if ci is None or not math.isfinite(ci[1]) else float(ci[1])
    ref = None if reference is None or not math.isfinite(reference) else float(reference)
    ceiling = target if ref is None else min(target, ref)
    prio = 0.0 if upper is None else gain(share, upper, ceiling, ratio)
    return Hotspot(
        kind=kind, key=key, share=share, agreement=float(agreement),
        gap=gap(agreement, target), gain=gain(share, agreement, target, ratio),
        priority=prio, ci=ci, reference=ref, chance_ratio=ratio,
        p_value=None if p_value is None or not math.isfinite(p_value) else float(p_value),
        test=test, n_items=n_items, n_annotations=n_annotations,
        evidence=dict(evidence or {}),
    )


def benjamini_hochberg(p_values: Sequence[float] | npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    r"""Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    .. math:: q_{(i)} = \min_{j \ge i} \min\Big(1, \frac{m}{j} p_{(j)}\Big)

    for the sorted p-values :math:`p_{(1)} \le \dots \le p_{(m)}`.  The same numbers
    as ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]`` (a test
    pins them), without its 2-3 s import of ``scipy.stats``.

    Examples
    --------
    Benjamini & Hochberg's (1995, sec. 4) example, 15 p-values from a trial: at a false
    discovery rate of 0.05 the first four hypotheses are rejected.

    >>> p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
    ...      0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]
    >>> int((benjamini_hochberg(p) <= 0.05).sum())
    4
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    return q


def adjust(hotspots: Sequence[Hotspot], fdr: float = 0.05) -> list[Hotspot]:
    """Give every tested hotspot its BH q-value over the whole family and mark it
    significant when ``q <= fdr``; untested ones keep None and are not significant."""
    tested = [i for i, h in enumerate(hotspots) if h.p_value is not None]
    q = benjamini_hochberg([hotspots[i].p_value for i in tested])  # type: ignore[misc]
    out = list(hotspots)
    for i, qi in zip(tested, q):
        out[i] = replace(out[i], q_value=float(qi), significant=bool(qi <= fdr))
    return out


def rank(hotspots: Sequence[Hotspot]) -> list[Hotspot]:
    """Order by priority, then gain, then share (all descending); ties by kind and key
    so the order does not depend on the input order."""
    return sorted(
        hotspots,
        key=lambda h: (-h.priority, -h.gain, -h.share, KINDS.index(h.kind), str(h.key)),
    )


def records(frame: Any) -> list[dict[str, Any]]:
    """The rows of a DataFrame as dicts (typed for mypy; ``itertuples`` rows are not)."""
    rows: list[dict[str, Any]] = frame.to_dict("records")
    return rows


# --- plain JSON values ----------------------------------------------------------------
def num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def plain(obj: Any) -> Any:
    """Mappings, sequences and numpy scalars as plain JSON types, NaN as None."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return num(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


__all__ = [
    "KINDS",
    "TARGET",
    "Hotspot",
    "Kind",
    "adjust",
    "benjamini_hochberg",
    "gain",
    "gap",
    "make_hotspot",
    "rank",
    "records",
]
