"""Label Studio result values -> canonical labels.

A Label Studio annotation holds a list of *results*, one per control tag answer
(``{"from_name", "to_name", "type", "value": {...}}``).  This module reads one
``value`` into a :class:`Parsed` (kind + payload), and combines the results one
annotation gave for one field.  It knows the value shapes of the Label Studio JSON
export (with ``type``) and of the JSON-MIN / CSV exports, which drop ``type`` and
flatten single choices and single texts to bare strings (label-studio-converter's
``prettify_result``); there the kind is read from the value's keys.

Kinds (the ``FieldSpec.value_type`` they feed):

========== =========================================== =================================
kind       Label Studio result ``type``                payload
========== =========================================== =================================
choice     choices, taxonomy (paths joined by ``/``),  sorted tuple of str
           pairwise (``selected``)
span       labels, hypertextlabels (global offsets)    tuple of :class:`Span`
region     rectangle(labels), polygon(labels),         tuple of :class:`Region`
           ellipse(labels), keypoint(labels)
rating     rating                                      float
number     number                                      float
text       textarea, datetime                          str (lines joined by newline)
========== =========================================== =================================
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from labelcheck.table import Region, Span

#: Result types that carry no answer of their own (links between regions).
IGNORED_TYPES = frozenset({"relation"})

_REGION_SHAPES = {
    "rectanglelabels": "rectangle",
    "rectangle": "rectangle",
    "polygonlabels": "polygon",
    "polygon": "polygon",
    "ellipselabels": "ellipse",
    "ellipse": "ellipse",
    "keypointlabels": "keypoint",
    "keypoint": "keypoint",
}
_SPAN_TYPES = frozenset({"labels", "hypertextlabels"})


class ValueShapeError(ValueError):
    """A result value does not have the shape its type needs."""


class UnsupportedType(ValueError):
    """A result type labelcheck does not turn into labels (brush masks, rankers, ...)."""

    def __init__(self, type_: str) -> None:
        super().__init__(type_)
        self.type = type_


class Parsed(NamedTuple):
    """One field's answer in one annotation: its kind and its payload."""

    kind: str
    payload: Any


def infer_type(value: Mapping[str, Any]) -> str | None:
    """The Label Studio result type a ``value`` dict has, read from its keys
    (JSON-MIN and CSV exports drop ``type``)."""
    for key in _REGION_SHAPES:
        if key.endswith("labels") and key in value:
            return key
    if "hypertextlabels" in value:
        return "hypertextlabels"
    if "labels" in value or ("start" in value and "end" in value):
        return "labels"
    for key in ("choices", "taxonomy", "rating", "number", "datetime"):
        if key in value:
            return key
    if "selected" in value:
        return "pairwise"
    if "text" in value:
        return "textarea"
    if "points" in value:
        return "polygon"
    if "radiusX" in value:
        return "ellipse"
    if "width" in value and "height" in value and "x" in value:
        return "rectangle"
    if "x" in value and "y" in value:
        return "keypoint"
    return None


def parse_value(type_: str | None, value: Any) -> Parsed:
    """Read one result ``value`` of Label Studio result type ``type_`` (``None``: read
    the type from the value's keys).  Raises :class:`ValueShapeError` or
    :class:`UnsupportedType`."""
    if type_ == "choices" and type(value) is dict:  # fast path: the common single choice
        choices = value.get("choices")
        if type(choices) is list and len(choices) == 1 and type(choices[0]) is str:
            return Parsed("choice", (choices[0],))
    if not isinstance(value, Mapping):
        raise ValueShapeError(f"value must be an object, found {_kind_of(value)}")
    t = (type_ or infer_type(value) or "").lower()
    if not t:
        keys = ", ".join(sorted(map(str, value))) or "none"
        raise ValueShapeError(f"cannot tell the answer type from the value's keys ({keys})")
    if t == "choices":
        return Parsed("choice", _string_tuple(value.get("choices"), "choices"))
    if t == "taxonomy":
        paths = value.get("taxonomy")
        if not isinstance(paths, list) or not all(isinstance(p, list) for p in paths):
            raise ValueShapeError(f"taxonomy must be a list of paths, found {_kind_of(paths)}")
        return Parsed("choice", tuple(sorted({"/".join(map(str, p)) for p in paths})))
    if t == "pairwise":
        return Parsed("choice", _string_tuple([value.get("selected")], "selected"))
    if t in ("rating", "number"):
        return Parsed(t, _number(value.get(t), t))
    if t == "textarea":
        return Parsed("text", _text(value.get("text")))
    if t == "datetime":
        return Parsed("text", _text(value.get("datetime")))
    if t in _SPAN_TYPES:
        return Parsed("span", (_span(t, value),))
    if t in _REGION_SHAPES:
        return Parsed("region", (_region(t, value),))
    raise UnsupportedType(t)


def parse_flat(cell: Any) -> Parsed | None:
    """Read one field's answer as the JSON-MIN or CSV export writes it.

    A bare string is a single choice (or a single text: the field spec decides
    later); ``{"choices": [...]}`` several choices; ``{"text": [...]}`` several
    lines; a list holds one value dict per result.  CSV cells holding JSON are
    decoded first.  Returns ``None`` for an empty cell (no answer)."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return None
    if isinstance(cell, str):
        stripped = cell.strip()
        if not stripped:
            return None
        if stripped[0] in "[{":
            try:
                decoded = json.loads(stripped)
            except ValueError:
                return Parsed("choice", (cell,))
            return parse_flat(decoded) if isinstance(decoded, (list, dict)) else None
        return Parsed("choice", (cell,))
    if isinstance(cell, bool):
        raise ValueShapeError("found a boolean where an answer was expected")
    if isinstance(cell, (int, float)):
        return Parsed("number", float(cell))
    if isinstance(cell, Mapping):
        return parse_value(None, cell)
    if isinstance(cell, list):
        if not cell:
            return None
        if all(isinstance(x, str) for x in cell):
            return Parsed("choice", tuple(sorted(set(cell))))
        parts = [parse_value(None, x) for x in cell]
        return combine(parts)
    raise ValueShapeError(f"found {_kind_of(cell)} where an answer was expected")


def combine(parts: Sequence[Parsed]) -> Parsed:
    """Combine the results one annotation gave for one field: choices are united,
    spans and regions collected, texts joined by newlines.  Two ratings or numbers
    (or two kinds) for one field are a :class:`ValueShapeError`."""
    if len(parts) == 1:
        return parts[0]
    kinds = {p.kind for p in parts}
    if len(kinds) > 1:
        raise ValueShapeError(
            f"results of different kinds for one field ({', '.join(sorted(kinds))})"
        )
    kind = parts[0].kind
    if kind == "choice":
        return Parsed(kind, tuple(sorted({c for p in parts for c in p.payload})))
    if kind in ("span", "region"):
        return Parsed(kind, sorted_items([x for p in parts for x in p.payload]))
    if kind == "text":
        return Parsed(kind, "\n".join(p.payload for p in parts))
    values = ", ".join(f"{p.payload:g}" for p in parts)
    raise ValueShapeError(f"{len(parts)} {kind} results for one field ({values}); expected one")


def sorted_items(items: Sequence[Any]) -> tuple[Any, ...]:
    """Spans or regions in a canonical order (None-safe)."""
    try:
        return tuple(sorted(items))
    except TypeError:
        return tuple(sorted(items, key=repr))


# --- pieces ----------------------------------------------------------------------------
def _kind_of(x: Any) -> str:
    if x is None:
        return "nothing"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    for t, name in names.items():
        if isinstance(x, t):
            return f"{name} ({_short(x)})"
    if isinstance(x, (int, float)):
        return f"a number ({x})"
    return type(x).__name__


def _short(x: Any) -> str:
    text = json.dumps(x, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _string_tuple(raw: Any, key: str) -> tuple[str, ...]:
    if type(raw) is list and len(raw) == 1 and type(raw[0]) is str:
        return (raw[0],)
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ValueShapeError(f'"{key}" must be a list of strings, found {_kind_of(raw)}')
    return tuple(sorted(set(raw)))


def _number(raw: Any, key: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueShapeError(f'"{key}" must be a number, found {_kind_of(raw)}')
    return float(raw)


def _text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return "\n".join(raw)
    raise ValueShapeError(f'"text" must be a list of strings, found {_kind_of(raw)}')


def _labels(value: Mapping[str, Any], key: str) -> tuple[str, ...]:
    raw = value.get(key, [])
    return _string_tuple(raw, key)


def _coordinate(value: Mapping[str, Any], key: str) -> float:
    return _number(value.get(key), key)


def _span(t: str, value: Mapping[str, Any]) -> Span:
    if t == "hypertextlabels":
        offsets = value.get("globalOffsets")
        if not isinstance(offsets, Mapping):
            raise ValueShapeError('hypertext span without "globalOffsets" {start, end}')
        start, end = offsets.get("start"), offsets.get("end")
    else:
        start, end = value.get("start"), value.get("end")
    for name, v in (("start", start), ("end", end)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueShapeError(f'span "{name}" must be a number, found {_kind_of(v)}')
    if end < start:  # type: ignore[operator]
        raise ValueShapeError(f"span ends before it starts (start {start}, end {end})")
    text = value.get("text")
    return Span(start, end, _labels(value, t), text if isinstance(text, str) else None)  # type: ignore[arg-type]


def _region(t: str, value: Mapping[str, Any]) -> Region:
    shape = _REGION_SHAPES[t]
    labels = _labels(value, t) if t.endswith("labels") else ()
    rotation = float(value.get("rotation") or 0.0)
    if shape == "polygon":
        points = value.get("points")
        if not isinstance(points, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in points
        ):
            raise ValueShapeError(f'"points" must be a list of [x, y] pairs, found {_kind_of(points)}')
        return Region(shape, labels, points=tuple((float(a), float(b)) for a, b in points))
    x, y = _coordinate(value, "x"), _coordinate(value, "y")
    width: float | None
    height: float | None
    if shape == "rectangle":
        width, height = _coordinate(value, "width"), _coordinate(value, "height")
    elif shape == "ellipse":  # centre and radii, stored as width/height
        width, height = _coordinate(value, "radiusX"), _coordinate(value, "radiusY")
    else:
        width = float(value["width"]) if isinstance(value.get("width"), (int, float)) else None
        height = None
    if (width is not None and width < 0) or (height is not None and height < 0):
        raise ValueShapeError(f"region has a negative size (width {width}, height {height})")
    return Region(shape, labels, x, y, width, height, rotation)
