"""The export of fields whose answers are not single choices: label sets, spans,
regions, ratings by median, free text.

:func:`~labelcheck.consensus.export.build_export` delegates here when the method
(after ``auto``) is one of the answer types' own consensus rules
(:data:`STRUCTURED_METHODS`): ``label_vote`` (multi-label choices,
:func:`~labelcheck.consensus.structured.multilabel_consensus`), ``span_vote``
(text spans, ``span_consensus``), ``box_fusion`` (image regions,
``region_consensus``), ``median`` (ratings and numbers,
:func:`~labelcheck.consensus.structured.rating_consensus`) and ``medoid`` (free
text, :func:`~labelcheck.consensus.structured.text_consensus`).  The rules always
give a label (ties are broken by the rule's own stated convention), so no item is
left unresolved; everything else (exclusions, adjudications, thresholds, the order
of drop reasons, the row order) is as for choices, plus one reason:

``malformed``
    no answer of the item (after exclusion) has a well-formed span or region left.
    Malformed spans and regions (``split_valid_spans`` / ``split_valid_regions``) are
    taken out of their answers, an answer left with none is dropped, and the
    table's notes name the tasks.

Per item, ``agreement`` is the share of the item's answers that *agree* with the
final label, and ``label_source`` is ``unanimous`` when two or more answers are all
*identical* to it:

=========== ============================================ ==========================
type        agrees                                       identical
=========== ============================================ ==========================
multichoice the same set of labels                       the same
span        the same set of (start, end, label)          the same
region      one-to-one match: same labels, IoU >= 0.5    the same regions, exactly
rating      the same number (within 1e-9)                the same
text        the same text after ``normalise_text``       the same text as written
=========== ============================================ ==========================

This module is part of the core: no I/O.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.consensus.adjudication import REASON
from labelcheck.consensus.canonical import canonical_json, id_key, object_array, snapshot_sha256, task_order
from labelcheck.consensus.export import (
    AGREEMENT,
    CONFIDENCE,
    DETAIL,
    DROP_REASONS,
    FINAL_LABEL,
    LABEL_SOURCE,
    N_ANSWERS,
    AgreementSummary,
    ExportRules,
    ExportTable,
    _exclude,
    _task_data,
    decisions_in_force,
)
from labelcheck.consensus.rules import (
    CHOICE_MODELS,
    MATCH_IOU,
    STRUCTURED_METHODS,
    STRUCTURED_TYPES,
    TYPE_METHODS,
    resolve_method,
    run_rule,
    split_valid,
)
from labelcheck.errors import InputProblem, InvalidInput, name_list
from labelcheck.table import ANNOTATION_ID, ANNOTATOR_ID, LABEL, TASK_ID, FieldSpec, Region, Span

MALFORMED = "malformed"
#: Drop reasons of a structured export, in the order they are tested.
STRUCTURED_DROP_REASONS: tuple[str, ...] = (*DROP_REASONS[:3], MALFORMED, *DROP_REASONS[3:])
#: Regions of these shapes, as the Label Studio result types name them.
REGION_SHAPES: tuple[str, ...] = ("rectangle", "polygon", "ellipse", "keypoint")
AGREES: dict[str, str] = {
    "multichoice": "share of answers with the same set of labels",
    "span": "share of answers with the same set of (start, end, label)",
    "region": f"share of answers matching the consensus regions one to one (same labels, IoU >= {MATCH_IOU})",
    "rating": "share of answers equal to the median",
    "number": "share of answers equal to the median",
    "text": "share of answers equal to the medoid after Unicode NFKC, case folding and whitespace collapsing",
}


def build_structured_export(
    dataset: Any, annotations: pd.DataFrame, field: str, spec: FieldSpec | None, method: str,
    rules: ExportRules,
) -> ExportTable:
    """:func:`~labelcheck.consensus.export.build_export` for ``method`` in
    :data:`STRUCTURED_METHODS` (``annotations``: the field's rows)."""
    value_type = spec.value_type if spec is not None else "choice"
    declared = list(spec.categories) if spec is not None and spec.categories else None
    if rules.tie == "reliability":
        raise InvalidInput(f'tie "reliability" applies to majority_vote; field "{field}" is '
                           f"exported with {method}, which breaks its ties by its own rule")
    answered = annotations[~annotations[LABEL].map(_missing).to_numpy(dtype=bool)]
    if answered.empty:
        raise InvalidInput(f'field "{field}" has no answers: every label is missing')
    item_ids = [str(t) for t in pd.unique(answered[TASK_ID].map(str))]
    valid_all, problems = split_valid(answered, field, value_type)
    remaining = _exclude(answered, pd.Index(pd.unique(answered[ANNOTATOR_ID])), field,
                         rules.exclude_annotators)
    valid = valid_all[~valid_all[ANNOTATOR_ID].isin(rules.exclude_annotators)]
    kept_ids = set(remaining[ANNOTATION_ID].map(str))
    problems = [p for p in problems if str(p.annotation_id) in kept_ids]
    if valid.empty:
        raise InvalidInput(f'field "{field}": every answer left is malformed', problems)

    consensus = run_rule(valid, field, method, declared)
    by_task = {str(t): i for i, t in enumerate(consensus[TASK_ID])}
    rule_labels = consensus[LABEL].tolist()
    rule_confidence = consensus["confidence"].to_numpy(dtype=np.float64)
    n = len(item_ids)
    label = np.full(n, None, dtype=object)
    confidence = np.full(n, np.nan)
    for i, t in enumerate(item_ids):
        k = by_task.get(t)
        if k is not None:
            label[i] = rule_labels[k]
            confidence[i] = rule_confidence[k]
    answers = _answers_by_task(valid)
    n_answers = np.asarray([len(answers.get(t, ())) for t in item_ids], dtype=np.int64)
    n_remaining = remaining[TASK_ID].map(str).value_counts()
    hits, same = _compare(value_type, item_ids, label, answers)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(n_answers > 0, hits / np.maximum(n_answers, 1), np.nan)
    source = np.where((n_answers >= 2) & (same == n_answers), "unanimous", "model").astype(object)
    source[pd.isna(label)] = "unresolved"
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)

    position = {t: i for i, t in enumerate(item_ids)}
    decisions, unmatched = _decisions(rules, field, position, value_type, declared)
    for i, (status, value, why) in decisions.items():
        if status == "label":
            label[i], source[i], confidence[i] = value, "adjudicated", 1.0
            one_hits, _ = _compare(value_type, [item_ids[i]], [value], answers)
            agreement[i] = one_hits[0] / n_answers[i] if n_answers[i] else np.nan
            hits[i] = one_hits[0]
        else:
            reason[i] = "excluded_by_adjudication" if status == "excluded" else "ambiguous"
            detail[i] = f"adjudicated {status}" + (f": {why}" if why else "")
    free = pd.isna(reason) & (source != "adjudicated")
    bad_by_task: dict[str, list[InputProblem]] = {}
    for p in problems:
        bad_by_task.setdefault(str(p.task_id), []).append(p)
    for i, t in enumerate(item_ids):
        if not free[i]:
            continue
        if n_remaining.get(t, 0) == 0:
            reason[i], detail[i] = "no_answers_after_exclusion", "every answer came from an excluded annotator"
        elif n_answers[i] == 0:
            found = bad_by_task.get(t, [])
            first = found[0].message if found else "malformed answer"
            more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
            reason[i], detail[i] = MALFORMED, f"every answer is malformed: {first}{more}"
        elif pd.isna(label[i]):
            if rules.drop_unresolved:
                reason[i], detail[i] = "unresolved_tie", "no consensus"
        elif confidence[i] < rules.min_confidence - 1e-9:
            reason[i] = "below_min_confidence"
            detail[i] = f"confidence {confidence[i]:.4g} is below {rules.min_confidence:g}"
        elif agreement[i] < rules.min_agreement - 1e-9:
            reason[i] = "below_min_agreement"
            detail[i] = (f"agreement {agreement[i]:.4g} ({int(hits[i])} of {n_answers[i]} answers) "
                         f"is below {rules.min_agreement:g}")

    order = task_order(item_ids)
    kept = order[pd.isna(reason[order])]
    gone = order[~pd.isna(reason[order])]
    data, data_columns, notes = _task_data(dataset.tasks, [item_ids[i] for i in kept])
    rows = pd.concat([
        pd.DataFrame({TASK_ID: [item_ids[i] for i in kept]}),
        data,
        pd.DataFrame({
            FINAL_LABEL: pd.Series(object_array(list(label[kept])), dtype=object),
            LABEL_SOURCE: source[kept].astype(str),
            CONFIDENCE: confidence[kept],
            N_ANSWERS: n_answers[kept],
            AGREEMENT: agreement[kept].astype(float),
        }),
    ], axis=1)
    dropped = pd.DataFrame({TASK_ID: [item_ids[i] for i in gone],
                            REASON: reason[gone].astype(str), DETAIL: detail[gone].astype(str)})
    if problems:
        tasks = sorted({str(p.task_id) for p in problems}, key=id_key)
        notes = (*notes, f'field "{field}": {len(problems)} malformed {value_type}(s) left out of '
                         "their answers (an answer left with none is dropped), on task(s) "
                         f"{name_list(tasks)}")
    counted = valid[ANNOTATOR_ID].map(str).value_counts()
    annotator_ids = sorted(counted.index, key=id_key)
    ties = consensus["tie"] if "tie" in consensus.columns else pd.Series([False] * len(consensus))
    return ExportTable(
        field=field, rules=rules, rows=rows, data_columns=data_columns, dropped=dropped,
        class_counts=_class_counts(value_type, label, pd.isna(reason), declared),
        agreement=_agreement(value_type, valid_all, valid, field, spec, rules.exclude_annotators, dataset.tasks),
        annotators=pd.DataFrame({ANNOTATOR_ID: annotator_ids,
                                 N_ANSWERS: np.asarray([counted[a] for a in annotator_ids], dtype=np.int64),
                                 "reliability": np.full(len(annotator_ids), np.nan)}),
        model={"method": method, "reliability_name": None,
               "details": {"rule": method, "parameters": _parameters(method, consensus),
                           "agreement": AGREES.get(value_type, ""),
                           "n_ties": int(np.asarray(ties, dtype=bool).sum()),
                           "n_malformed_answers": len({str(p.annotation_id) for p in problems})}},
        snapshot_sha256=snapshot_sha256(dataset.annotations), n_snapshot_rows=len(dataset.annotations),
        n_items=n, value_type=value_type, to_name=spec.to_name if spec is not None else None,
        unmatched_adjudications=tuple(sorted(unmatched, key=id_key)), notes=tuple(notes),
        drop_reasons=STRUCTURED_DROP_REASONS,
    )


# --- the rules -------------------------------------------------------------------------
def _parameters(method: str, consensus: pd.DataFrame) -> dict[str, Any]:
    if method == "median":
        tol: list[float] = consensus["tolerance"].astype(float).tolist() if "tolerance" in consensus else []
        return {"statistic": "lower median", "tolerance": tol[0] if tol else None}
    parameters: dict[str, dict[str, Any]] = {"label_vote": {"min_share": 0.5},
            "span_vote": {"min_share": 0.5, "mode": "span"},
            "box_fusion": {"iou": MATCH_IOU, "min_share": 0.5, "fusion": "median (rectangles), medoid"},
            "medoid": {"normalise": True}}
    return parameters.get(method, {})


# --- agreement with the final label ----------------------------------------------------
def _answers_by_task(valid: pd.DataFrame) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for t, lab in zip(valid[TASK_ID].map(str).tolist(), valid[LABEL].tolist()):
        out.setdefault(t, []).append(lab)
    return out


def _compare(
    value_type: str, item_ids: Sequence[str], labels: Any, answers: Mapping[str, list[Any]]
) -> tuple[Any, Any]:
    """Per item, how many answers agree with its label and how many are identical."""
    agree_key, same_key = _keys(value_type)
    hits = np.zeros(len(item_ids), dtype=np.int64)
    same = np.zeros(len(item_ids), dtype=np.int64)
    for i, t in enumerate(item_ids):
        final = labels[i]
        if final is None or (isinstance(final, float) and math.isnan(final)):
            continue
        want_same, want_agree = same_key(final), agree_key(final)
        for answer in answers.get(t, ()):
            if same_key(answer) == want_same:
                same[i] += 1
                hits[i] += 1
            elif value_type == "region":
                hits[i] += _regions_match(final, answer)
            elif agree_key(answer) == want_agree:
                hits[i] += 1
    return hits, same


def _keys(value_type: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    if value_type == "span":
        def span_key(v: Any) -> Any:
            return frozenset((int(s.start), int(s.end), lab) for s in v for lab in (s.labels or ("",)))
        return span_key, span_key
    if value_type == "region":
        def region_key(v: Any) -> Any:
            return tuple(sorted(canonical_json(r) for r in v if r.shape != "keypoint"))
        return region_key, region_key
    if value_type == "text":
        from labelcheck.agreement.text import normalise_text

        return (lambda v: normalise_text(str(v))), (lambda v: str(v))
    if value_type in ("rating", "number"):
        def number_key(v: Any) -> Any:
            return round(float(v), 9)
        return number_key, number_key
    def set_key(v: Any) -> Any:
        return tuple(sorted({str(x) for x in v}))
    return set_key, set_key


def _regions_match(final: Sequence[Region], answer: Sequence[Region]) -> int:
    """1 when the answer's regions (keypoints aside) match the final ones one to one,
    with the same labels and IoU >= :data:`MATCH_IOU`."""
    from scipy.optimize import linear_sum_assignment

    from labelcheck.agreement.region_iou import iou_matrix

    a = [r for r in final if r.shape != "keypoint"]
    b = [r for r in answer if r.shape != "keypoint"]
    if len(a) != len(b):
        return 0
    if not a:
        return 1
    if Counter(tuple(sorted(r.labels)) for r in a) != Counter(tuple(sorted(r.labels)) for r in b):
        return 0
    iou = iou_matrix(a, b)
    same = np.asarray([[tuple(sorted(x.labels)) == tuple(sorted(y.labels)) for y in b] for x in a])
    score = np.where(same, iou, 0.0)
    rows, cols = linear_sum_assignment(-score)
    return int(bool((score[rows, cols] >= MATCH_IOU - 1e-12).all()))


# --- class counts and alpha ------------------------------------------------------------
def _inner_labels(value_type: str, value: Any) -> list[Any]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if value_type == "text":
        return []
    if value_type in ("rating", "number"):
        return [float(value)]
    if value_type in ("span", "region"):
        return [lab for x in value for lab in (x.labels or ("",))]
    return sorted({str(x) for x in value})


def _class_counts(
    value_type: str, labels: Any, kept: Any, declared: list[Any] | None
) -> pd.DataFrame:
    """Per label inside the final values (a set's labels, each span's or region's
    labels, a rating's value; free text has none): items (sets, ratings) or
    spans/regions carrying it, before the item rules and after."""
    before: Counter[Any] = Counter()
    after: Counter[Any] = Counter()
    for value, keep in zip(labels, kept):
        inner = _inner_labels(value_type, value)
        before.update(inner)
        if keep:
            after.update(inner)
    if value_type in ("rating", "number"):
        order = sorted(before)
    else:
        first = [str(c) for c in declared or []]
        order = first + sorted(c for c in before if c not in set(first))
    return pd.DataFrame({LABEL: pd.Series(object_array(order), dtype=object),
                         "before": np.asarray([before.get(c, 0) for c in order], dtype=np.int64),
                         "after": np.asarray([after.get(c, 0) for c in order], dtype=np.int64)})


def _agreement(
    value_type: str, full: pd.DataFrame, remaining: pd.DataFrame, field: str, spec: FieldSpec | None,
    excluded: tuple[str, ...], tasks: pd.DataFrame | None = None,
) -> AgreementSummary:
    """The field's alpha for its type (:func:`labelcheck.agreement.by_type.alpha_for_type`:
    MASI for sets, characters for spans, 1 - IoU for regions, edit distance for text,
    the declared level for ratings), on the well-formed answers: the overview's."""
    from labelcheck.agreement.by_type import ALPHA_METRICS, alpha_for_type, text_lengths

    level = spec.level if spec is not None else "interval"
    lengths = text_lengths(tasks, spec.to_name if spec is not None else None) if value_type == "span" else None
    of = alpha_for_type(value_type, field=field, level=level, text_lengths=lengths)

    def alpha(frame: pd.DataFrame) -> AgreementResult:
        try:
            return of(frame)
        except InvalidInput as exc:
            return undefined(ALPHA_METRICS.get(value_type, "krippendorff_alpha"), str(exc).splitlines()[0],
                             level=level)

    before = alpha(full)
    after = alpha(remaining) if excluded else before
    return AgreementSummary(before=before, after=after, excluded_annotators=excluded)


# --- adjudications ---------------------------------------------------------------------
def _decisions(
    rules: ExportRules, field: str, position: Mapping[str, int], value_type: str,
    declared: list[Any] | None,
) -> tuple[dict[int, tuple[str, Any, str | None]], list[str]]:
    """``{item position: (status, value, reason)}``; a ``label`` decision's value is
    read from JSON text in the shape of ``labelcheck consensus --format json``."""
    return decisions_in_force(rules, field, position, lambda raw: parse_label(value_type, raw, declared))


def parse_label(value_type: str, raw: Any, declared: Sequence[Any] | None = None) -> Any:
    """An adjudicated label of a structured field from its text: a JSON list of labels
    (a bare label is a set of one), of span objects (``start``, ``end``, ``labels``,
    optional ``text``) or of region objects (``shape``, ``labels``, ``x``, ``y``,
    ``width``, ``height``, ``rotation``, ``points``); a number; a text as written.
    Raises ``ValueError`` saying what was expected."""
    if value_type == "text":
        return str(raw)
    if value_type in ("rating", "number"):
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"label {raw!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"label {raw!r} is not a finite number")
        return number
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            if value_type != "multichoice":
                raise ValueError(f"label {raw[:60]!r} is not JSON; a {value_type} label is a JSON list "
                                 f"of {value_type} objects, as labelcheck consensus --format json "
                                 "writes") from None
            value = [raw]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"label {raw!r:.60} is not a list")
    if value_type == "multichoice":
        if not all(isinstance(x, str) for x in value):
            raise ValueError(f"label {raw!r:.60}: a multi-label answer is a list of strings")
        out: Any = tuple(sorted(set(value)))
        inner = list(out)
    elif value_type == "span":
        out = tuple(sorted(_span(x) for x in value))
        inner = [lab for s in out for lab in s.labels]
    else:
        out = tuple(sorted(_region(x) for x in value))
        inner = [lab for r in out for lab in r.labels]
    if declared is not None:
        unknown = sorted({x for x in inner if x not in set(declared)})
        if unknown:
            raise ValueError(f"label(s) {name_list(unknown)} are not among the declared ones "
                             f"({name_list(declared)})")
    return out


def _labels_of(obj: Mapping[str, Any], what: str) -> tuple[str, ...]:
    labels = obj.get("labels", [])
    labels = [labels] if isinstance(labels, str) else labels
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError(f'{what} "labels" must be a list of strings; found {labels!r:.60}')
    return tuple(sorted(set(labels)))


def _span(obj: Any) -> Span:
    if not isinstance(obj, Mapping):
        raise ValueError(f"a span is an object with start, end and labels; found {obj!r:.60}")
    start, end = obj.get("start"), obj.get("end")
    for name, v in (("start", start), ("end", end)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
            raise ValueError(f'span "{name}" must be a whole number; found {v!r}')
    if start < 0 or end <= start:  # type: ignore[operator]
        raise ValueError(f"span must have 0 <= start < end; found start {start}, end {end}")
    text = obj.get("text")
    return Span(int(start), int(end), _labels_of(obj, "span"),  # type: ignore[arg-type]
                text if isinstance(text, str) else None)


def _region(obj: Any) -> Region:
    if not isinstance(obj, Mapping) or obj.get("shape") not in REGION_SHAPES:
        raise ValueError(f"a region is an object with shape ({', '.join(REGION_SHAPES)}), labels and "
                         f"coordinates; found {obj!r:.80}")

    def number(key: str, needed: bool) -> float | None:
        v = obj.get(key)
        if v is None and not needed:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f'region "{key}" must be a finite number; found {v!r}')
        return float(v)

    shape = str(obj["shape"])
    labels = _labels_of(obj, "region")
    if shape == "polygon":
        points = obj.get("points")
        if not isinstance(points, list) or len(points) < 3 or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(c, (int, float)) for c in p)
                for p in points):
            raise ValueError(f'polygon "points" must be a list of 3 or more [x, y] pairs; found {points!r:.60}')
        return Region(shape, labels, points=tuple((float(a), float(b)) for a, b in points))
    sized = shape in ("rectangle", "ellipse")
    x, y = number("x", True), number("y", True)
    width, height = number("width", sized), number("height", sized)
    if sized and (width is None or width <= 0 or height is None or height <= 0):
        raise ValueError(f"a {shape} needs a positive width and height; found {width}, {height}")
    return Region(shape, labels, x, y, width, height, number("rotation", False) or 0.0)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
