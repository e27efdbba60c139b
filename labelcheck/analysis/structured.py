r"""The overview of a field whose answers are not single choices: multi-label choices,
text spans (NER), image regions and free text.  Each type gets the agreement that fits
it (:mod:`labelcheck.agreement.multilabel`, :mod:`~labelcheck.agreement.spans`,
:mod:`~labelcheck.agreement.regions`, :mod:`~labelcheck.agreement.text`), reported in
the shape of :func:`labelcheck.analysis.overview.field_overview` (``summary``,
``coefficients``) plus ``tables``: titled tables the overview page renders as they come
(per label, kinds of disagreement, per annotator, per slice).

The per-annotator and per-slice tables are where this type's hotspots are: an annotator
whose removal raises the field's alpha the most (``alpha_without - alpha``), a slice
whose alpha is lowest.  Malformed spans and regions (negative sizes, spans past the
text's end, ...) are reported in ``problems`` and left out; the rest is analysed.

Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from labelcheck.agreement.by_type import text_lengths
from labelcheck.agreement.result import AgreementResult
from labelcheck.errors import InputProblem
from labelcheck.table import ANNOTATOR_ID, LABEL, TASK_ID, FieldSpec

STRUCTURED_TYPES = ("multichoice", "span", "region", "text")
#: Annotators above this many get no "alpha without them" table (one alpha per annotator).
MAX_ANNOTATOR_ROWS = 40
#: Slice columns with at most this many values get a per-value alpha.
MAX_SLICE_ROWS = 12
#: Longer slice values (texts, URLs) are not slices.
MAX_SLICE_VALUE_CHARS = 80
#: Problems listed in the payload (all are counted).
MAX_PROBLEMS = 50
#: Region F1 thresholds reported.
IOU_THRESHOLDS = (0.5, 0.75)

Alpha = Callable[[pd.DataFrame], AgreementResult]

METRIC_LABELS = {
    "multilabel_alpha": "Krippendorff's α (MASI distance)",
    "multilabel_alpha_jaccard": "Krippendorff's α (Jaccard distance)",
    "text_alpha": "Krippendorff's α (normalised edit distance)",
    "span_character_alpha": "Krippendorff's α per character",
    "span_f1_exact": "Pairwise F1, exact spans",
    "span_f1_overlap": "Pairwise F1, overlapping spans",
    "region_alpha": "Krippendorff's α (1 − IoU)",
    "region_mean_iou": "Mean IoU of matched regions",
}


def structured_overview(rows: pd.DataFrame, spec: FieldSpec, tasks: pd.DataFrame | None,
                        slice_columns: list[str], base: dict[str, Any], ci: Any = None) -> dict[str, Any]:
    """One structured field's overview part (``base``: the field's name/type entry;
    ``ci``: the interval of the field's alpha, e.g. the overview's bootstrap; the F1
    figures have none)."""
    name = spec.name
    rows, problems = valid_rows(rows, spec, tasks)
    out = dict(base)
    out["problems"] = {"n": len(problems), "first": [p.to_dict() for p in problems[:MAX_PROBLEMS]]}
    if rows.empty:
        return out | {"analysed": False, "reason": "no well-formed answer in this field"}
    m = rows.groupby(TASK_ID, sort=False, observed=True).size()
    out |= {
        "analysed": True, "reason": None,
        "summary": {"items": int(len(m)), "annotations": int(len(rows)),
                    "annotators": int(rows[ANNOTATOR_ID].nunique()), "items_multi": int((m >= 2).sum()),
                    "categories_used": None, "categories": None},
    }
    texts = text_lengths(tasks, spec.to_name)
    alpha, coefficients, tables = field_measures(rows, spec, texts, ci)
    out["coefficients"] = [_coefficient(r) for r in coefficients]
    extra = [_annotator_table(rows, alpha), _slice_table(rows, tasks, slice_columns, alpha) if tasks is not None else None]
    out["tables"] = [t for t in [*tables, *extra] if t and t["rows"]]
    out["classes"], out["annotators"], out["confusion"] = None, None, None
    out["classes_reason"] = out["confusion_reason"] = f"{spec.value_type} answers: see the tables below"
    out["over_time"] = {"freq": None, "points": [], "n_without_time": 0,
                        "reason": f"agreement over time is computed for single-choice and numeric fields; "
                                  f"{name} holds {spec.value_type} answers"}
    return out


# --- per type ------------------------------------------------------------------------
def field_measures(rows: pd.DataFrame, spec: FieldSpec, texts: Mapping[str, int] | None,
                   ci: Any = None) -> tuple[Alpha, list[AgreementResult], list[dict[str, Any]]]:
    """The type's alpha as a function (for the annotator and slice tables), its
    coefficients (the first with ``ci``) and its tables."""
    kind = spec.value_type
    if kind == "multichoice":
        from labelcheck.agreement.multilabel import multilabel_alpha, per_label_agreement

        masi = multilabel_alpha(rows, distance="masi", ci=ci)
        jaccard = multilabel_alpha(rows, distance="jaccard")
        jaccard = AgreementResult(**{**jaccard.__dict__, "metric": "multilabel_alpha_jaccard"})
        labels = per_label_agreement(rows, labels=list(spec.categories) if spec.categories else None)
        table = _table("Per label", "Each label as present / absent on every answer: binary alpha, "
                       "positive and negative specific agreement, and how often it is chosen.",
                       labels, [("label", "Label", "text"), ("prevalence", "Chosen in", "pct"),
                                ("alpha", "α (present/absent)", "num"),
                                ("positive_agreement", "Positive agreement", "num"),
                                ("negative_agreement", "Negative agreement", "num"),
                                ("n_items", "Items", "int"), ("reason", "Note", "text")])
        return alpha_function(spec, texts), [masi, jaccard], [table]
    if kind == "text":
        from labelcheck.agreement.text import text_alpha

        return alpha_function(spec, texts), [text_alpha(rows, ci=ci)], []
    if kind == "span":
        return _span_measures(rows, texts, ci)
    if kind == "region":
        return _region_measures(rows, ci)
    raise ValueError(f"not a structured value type: {kind}")


def _span_measures(rows: pd.DataFrame, texts: Mapping[str, int] | None,
                   ci: Any = None) -> tuple[Alpha, list[AgreementResult], list[dict[str, Any]]]:
    from labelcheck.agreement.spans import (disagreement_summary, span_agreement, span_character_alpha,
                                            span_disagreements)

    alpha = span_character_alpha(rows, text_lengths=texts, ci=ci)
    exact, overlap = span_agreement(rows, match="exact"), span_agreement(rows, match="overlap")
    coefficients = [alpha, _f1_result("span_f1_exact", exact), _f1_result("span_f1_overlap", overlap)]
    per_label = exact[["label", "f1", "tp", "n_a_plus_b", "n_pairs"]].merge(
        overlap[["label", "f1"]].rename(columns={"f1": "f1_overlap"}), on="label", how="left")
    tables = [_table("Per label", "Pairwise F1 between every two annotations of an item (Hripcsak & "
                     "Rothschild 2005): exact = same start, end and label; overlap = same label, "
                     "overlapping characters, matched one to one.", per_label,
                     [("label", "Label", "text"), ("f1", "F1 exact", "num"), ("f1_overlap", "F1 overlap", "num"),
                      ("tp", "Exact matches", "int"), ("n_a_plus_b", "Spans compared", "int")])]
    summary = disagreement_summary(span_disagreements(rows))
    if len(summary):
        tables.append(_table("Kinds of disagreement", "Every span one annotation has and the other has "
                             "not exactly: boundary (same label, other offsets), label (same offsets, "
                             "other label), both, or missing. Label pairs here are the confused pairs.",
                             summary, [("kind", "Kind", "text"), ("label", "Label", "text"),
                                       ("other_label", "Other annotation's label", "text"),
                                       ("n", "Spans", "int"), ("share", "Share of the label's", "pct")]))
    return alpha_function(FieldSpec("", "span"), texts), coefficients, tables


def _region_measures(rows: pd.DataFrame, ci: Any = None) -> tuple[Alpha, list[AgreementResult], list[dict[str, Any]]]:
    from labelcheck.agreement.regions import region_agreement, region_alpha

    agreement = region_agreement(rows, thresholds=IOU_THRESHOLDS)
    micro = agreement[agreement["label"] == "(micro)"]
    coefficients = [region_alpha(rows, ci=ci)]
    for t in IOU_THRESHOLDS:
        coefficients.append(_f1_result(f"region_f1@{t:g}", agreement, column=f"f1@{t:g}"))
    if len(micro) and "mean_iou" in micro.columns:
        coefficients.append(AgreementResult(metric="region_mean_iou", value=float(micro["mean_iou"].iloc[0]),
                                            n_items=int(micro["n_pairs"].iloc[0])))
    columns = [("label", "Label", "text"), *[(f"f1@{t:g}", f"F1 at IoU ≥ {t:g}", "num") for t in IOU_THRESHOLDS]]
    if "mean_iou" in agreement.columns:
        columns.append(("mean_iou", "Mean matched IoU", "num"))
    columns += [("n_a_plus_b", "Regions compared", "int"), ("n_label_confusions", "Label confusions", "int")]
    table = _table("Per label", "Regions of every two annotations of an item matched one to one by IoU "
                   "(Hungarian assignment): per label, and label-agnostic ('(any)'), where a match at "
                   "IoU ≥ 0.5 with another label is a label confusion.", agreement, columns)
    return alpha_function(FieldSpec("", "region"), None), coefficients, [table]


def _f1_result(metric: str, table: pd.DataFrame, column: str = "f1") -> AgreementResult:
    micro = table[table["label"] == "(micro)"]
    if micro.empty or column not in micro.columns:
        return AgreementResult(metric=metric, value=math.nan, reason="no item has two annotations")
    return AgreementResult(metric=metric, value=float(micro[column].iloc[0]),
                           n_items=int(micro["n_pairs"].iloc[0]), n_annotations=int(micro["n_a_plus_b"].iloc[0]))


# --- breakdowns ----------------------------------------------------------------------
def _annotator_table(rows: pd.DataFrame, alpha: Alpha) -> dict[str, Any] | None:
    annotators = sorted(rows[ANNOTATOR_ID].astype(str).unique())
    if len(annotators) < 3 or len(annotators) > MAX_ANNOTATOR_ROWS:
        return None
    overall = alpha(rows).value
    ids = rows[ANNOTATOR_ID].astype(str).to_numpy()
    out = []
    for a in annotators:
        mine = ids == a
        without = alpha(rows[~mine]).value
        out.append({"annotator": a, "n_answers": int(mine.sum()), "alpha_without": without,
                    "delta": without - overall if math.isfinite(without) and math.isfinite(overall) else None})
    out.sort(key=lambda r: -(r["delta"] if r["delta"] is not None else -math.inf))
    return _table("Annotators", "The field's alpha without each annotator's answers: a positive change "
                  "means agreement rises without them (the first rows are this field's annotator hotspots).",
                  pd.DataFrame(out), [("annotator", "Annotator", "annotator"), ("n_answers", "Answers", "int"),
                                      ("alpha_without", "α without them", "num"), ("delta", "Change", "signed")])


def _slice_table(rows: pd.DataFrame, tasks: pd.DataFrame, columns: list[str], alpha: Alpha) -> dict[str, Any] | None:
    if TASK_ID not in tasks.columns:
        return None
    indexed = tasks.set_index(TASK_ID)
    out: list[dict[str, Any]] = []
    for column in columns:
        if column not in indexed.columns:
            continue
        values = indexed[column].reindex(rows[TASK_ID].astype(str).to_numpy())
        distinct = values.dropna().astype(str).unique()
        if not 2 <= len(distinct) <= MAX_SLICE_ROWS or any(
                len(v) > MAX_SLICE_VALUE_CHARS or v.startswith(("http://", "https://", "data:")) for v in distinct):
            continue  # a URL or a long text is not a slice
            continue
        as_text = values.astype(str).to_numpy()
        for value in sorted(distinct):
            inside = rows[as_text == value]
            result = alpha(inside)
            out.append({"slice": f"{column} = {value}", "n_items": int(inside[TASK_ID].nunique()),
                        "share": len(inside) / max(len(rows), 1), "alpha": result.value})
    if not out:
        return None
    out.sort(key=lambda r: _finite_or(r["alpha"], math.inf))
    return _table("Slices", "The field's alpha inside each value of the task columns with a few values, "
                  "lowest first: where the guideline is read differently.", pd.DataFrame(out),
                  [("slice", "Slice", "text"), ("n_items", "Items", "int"), ("share", "Share of answers", "pct"),
                   ("alpha", "α", "num")])


def field_alpha(rows: pd.DataFrame, spec: FieldSpec,
                tasks: pd.DataFrame | None) -> tuple[pd.DataFrame, Alpha, AgreementResult]:
    """The field's well-formed answers, its alpha as a function of a subset of them (what
    the annotator and slice tables and the hotspots recompute), and the alpha of all."""
    valid, _ = valid_rows(rows, spec, tasks)
    texts = text_lengths(tasks, spec.to_name)
    alpha = alpha_function(spec, texts)
    return valid, alpha, alpha(valid)


def alpha_function(spec: FieldSpec, texts: Mapping[str, int] | None) -> Alpha:
    """The field type's alpha (no interval) as a function of a subset of its answers."""
    from labelcheck.agreement.by_type import alpha_for_type

    return alpha_for_type(spec.value_type, text_lengths=texts)


# --- helpers -------------------------------------------------------------------------
def valid_rows(rows: pd.DataFrame, spec: FieldSpec,
               tasks: pd.DataFrame | None) -> tuple[pd.DataFrame, list[InputProblem]]:
    if spec.value_type == "span":
        from labelcheck.agreement.span_checks import split_valid_spans

        return split_valid_spans(rows, text_lengths=text_lengths(tasks, spec.to_name))
    if spec.value_type == "region":
        from labelcheck.agreement.region_checks import split_valid_regions

        return split_valid_regions(rows)
    return rows[rows[LABEL].notna().to_numpy()], []


def _coefficient(res: AgreementResult) -> dict[str, Any]:
    from labelcheck.agreement.bands import krippendorff_band
    from labelcheck.analysis.overview import BAND_CLASSES

    is_alpha = res.metric.endswith("alpha") or res.metric == "multilabel_alpha_jaccard"
    band = krippendorff_band(res.value) if is_alpha and math.isfinite(res.value) else None
    low, high = res.ci if res.ci is not None else (None, None)
    label = METRIC_LABELS.get(res.metric) or (f"Pairwise F1 at IoU ≥ {res.metric.split('@')[1]}"
                                               if res.metric.startswith("region_f1@") else res.metric)
    return {
        "name": res.metric, "label": label, "value": res.value, "ci_low": low, "ci_high": high,
        "ci_method": res.ci_method, "confidence": res.confidence, "n_items": res.n_items,
        "weights": None, "reason": res.reason, "band": band,
        "band_convention": "Krippendorff (2019)" if band else None,
        "band_class": BAND_CLASSES.get(band) if band else None,
    }


def _table(title: str, note: str, frame: pd.DataFrame, columns: list[tuple[str, str, str]]) -> dict[str, Any]:
    present = [c for c in columns if c[0] in frame.columns]
    records = []
    for row in frame.to_dict("records"):
        records.append({key: _cell(row.get(key)) for key, _, _ in present})
    return {"title": title, "note": note,
            "columns": [{"key": k, "label": label, "format": fmt} for k, label, fmt in present],
            "rows": records}


def _finite_or(value: Any, default: float) -> float:
    return float(value) if value is not None and math.isfinite(value) else default


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return value
