"""What the app computes for a project snapshot, as plain data: the overview payload
(JSON-ready) and the per-item disagreement table.  Pure: takes a
:class:`~labelcheck.table.Dataset`, returns values; the pipeline stores them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


def _noop(_fraction: float, _message: str) -> None:
    return None


def analyse_dataset(dataset: Dataset, *, n_boot: int = 1000, confidence: float = 0.95,
                    seed: int = 0, target: float = 0.8, progress: Progress = _noop) -> Analysis:
    """The overview of every field, the item statistics and the hotspots of ``dataset``."""
    from labelcheck.analysis.hotspots import project_hotspots
    from labelcheck.analysis.items import item_statistics
    from labelcheck.analysis.overview import project_overview

    overview = project_overview(dataset, n_boot=n_boot, confidence=confidence, seed=seed,
                                progress=lambda f, m: progress(0.7 * f, m))
    progress(0.72, "item statistics")
    stats = item_statistics(dataset)
    hotspots = project_hotspots(dataset, overview["fields"], target=target, confidence=confidence,
                                progress=lambda f, m: progress(0.75 + 0.2 * f, m))
    return Analysis(overview=overview, item_stats=stats, hotspots=hotspots)
