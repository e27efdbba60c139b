"""Collecting annotations and problems while a loader walks a file, then building the
canonical :class:`~labelcheck.table.Dataset` once at the end.

Loaders call :meth:`Collector.add_task` and :meth:`Collector.add_annotation` per record
and :meth:`Collector.problem` for everything wrong; nothing is appended to a DataFrame
row by row.  :meth:`Collector.finish` settles each field's kind (single or multiple
choice, text, number, ...), parses timestamps in one vectorised pass, builds the table
and applies the strict / nothing-usable rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from labelcheck.errors import InputProblem, InvalidInput
from labelcheck.io._ls_values import Parsed
from labelcheck.table import (
    ANNOTATION_ID,
    ANNOTATOR_ID,
    CREATED_AT,
    FIELD,
    GROUND_TRUTH,
    LABEL,
    LEAD_TIME,
    SOURCE,
    SOURCE_ROW,
    TASK_ID,
    UPDATED_AT,
    Dataset,
    FieldSpec,
    ImportReport,
    normalise,
)

#: Extra annotation column: the annotator's e-mail when ``completed_by`` is an object.
ANNOTATOR_EMAIL = "annotator_email"
#: Prefix of task-table columns taken from a task's ``meta`` object.
META_PREFIX = "meta."
#: Prefix given to a task data key that would shadow the ``task_id`` column.
DATA_PREFIX = "data."

FieldsArg = Mapping[str, FieldSpec] | None

# Level of measurement implied by the control tag's type (declared by the label config,
# not read from the answers): a Rating tag is an ordered star scale, a Number tag a
# quantity.  Everything else is nominal unless the caller's FieldSpec says otherwise.
_SPEC_FOR_KIND: dict[str, tuple[str, str]] = {
    "choice": ("choice", "nominal"),
    "span": ("span", "nominal"),
    "region": ("region", "nominal"),
    "rating": ("rating", "ordinal"),
    "number": ("number", "interval"),
    "text": ("text", "nominal"),
}


def as_field_specs(fields: Any) -> dict[str, FieldSpec]:
    """Accept ``{name: FieldSpec}``, a sequence of :class:`FieldSpec` or of names."""
    if fields is None:
        return {}
    if isinstance(fields, Mapping):
        return {str(k): (v if isinstance(v, FieldSpec) else FieldSpec(str(k))) for k, v in fields.items()}
    out: dict[str, FieldSpec] = {}
    for f in fields:
        spec = f if isinstance(f, FieldSpec) else FieldSpec(str(f))
        out[spec.name] = spec
    return out


def id_str(value: Any) -> str:
    """An id as a string: ``7``, ``7.0`` and ``"7"`` all become ``"7"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def json_cell(value: Any) -> Any:
    """Task data value for the task table: nested values as JSON strings."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


class Collector:
    """Accumulates one source's tasks, annotations, answers and problems."""

    def __init__(self, source: str, fields: Any = None, n_records: int = 0) -> None:
        self.source = source
        self.specs = as_field_specs(fields)
        self.problems: list[InputProblem] = []
        self.n_records = n_records
        self.n_cancelled = 0
        self.cancelled_ids: list[str] = []
        self._seen: dict[str, tuple[int | None, str | None]] = {}
        self._task_rows: dict[str, int | None] = {}
        self.tasks: list[dict[str, Any]] = []
        # one entry per kept annotation
        self._a: dict[str, list[Any]] = {
            k: []
            for k in (TASK_ID, ANNOTATION_ID, ANNOTATOR_ID, ANNOTATOR_EMAIL, CREATED_AT,
                      UPDATED_AT, LEAD_TIME, GROUND_TRUTH, SOURCE_ROW)
        }
        # one entry per (annotation, field) answer
        self._r_ann: list[int] = []
        self._r_field: list[str] = []
        self._r_value: list[Parsed] = []
        self._to_name: dict[str, str] = {}
        self._unsupported: dict[tuple[str, str], list[Any]] = {}

    # --- during the walk -------------------------------------------------------------
    def problem(
        self,
        message: str,
        row: int | None = None,
        task_id: str | None = None,
        annotation_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problems.append(InputProblem(message, self.source, row, task_id, annotation_id, field))

    def unsupported(self, type_: str, row: int | None, task_id: str, annotation_id: str, field: str) -> None:
        """Count a result of a type labelcheck skips; reported once per field and type."""
        entry = self._unsupported.setdefault((field, type_), [0, (row, task_id, annotation_id)])
        entry[0] += 1

    def add_task(
        self, task_id: str, data: Mapping[str, Any], meta: Any, row: int | None,
        *, repeats: bool = False,
    ) -> None:
        """Add a task's data row.  ``repeats=True``: the format repeats the task in
        every annotation record (JSON-MIN, CSV), so a known id is no problem."""
        if task_id in self._task_rows:
            if repeats:
                return
            first = self._task_rows[task_id]
            self.problem(
                f"task id {task_id} appears again (first at row {first}); its data is taken "
                "from the first, its annotations are kept",
                row,
                task_id,
            )
            return
        self._task_rows[task_id] = row
        record: dict[str, Any] = {TASK_ID: task_id}
        for key, value in data.items():
            name = DATA_PREFIX + key if key == TASK_ID else str(key)
            record[name] = json_cell(value)
        if isinstance(meta, Mapping):
            for key, value in meta.items():
                record[META_PREFIX + str(key)] = json_cell(value)
        self.tasks.append(record)

    def claim_id(self, annotation_id: str, row: int | None, task_id: str | None) -> bool:
        """Register an annotation id; a repeated id is reported (both places) and refused."""
        first = self._seen.get(annotation_id)
        if first is not None:
            self.problem(
                f"annotation id {annotation_id} is duplicated: first seen at row {first[0]} "
                f"(task {first[1]}); this later copy is skipped",
                row,
                task_id,
                annotation_id,
            )
            return False
        self._seen[annotation_id] = (row, task_id)
        return True

    def cancel(self, annotation_id: str) -> None:
        self.n_cancelled += 1
        self.cancelled_ids.append(annotation_id)

    def add_annotation(
        self,
        *,
        row: int | None,
        task_id: str,
        annotation_id: str,
        annotator_id: str,
        answers: Mapping[str, Parsed],
        email: str | None = None,
        created_at: Any = None,
        updated_at: Any = None,
        lead_time: Any = None,
        ground_truth: bool = False,
        to_names: Mapping[str, str] | None = None,
    ) -> None:
        a = self._a
        index = len(a[TASK_ID])
        a[TASK_ID].append(task_id)
        a[ANNOTATION_ID].append(annotation_id)
        a[ANNOTATOR_ID].append(annotator_id)
        a[ANNOTATOR_EMAIL].append(email)
        a[CREATED_AT].append(created_at)
        a[UPDATED_AT].append(updated_at)
        a[LEAD_TIME].append(lead_time)
        a[GROUND_TRUTH].append(ground_truth)
        a[SOURCE_ROW].append(row)
        if answers:
            self._r_ann.extend([index] * len(answers))
            self._r_field.extend(answers.keys())
            self._r_value.extend(answers.values())
        if to_names:
            for field, to_name in to_names.items():
                self._to_name.setdefault(field, to_name)

    # --- at the end -------------------------------------------------------------------
    def finish(self, *, strict: bool) -> Dataset:
        ann = {k: np.asarray(v, dtype=object) for k, v in self._a.items()}
        n_ann = len(ann[TASK_ID])
        for key in (CREATED_AT, UPDATED_AT):
            ann[key] = self._times(ann, key)
        ann[LEAD_TIME] = self._lead_times(ann)

        labels, keep, specs = self._labels(ann)
        for (field, type_), (count, (row, tid, aid)) in self._unsupported.items():
            self.problem(
                f'result type "{type_}" is not supported; {count} result(s) of this field '
                "skipped (first one here)",
                row, tid, aid, field,
            )

        r_ann = np.asarray(self._r_ann, dtype=np.intp)[keep]
        fields = np.asarray(self._r_field, dtype=object)[keep]
        columns: dict[str, Any] = {
            TASK_ID: ann[TASK_ID][r_ann],
            ANNOTATION_ID: ann[ANNOTATION_ID][r_ann],
            ANNOTATOR_ID: ann[ANNOTATOR_ID][r_ann],
            FIELD: pd.Categorical(fields, categories=list(dict.fromkeys(fields.tolist()))),
            # via a Series: np.asarray would turn equal-length tuples into a 2-D array
            LABEL: pd.Series(labels, dtype=object).to_numpy()[keep],
            CREATED_AT: ann[CREATED_AT].take(r_ann),
            UPDATED_AT: ann[UPDATED_AT].take(r_ann),
            LEAD_TIME: ann[LEAD_TIME][r_ann],
            GROUND_TRUTH: ann[GROUND_TRUTH][r_ann].astype(bool),
            SOURCE: pd.Categorical([self.source] * len(r_ann)),
            SOURCE_ROW: pd.array(ann[SOURCE_ROW][r_ann].tolist(), dtype="Int64"),
        }
        emails = ann[ANNOTATOR_EMAIL]
        if any(e is not None for e in emails):
            columns[ANNOTATOR_EMAIL] = emails[r_ann]
        annotations = normalise(pd.DataFrame(columns))

        tasks = pd.DataFrame(self.tasks) if self.tasks else pd.DataFrame({TASK_ID: []}, dtype=object)
        report = ImportReport(
            source=self.source,
            n_records=self.n_records,
            n_annotations=n_ann,
            n_rows=len(annotations),
            n_cancelled=self.n_cancelled,
            cancelled_annotation_ids=list(self.cancelled_ids),
            n_ground_truth=int(ann[GROUND_TRUTH].astype(bool).sum()) if n_ann else 0,
            problems=list(self.problems),
        )
        return finish_dataset(annotations, tasks, specs, report, strict=strict)

    def _location(self, ann: dict[str, Any], i: int) -> tuple[Any, Any, Any]:
        return ann[SOURCE_ROW][i], ann[TASK_ID][i], ann[ANNOTATION_ID][i]

    def _times(self, ann: dict[str, Any], key: str) -> Any:
        parsed, bad = parse_times(ann[key])
        for i in np.flatnonzero(bad):
            row, tid, aid = self._location(ann, int(i))
            self.problem(
                f'{key} "{ann[key][i]}" is not a timestamp; expected ISO 8601 such as '
                "2024-03-01T12:30:00Z (kept the answer, time unknown)",
                row, tid, aid,
            )
        return parsed.array

    def _lead_times(self, ann: dict[str, Any]) -> Any:
        raw = pd.Series(ann[LEAD_TIME], dtype=object)
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = (raw.notna() & values.isna()).to_numpy()
        for i in np.flatnonzero(bad):
            row, tid, aid = self._location(ann, int(i))
            self.problem(f'lead_time "{raw.iloc[i]}" is not a number of seconds', row, tid, aid)
        return values.to_numpy()

    def _labels(self, ann: dict[str, Any]) -> tuple[list[Any], Any, dict[str, FieldSpec]]:
        """Settle each field's kind and turn payloads into labels."""
        n = len(self._r_value)
        labels: list[Any] = [None] * n
        keep = np.ones(n, dtype=bool)
        by_field: dict[str, list[int]] = {}
        for i, f in enumerate(self._r_field):
            by_field.setdefault(f, []).append(i)
        specs = dict(self.specs)
        for field, rows in by_field.items():
            values = [self._r_value[i] for i in rows]
            spec = specs.get(field)
            if spec is None:
                spec = self._spec_from_kinds(field, values)
                specs[field] = spec
            fast = _fast_labels(values, spec)
            if fast is not None:
                for i, label in zip(rows, fast):
                    labels[i] = label
                continue
            for i, parsed in zip(rows, values):
                try:
                    labels[i] = to_label(parsed, spec)
                except ValueError as err:
                    keep[i] = False
                    row, tid, aid = self._location(ann, self._r_ann[i])
                    self.problem(str(err), row, tid, aid, field)
        return labels, keep, specs

    def _spec_from_kinds(self, field: str, values: list[Parsed]) -> FieldSpec:
        kinds = {p.kind for p in values}
        if kinds == {"choice", "text"}:  # JSON-MIN flattens one-line texts to strings
            kind = "text"
        else:
            kind = values[0].kind
        value_type, level = _SPEC_FOR_KIND[kind]
        if kind == "choice" and any(len(p.payload) > 1 for p in values):
            value_type = "multichoice"
        return FieldSpec(field, value_type, level, to_name=self._to_name.get(field))  # type: ignore[arg-type]


def _fast_labels(values: list[Parsed], spec: FieldSpec) -> list[Any] | None:
    """Labels of a whole field at once in the common cases (else ``None``)."""
    vt = spec.value_type
    kinds = {p.kind for p in values}
    if vt == "choice" and kinds == {"choice"} and all(len(p.payload) == 1 for p in values):
        return [p.payload[0] for p in values]
    if (vt == "multichoice" and kinds == {"choice"}) or (
        vt in ("span", "region", "text") and kinds == {vt}
    ) or (vt in ("rating", "number") and kinds <= {"rating", "number"}):
        return [p.payload for p in values]
    return None


def to_label(parsed: Parsed, spec: FieldSpec) -> Any:
    """The canonical label of one answer under its field's spec; ``ValueError`` names
    what was expected and what was found."""
    vt, kind, payload = spec.value_type, parsed.kind, parsed.payload
    if vt == "multichoice" and kind == "choice":
        return payload
    if vt == "choice" and kind == "choice":
        if len(payload) != 1:
            raise ValueError(
                f"single-choice field got {len(payload)} choices ({', '.join(payload)}); "
                "declare it multichoice if several are allowed"
            )
        return payload[0]
    if vt == "text" and kind in ("text", "choice"):
        return payload if kind == "text" else "\n".join(payload)
    if vt in ("rating", "number") and kind in ("rating", "number"):
        return payload
    if vt in ("rating", "number") and kind == "choice" and len(payload) == 1:
        try:
            return float(payload[0])
        except ValueError:
            pass
    if vt == kind and kind in ("span", "region"):
        return payload
    raise ValueError(f"expected a {vt} answer, found a {kind} answer ({_show(payload)})")


def _show(payload: Any) -> str:
    text = repr(payload)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_times(raw: Any) -> tuple[pd.Series, Any]:
    """Parse ISO 8601 timestamps to UTC in one pass; ``bad`` marks present but
    unparseable values."""
    s = pd.Series(raw, dtype=object)
    present = s.notna().to_numpy()
    if isinstance(raw, np.ndarray) and raw.dtype == object:
        present &= (s != "").to_numpy()
    parsed = pd.to_datetime(s.where(present), utc=True, format="ISO8601", errors="coerce")
    bad = present & parsed.isna().to_numpy()
    return parsed, bad


def finish_dataset(
    annotations: pd.DataFrame,
    tasks: pd.DataFrame,
    specs: Mapping[str, FieldSpec],
    report: ImportReport,
    *,
    strict: bool,
) -> Dataset:
    """Apply the strict and nothing-usable rules and wrap up."""
    name = report.source
    # report in file order (checks run column by column); unlocated problems last
    report.problems.sort(key=lambda p: (p.source_row is None, p.source_row or 0))
    if strict and report.problems:
        raise InvalidInput(
            f"{name}: {len(report.problems)} problem(s) found; strict mode loads nothing",
            report.problems,
        )
    if len(annotations) == 0:
        detail = (
            f"{report.n_records} record(s) read, {report.n_cancelled} cancelled annotation(s) "
            f"dropped, {len(report.problems)} problem(s)"
        )
        raise InvalidInput(f"{name}: nothing usable: no answers left ({detail})", report.problems)
    return Dataset(annotations=annotations, tasks=tasks, fields=dict(specs), report=report)
