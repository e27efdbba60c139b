r"""Geometry and intersection over union of labelled image regions.

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
with shapely 2's vectorised geometry functions (imported inside the functions that
need them).  Ellipses are approximated by inscribed 64-gons (area 0.16% below the
ellipse's, so IoU is off by far less than that).  Keypoints have no area: their IoU
is NaN.

Coordinates are percent of the image's width and height.  IoU is invariant under
scaling either axis, so it is exact in percent for axis-aligned rectangles, polygons
and ellipses; a *rotated* rectangle is rotated in percent coordinates, which equals
Label Studio's pixel-space rotation only on square images (the image size is not in
the canonical table).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelcheck.table import Region

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]

#: Vertices of the polygon that stands for an ellipse.
ELLIPSE_VERTICES = 64
SHAPES = ("rectangle", "polygon", "ellipse", "keypoint")
#: Codes of :data:`SHAPES` in :attr:`RegionGeometry.shape`.
RECTANGLE_CODE, POLYGON_CODE, ELLIPSE_CODE, KEYPOINT_CODE = range(4)


@dataclass(frozen=True, eq=False)
class RegionGeometry:
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


def rect_corners(x: FloatArray, y: FloatArray, w: FloatArray, h: FloatArray, rot: FloatArray) -> FloatArray:
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


def region_geometry(regions: Sequence[Region]) -> RegionGeometry:
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
    axis = (shape == RECTANGLE_CODE) & (np.mod(rot, 360.0) == 0)
    rotated = np.flatnonzero((shape == RECTANGLE_CODE) & ~axis)
    if rotated.size:
        corners = rect_corners(x[rotated], y[rotated], w[rotated], h[rotated], rot[rotated])
        polygons[rotated] = shapely.polygons(corners)
    ell = np.flatnonzero(shape == ELLIPSE_CODE)
    if ell.size:
        polygons[ell] = shapely.polygons(_ellipse_points(x[ell], y[ell], w[ell], h[ell], rot[ell]))
    for k in np.flatnonzero(shape == POLYGON_CODE):
        polygons[k] = shapely.Polygon(regions[int(k)].points)
    curved = np.flatnonzero(~axis & (shape != KEYPOINT_CODE))
    if curved.size:
        bounds = shapely.bounds(polygons[curved])
        x1[curved], y1[curved], x2[curved], y2[curved] = bounds.T
        area[curved] = shapely.area(polygons[curved])
    keypoints = shape == KEYPOINT_CODE
    x2[keypoints], y2[keypoints], area[keypoints] = x[keypoints], y[keypoints], 0.0
    return RegionGeometry(shape, x, y, w, h, rot, x1, y1, x2, y2, area, axis, polygons)


def pair_iou(ga: RegionGeometry, ia: IntArray, gb: RegionGeometry, ib: IntArray) -> FloatArray:
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
    iou[(ga.shape[ia] == KEYPOINT_CODE) | (gb.shape[ib] == KEYPOINT_CODE)] = np.nan
    return np.asarray(np.clip(iou, 0.0, 1.0), dtype=np.float64)


def _polygons_for(g: RegionGeometry, idx: IntArray) -> ObjectArray:
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
    polygon makes shapely fail; :func:`~labelcheck.agreement.region_checks.check_regions`
    reports those.

    Examples
    --------
    Two 10 x 10 boxes shifted by 5: intersection 50, union 150.

    >>> from labelcheck.table import Region
    >>> box = lambda x: Region("rectangle", ("car",), x, 0.0, 10.0, 10.0)
    >>> iou_matrix([box(0.0)], [box(5.0), box(20.0)]).round(4).tolist()
    [[0.3333, 0.0]]
    """
    ga, gb = region_geometry(list(a)), region_geometry(list(b))
    ia, ib = np.meshgrid(np.arange(ga.size), np.arange(gb.size), indexing="ij")
    return pair_iou(ga, ia.ravel(), gb, ib.ravel()).reshape(ga.size, gb.size)


__all__ = ["SHAPES", "iou_matrix"]
