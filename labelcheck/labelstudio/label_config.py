"""A Label Studio label config, read with the SDK's ``label_interface``: each control
tag's name, type, labels (in the config's order), target object and choice mode, and the
field spec (value type, level of measurement, categories) labelcheck derives from it.

Derivation (overridable per field by the lead, see :func:`field_specs`):

=====================================  ============  =========  =========================
control tag                            value type    level      categories
=====================================  ============  =========  =========================
Choices ``choice="single"`` (default)  choice        nominal    the choices, in order
Choices ``choice="multiple"``          multichoice   nominal    the choices, in order
Taxonomy, Pairwise                     choice        nominal    (none)
Rating (``maxRating``, default 5)      rating        ordinal    1 .. maxRating
Number                                 number        interval   (none)
Labels, HyperTextLabels, ParagraphLabels  span       nominal    the labels
RectangleLabels, PolygonLabels, ...    region        nominal    the labels
TextArea, DateTime                     text          nominal    (none)
=====================================  ============  =========  =========================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from labelcheck.errors import InvalidInput
from labelcheck.table import LEVELS, FieldSpec

_SPAN_TAGS = frozenset({"labels", "hypertextlabels", "paragraphlabels", "timeserieslabels"})
_REGION_TAGS = frozenset({
    "rectanglelabels", "polygonlabels", "ellipselabels", "keypointlabels", "brushlabels",
    "rectangle", "polygon", "ellipse", "keypoint", "brush",
})


@dataclass(frozen=True)
class ControlSpec:
    """One control tag of a label config."""

    name: str
    tag: str  # as written in the config, e.g. "Choices"
    labels: tuple[str, ...]  # choices / labels in the config's order (aliases applied)
    to_name: tuple[str, ...]  # the object tags it labels
    choice_mode: str | None  # "single" / "multiple" for Choices, else None
    value_type: str | None  # labelcheck's value type, None when not an answer
    level: str
    categories: tuple[Any, ...] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "tag": self.tag, "labels": list(self.labels),
            "to_name": list(self.to_name), "choice_mode": self.choice_mode,
            "value_type": self.value_type, "level": self.level,
            "categories": None if self.categories is None else list(self.categories),
        }


def read_label_config(config: str) -> list[ControlSpec]:
    """The control tags of ``config`` (label config XML), in document order.  Raises
    :class:`InvalidInput` when the SDK cannot parse it."""
    from label_studio_sdk.label_interface.interface import LabelInterface

    try:
        interface = LabelInterface(config)
    except Exception as err:  # the SDK raises several kinds (XML, its own validation)
        raise InvalidInput(f"label config: cannot be read ({type(err).__name__}: {err})") from err
    return [_control(control) for control in interface.controls]


def _control(control: Any) -> ControlSpec:
    tag = str(control.tag)
    kind = tag.lower()
    labels = tuple(str(v) for v in (control.labels or []))
    attr = dict(control.attr or {})
    choice_mode = None
    if kind == "choices":
        choice_mode = "multiple" if str(attr.get("choice", "single")).lower() == "multiple" else "single"
    value_type: str | None
    level = "nominal"
    categories: tuple[Any, ...] | None = None
    if kind == "choices":
        value_type = "multichoice" if choice_mode == "multiple" else "choice"
        categories = labels or None
    elif kind in ("taxonomy", "pairwise"):
        value_type = "choice"
    elif kind == "rating":
        value_type, level = "rating", "ordinal"
        top = _int(attr.get("maxRating"), 5)
        categories = tuple(float(k) for k in range(1, top + 1))
    elif kind == "number":
        value_type, level = "number", "interval"
    elif kind in _SPAN_TAGS:
        value_type, categories = "span", labels or None
    elif kind in _REGION_TAGS:
        value_type, categories = "region", labels or None
    elif kind in ("textarea", "datetime"):
        value_type = "text"
    else:
        value_type = None  # layout, relations and tags labelcheck does not analyse
    return ControlSpec(name=str(control.name), tag=tag, labels=labels,
                       to_name=tuple(str(t) for t in (control.to_name or [])),
                       choice_mode=choice_mode, value_type=value_type, level=level,
                       categories=categories)


def _int(value: Any, default: int) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def field_specs(controls: list[ControlSpec],
                overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, FieldSpec]:
    """``{name: FieldSpec}`` for the controls that hold answers, with the lead's
    ``overrides`` (``{name: {"level": ..., "categories": [...]}}``) applied.  An override
    naming an unknown field or level raises :class:`InvalidInput`."""
    specs: dict[str, FieldSpec] = {}
    for control in controls:
        if control.value_type is None:
            continue
        specs[control.name] = FieldSpec(
            name=control.name, value_type=control.value_type,  # type: ignore[arg-type]
            level=control.level,  # type: ignore[arg-type]
            categories=control.categories, to_name=control.to_name[0] if control.to_name else None,
        )
    for name, override in (overrides or {}).items():
        if name not in specs:
            raise InvalidInput(f"field override: no control tag named {name!r} in the label config "
                               f"(fields: {', '.join(specs) or 'none'})")
        level = override.get("level") or specs[name].level
        if level not in LEVELS:
            raise InvalidInput(f"field override for {name!r}: level must be one of {', '.join(LEVELS)}; "
                               f"got {level!r}")
        categories = override.get("categories")
        spec = replace(specs[name], level=level)
        if categories:
            spec = replace(spec, categories=_typed_like(tuple(categories), specs[name].categories))
        specs[name] = spec
    return specs


def _typed_like(categories: tuple[Any, ...], configured: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """Categories typed as the configured ones (ratings are numbers)."""
    if configured and all(isinstance(c, float) for c in configured):
        try:
            return tuple(float(c) for c in categories)
        except (TypeError, ValueError):
            pass
    return categories
