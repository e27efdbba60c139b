"""Disagreement hotspots: where annotators disagree, how much it costs, what to fix first.

Pure functions on the canonical table (part of the computational core: stdlib, numpy,
pandas, scipy and statsmodels only; no I/O).  :func:`find_hotspots` runs the whole
analysis; each kind has its own module: :mod:`~labelcheck.hotspots.items`,
:mod:`~labelcheck.hotspots.label_pairs`, :mod:`~labelcheck.hotspots.annotators`,
:mod:`~labelcheck.hotspots.slices`, :mod:`~labelcheck.hotspots.periods`, all built on
one decomposition of Krippendorff's observed disagreement
(:mod:`~labelcheck.hotspots.coincidences`) and ranked by
:mod:`~labelcheck.hotspots.ranking`.
"""

from labelcheck.hotspots.analysis import HotspotReport, find_hotspots
from labelcheck.hotspots.coincidences import Coincidences, coincidences
from labelcheck.hotspots.ranking import KINDS, TARGET, Hotspot

__all__ = ["KINDS", "TARGET", "Coincidences", "Hotspot", "HotspotReport", "coincidences", "find_hotspots"]
