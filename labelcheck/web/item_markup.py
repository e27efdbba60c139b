"""What the item page draws for span and region answers: each annotation's text with its
spans highlighted, and each annotation's regions drawn over the image.

Plain data for the template (no HTML here: Jinja escapes every text it inserts).
Region coordinates are Label Studio's, in percent of the image, drawn in an SVG whose
``viewBox`` is 100 x 100 stretched over the image (``preserveAspectRatio="none"``), so
an axis-aligned rectangle sits exactly where the annotator drew it; a rotated one is
rotated in that stretched frame (exact for square images, approximate otherwise).
"""

from __future__ import annotations

from typing import Any

from labelcheck.table import Region, Span

#: Colours given to annotations in turn (distinguishable, colour-blind safe: Okabe-Ito).
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def span_segments(text: str, spans: tuple[Span, ...] | list[Span]) -> list[dict[str, Any]]:
    """``text`` cut at every span boundary: ``[{"text", "labels"}]`` in order, where
    ``labels`` joins the labels of the spans covering the segment (empty outside).
    Offsets are Label Studio's (UTF-16 code units: an emoji counts 2) and are turned
    into Python string positions; offsets past the end of the text are clipped (the
    analysis reports them)."""
    n = len(text)
    position = _utf16_to_index(text)
    cuts = {0, n}
    clipped = []
    for s in spans:
        start, end = position(int(s.start)), position(int(s.end))
        if end > start:
            clipped.append((start, end, s.labels))
            cuts.update((start, end))
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:]):
        labels = sorted({label for start, end, ls in clipped if start <= a and b <= end for label in ls})
        out.append({"text": text[a:b], "labels": " + ".join(labels)})
    return out


def _utf16_to_index(text: str) -> Any:
    """A function from a UTF-16 offset to the index of the Python character there."""
    import bisect

    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return lambda offset: max(0, min(offset, len(text)))
    units = [0]
    for c in text:
        units.append(units[-1] + (2 if ord(c) >= 0x10000 else 1))
    return lambda offset: min(bisect.bisect_left(units, max(0, offset)), len(text))


def region_shapes(regions: tuple[Region, ...] | list[Region]) -> list[dict[str, Any]]:
    """SVG-ready shapes: ``kind`` ``rect`` (x, y, width, height, rotation), ``polygon``
    (``points`` as "x,y x,y ..."), ``ellipse`` (cx, cy, rx, ry) or ``point``; with
    ``label``."""
    out: list[dict[str, Any]] = []
    for r in regions:
        label = " + ".join(r.labels)
        if r.points:
            out.append({"kind": "polygon", "label": label,
                        "points": " ".join(f"{x:.3f},{y:.3f}" for x, y in r.points),
                        "x": r.points[0][0], "y": r.points[0][1]})
        elif r.shape == "ellipse" and r.x is not None and r.y is not None:
            out.append({"kind": "ellipse", "label": label, "x": r.x, "y": r.y,
                        "rx": r.width or 0.0, "ry": r.height or 0.0, "rotation": r.rotation})
        elif r.shape == "keypoint" and r.x is not None and r.y is not None:
            out.append({"kind": "point", "label": label, "x": r.x, "y": r.y})
        elif r.x is not None and r.y is not None:
            out.append({"kind": "rect", "label": label, "x": r.x, "y": r.y, "width": max(r.width or 0.0, 0.0),
                        "height": max(r.height or 0.0, 0.0), "rotation": r.rotation})
    return out


def markup(fields: list[dict[str, Any]], data: dict[str, Any],
           answers: list[tuple[str, str, str, Any]]) -> list[dict[str, Any]]:
    """One view per span or region field with answers: ``fields`` the field specs
    (``name``, ``value_type``, ``to_name``), ``data`` the task's data, ``answers``
    ``(field, annotation_id, annotator_id, label)`` in column order."""
    views = []
    colour: dict[str, str] = {}
    for spec in fields:
        kind, name = spec.get("value_type"), spec["name"]
        if kind not in ("span", "region"):
            continue
        source = data.get(spec.get("to_name") or "")
        rows = []
        for field, annotation_id, annotator_id, label in answers:
            if field != name or not isinstance(label, tuple):
                continue
            c = colour.setdefault(annotation_id, COLOURS[len(colour) % len(COLOURS)])
            row: dict[str, Any] = {"annotation_id": annotation_id, "annotator_id": annotator_id, "colour": c}
            if kind == "span":
                if not isinstance(source, str):
                    continue
                row["segments"] = span_segments(source, [s for s in label if isinstance(s, Span)])
            else:
                row["shapes"] = region_shapes([r for r in label if isinstance(r, Region)])
            rows.append(row)
        if not rows:
            continue
        image = source if kind == "region" and isinstance(source, str) else None
        views.append({"field": name, "kind": kind, "rows": rows, "image": image})
    return views
