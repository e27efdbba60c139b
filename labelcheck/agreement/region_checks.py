"""Input checks of region fields: every malformed region, named by source row, task,
annotation and field.

:func:`check_regions` raises one :class:`~labelcheck.errors.InvalidInput` listing
every bad region; :func:`split_valid_regions` drops just the bad regions and returns
the rest with the problems.  :func:`scan_regions` is the one pass both use, and the
one :func:`~labelcheck.agreement.region_table.collect_regions` runs before building
the flat table of regions.  Polygon validity and the corners of rotated rectangles
are checked with shapely (imported inside the function that needs it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.region_iou import SHAPES, rect_corners
from labelcheck.agreement.structured_labels import BadItems, is_missing, keep_good_items, problem_at
from labelcheck.errors import InputProblem, InvalidInput
from labelcheck.table import LABEL, Region, select_field, validate

FloatArray = npt.NDArray[np.float64]

#: Percentage points a coordinate may stray outside [0, 100] (rounding in exports).
DEFAULT_TOLERANCE = 0.5


def split_valid_regions(
    annotations: pd.DataFrame, *, field: str | None = None, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[pd.DataFrame, list[InputProblem]]:
    """The rows of one region field with their malformed regions taken out, and a
    problem for every malformed region.

    Malformed: an unknown shape; a missing or non-finite coordinate; a rectangle or
    ellipse with a width or height that is not positive; a rectangle (its rotated
    corners), polygon point, ellipse centre or keypoint more than ``tolerance``
    percentage points outside [0, 100]; a polygon with fewer than 3 points or that
    is not valid for shapely (``is_valid``: self-intersecting, no area).  An item of
    the label that is not a :class:`~labelcheck.table.Region`, and a label that is
    not a tuple (or list) at all, are problems too.  Only the bad regions are
    dropped: the annotation (row) keeps its well-formed regions, and a row left with
    none (every region malformed, or a label that is not a tuple) is dropped.

    Returns
    -------
    (valid, problems)
        ``valid`` holds the field's rows, a row with a bad region relabelled with the
        tuple of its good regions (rows with a missing label are kept);
        ``problems`` names source, source row, task, annotation and field of each
        bad region, and the region (its number in the label and shape).

    Notes
    -----
    An annotation that keeps some of its regions is compared as if the dropped ones
    had never been drawn: where the other annotations marked that object, the
    statistics see a region this annotation missed.
    """
    validate(annotations)
    frame, field_name = select_field(annotations, field)
    _, bad_items, problems = scan_regions(frame, field_name, tolerance)
    return keep_good_items(frame, bad_items), problems


def check_regions(
    annotations: pd.DataFrame, *, field: str | None = None, tolerance: float = DEFAULT_TOLERANCE
) -> None:
    """Raise :class:`~labelcheck.errors.InvalidInput` listing every malformed region
    of one region field (see :func:`split_valid_regions` for what is malformed, and to
    keep the good regions instead)."""
    validate(annotations)
    frame, field_name = select_field(annotations, field)
    problems = scan_regions(frame, field_name, tolerance)[2]
    if problems:
        raise malformed_regions_error(field_name, problems)


def malformed_regions_error(field_name: str, problems: list[InputProblem]) -> InvalidInput:
    """The error listing every malformed region of a field."""
    return InvalidInput(
        f'field "{field_name}": {len(problems)} malformed region(s); fix them, or drop just '
        "those regions with split_valid_regions(...)",
        problems,
    )


def scan_regions(
    frame: pd.DataFrame, field_name: str, tolerance: float
) -> tuple[list[tuple[int, Region]], BadItems, list[InputProblem]]:
    """One pass over the rows of one region field (``frame``): the well-formed regions
    ``(row, region)``, the malformed items of each row and a problem for each, in row
    and item order."""
    found: list[tuple[int, int, str]] = []  # (row, region number, message)
    candidates: list[tuple[int, int, Region]] = []
    for i, label in enumerate(frame[LABEL].to_numpy()):
        if is_missing(label):
            continue
        if not isinstance(label, (tuple, list)):
            found.append((i, 0, f"label is {type(label).__name__} {label!r:.60}; a region field "
                                "needs a tuple of Region"))
            continue
        for k, region in enumerate(label, start=1):
            if not isinstance(region, Region):
                found.append((i, k, f"region {k}: is {type(region).__name__} {region!r:.60}, not a Region"))
                continue
            wrong = _scalar_problem(region, tolerance)
            if wrong is not None:
                found.append((i, k, f"region {k} ({region.shape}): {wrong}"))
            else:
                candidates.append((i, k, region))
    geometric = _geometric_problems([c[2] for c in candidates], tolerance)
    for (i, k, region), wrong in zip(candidates, geometric):
        if wrong is not None:
            found.append((i, k, f"region {k} ({region.shape}): {wrong}"))
    found.sort(key=lambda x: (x[0], x[1]))
    bad_items: BadItems = {}
    for i, k, _ in found:
        bad_items.setdefault(i, set()).add(k)
    problems = [problem_at(frame, i, field_name, msg) for i, _, msg in found]
    items = [(i, r) for i, k, r in candidates if k not in bad_items.get(i, ())]
    return items, bad_items, problems


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def _scalar_problem(region: Region, tolerance: float) -> str | None:
    """What is wrong with one region that plain Python can tell (types, sizes, point
    counts, centres); the range of rectangle corners and polygon validity are checked
    on all regions at once by :func:`_geometric_problems`."""
    if region.shape not in SHAPES:
        return f"unknown shape {region.shape!r}; expected one of {', '.join(SHAPES)}"
    if region.shape == "polygon":
        pts = region.points
        if len(pts) < 3:
            return f"a polygon needs at least 3 points; found {len(pts)}"
        if not all(isinstance(p, (tuple, list)) and len(p) == 2 and _finite(p[0]) and _finite(p[1]) for p in pts):
            return "polygon points must be finite (x, y) pairs"
        return None
    coords = {"x": region.x, "y": region.y}
    if region.shape in ("rectangle", "ellipse"):
        coords.update(width=region.width, height=region.height)
    for name, v in coords.items():
        if not _finite(v):
            return f"{name} must be a finite number; found {v!r}"
    if not _finite(region.rotation):
        return f"rotation must be a finite number; found {region.rotation!r}"
    if region.shape in ("rectangle", "ellipse"):
        w, h = float(region.width), float(region.height)  # type: ignore[arg-type]
        if w <= 0 or h <= 0:
            size = "width/height" if region.shape == "rectangle" else "radii (width/height)"
            return f"{size} must be positive; found {w:g} x {h:g}"
    if region.shape != "rectangle":
        x, y = float(region.x), float(region.y)  # type: ignore[arg-type]
        if not (-tolerance <= x <= 100.0 + tolerance and -tolerance <= y <= 100.0 + tolerance):
            what = "centre" if region.shape == "ellipse" else "point"
            return f"{what} ({x:g}, {y:g}) is outside the image [0, 100] (percent)"
    return None


def _geometric_problems(regions: Sequence[Region], tolerance: float) -> list[str | None]:
    """Rectangles whose (rotated) corners and polygons whose points leave the image by
    more than ``tolerance``, and polygons shapely finds invalid: one vectorised pass."""
    import shapely

    lo, hi = -tolerance, 100.0 + tolerance
    out: list[str | None] = [None] * len(regions)
    rect = [k for k, r in enumerate(regions) if r.shape == "rectangle"]
    if rect:
        par = np.asarray([[regions[k].x, regions[k].y, regions[k].width, regions[k].height,
                           regions[k].rotation] for k in rect], dtype=np.float64)
        corners = rect_corners(par[:, 0], par[:, 1], par[:, 2], par[:, 3], par[:, 4])
        outside = ((corners < lo) | (corners > hi)).any(axis=(1, 2))
        for q in np.flatnonzero(outside):
            x, y, w, h, rot = par[q]
            out[rect[q]] = (f"rectangle x {x:g}, y {y:g}, width {w:g}, height {h:g}, rotation {rot:g} "
                            f"reaches outside the image [0, 100] (percent): {_extent(corners[q])}")
    poly = [k for k, r in enumerate(regions) if r.shape == "polygon"]
    if poly:
        geoms = np.asarray([shapely.Polygon(regions[k].points) for k in poly], dtype=object)
        valid = shapely.is_valid(geoms)
        for q, k in enumerate(poly):
            pts = np.asarray(regions[k].points, dtype=np.float64)
            if (pts < lo).any() or (pts > hi).any():
                out[k] = f"polygon points outside the image [0, 100] (percent): {_extent(pts)}"
            elif not valid[q]:
                out[k] = (f"polygon is not valid ({shapely.is_valid_reason(geoms[q])}): its edges "
                          "cross or it has no area")
    return out


def _extent(points: FloatArray) -> str:
    return (f"x from {points[:, 0].min():g} to {points[:, 0].max():g}, "
            f"y from {points[:, 1].min():g} to {points[:, 1].max():g}")


__all__ = ["DEFAULT_TOLERANCE", "check_regions", "split_valid_regions"]
