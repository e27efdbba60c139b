"""The hotspot part of a project's analysis: per analysed field, the ranked hotspots
(:func:`labelcheck.hotspots.analysis.find_hotspots`) and, for the top confused label
pairs, the evidence a guideline suggestion is written from
(:func:`labelcheck.guidelines.evidence.pair_evidence`).  Pure; the pipeline stores it and
the pages write the suggestion text against the guideline current when they are read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from labelcheck.table import TASK_ID, Dataset, Level

Progress = Callable[[float, str], None]

#: Label pairs per field that get a suggestion's evidence.
SUGGESTED_PAIRS = 5
#: Value types the hotspot analysis reads (one label per answer).
ANALYSED_TYPES = frozenset({"choice", "rating", "number"})


def project_hotspots(dataset: Dataset, fields: list[dict[str, Any]], *, target: float = 0.8,
                     confidence: float = 0.95, progress: Progress | None = None) -> dict[str, dict[str, Any]]:
    """``{field: report}`` for the overview's analysed ``fields``; each report is
    ``HotspotReport.to_dict()`` plus ``"pairs"``: ``{reference: PairEvidence.to_dict()}``
    for the top :data:`SUGGESTED_PAIRS` label pairs, or ``{"skipped": reason}``."""
    from labelcheck.guidelines.evidence import pair_evidence
    from labelcheck.guidelines.suggestions import suggestion_reference
    from labelcheck.hotspots.analysis import find_hotspots

    out: dict[str, dict[str, Any]] = {}
    out |= _structured(dataset, fields, target)
    chosen = [f for f in fields if f.get("analysed") and f.get("value_type") in ANALYSED_TYPES]
    tasks = dataset.tasks
    for k, spec in enumerate(chosen):
        name, level = spec["name"], cast(Level, spec.get("level") or "nominal")
        if progress:
            progress(k / max(len(chosen), 1), f"hotspots of {name}")
        categories = spec.get("categories") if level == "ordinal" else None
        try:
            report = find_hotspots(dataset.annotations, tasks, field=name, level=level, categories=categories,
                                   target=target, confidence=confidence)
        except Exception as err:  # a field the analysis cannot read is reported, not fatal
            out[name] = {"skipped": f"{type(err).__name__}: {err}"}
            continue
        payload = report.to_dict()
        pairs: dict[str, Any] = {}
        if level == "nominal":
            slices = [c for c in payload.get("slice_columns") or [] if ":" not in c and c != TASK_ID]
            for hotspot in payload["hotspots"]:
                if hotspot["kind"] != "label_pair" or len(pairs) >= SUGGESTED_PAIRS:
                    continue
                a, b = hotspot["key"]
                evidence = pair_evidence(dataset.annotations, a, b, field=name, tasks=tasks, slices=slices)
                pairs[suggestion_reference(name, (a, b))] = evidence.to_dict()
        payload["pairs"] = pairs
        out[name] = payload
    return out


def _structured(dataset: Dataset, fields: list[dict[str, Any]], target: float) -> dict[str, dict[str, Any]]:
    """Hotspots of the analysed multi-label, span, region and free-text fields
    (:mod:`labelcheck.hotspots.structured`), on the slices the overview lists with
    2-12 short values."""
    from labelcheck.analysis.structured import MAX_SLICE_ROWS, STRUCTURED_TYPES, field_alpha
    from labelcheck.hotspots.structured import structured_hotspots
    from labelcheck.table import FIELD, FieldSpec

    out: dict[str, dict[str, Any]] = {}
    annotations = dataset.annotations
    for spec in fields:
        if not spec.get("analysed") or spec.get("value_type") not in STRUCTURED_TYPES:
            continue
        name = spec["name"]
        field_spec = dataset.fields.get(name) or FieldSpec(name, spec["value_type"])
        rows = annotations[(annotations[FIELD] == name).to_numpy()]
        try:
            valid, alpha, overall = field_alpha(rows, field_spec, dataset.tasks)
            columns = _short_slice_columns(dataset.tasks, MAX_SLICE_ROWS)
            out[name] = structured_hotspots(valid, dataset.tasks, field=name, value_type=field_spec.value_type,
                                            alpha=alpha, overall=overall, slice_columns=columns, target=target)
        except Exception as err:  # reported, not fatal (as for single choices)
            out[name] = {"skipped": f"{type(err).__name__}: {err}"}
    return out


def _short_slice_columns(tasks: Any, max_values: int) -> list[str]:
    from labelcheck.analysis.overview import slice_summary
    from labelcheck.analysis.structured import MAX_SLICE_VALUE_CHARS

    return [s["column"] for s in slice_summary(tasks) if 2 <= s["n_values"] <= max_values
            and all(len(str(v)) <= MAX_SLICE_VALUE_CHARS and not str(v).startswith(("http", "data:"))
                    for v in s["values"])]
