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


def _noop(_fraction: float, _message: str) -> None:
    return None


def analyse_dataset(dataset: Dataset, *, n_boot: int = 1000, confidence: float = 0.95,
                    seed: int = 0, progress: Progress = _noop) -> Analysis:
    """The overview of every field and the item statistics of ``dataset``."""
    from labelcheck.analysis.items import item_statistics
    from labelcheck.analysis.overview import project_overview

    overview = project_overview(dataset, n_boot=n_boot, confidence=confidence, seed=seed,
                                progress=lambda f, m: progress(0.8 * f, m))
    progress(0.85, "item statistics")
    stats = item_statistics(dataset)
    return Analysis(overview=overview, item_stats=stats)
