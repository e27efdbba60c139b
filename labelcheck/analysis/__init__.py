"""What the app computes for a project snapshot, as plain data: the overview payload
(JSON-ready) and the per-item disagreement table.  Pure: takes a
:class:`~labelcheck.table.Dataset`, returns values; the pipeline stores them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labelcheck.table import Dataset

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Analysis:
    overview: dict[str, Any]
    item_stats: pd.DataFrame
    #: per field: ranked hotspots and suggestion evidence (:mod:`labelcheck.analysis.hotspots`)
    hotspots: dict[str, dict[str, Any]]
    #: per choice field: the consensus model's summary and annotator reliability
    #: (:mod:`labelcheck.analysis.consensus`); its per-item columns are in ``item_stats``
    consensus: dict[str, dict[str, Any]] = field(default_factory=dict)


def _noop(_fraction: float, _message: str) -> None:
    return None


def analyse_dataset(dataset: Dataset, *, n_boot: int = 1000, confidence: float = 0.95,
                    seed: int = 0, target: float = 0.8, progress: Progress = _noop) -> Analysis:
    """The overview of every field, the item statistics (with each item's consensus and
    adjudication need), the hotspots and the consensus models of ``dataset``."""
    from labelcheck.analysis.consensus import project_consensus
    from labelcheck.analysis.hotspots import project_hotspots
    from labelcheck.analysis.items import item_statistics
    from labelcheck.analysis.overview import project_overview

    overview = project_overview(dataset, n_boot=n_boot, confidence=confidence, seed=seed,
                                progress=lambda f, m: progress(0.7 * f, m))
    progress(0.72, "item statistics")
    stats = item_statistics(dataset)
    hotspots = project_hotspots(dataset, overview["fields"], target=target, confidence=confidence,
                                progress=lambda f, m: progress(0.75 + 0.15 * f, m))
    items, consensus = project_consensus(dataset, overview["fields"], hotspots,
                                         progress=lambda f, m: progress(0.9 + 0.08 * f, m))
    if len(items):
        stats = stats.merge(items, on=["task_id", "field"], how="left", sort=False)
    return Analysis(overview=overview, item_stats=stats, hotspots=hotspots, consensus=consensus)
