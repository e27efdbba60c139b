"""A training-set export: one consensus label per item, filtered by an engineer's rules.

:func:`build_export` runs one consensus model on one field, lets a lead's
adjudications override it, applies the rules of :class:`ExportRules` and returns an
:class:`ExportTable`: the kept items with their task data and final label, every
dropped item with its reason, counts per class before and after filtering, and
Krippendorff's alpha of the field before and after excluding annotators.  Writing
the table to a file, with its manifest, is the adapter's job
(:mod:`labelcheck.exporting`).  Fields of other answer types go to
:mod:`labelcheck.consensus.export_structured`.  Part of the core: no I/O.

Each item gets at most one drop reason, tested in this order:

1. ``excluded_by_adjudication`` / ``ambiguous``: a lead's decision (when
   ``include_adjudicated``); a decision ``label`` keeps the item whatever the rules;
2. ``no_answers_after_exclusion``: every answer came from an excluded annotator;
3. ``unresolved_tie``: the model left the item unresolved (with ``drop_unresolved``);
4. ``below_min_confidence``: the model's confidence is below ``min_confidence``;
5. ``below_min_agreement``: the share of answers equal to the label is below
   ``min_agreement``.

Items are ordered by task id: ids made only of the digits 0-9 first, by their
integer value, then every other id by Unicode code point (a tie between equal
integers, "7" and "007", is broken by the string).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.krippendorff import krippendorff_alpha
from labelcheck.agreement.result import AgreementResult, undefined
from labelcheck.consensus.adjudication import (
    REASON,
    SOURCE_ROW,
    STATUS,
    effective_adjudications,
    is_blank,
)
from labelcheck.consensus.canonical import (
    canonical_json,
    id_key,
    object_array,
    snapshot_sha256,
    task_order,
)
from labelcheck.consensus.dawid_skene import dawid_skene
from labelcheck.consensus.mace import mace
from labelcheck.consensus.majority_vote import majority_vote
from labelcheck.consensus.result import TIE_ATOL, TIE_POLICIES, ConsensusResult, TiePolicy
from labelcheck.errors import InputProblem, InvalidInput, name_list
from labelcheck.table import (
    ANNOTATOR_ID,
    LABEL,
    TASK_ID,
    Dataset,
    Level,
    count_matrix,
    encode,
    select_field,
)

Method = Literal["majority_vote", "dawid_skene", "mace", "auto", "label_vote", "span_vote",
                 "box_fusion", "median", "medoid"]
METHODS: tuple[str, ...] = get_args(Method)
LabelSource = Literal["adjudicated", "unanimous", "model", "unresolved"]
LABEL_SOURCES: tuple[str, ...] = get_args(LabelSource)
DropReason = Literal[
    "excluded_by_adjudication", "ambiguous", "no_answers_after_exclusion",
    "unresolved_tie", "below_min_confidence", "below_min_agreement",
]
DROP_REASONS: tuple[str, ...] = get_args(DropReason)

# --- column names of the export table: spelled here once
FINAL_LABEL = "final_label"
LABEL_SOURCE = "label_source"
CONFIDENCE = "confidence"
N_ANSWERS = "n_answers"
AGREEMENT = "agreement"
EXPORT_COLUMNS: tuple[str, ...] = (FINAL_LABEL, LABEL_SOURCE, CONFIDENCE, N_ANSWERS, AGREEMENT)
#: Columns of :attr:`ExportTable.dropped`, besides ``task_id``.
DETAIL = "detail"
#: Prefix given to a task data column whose name is taken by the export's own columns
#: (the loaders already write a data key ``task_id`` as ``data.task_id``).
DATA_PREFIX = "data."

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class ExportRules:
    """What goes into an export.

    Parameters
    ----------
    method : ``majority_vote``, ``dawid_skene`` or ``mace``; ``auto`` or a type's own
        rule (``label_vote``, ``span_vote``, ``box_fusion``, ``median``, ``medoid``):
        see :mod:`labelcheck.consensus.export_structured`.
    tie : tie policy (:data:`~labelcheck.consensus.TIE_POLICIES`) of the choice
        models; ``reliability`` applies to ``majority_vote`` only.
    min_confidence : keep a model label only when its confidence (vote share, or the
        posterior of the EM models) is at least this (within 1e-9), in [0, 1].
    min_agreement : keep a model label only when at least this share of the item's
        answers (after exclusion) equals it, in [0, 1].
    exclude_annotators : annotator ids whose answers are removed before the model runs.
    include_adjudicated : apply ``adjudications``; False ignores them entirely.
    adjudications : a lead's decisions, one row per item (columns ``task_id``,
        ``status`` in ``label`` / ``ambiguous`` / ``excluded``, ``label`` when the status
        is ``label``; optional ``field`` (rows of other fields are ignored), ``reason``,
        and ``decided_at``: with it the latest decision per item wins, without it an
        item decided twice is an error).
    drop_unresolved : drop items the model left unresolved; False keeps them with no
        label (``label_source`` ``unresolved``), whatever the thresholds.
    seed : seed of ``mace``'s random restarts (recorded for every method).
    adjudications_source : the name error messages give the adjudication table.
    """

    method: Method = "majority_vote"
    tie: TiePolicy = "unresolved"
    min_confidence: float = 0.0
    min_agreement: float = 0.0
    exclude_annotators: tuple[str, ...] = ()
    include_adjudicated: bool = True
    adjudications: pd.DataFrame | None = None
    drop_unresolved: bool = True
    seed: int = 0
    adjudications_source: str = "adjudications"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if self.tie not in TIE_POLICIES:
            raise ValueError(f"tie must be one of {', '.join(TIE_POLICIES)}; got {self.tie!r}")
        if self.tie == "reliability" and self.method not in ("majority_vote", "auto"):
            raise ValueError(f'tie="reliability" applies to majority_vote only, not {self.method}')
        for name in ("min_confidence", "min_agreement"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a number in [0, 1]; got {value!r}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer; got {self.seed!r}")
        if isinstance(self.exclude_annotators, str):
            raise TypeError("exclude_annotators must be a sequence of ids, not one string")
        ids = tuple(sorted({str(a) for a in self.exclude_annotators}))
        object.__setattr__(self, "exclude_annotators", ids)
        if self.adjudications is not None and not isinstance(self.adjudications, pd.DataFrame):
            raise TypeError(f"adjudications must be a DataFrame; got {type(self.adjudications).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """Every rule as JSON-ready values (the adjudications as their row count and
        the sha256 of :func:`~labelcheck.consensus.adjudication.adjudications_sha256`)."""
        adj: dict[str, Any] | None = None
        if self.adjudications is not None:
            adj = {"source": self.adjudications_source, "n_rows": int(len(self.adjudications))}
        return {
            "method": self.method,
            "tie": self.tie,
            "min_confidence": float(self.min_confidence),
            "min_agreement": float(self.min_agreement),
            "exclude_annotators": list(self.exclude_annotators),
            "include_adjudicated": bool(self.include_adjudicated),
            "adjudications": adj,
            "drop_unresolved": bool(self.drop_unresolved),
            "seed": int(self.seed),
        }


@dataclass(frozen=True, eq=False)
class AgreementSummary:
    """Krippendorff's alpha of the export's field on every answer (``before``) and on
    the answers left after excluding annotators (``after``; the same result when none
    is excluded)."""

    before: AgreementResult
    after: AgreementResult
    excluded_annotators: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        def one(r: AgreementResult) -> dict[str, Any]:
            value = None if math.isnan(r.value) else float(r.value)
            return {"value": value, "n_items": r.n_items, "n_annotations": r.n_annotations,
                    "n_annotators": r.n_annotators, "reason": r.reason}

        return {"metric": self.before.metric, "level": self.before.level,
                "before_exclusion": one(self.before), "after_exclusion": one(self.after),
                "excluded_annotators": list(self.excluded_annotators)}


@dataclass(frozen=True, eq=False)
class ExportTable:
    """What :func:`build_export` returns.

    Attributes
    ----------
    field : the exported field.  rules : the :class:`ExportRules` applied.
    rows : one row per kept item, in task id order: ``task_id``, the task's data
        columns (``data_columns``), ``final_label`` (None when unresolved and kept),
        ``label_source`` (``adjudicated``, ``unanimous``: two or more answers, all
        equal to the label; ``model``; or ``unresolved``), ``confidence`` (the model's;
        1 for an adjudicated label; the tied top value for an unresolved item),
        ``n_answers`` (after exclusion, repeats included) and ``agreement`` (share of
        those answers equal to the final label; NaN without answers or label).
    data_columns : the task data columns of ``rows`` (a name the export uses itself
        gets the prefix ``data.``; ``meta.`` columns come from Label Studio's ``meta``).
    dropped : ``task_id``, ``reason`` (one of :data:`DROP_REASONS`) and ``detail`` (in
        words) per dropped item, in task id order.
    class_counts : ``label``, ``before`` (items per label before the item rules: the
        adjudicated label, else the model's) and ``after`` (kept items), in category
        order then any other adjudicated label.
    agreement : :class:`AgreementSummary`.
    annotators : ``annotator_id``, ``n_answers``, ``reliability`` from the model.
    model : ``method``, ``reliability_name`` and the model's ``details`` (tie policy,
        iterations, convergence, parameters).
    snapshot_sha256, n_snapshot_rows : :func:`~labelcheck.consensus.canonical.snapshot_sha256`
        of the whole canonical
        table (every field) and its row count.
    value_type, to_name : from the field's spec (``choice`` and None when undeclared).
    unmatched_adjudications : task ids decided for this field that have no answer on it
        (ignored).  notes : renamed columns and other remarks, in words.
    drop_reasons : the reasons :meth:`dropped_by_reason` lists (structured: + ``malformed``).
    """

    field: str
    rules: ExportRules
    rows: pd.DataFrame
    data_columns: tuple[str, ...]
    dropped: pd.DataFrame
    class_counts: pd.DataFrame
    agreement: AgreementSummary
    annotators: pd.DataFrame
    model: Mapping[str, Any]
    snapshot_sha256: str
    n_snapshot_rows: int
    n_items: int
    value_type: str = "choice"
    to_name: str | None = None
    unmatched_adjudications: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    drop_reasons: tuple[str, ...] = DROP_REASONS

    @property
    def n_kept(self) -> int:
        return len(self.rows)

    @property
    def n_dropped(self) -> int:
        return len(self.dropped)

    def kept_by_source(self) -> dict[str, int]:
        counts = self.rows[LABEL_SOURCE].value_counts()
        return {s: int(counts.get(s, 0)) for s in LABEL_SOURCES}

    def dropped_by_reason(self) -> dict[str, int]:
        counts = self.dropped[REASON].value_counts()
        return {r: int(counts.get(r, 0)) for r in self.drop_reasons}


def build_export(
    dataset: Dataset, field: str | None = None, rules: ExportRules | None = None
) -> ExportTable:
    """The kept items of one field under ``rules``, the dropped ones and why.

    Parameters
    ----------
    dataset : what a loader returns (the canonical table, the task table, field specs).
    field : the field; may be omitted when the table has one.
    rules : :class:`ExportRules` (default: majority vote, nothing filtered but
        unresolved ties).

    Raises
    ------
    InvalidInput : unknown field or excluded annotator, no answer left after the
        exclusion, a malformed adjudication table (every problem listed), or a method
        that cannot read the field's answers.
    """
    from labelcheck.consensus.export_structured import build_structured_export
    from labelcheck.consensus.rules import STRUCTURED_METHODS, resolve_method

    rules = rules if rules is not None else ExportRules()
    annotations, field_name = select_field(dataset.annotations, field)
    spec = dataset.fields.get(field_name)
    method = resolve_method(rules.method, spec.value_type if spec is not None else "choice", field_name)
    if method in STRUCTURED_METHODS:
        return build_structured_export(dataset, annotations, field_name, spec, method, rules)
    if rules.tie == "reliability" and method != "majority_vote":
        raise InvalidInput(f'tie "reliability" applies to majority_vote only, not {method}')
    declared = list(spec.categories) if spec is not None and spec.categories else None
    full = encode(annotations, field=field_name, level="nominal", categories=declared)
    if full.n_annotations == 0:
        raise InvalidInput(f'field "{field_name}" has no answers: every label is missing')
    item_ids = [str(t) for t in full.task_ids]

    remaining = _exclude(annotations, full.annotator_ids, field_name, rules.exclude_annotators)
    result = _run_model(remaining, field_name, declared, method, rules)
    cats = list(result.categories)
    coded = encode(remaining, field=field_name, level="nominal", categories=cats)
    counts = count_matrix(coded)
    pos_model = pd.Index(result.item_ids.map(str)).get_indexer(item_ids)
    pos_count = pd.Index(coded.task_ids.map(str)).get_indexer(item_ids)
    n = len(item_ids)
    has = pos_model >= 0
    n_answers = np.zeros(n, dtype=np.int64)
    n_answers[has] = result.n_answers[pos_model[has]]
    model_code = np.full(n, -1, dtype=np.intp)
    model_code[has] = result.codes[pos_model[has]]
    confidence = np.full(n, np.nan)
    confidence[has] = result.confidence[pos_model[has]]
    item_counts = np.zeros((n, len(cats)), dtype=np.int64)
    item_counts[pos_count >= 0] = counts[pos_count[pos_count >= 0]]

    decisions, unmatched = _decisions(rules, field_name, item_ids, cats, declared)
    # labels as codes into all_cats: the model's categories, then any other label a
    # lead gave (in canonical JSON order)
    cat_pos = {_key(c): k for k, c in enumerate(cats)}
    extra = {_key(lab): lab for status, lab, _ in decisions.values()
             if status == "label" and _key(lab) not in cat_pos}
    all_cats = cats + [extra[k] for k in sorted(extra)]
    all_pos = {_key(c): k for k, c in enumerate(all_cats)}
    resolved = model_code >= 0
    final_code = model_code.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        hits = np.where(resolved, item_counts[np.arange(n), np.maximum(model_code, 0)], 0)
        agreement = np.where(resolved & (n_answers > 0), hits / np.maximum(n_answers, 1), np.nan)
    source = np.where(resolved & (n_answers >= 2) & (hits == n_answers), "unanimous", "model")
    source = source.astype(object)
    source[~resolved] = "unresolved"
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)

    for i, (status, label, why) in decisions.items():
        if status == "label":
            final_code[i] = all_pos[_key(label)]
            source[i] = "adjudicated"
            confidence[i] = 1.0
            k = cat_pos.get(_key(label))
            share = item_counts[i, k] / n_answers[i] if k is not None and n_answers[i] else 0.0
            agreement[i] = share if n_answers[i] else np.nan
        else:
            reason[i] = "excluded_by_adjudication" if status == "excluded" else "ambiguous"
            detail[i] = f"adjudicated {status}" + (f": {why}" if why else "")
    free = pd.isna(reason) & (source != "adjudicated")
    _drop(reason, detail, free & (n_answers == 0), "no_answers_after_exclusion",
          lambda i: "every answer came from an excluded annotator")
    unresolved = free & (n_answers > 0) & ~resolved
    if rules.drop_unresolved:
        _drop(reason, detail, unresolved, "unresolved_tie",
              lambda i: str(result.reasons[pos_model[i]] or "unresolved"))
    rated = free & resolved
    _drop(reason, detail, rated & (confidence < rules.min_confidence - TIE_ATOL),
          "below_min_confidence",
          lambda i: f"confidence {confidence[i]:.4g} is below {rules.min_confidence:g}")
    _drop(reason, detail, rated & (agreement < rules.min_agreement - TIE_ATOL),
          "below_min_agreement",
          lambda i: f"agreement {agreement[i]:.4g} ({hits[i]} of {n_answers[i]} answers) "
                    f"is below {rules.min_agreement:g}")

    order = task_order(item_ids)
    kept = order[pd.isna(reason[order])]
    gone = order[~pd.isna(reason[order])]
    data, data_columns, notes = _task_data(dataset.tasks, [item_ids[i] for i in kept])
    rows = pd.concat(
        [
            pd.DataFrame({TASK_ID: [item_ids[i] for i in kept]}),
            data,
            pd.DataFrame({
                FINAL_LABEL: _labels(all_cats, final_code[kept]),
                LABEL_SOURCE: source[kept].astype(str),
                CONFIDENCE: confidence[kept],
                N_ANSWERS: n_answers[kept],
                AGREEMENT: agreement[kept].astype(float),
            }),
        ],
        axis=1,
    )
    dropped = pd.DataFrame({TASK_ID: [item_ids[i] for i in gone],
                            REASON: reason[gone].astype(str), DETAIL: detail[gone].astype(str)})
    alpha = _agreement(annotations, remaining, field_name, spec, declared, rules.exclude_annotators)
    return ExportTable(
        field=field_name,
        rules=rules,
        rows=rows,
        data_columns=data_columns,
        dropped=dropped,
        class_counts=_class_counts(all_cats, final_code, pd.isna(reason)),
        agreement=alpha,
        annotators=pd.DataFrame({
            ANNOTATOR_ID: [str(a) for a in result.annotator_ids],
            N_ANSWERS: result.annotator_answers.astype(np.int64),
            "reliability": result.reliability,
        }),
        model={"method": result.method, "reliability_name": result.reliability_name,
               "details": dict(result.details)},
        snapshot_sha256=snapshot_sha256(dataset.annotations),
        n_snapshot_rows=len(dataset.annotations),
        n_items=n,
        value_type=spec.value_type if spec is not None else "choice",
        to_name=spec.to_name if spec is not None else None,
        unmatched_adjudications=tuple(sorted(unmatched, key=id_key)),
        notes=notes,
    )


# --- steps of build_export -------------------------------------------------------------
def _exclude(
    annotations: pd.DataFrame, present: pd.Index, field: str, excluded: tuple[str, ...]
) -> pd.DataFrame:
    if not excluded:
        return annotations
    known = {str(a) for a in present}
    unknown = [a for a in excluded if a not in known]
    if unknown:
        listed: list[str] = sorted(known, key=id_key)
        raise InvalidInput(
            f'exclude_annotators: no annotator {name_list(unknown)} on field "{field}"; its '
            f"annotators are {name_list(listed)} (CLI: --exclude-annotator)"
        )
    remaining = annotations[~annotations[ANNOTATOR_ID].isin(excluded)]
    if remaining[LABEL].notna().sum() == 0:
        raise InvalidInput(
            f'field "{field}" has no answers left after excluding annotator(s) '
            f"{name_list(excluded)}"
        )
    return remaining


def _run_model(
    annotations: pd.DataFrame, field: str, categories: Sequence[Any] | None, method: str,
    rules: ExportRules,
) -> ConsensusResult:
    if method == "majority_vote":
        return majority_vote(annotations, field=field, categories=categories, tie=rules.tie)
    tie: Any = rules.tie
    if method == "dawid_skene":
        return dawid_skene(annotations, field=field, categories=categories, tie=tie)
    return mace(annotations, field=field, categories=categories, tie=tie, seed=int(rules.seed))


def _drop(
    reason: npt.NDArray[np.object_], detail: npt.NDArray[np.object_], mask: npt.NDArray[np.bool_],
    code: str, describe: Any,
) -> None:
    """Give ``code`` to the items of ``mask`` that have no reason yet."""
    for i in np.flatnonzero(mask & pd.isna(reason)):
        reason[i] = code
        detail[i] = describe(int(i))


def _task_data(tasks: pd.DataFrame, ids: list[str]) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """The task table's columns for ``ids`` (in that order); a column whose name the
    export uses itself is renamed ``data.<name>``."""
    if TASK_ID not in tasks.columns:
        return pd.DataFrame(index=range(len(ids))), (), ()
    table = tasks.drop_duplicates(TASK_ID).copy()
    table[TASK_ID] = table[TASK_ID].map(str)
    table = table.set_index(TASK_ID)
    notes: list[str] = []
    renames: dict[str, str] = {}
    for col in table.columns:
        if col in EXPORT_COLUMNS:
            renames[col] = DATA_PREFIX + str(col)
            notes.append(f'task data column "{col}" is written as "{DATA_PREFIX}{col}": '
                         "the export uses that name")
    data = table.rename(columns=renames).reindex(pd.Index(ids, dtype=object)).reset_index(drop=True)
    return data, tuple(str(c) for c in data.columns), tuple(notes)


def _class_counts(
    cats: list[Any], codes: IntArray, kept: npt.NDArray[np.bool_]
) -> pd.DataFrame:
    k = len(cats)
    labelled = codes >= 0
    before = np.bincount(codes[labelled], minlength=k)
    after = np.bincount(codes[labelled & kept], minlength=k)
    return pd.DataFrame({LABEL: pd.Series(object_array(cats), dtype=object),
                         "before": before.astype(np.int64), "after": after.astype(np.int64)})


def _labels(cats: list[Any], codes: IntArray) -> npt.NDArray[np.object_]:
    """The label of each code (None for ``-1``) as a 1-d object array."""
    out = np.full(len(codes), None, dtype=object)
    has = codes >= 0
    out[has] = object_array(cats)[codes[has]]
    return out


def _agreement(
    annotations: pd.DataFrame, remaining: pd.DataFrame, field: str, spec: Any,
    declared: Sequence[Any] | None, excluded: tuple[str, ...],
) -> AgreementSummary:
    level: Level = spec.level if spec is not None else "nominal"

    def alpha(frame: pd.DataFrame) -> AgreementResult:
        try:
            return krippendorff_alpha(frame, field=field, level=level, categories=declared, ci=None)
        except InvalidInput as exc:
            return undefined("krippendorff_alpha", str(exc).splitlines()[0], level=level)

    before = alpha(annotations)
    after = alpha(remaining) if excluded else before
    return AgreementSummary(before=before, after=after, excluded_annotators=excluded)


# --- adjudications ---------------------------------------------------------------------
def _decisions(
    rules: ExportRules, field: str, item_ids: list[str], cats: list[Any],
    declared: Sequence[Any] | None,
) -> tuple[dict[int, tuple[str, Any, str | None]], list[str]]:
    """``{item position: (status, label, reason)}`` of the effective decisions on
    ``field`` and the decided task ids without answers on it."""
    by_text = {str(c): c for c in cats}

    def read_label(raw: Any) -> Any:
        label = by_text.get(str(raw), raw)
        if declared is not None and _key(label) not in {_key(c) for c in declared}:
            raise ValueError(f"label {label!r} is not one of the declared categories ({name_list(declared)})")
        return label

    return decisions_in_force(rules, field, {t: i for i, t in enumerate(item_ids)}, read_label)


def decisions_in_force(
    rules: ExportRules, field: str, position: Mapping[str, int], read_label: Callable[[Any], Any],
) -> tuple[dict[int, tuple[str, Any, str | None]], list[str]]:
    """``{item position: (status, label, reason)}`` of the decisions in force on
    ``field`` (``position``: task id -> item position), each ``label`` decision's value
    read by ``read_label`` (a ``ValueError`` is a problem of that row), and the decided
    task ids without answers on the field.  Raises :class:`InvalidInput` listing every
    problem."""
    if not rules.include_adjudicated or rules.adjudications is None:
        return {}, []
    table = effective_adjudications(rules.adjudications, field, source=rules.adjudications_source)
    problems: list[InputProblem] = []
    out: dict[int, tuple[str, Any, str | None]] = {}
    unmatched: list[str] = []
    for row in table.itertuples(index=False):
        task, status = str(getattr(row, TASK_ID)), str(getattr(row, STATUS))
        label = getattr(row, LABEL)
        if status == "label":
            try:
                label = read_label(label)
            except ValueError as exc:
                problems.append(InputProblem(str(exc), source=rules.adjudications_source,
                                             source_row=int(getattr(row, SOURCE_ROW)), task_id=task, field=field))
                continue
        if task not in position:
            unmatched.append(task)
            continue
        why = getattr(row, REASON)
        out[position[task]] = (status, label, None if is_blank(why) else str(why))
    if problems:
        raise InvalidInput(f"{rules.adjudications_source}: {len(problems)} problem(s) in the "
                           "adjudication table", problems)
    return out, unmatched


# --- small pieces ----------------------------------------------------------------------
def _key(value: Any) -> str:
    """A hashable, type-aware identity for a label (``3`` and ``3.0`` are one label)."""
    return canonical_json(value)
