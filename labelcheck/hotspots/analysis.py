"""The whole hotspot analysis of one field: every kind, one family of tests, one ranking.

:func:`find_hotspots` encodes the field once, decomposes its observed disagreement once
(:func:`labelcheck.hotspots.coincidences.coincidences`), runs each kind's module on
that, adjusts every p-value together (Benjamini-Hochberg over the whole analysis) and
ranks the hotspots by priority (:mod:`labelcheck.hotspots.ranking`).

This module is part of the computational core: pure functions, no I/O.  Progress is
reported through an optional callback so that a background job can show it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field as dc_field
from typing import Any

import pandas as pd

from labelcheck.agreement.intervals import Interval
from labelcheck.agreement.krippendorff import krippendorff_alpha
from labelcheck.agreement.result import AgreementResult
from labelcheck.hotspots.annotators import annotator_hotspots
from labelcheck.hotspots.coincidences import Coincidences, coincidences
from labelcheck.hotspots.items import MAX_ITEM_HOTSPOTS, item_hotspots
from labelcheck.hotspots.label_pairs import label_pair_hotspots
from labelcheck.hotspots.periods import period_hotspots
from labelcheck.hotspots.ranking import TARGET, Hotspot, adjust, plain, rank
from labelcheck.hotspots.slices import MIN_ITEMS, slice_columns, slice_hotspots
from labelcheck.table import CREATED_AT, TASK_ID, CodedRatings, Level, encode

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class HotspotReport:
    """What :func:`find_hotspots` found: the ranked hotspots and their context.

    ``overall`` is alpha of the whole field; ``trend`` the per-window trend and step
    (:func:`labelcheck.hotspots.periods.trend`) or None; ``skipped`` lists the slices
    and windows left out of the ranking, with the reason.
    """

    field: str
    level: str
    target: float
    fdr: float
    overall: AgreementResult
    hotspots: list[Hotspot]
    slice_columns: list[str] = dc_field(default_factory=list)
    period: str | None = None
    trend: dict[str, Any] | None = None
    skipped: list[dict[str, Any]] = dc_field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (plain types, NaN as None); ``hotspots`` in rank order."""
        ov = self.overall
        return {
            "hotspots": [h.to_dict() for h in self.hotspots],
            "field": self.field,
            "level": self.level,
            "target": self.target,
            "fdr": self.fdr,
            "overall": plain({
                "metric": ov.metric, "agreement": ov.value,
                "ci": None if ov.ci is None else list(ov.ci),
                "n_items": ov.n_items, "n_annotations": ov.n_annotations,
                "n_annotators": ov.n_annotators,
            }),
            "slice_columns": list(self.slice_columns),
            "period": self.period,
            "trend": plain(self.trend),
            "skipped": plain(self.skipped),
        }


def find_hotspots(
    annotations: pd.DataFrame | CodedRatings,
    tasks: pd.DataFrame | None = None,
    *,
    field: str | None = None,
    level: Level = "nominal",
    categories: Sequence[Any] | None = None,
    target: float = TARGET,
    slices: Sequence[str] | None = None,
    period: str | None = "week",
    min_items: int = MIN_ITEMS,
    max_items: int = MAX_ITEM_HOTSPOTS,
    confidence: float = 0.95,
    fdr: float = 0.05,
    progress: Progress | None = None,
) -> HotspotReport:
    """Find, test and rank the disagreement hotspots of one field.

    Parameters
    ----------
    annotations : canonical table, or coded ratings of one field.
    tasks : the task table (``task_id`` plus metadata columns) for slicing.
    field, level, categories : which field and how to encode it
        (:func:`labelcheck.table.encode`); ``level`` also sets alpha's difference
        function.
    target : the agreement the project aims for (default 0.8).
    slices : slicing columns (``NAME:length`` for a text column's length); None
        picks every task column with 2-12 distinct values; ``()`` slices nothing.
    period : ``day``, ``week`` or ``month`` windows, or None for no time analysis
        (also skipped, with a note, when no answer has ``created_at``).
    min_items : slices with fewer pairable tasks are not ranked.
    max_items : how many single items to list (those with the largest gain).
    confidence : level of every interval.
    fdr : false discovery rate for ``significant`` (BH over all tests of the analysis).
    progress : called as ``progress(stage, fraction_done)`` after each stage.

    Returns
    -------
    HotspotReport
        The hotspots ranked by priority (:mod:`labelcheck.hotspots.ranking`).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1; got {confidence}")
    if not 0 < fdr < 1:
        raise ValueError(f"fdr must be between 0 and 1; got {fdr}")
    report = progress or (lambda stage, done: None)
    coded = annotations if isinstance(annotations, CodedRatings) else encode(
        annotations, field=field, level=level, categories=categories)
    tasks = pd.DataFrame({TASK_ID: pd.Series([], dtype=object)}) if tasks is None else tasks
    co = coincidences(coded, level)
    overall = krippendorff_alpha(coded, level=level, ci=Interval(confidence=confidence))
    report("coincidences", 0.15)
    if not overall.defined:  # one label in use: nothing to locate
        report("ranking", 1.0)
        return HotspotReport(
            field=coded.field, level=level, target=target, fdr=fdr, overall=overall,
            hotspots=[], period=period,
            skipped=[{"kind": "field", "key": coded.field, "reason": overall.reason}],
        )

    found: list[Hotspot] = []
    found += label_pair_hotspots(co, target, confidence=confidence)
    report("label pairs", 0.3)
    found += annotator_hotspots(co, target, confidence=confidence, fdr=fdr)
    report("annotators", 0.5)
    columns = slice_columns(tasks, coded.frame) if slices is None else list(slices)
    slice_found, skipped = slice_hotspots(co, tasks, columns, target, min_items=min_items,
                                          confidence=confidence)
    found += slice_found
    report("slices", 0.7)
    trend = None
    if period is not None:
        found_p, trend, skipped_p = _periods(co, period, target, confidence)
        found += found_p
        skipped += skipped_p
    report("periods", 0.85)
    found += item_hotspots(co, target, max_items)
    ranked = rank(adjust(found, fdr))
    report("ranking", 1.0)
    return HotspotReport(
        field=coded.field, level=level, target=target, fdr=fdr, overall=overall,
        hotspots=ranked, slice_columns=columns, period=period, trend=trend, skipped=skipped,
    )


def _periods(
    co: Coincidences, period: str, target: float, confidence: float
) -> tuple[list[Hotspot], dict[str, Any] | None, list[dict[str, Any]]]:
    frame = co.coded.frame
    if CREATED_AT not in frame.columns or frame[CREATED_AT].isna().all():
        return [], None, [{"kind": "period", "key": None,
                           "reason": f"no answer has {CREATED_AT}: no time windows"}]
    return period_hotspots(co, period, target, confidence=confidence)


__all__ = ["HotspotReport", "find_hotspots"]
