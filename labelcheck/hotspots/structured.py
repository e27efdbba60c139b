r"""Hotspots of fields whose answers are not single choices (multi-label sets, spans,
regions, free text): the slices, annotators and confused label pairs that hold the
field's agreement back, in the shape of :class:`~labelcheck.hotspots.analysis.HotspotReport`
so the "what to fix first" page lists them like any other field's.

The field's own alpha (:mod:`labelcheck.analysis.structured` passes it in) replaces the
coincidence machinery of single choices:

``slice``
    the tasks with one value of a task column: :math:`\alpha_H` = the field's alpha on
    those tasks, the reference the alpha of the other tasks, the share their answers'
    part, and the chance ratio :math:`D_{e,H}/D_e` of the two alphas.
``annotator``
    :math:`\alpha_H` = the mean two-annotator alpha between the annotator and each peer
    on the tasks they share (weighted by those tasks), the reference the field's alpha
    without the annotator, the share their answers' part.

Confused label pairs of spans (same offsets, other label) and regions (matched at IoU
>= 0.5, other label) are counted in the field's overview tables, not ranked here: they
have no alpha of their own comparable with the target yet.

Gain is :func:`labelcheck.hotspots.ranking.gain` (share x chance ratio x gap to the
target).  These hotspots have no confidence intervals yet, so *priority is the gain*
(not discounted, unlike single-choice hotspots) and nothing is marked significant; the
report says so in ``notes``.

Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from labelcheck.agreement.result import AgreementResult
from labelcheck.hotspots.ranking import Hotspot, make_hotspot, plain, rank
from labelcheck.table import ANNOTATOR_ID, TASK_ID

Alpha = Callable[[pd.DataFrame], AgreementResult]
#: Annotator hotspots need one two-annotator alpha per pair: above this many annotators
#: they are skipped (with a note).
MAX_ANNOTATORS = 30
#: Slices with fewer tasks (with two or more answers) are not ranked.
MIN_SLICE_ITEMS = 5
NOTE = ("hotspots of {kind} answers have no confidence intervals yet: they are ranked by gain "
        "(priority = gain) and none is marked significant")


def structured_hotspots(rows: pd.DataFrame, tasks: pd.DataFrame | None, *, field: str, value_type: str,
                        alpha: Alpha, overall: AgreementResult, slice_columns: list[str],
                        target: float = 0.8) -> dict[str, Any]:
    """``HotspotReport.to_dict()``-shaped report of one structured field (``rows``: its
    well-formed answers)."""
    found: list[Hotspot] = []
    skipped: list[dict[str, Any]] = []
    if overall.defined:
        found += _slices(rows, tasks, slice_columns, alpha, overall, target, skipped)
        found += _annotators(rows, alpha, overall, target, skipped)
    else:
        skipped.append({"kind": "field", "key": field, "reason": overall.reason})
    ranked = rank([Hotspot(**{**h.__dict__, "priority": h.gain}) for h in found])
    low, high = overall.ci if overall.ci is not None else (None, None)
    report: dict[str, Any] = plain({
        "hotspots": [h.to_dict() for h in ranked], "field": field, "level": value_type, "target": target,
        "fdr": None,
        "overall": {"metric": overall.metric, "agreement": overall.value,
                    "ci": None if low is None else [low, high], "n_items": overall.n_items,
                    "n_annotations": overall.n_annotations, "n_annotators": overall.n_annotators},
        "slice_columns": list(slice_columns), "period": None, "trend": None, "skipped": skipped,
        "notes": [NOTE.format(kind=value_type)], "pairs": {},
    })
    return report


def _slices(rows: pd.DataFrame, tasks: pd.DataFrame | None, columns: list[str], alpha: Alpha,
            overall: AgreementResult, target: float, skipped: list[dict[str, Any]]) -> list[Hotspot]:
    if tasks is None or TASK_ID not in tasks.columns or not columns:
        return []
    indexed = tasks.set_index(TASK_ID)
    ids = rows[TASK_ID].astype(str).to_numpy()
    m = rows.groupby(TASK_ID, sort=False, observed=True).size()
    multi = set(m.index[m >= 2].astype(str))
    out = []
    for column in columns:
        if column not in indexed.columns:
            continue
        values = indexed[column].reindex(ids).astype(str).to_numpy()
        for value in sorted(set(values) - {"nan", "None"}):
            inside = values == value
            n_items = len(set(ids[inside]) & multi)
            key = {"column": column, "value": value}
            if n_items < MIN_SLICE_ITEMS:
                skipped.append({"kind": "slice", "key": key,
                                "reason": f"{n_items} item(s) with two or more answers (fewer than {MIN_SLICE_ITEMS})"})
                continue
            here, rest = alpha(rows[inside]), alpha(rows[~inside])
            if not here.defined:
                skipped.append({"kind": "slice", "key": key, "reason": here.reason})
                continue
            out.append(make_hotspot("slice", key, share=float(inside.mean()), agreement=here.value,
                                    target=target, reference=rest.value, chance_ratio=_ratio(here, overall),
                                    n_items=n_items, n_annotations=int(inside.sum()),
                                    evidence={"rest_agreement": rest.value, "metric": here.metric}))
    return out


def _annotators(rows: pd.DataFrame, alpha: Alpha, overall: AgreementResult, target: float,
                skipped: list[dict[str, Any]]) -> list[Hotspot]:
    who = rows[ANNOTATOR_ID].astype(str).to_numpy()
    annotators = sorted(set(who))
    if len(annotators) < 3:
        return []
    if len(annotators) > MAX_ANNOTATORS:
        skipped.append({"kind": "annotator", "key": None,
                        "reason": f"{len(annotators)} annotators: more than {MAX_ANNOTATORS}, "
                                  "too many pairwise alphas"})
        return []
    tasks_of = {a: set(rows[TASK_ID].astype(str).to_numpy()[who == a]) for a in annotators}
    pair_alpha: dict[tuple[str, str], tuple[float, int]] = {}
    task_ids = rows[TASK_ID].astype(str).to_numpy()
    for i, a in enumerate(annotators):
        for b in annotators[i + 1:]:
            shared = tasks_of[a] & tasks_of[b]
            if len(shared) < 2:
                continue
            both = ((who == a) | (who == b)) & np.isin(task_ids, list(shared))
            value = alpha(rows[both]).value
            if math.isfinite(value):
                pair_alpha[(a, b)] = pair_alpha[(b, a)] = (value, len(shared))
    out = []
    for a in annotators:
        peers = [pair_alpha[(a, b)] for b in annotators if (a, b) in pair_alpha]
        if not peers:
            skipped.append({"kind": "annotator", "key": a, "reason": "shares no two tasks with a peer"})
            continue
        weights = np.array([n for _, n in peers], dtype=float)
        with_peers = float(np.average([v for v, _ in peers], weights=weights))
        without = alpha(rows[who != a])
        mine = who == a
        out.append(make_hotspot("annotator", a, share=float(mine.mean()), agreement=with_peers, target=target,
                                reference=without.value, n_items=len(tasks_of[a]), n_annotations=int(mine.sum()),
                                evidence={"rest_agreement": without.value, "alpha_without": without.value,
                                          "delta": without.value - overall.value,
                                          "pairs": {b: v for (x, b), (v, _) in pair_alpha.items() if x == a}}))
    return out


def _ratio(here: AgreementResult, overall: AgreementResult) -> float:
    if math.isfinite(here.expected) and math.isfinite(overall.expected) and overall.expected > 0:
        return float(here.expected / overall.expected)
    return 1.0
