r"""Agreement and consensus for labelled image regions (bounding boxes, polygons).

A region field's ``label`` is a tuple of :class:`~labelcheck.table.Region` in percent
of the image.  Shapes, as Label Studio writes them:

* ``rectangle``: top-left ``x, y``, ``width, height``, ``rotation`` in degrees,
  clockwise on screen, around the top-left corner;
* ``polygon``: ``points``;
* ``ellipse``: centre ``x, y``, radii in ``width, height`` (``radiusX, radiusY``),
  ``rotation`` around the centre;
* ``keypoint``: ``x, y`` only.

Overlap is intersection over union,
:math:`\mathrm{IoU}(A, B) = |A \cap B| / (|A| + |B| - |A \cap B|)`.  Axis-aligned
rectangles (rotation 0) are computed with numpy on their corners; everything else
with shapely 2's vectorised geometry functions.  Ellipses are approximated by
inscribed 64-gons (area 0.16% below the ellipse's, so IoU is off by far less than
that).  Keypoints have no area: they are left out of every IoU-based statistic
here and counted (``n_keypoints_ignored``).

Coordinates are percent of the image's width and height.  IoU is invariant under
scaling either axis, so it is exact in percent for axis-aligned rectangles, polygons
and ellipses; a *rotated* rectangle is rotated in percent coordinates, which equals
Label Studio's pixel-space rotation only on square images (the image size is not in
the canonical table).

A region's label is its labels joined by ``|`` (sorted), ``""`` for none: one region
with two labels is one object of category ``a|b``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.agreement.spans import LABEL_SEPARATOR, MICRO, group_codes, one_to_one
from labelcheck.errors import InputProblem, InvalidInput
from labelcheck.table import (
    ANNOTATION_ID,
    ANNOTATOR_ID,
    LABEL,
    SOURCE,
    SOURCE_ROW,
    TASK_ID,
    Region,
    select_field,
    validate,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]

#: ``label`` of the label-agnostic row of :func:`region_agreement`.
ANY_LABEL = "(any)"
#: Percentage points a coordinate may stray outside [0, 100] (rounding in exports).
DEFAULT_TOLERANCE = 0.5
#: Vertices of the polygon that stands for an ellipse.
ELLIPSE_VERTICES = 64
SHAPES = ("rectangle", "polygon", "ellipse", "keypoint")
_RECT, _POLY, _ELLIPSE, _KEYPOINT = range(4)
CONSENSUS_COLUMNS = ("task_id", "label", "confidence", "n_answers", "reason")


# --- geometry --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Geometry:
    """Regions as arrays: ``shape`` codes, bounding boxes ``x1, y1, x2, y2``,
    ``area``, the raw rectangle parameters, and shapely polygons for the shapes that
    are not axis-aligned rectangles (None elsewhere; built on first use)."""

    shape: IntArray
    x: FloatArray
    y: FloatArray
    w: FloatArray
    h: FloatArray
    rot: FloatArray
    x1: FloatArray
    y1: FloatArray
    x2: FloatArray
    y2: FloatArray
    area: FloatArray
    axis: npt.NDArray[np.bool_]
    polygons: ObjectArray

    @property
    def size(self) -> int:
        return int(self.shape.size)


def _rect_corners(x: FloatArray, y: FloatArray, w: FloatArray, h: FloatArray, rot: FloatArray) -> FloatArray:
    """Corners ``(n, 4, 2)`` of rectangles rotated by ``rot`` degrees around their
    top-left corner, clockwise on screen (y grows downwards), as Label Studio draws."""
    t = np.deg2rad(rot)
    c, s = np.cos(t), np.sin(t)
    dx = np.stack([np.zeros_like(w), w, w, np.zeros_like(w)], axis=1)
    dy = np.stack([np.zeros_like(h), np.zeros_like(h), h, h], axis=1)
    px = x[:, None] + dx * c[:, None] - dy * s[:, None]
    py = y[:, None] + dx * s[:, None] + dy * c[:, None]
    return np.stack([px, py], axis=2)


def _ellipse_points(x: FloatArray, y: FloatArray, rx: FloatArray, ry: FloatArray, rot: FloatArray) -> FloatArray:
    a = np.linspace(0.0, 2.0 * np.pi, ELLIPSE_VERTICES, endpoint=False)
    t = np.deg2rad(rot)[:, None]
    ex, ey = rx[:, None] * np.cos(a), ry[:, None] * np.sin(a)
    px = x[:, None] + ex * np.cos(t) - ey * np.sin(t)
    py = y[:, None] + ex * np.sin(t) + ey * np.cos(t)
    return np.stack([px, py], axis=2)


def _geometry(regions: Sequence[Region]) -> _Geometry:
    import shapely

    n = len(regions)
    codes = {name: k for k, name in enumerate(SHAPES)}
    shape = np.asarray([codes.get(r.shape, -1) for r in regions], dtype=np.int64)
    if (shape < 0).any():
        k = int(np.flatnonzero(shape < 0)[0])
        raise ValueError(f"region {k}: unknown shape {regions[k].shape!r}; expected one of {', '.join(SHAPES)}")

    def num(attr: str, default: float = math.nan) -> FloatArray:
        out = np.empty(n)
        for k, r in enumerate(regions):
            v = getattr(r, attr)
            out[k] = default if v is None else float(v)
        return out

    x, y, w, h = num("x"), num("y"), num("width", 0.0), num("height", 0.0)
    rot = num("rotation", 0.0)
    polygons = np.full(n, None, dtype=object)
    x1, y1, x2, y2 = x.copy(), y.copy(), x + w, y + h
    area = w * h
    axis = (shape == _RECT) & (np.mod(rot, 360.0) == 0)
    rotated = np.flatnonzero((shape == _RECT) & ~axis)
    if rotated.size:
        corners = _rect_corners(x[rotated], y[rotated], w[rotated], h[rotated], rot[rotated])
        polygons[rotated] = shapely.polygons(corners)
    ell = np.flatnonzero(shape == _ELLIPSE)
    if ell.size:
        polygons[ell] = shapely.polygons(_ellipse_points(x[ell], y[ell], w[ell], h[ell], rot[ell]))
    for k in np.flatnonzero(shape == _POLY):
        polygons[k] = shapely.Polygon(regions[int(k)].points)
    curved = np.flatnonzero(~axis & (shape != _KEYPOINT))
    if curved.size:
        bounds = shapely.bounds(polygons[curved])
        x1[curved], y1[curved], x2[curved], y2[curved] = bounds.T
        area[curved] = shapely.area(polygons[curved])
    keypoints = shape == _KEYPOINT
    x2[keypoints], y2[keypoints], area[keypoints] = x[keypoints], y[keypoints], 0.0
    return _Geometry(shape, x, y, w, h, rot, x1, y1, x2, y2, area, axis, polygons)


def _pair_iou(ga: _Geometry, ia: IntArray, gb: _Geometry, ib: IntArray) -> FloatArray:
    """IoU of ``ga[ia[k]]`` and ``gb[ib[k]]`` for every ``k``: NaN when either is a
    keypoint, 0 when the union has no area."""
    import shapely

    inter_w = np.minimum(ga.x2[ia], gb.x2[ib]) - np.maximum(ga.x1[ia], gb.x1[ib])
    inter_h = np.minimum(ga.y2[ia], gb.y2[ib]) - np.maximum(ga.y1[ia], gb.y1[ib])
    # for two axis-aligned rectangles the bounding boxes are the shapes themselves
    inter = np.clip(inter_w, 0.0, None) * np.clip(inter_h, 0.0, None)
    exact = ga.axis[ia] & gb.axis[ib]
    todo = np.flatnonzero(~exact & (inter > 0))
    if todo.size:
        pa = _polygons_for(ga, ia[todo])
        pb = _polygons_for(gb, ib[todo])
        inter[todo] = shapely.area(shapely.intersection(pa, pb))
    inter[~exact & ~(inter > 0)] = 0.0
    union = ga.area[ia] + gb.area[ib] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    iou[iou < 1e-12] = 0.0  # rounding of rotated corners: shapes that only touch
    iou[(ga.shape[ia] == _KEYPOINT) | (gb.shape[ib] == _KEYPOINT)] = np.nan
    return np.asarray(np.clip(iou, 0.0, 1.0), dtype=np.float64)


def _polygons_for(g: _Geometry, idx: IntArray) -> ObjectArray:
    import shapely

    out = g.polygons[idx].copy()
    boxes = np.flatnonzero(g.axis[idx])
    if boxes.size:
        k = idx[boxes]
        out[boxes] = shapely.box(g.x1[k], g.y1[k], g.x2[k], g.y2[k])
    return out


def iou_matrix(a: Sequence[Region], b: Sequence[Region]) -> FloatArray:
    r"""Intersection over union of every region of ``a`` with every region of ``b``.

    .. math:: \mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A| + |B| - |A \cap B|}

    Parameters
    ----------
    a, b : sequences of :class:`~labelcheck.table.Region`.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(a), len(b))``, values in [0, 1]; NaN where a keypoint is
        involved (no area); 0 where both regions have no area.

    Notes
    -----
    Axis-aligned rectangles: :math:`|A \cap B| = \max(0, \min(x_2) - \max(x_1))
    \cdot \max(0, \min(y_2) - \max(y_1))`, broadcast with numpy.  Rotated rectangles
    (rotated around the top-left corner, as Label Studio does), polygons and
    ellipses (64-gons): ``shapely.intersection`` and ``shapely.area`` on arrays of
    geometries, only for pairs whose bounding boxes meet.  A self-intersecting
    polygon makes shapely fail; :func:`check_regions` reports those.

    Examples
    --------
    Two 10 x 10 boxes shifted by 5: intersection 50, union 150.

    >>> from labelcheck.table import Region
    >>> box = lambda x: Region("rectangle", ("car",), x, 0.0, 10.0, 10.0)
    >>> iou_matrix([box(0.0)], [box(5.0), box(20.0)]).round(4).tolist()
    [[0.3333, 0.0]]
    """
    ga, gb = _geometry(list(a)), _geometry(list(b))
    ia, ib = np.meshgrid(np.arange(ga.size), np.arange(gb.size), indexing="ij")
    return _pair_iou(ga, ia.ravel(), gb, ib.ravel()).reshape(ga.size, gb.size)


# --- validation ----------------------------------------------------------------------
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
        corners = _rect_corners(par[:, 0], par[:, 1], par[:, 2], par[:, 3], par[:, 4])
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


def _scan(
    frame: pd.DataFrame, field_name: str, tolerance: float
) -> tuple[list[tuple[int, Region]], set[int], list[InputProblem]]:
    found: list[tuple[int, int, str]] = []  # (row, region number, message)
    candidates: list[tuple[int, int, Region]] = []
    for i, label in enumerate(frame[LABEL].to_numpy()):
        if label is None or label is pd.NA or (isinstance(label, float) and math.isnan(label)):
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
    bad = {i for i, _, _ in found}
    problems = [_problem(frame, i, field_name, msg) for i, _, msg in found]
    items = [(i, r) for i, _, r in candidates if i not in bad]
    return items, bad, problems


def _problem(frame: pd.DataFrame, i: int, field_name: str, message: str) -> InputProblem:
    def get(col: str) -> Any:
        if col not in frame.columns:
            return None
        v = frame[col].iat[i]
        return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v

    src_row, src = get(SOURCE_ROW), get(SOURCE)
    return InputProblem(
        message=message, source=None if src is None else str(src),
        source_row=None if src_row is None else int(src_row),
        task_id=get(TASK_ID), annotation_id=get(ANNOTATION_ID), field=field_name,
    )


def _invalid(field_name: str, problems: list[InputProblem]) -> InvalidInput:
    return InvalidInput(
        f'field "{field_name}": {len(problems)} malformed region(s); fix them, or keep the '
        "other annotations with split_valid_regions(...)",
        problems,
    )


def split_valid_regions(
    annotations: pd.DataFrame, *, field: str | None = None, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[pd.DataFrame, list[InputProblem]]:
    """The rows of one region field whose regions are all well formed, and a problem
    for every malformed region.

    Malformed: an unknown shape; a missing or non-finite coordinate; a rectangle or
    ellipse with a width or height that is not positive; a rectangle (its rotated
    corners), polygon point, ellipse centre or keypoint more than ``tolerance``
    percentage points outside [0, 100]; a polygon with fewer than 3 points or that
    is not valid for shapely (``is_valid``: self-intersecting, no area).  A label
    that is not a tuple (or list) of :class:`~labelcheck.table.Region` is a problem
    too.  The whole annotation (row) holding a bad region is dropped.

    Returns
    -------
    (valid, problems)
        ``valid`` holds the field's rows without the bad ones; ``problems`` names
        task, annotation, field, source row and region of each bad region.
    """
    validate(annotations)
    frame, field_name = select_field(annotations, field)
    _, bad, problems = _scan(frame, field_name, tolerance)
    if not bad:
        return frame, problems
    keep = np.ones(len(frame), dtype=bool)
    keep[np.asarray(sorted(bad), dtype=np.int64)] = False
    return frame[keep], problems


def check_regions(
    annotations: pd.DataFrame, *, field: str | None = None, tolerance: float = DEFAULT_TOLERANCE
) -> None:
    """Raise :class:`~labelcheck.errors.InvalidInput` listing every malformed region
    (see :func:`split_valid_regions`)."""
    validate(annotations)
    frame, field_name = select_field(annotations, field)
    problems = _scan(frame, field_name, tolerance)[2]
    if problems:
        raise _invalid(field_name, problems)


# --- the flat table of regions ---------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Regions:
    """One region field as flat arrays: per annotation ``ann_task`` and ids; per
    region (keypoints left out) ``ann``, ``label`` (code into ``labels``), the
    :class:`Region` objects and their :class:`_Geometry`."""

    field: str
    ann_task: IntArray
    task_ids: ObjectArray
    annotation_ids: ObjectArray
    annotator_ids: ObjectArray
    ann: IntArray
    label: IntArray
    labels: ObjectArray
    regions: list[Region]
    geometry: _Geometry
    n_keypoints: int

    @property
    def task(self) -> IntArray:
        out: IntArray = self.ann_task[self.ann]
        return out

    @property
    def n_tasks(self) -> int:
        return int(self.task_ids.size)

    def answers_per_task(self) -> IntArray:
        return np.bincount(self.ann_task, minlength=self.n_tasks).astype(np.int64)


def _label_key(region: Region) -> str:
    labels = (region.labels,) if isinstance(region.labels, str) else region.labels
    return LABEL_SEPARATOR.join(sorted(str(x) for x in labels))


def _collect(data: pd.DataFrame, field: str | None, tolerance: float = DEFAULT_TOLERANCE) -> _Regions:
    validate(data)
    frame, field_name = select_field(data, field)
    items, _, problems = _scan(frame, field_name, tolerance)
    if problems:
        raise _invalid(field_name, problems)
    answered = np.asarray([
        not (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)))
        for v in frame[LABEL].to_numpy()
    ], dtype=bool)
    rows = np.flatnonzero(answered)
    ann_of_row = np.full(len(frame), -1, dtype=np.int64)
    ann_of_row[rows] = np.arange(rows.size)
    task_codes, task_ids = pd.factorize(frame[TASK_ID].to_numpy()[rows])
    kept = [(i, r) for i, r in items if r.shape != "keypoint"]
    regions = [r for _, r in kept]
    lab_codes, labels = pd.factorize(np.asarray([_label_key(r) for r in regions], dtype=object), sort=True)
    return _Regions(
        field=field_name,
        ann_task=task_codes.astype(np.int64),
        task_ids=np.asarray(task_ids, dtype=object),
        annotation_ids=frame[ANNOTATION_ID].to_numpy(dtype=object)[rows],
        annotator_ids=frame[ANNOTATOR_ID].to_numpy(dtype=object)[rows],
        ann=ann_of_row[np.asarray([i for i, _ in kept], dtype=np.int64)],
        label=lab_codes.astype(np.int64),
        labels=np.asarray(labels, dtype=object),
        regions=regions,
        geometry=_geometry(regions),
        n_keypoints=len(items) - len(kept),
    )


def _cross_pairs(r: _Regions) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs ``(i, j)`` of regions of two different annotations of a task
    (``ann[i] < ann[j]``) whose IoU is positive, with the IoU."""
    task = r.task
    order = np.lexsort((r.ann, task))
    sizes = np.bincount(task, minlength=r.n_tasks)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    parts_a: list[IntArray] = []
    parts_b: list[IntArray] = []
    for m in np.unique(sizes[sizes >= 2]):
        ia, ib = np.triu_indices(int(m), 1)
        base = first[sizes == m][:, None]
        parts_a.append(order[(base + ia).ravel()])
        parts_b.append(order[(base + ib).ravel()])
    if not parts_a:
        empty = np.asarray([], dtype=np.int64)
        return empty, empty, np.asarray([], dtype=np.float64)
    i, j = np.concatenate(parts_a), np.concatenate(parts_b)
    g = r.geometry
    keep = (r.ann[i] != r.ann[j]) & (g.x1[i] < g.x2[j]) & (g.x1[j] < g.x2[i]) & (
        g.y1[i] < g.y2[j]) & (g.y1[j] < g.y2[i])
    i, j = i[keep], j[keep]
    swap = r.ann[i] > r.ann[j]
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    iou = _pair_iou(g, i, g, j)
    pos = iou > 0
    return i[pos], j[pos], iou[pos]


# --- pairwise agreement ----------------------------------------------------------------
def region_agreement(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    thresholds: Sequence[float] = (0.5, 0.75),
    per_label: bool = True,
    confusion_iou: float = 0.5,
) -> pd.DataFrame:
    r"""Pairwise region agreement: matched IoU and F1 at IoU thresholds, pooled over
    every pair of annotations of a task.

    For every unordered pair of annotations :math:`(A, B)` on a task, regions are
    matched one-to-one by the assignment that maximises the summed IoU (Hungarian
    algorithm, ``scipy.optimize.linear_sum_assignment``; pairs with IoU 0 are never
    matched), among regions of the same label.  Then, pooled over pairs,

    .. math:: F_1(t) = \frac{2\,\sum_{(A,B)} TP_{AB}(t)}{\sum_{(A,B)} (|A| + |B|)}

    with :math:`TP_{AB}(t)` the matched pairs with :math:`\mathrm{IoU} \ge t` and
    :math:`|A|` the regions of :math:`A` (of the label, for a per-label row): the
    pairwise F-measure of Hripcsak & Rothschild (2005) with IoU matching as in
    object-detection evaluation (Everingham et al. 2010, PASCAL VOC, IoU >= 0.5).

    Parameters
    ----------
    data : canonical annotation table; ``label`` holds tuples of Region.
    field : the region field; may be omitted when the table has one field.
    thresholds : IoU thresholds :math:`t` for TP and F1.
    per_label : also report one row per label.
    confusion_iou : IoU from which a label-agnostic match between different labels
        counts as a label confusion.

    Returns
    -------
    pandas.DataFrame
        One row per label (when ``per_label``), then ``"(micro)"`` (same-label
        matching, pooled over labels) and ``"(any)"`` (matching that ignores labels,
        so that a box both annotators drew but labelled differently still matches).
        Columns: ``label``, ``n_pairs`` (annotation pairs where at least one side has
        such a region), ``n_a_plus_b``, ``n_matched`` (matched pairs, IoU > 0),
        ``mean_iou`` (over matched pairs), ``tp@t`` and ``f1@t`` per threshold, and
        ``n_label_confusions`` (``(any)`` row only: matched with IoU >=
        ``confusion_iou`` but labelled differently).  ``attrs["n_keypoints_ignored"]``
        counts keypoints left out.

    Notes
    -----
    Maximising summed IoU and then thresholding can match fewer pairs at a high
    threshold than a matching made for that threshold; with boxes that overlap one
    object each, both agree.  Tasks with one annotation have no pair.

    References
    ----------
    Hripcsak, G., & Rothschild, A. S. (2005). Agreement, the F-measure, and reliability
    in information retrieval. JAMIA 12(3), 296-298. https://doi.org/10.1197/jamia.M1733
    Everingham, M., Van Gool, L., Williams, C. K. I., Winn, J., & Zisserman, A. (2010).
    The PASCAL Visual Object Classes (VOC) Challenge. IJCV 88, 303-338.
    https://doi.org/10.1007/s11263-009-0275-4
    Kuhn, H. W. (1955). The Hungarian method for the assignment problem. Naval
    Research Logistics Quarterly 2, 83-97. https://doi.org/10.1002/nav.3800020109
    """
    ts = [float(t) for t in thresholds]
    if any(not 0.0 < t <= 1.0 for t in ts):
        raise ValueError(f"thresholds must be in (0, 1]; got {list(thresholds)}")
    r = _collect(data, field)
    n_labels = len(r.labels)
    m_task = r.answers_per_task()
    i, j, iou = _cross_pairs(r)
    n_ann = int(r.ann_task.size)
    pair_group = group_codes([r.ann[i], r.ann[j]], [n_ann, n_ann])
    same = r.label[i] == r.label[j]
    lab_group = group_codes([r.ann[i][same], r.ann[j][same], r.label[i][same]], [n_ann, n_ann, n_labels])
    keep_same = one_to_one(lab_group, i[same], j[same], iou[same])
    keep_any = one_to_one(pair_group, i, j, iou)
    m_lab, m_iou = r.label[i][same][keep_same], iou[same][keep_same]
    a_iou = iou[keep_any]
    confused = (r.label[i][keep_any] != r.label[j][keep_any]) & (a_iou >= confusion_iou)
    denom = np.bincount(r.label, weights=(m_task[r.task] - 1).astype(np.float64), minlength=n_labels)
    n_pairs = _pairs_with(r, m_task, n_labels)

    def row(label: str, sel_iou: FloatArray, n_ab: float, pairs: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": label, "n_pairs": int(pairs), "n_a_plus_b": int(n_ab),
            "n_matched": int(sel_iou.size),
            "mean_iou": float(sel_iou.mean()) if sel_iou.size else math.nan,
        }
        for t in ts:
            tp = int(np.count_nonzero(sel_iou >= t - 1e-12))
            out[f"tp@{t:g}"] = tp
            out[f"f1@{t:g}"] = 2.0 * tp / n_ab if n_ab > 0 else math.nan
        return out

    rows: list[dict[str, Any]] = []
    if per_label:
        for k in range(n_labels):
            rows.append(row(str(r.labels[k]), m_iou[m_lab == k], denom[k], n_pairs[k]))
    rows.append(row(MICRO, m_iou, float(denom.sum()), n_pairs[n_labels]))
    rows.append(row(ANY_LABEL, a_iou, float(denom.sum()), n_pairs[n_labels]))
    frame = pd.DataFrame(rows)
    conf = np.zeros(len(frame), dtype=np.int64)
    conf[-1] = int(confused.sum())
    frame["n_label_confusions"] = pd.arrays.IntegerArray(conf, np.arange(len(frame)) != len(frame) - 1)
    frame.attrs["n_keypoints_ignored"] = r.n_keypoints
    return frame


def _pairs_with(r: _Regions, m_task: IntArray, n_labels: int) -> IntArray:
    """Annotation pairs in which at least one side has a region of each label, then
    of any label."""
    def pairs(m: IntArray) -> IntArray:
        out: IntArray = m * (m - 1) // 2
        return out

    out = np.zeros(n_labels + 1, dtype=np.int64)
    if r.ann.size == 0:
        return out
    has = pd.DataFrame({"t": r.task, "l": r.label, "a": r.ann}).drop_duplicates()
    per = has.groupby(["l", "t"], sort=False).size()
    l_code = per.index.get_level_values("l").to_numpy()
    m = m_task[per.index.get_level_values("t").to_numpy()]
    h = per.to_numpy().astype(np.int64)
    out[:n_labels] = np.bincount(l_code, weights=pairs(m) - pairs(m - h), minlength=n_labels)
    h_ann = np.bincount(np.unique(r.ann), minlength=r.ann_task.size)
    h_task = np.bincount(r.ann_task, weights=h_ann, minlength=r.n_tasks).astype(np.int64)
    out[n_labels] = int(np.sum(pairs(m_task) - pairs(m_task - h_task)))
    return out


# --- alpha with 1 - IoU ----------------------------------------------------------------
def region_alpha(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    max_expected_pairs: int = 2_000_000,
    seed: int = 0,
    ci: Any = None,
) -> AgreementResult:
    r"""Krippendorff's alpha for single-object localisation, with distance
    :math:`\delta(A, B) = 1 - \mathrm{IoU}(A, B)`.

    .. math:: \alpha = 1 - \frac{D_o}{D_e}

    Units are ``(task, label)``: each annotation's region of that label on that task
    is one value; :math:`D_o` averages :math:`1 - \mathrm{IoU}` within units,
    :math:`D_e` over all pairs of pairable values (Krippendorff 2011; computed by
    :func:`~labelcheck.agreement.distance_alpha.distance_alpha`, which samples
    ``max_expected_pairs`` pairs for :math:`D_e` when there are more).  This is
    the distance-based alpha used for bounding boxes by Nassar et al. (2019).

    Parameters
    ----------
    data : canonical annotation table; ``label`` holds tuples of Region.
    field : the region field; may be omitted when the table has one field.
    max_expected_pairs, seed, ci : passed to ``distance_alpha``.

    Returns
    -------
    AgreementResult
        ``metric="region_alpha"``.  NaN with a reason when some annotation has two
        or more regions of one label on one task (then regions cannot be paired
        without a matching: use :func:`region_agreement`), or when nothing pairs.

    Notes
    -----
    An annotation without a region of the label on the task gives the unit no value
    (missing), so alpha measures *where* annotators put an object they all marked;
    whether they marked it at all is what :func:`region_agreement`'s F1 measures.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    https://repository.upenn.edu/asc_papers/43
    Nassar, J., Pavon-Harr, V., Bosch, M., & McCulloh, I. (2019). Assessing data
    quality of annotations with Krippendorff alpha for applications in computer
    vision. arXiv:1912.10107. https://arxiv.org/abs/1912.10107
    """
    from labelcheck.agreement.distance_alpha import distance_alpha

    metric = "region_alpha"
    r = _collect(data, field)
    key = pd.DataFrame({"a": r.ann, "l": r.label})
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        first = np.flatnonzero(dup)
        shown = []
        seen: set[tuple[int, int]] = set()
        for k in first:
            pair = (int(r.ann[k]), int(r.label[k]))
            if pair in seen:
                continue
            seen.add(pair)
            n_same = int(np.sum((r.ann == pair[0]) & (r.label == pair[1])))
            shown.append(f"annotation {r.annotation_ids[pair[0]]} on task "
                         f"{r.task_ids[r.ann_task[pair[0]]]} has {n_same} regions labelled "
                         f"{r.labels[pair[1]]!r}")
            if len(shown) == 3:
                break
        return undefined(metric, (
            "region alpha needs at most one region per label per annotation and task "
            f"(single-object localisation), but {len(seen) if len(shown) < 3 else 'several'} "
            f"annotation(s) have more: {'; '.join(shown)}; use region_agreement instead"),
            level="ratio")
    unit = r.task * max(len(r.labels), 1) + r.label
    g = r.geometry

    def pair_distance(i: IntArray, j: IntArray) -> FloatArray:
        return np.asarray(1.0 - _pair_iou(g, np.asarray(i, np.int64), g, np.asarray(j, np.int64)), dtype=np.float64)

    return distance_alpha(
        unit, np.arange(len(r.regions), dtype=np.int64), pair_distance, metric=metric,
        max_expected_pairs=max_expected_pairs, seed=seed, ci=ci,
        n_annotators=int(pd.unique(r.annotator_ids[np.unique(r.ann)]).size) if r.ann.size else 0,
    )


# --- consensus -----------------------------------------------------------------------
def region_consensus(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    iou: float = 0.5,
    min_share: float = 0.5,
) -> pd.DataFrame:
    r"""Consensus regions of each task by clustering and fusing (box fusion).

    1. *Clustering.*  Pairs of regions from different annotations of a task, with
       the same label and :math:`\mathrm{IoU} \ge` ``iou``, are taken in decreasing
       IoU and their clusters merged (single linkage) unless the merged cluster
       would hold two regions of one annotation.  Greedy and order-free of any
       reference annotation; as in weighted box fusion (Solovyev et al. 2021), a
       cluster has at most one region per annotation.
    2. *Voting.*  A cluster is kept when it holds regions of more than ``min_share``
       of the task's :math:`m` annotations (:math:`c/m > \text{min\_share}`).
    3. *Fusion.*  A cluster of rectangles becomes the rectangle with the
       coordinate-wise median ``x, y, width, height, rotation``; any other cluster
       (polygons, ellipses, mixed shapes) keeps its medoid, the member with the
       largest summed IoU to the others.

    ``confidence`` is the mean over the task's clusters of the share of annotations
    agreeing with the decision on it (:math:`c/m` if kept, :math:`1 - c/m` if not);
    1 when there is no region.

    Parameters
    ----------
    data : canonical annotation table; ``label`` holds tuples of Region.
    field : the region field; may be omitted when the table has one field.
    iou : the IoU from which two regions may describe one object.
    min_share : a cluster needs strictly more than this share of the annotations.

    Returns
    -------
    pandas.DataFrame
        One row per task: ``task_id``, ``label`` (tuple of Region), ``confidence``,
        ``n_answers``, ``reason`` (one answer only; clusters with exactly
        ``min_share``; keypoints left out).

    Notes
    -----
    The median of rotations does not wrap around 360 degrees; the median of
    corners of rotated boxes is taken in Label Studio's parameters, not on corners.

    References
    ----------
    Solovyev, R., Wang, W., & Gabruseva, T. (2021). Weighted boxes fusion: Ensembling
    boxes from different object detection models. Image and Vision Computing 107,
    104117. https://doi.org/10.1016/j.imavis.2021.104117
    """
    if not 0.0 < iou <= 1.0:
        raise ValueError(f"iou must be in (0, 1]; got {iou!r}")
    if not 0.0 <= min_share < 1.0:
        raise ValueError(f"min_share must be in [0, 1); got {min_share!r}")
    r = _collect(data, field)
    m_task = r.answers_per_task()
    i, j, v = _cross_pairs(r)
    ok = (r.label[i] == r.label[j]) & (v >= iou - 1e-12)
    cluster = _greedy_clusters(r.ann, i[ok], j[ok], v[ok])
    _, c_of = np.unique(cluster, return_inverse=True)
    size = np.bincount(c_of)
    c_task = r.task[np.unique(c_of, return_index=True)[1]]
    share = size / m_task[c_task]
    kept = share > min_share + 1e-12
    tied = np.isclose(share, min_share, rtol=0.0, atol=1e-12)
    agree = np.where(kept, share, 1.0 - share)
    n_clusters = np.bincount(c_task, minlength=r.n_tasks)
    sums = np.bincount(c_task, weights=agree, minlength=r.n_tasks)
    confidence = np.where(n_clusters > 0, sums / np.maximum(n_clusters, 1), 1.0)
    fused: list[list[Region]] = [[] for _ in range(r.n_tasks)]
    if r.ann.size:
        g = r.geometry
        # clusters of rectangles only: coordinate-wise medians, one groupby for all
        not_rect = np.bincount(c_of, weights=(g.shape != _RECT).astype(np.float64)) > 0
        rect_kept = kept & ~not_rect
        sel = rect_kept[c_of]
        med = pd.DataFrame({"c": c_of[sel], "x": g.x[sel], "y": g.y[sel], "w": g.w[sel],
                            "h": g.h[sel], "r": g.rot[sel]}).groupby("c", sort=True).median()
        first = np.unique(c_of, return_index=True)[1]
        for c, x, y, w, h, rot in zip(med.index.to_numpy(), *(med[k].to_numpy() for k in "xywhr")):
            labels = r.regions[int(first[c])].labels
            fused[int(c_task[c])].append(Region("rectangle", labels, float(x), float(y), float(w),
                                                float(h), float(rot)))
        other = np.flatnonzero(kept & not_rect)
        if other.size:
            members = np.argsort(c_of, kind="stable")
            groups = np.split(members, np.cumsum(size)[:-1])
            for c in other:
                fused[int(c_task[c])].append(_fuse(r, groups[int(c)]))
    reasons: list[str | None] = [None] * r.n_tasks
    n_tied = np.bincount(c_task[tied], minlength=r.n_tasks)
    for t in np.flatnonzero(n_tied):
        reasons[t] = f"{n_tied[t]} region cluster(s) had exactly {min_share:g} of the answers (a tie) and were left out"
    for t in np.flatnonzero(m_task == 1):
        reasons[t] = "one answer: the consensus is that answer"
    if r.n_keypoints:
        note = f"{r.n_keypoints} keypoint(s) in the field were left out (no area for IoU)"
        reasons = [note if x is None else f"{x}; {note}" for x in reasons]
    return pd.DataFrame({
        "task_id": r.task_ids,
        "label": pd.Series([tuple(sorted(f, key=_region_key)) for f in fused], dtype=object).to_numpy(),
        "confidence": np.asarray(confidence, dtype=np.float64),
        "n_answers": m_task,
        "reason": np.asarray(reasons, dtype=object),
    }).loc[:, list(CONSENSUS_COLUMNS)]


def _region_key(region: Region) -> tuple[Any, ...]:
    return (region.labels, region.shape, region.y or 0.0, region.x or 0.0, region.points)


def _greedy_clusters(ann: IntArray, i: IntArray, j: IntArray, v: FloatArray) -> IntArray:
    """Cluster ids: union-find over pairs by decreasing IoU, never putting two regions
    of one annotation in one cluster."""
    parent = list(range(ann.size))
    anns: dict[int, set[int]] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in np.lexsort((j, i, -v)).tolist():
        a, b = find(int(i[k])), find(int(j[k]))
        if a == b:
            continue
        sa = anns.get(a, {int(ann[a])})
        sb = anns.get(b, {int(ann[b])})
        if sa & sb:
            continue
        parent[b] = a
        anns[a] = sa | sb
        anns.pop(b, None)
    return np.asarray([find(x) for x in range(ann.size)], dtype=np.int64)


def _fuse(r: _Regions, idx: IntArray) -> Region:
    """The medoid of a cluster that is not all rectangles: the member with the
    largest summed IoU to the others."""
    a, b = np.meshgrid(idx, idx, indexing="ij")
    scores = _pair_iou(r.geometry, a.ravel(), r.geometry, b.ravel()).reshape(idx.size, idx.size)
    return r.regions[int(idx[int(np.argmax(scores.sum(axis=1)))])]


__all__ = [
    "ANY_LABEL",
    "check_regions",
    "iou_matrix",
    "region_agreement",
    "region_alpha",
    "region_consensus",
    "split_valid_regions",
]
