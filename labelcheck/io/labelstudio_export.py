"""Read Label Studio export files (JSON, JSON-MIN, CSV) into the canonical table.

The JSON export is a list of tasks::

    [{"id": 1, "data": {"text": "..."}, "meta": {...},
      "annotations": [{"id": 10, "completed_by": 3, "was_cancelled": false,
                       "ground_truth": false, "created_at": "2024-03-01T12:00:00Z",
                       "lead_time": 4.2,
                       "result": [{"from_name": "sentiment", "to_name": "text",
                                   "type": "choices",
                                   "value": {"choices": ["Positive"]}}]}],
      "predictions": [...]}, ...]

JSON-MIN and CSV (written by label-studio-converter) have one record per
non-cancelled annotation: the task's data keys, ``id`` (the task id), one key per
control tag (``from_name``) holding its flattened answer, ``annotator``,
``annotation_id``, ``created_at``, ``updated_at`` and ``lead_time``.  A single choice
or a single text line is a bare string there; anything else is the result value as
JSON.  Data keys and answer keys are not marked apart in those formats: pass
``fields=`` (the control tag names, e.g. from the label config) to say which keys are
answers.  Without it a key is taken as an answer when its values look like Label
Studio results, or when it differs between, or is missing from some of, the
annotations of one task; task data is the same in every annotation of a task.

Label Studio conventions applied: cancelled (skipped) annotations are dropped and
counted in the report; ``ground_truth`` is kept as a column and counted, never used as
gold; ``completed_by`` is the annotator (its ``id`` when it is an object, the e-mail
then kept in ``annotator_email``; JSON-MIN/CSV exports write the e-mail itself as the
annotator when Label Studio expanded the user).  Predictions are ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from labelcheck.errors import InputProblem, InvalidInput
from labelcheck.io._collect import Collector, as_field_specs, id_str, json_cell
from labelcheck.io._ls_values import (
    IGNORED_TYPES,
    Parsed,
    UnsupportedType,
    ValueShapeError,
    combine,
    infer_type,
    parse_flat,
    parse_value,
)
from labelcheck.table import ANNOTATION_ID, CREATED_AT, GROUND_TRUTH, LEAD_TIME, UPDATED_AT, Dataset

PathOrRecords = str | os.PathLike[str] | Sequence[Any]

# keys of the JSON-MIN / CSV exports that are not answers
MIN_TASK_ID = "id"
MIN_ANNOTATOR = "annotator"
WAS_CANCELLED = "was_cancelled"
_MIN_RESERVED = frozenset(
    {MIN_TASK_ID, MIN_ANNOTATOR, ANNOTATION_ID, CREATED_AT, UPDATED_AT, LEAD_TIME,
     WAS_CANCELLED, GROUND_TRUTH, "agreement"}
)
_TRUE_STRINGS = frozenset({"true", "1", "yes"})


def source_name(path: Any, source: str | None) -> str:
    """The name errors use for a source: ``source`` or the file's base name."""
    if source is not None:
        return source
    if isinstance(path, (str, os.PathLike)):
        return os.path.basename(os.fspath(path))
    return "<records>"


def load_json(path: str | os.PathLike[str], name: str) -> Any:
    """``json.load`` with decoding errors turned into :class:`InvalidInput` that names
    the line and column."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except json.JSONDecodeError as err:
        message = f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        raise InvalidInput(f"{name}: {message}", [InputProblem(message, source=name)]) from err
    except UnicodeDecodeError as err:
        message = f"not UTF-8 text ({err.reason} at byte {err.start})"
        raise InvalidInput(f"{name}: {message}", [InputProblem(message, source=name)]) from err


def _records(path_or_records: PathOrRecords | dict[Any, Any], name: str, what: str) -> list[Any]:
    if isinstance(path_or_records, (str, os.PathLike)):
        data = load_json(path_or_records, name)
    else:
        data = path_or_records
    if not isinstance(data, list):
        found = "an object" if isinstance(data, dict) else type(data).__name__
        raise InvalidInput(f"{name}: expected {what} at the top level, found {found}")
    return data


# --- JSON --------------------------------------------------------------------------------
def iter_json_tasks(path: str | os.PathLike[str], name: str) -> Iterator[Any]:
    """The tasks of a JSON export file one at a time, parsed as a stream (ijson's C
    backend): memory holds one task, not the decoded file.  A syntax error raises
    :class:`InvalidInput` naming the task it broke off in; the tasks before it have been
    yielded."""
    import ijson

    row = 0
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head[:1] != b"[":
            found = "an object" if head[:1] == b"{" else "something else"
            raise InvalidInput(f'{name}: expected a list of tasks ([{{"id": ..., "data": {{...}}, '
                               f'"annotations": [...]}}, ...]) at the top level, found {found}')
        fh.seek(0)
        if fh.read(3) != b"\xef\xbb\xbf":
            fh.seek(0)
        try:
            for task in ijson.items(fh, "item", use_float=True):
                row += 1
                yield task
        except ijson.JSONError as err:
            message = f"not valid JSON after task {row}: {err}"
            raise InvalidInput(f"{name}: {message}", [InputProblem(message, source=name)]) from err


def read_labelstudio_json(
    path_or_records: PathOrRecords | Iterable[Any],
    *,
    source: str | None = None,
    strict: bool = False,
    fields: Any = None,
    stream: bool = False,
) -> Dataset:
    """Read a Label Studio JSON export (a list of tasks) into a :class:`Dataset`.

    Parameters
    ----------
    path_or_records : the export file, its already-decoded list of tasks, or any
        iterable of tasks.
    stream : parse the file as a stream (:func:`iter_json_tasks`) instead of decoding
        it whole: the same table, with memory for one task at a time (the Label Studio
        pull uses this).
    source : name used in the table's ``source`` column and in errors (default: the
        file's base name).
    strict : raise :class:`InvalidInput` listing every problem if there is any, instead
        of loading the good rows and listing problems in ``report.problems``.
    fields : ``{name: FieldSpec}`` or a list of :class:`FieldSpec`: how to read fields
        (e.g. ``value_type="multichoice"``).  Fields without a spec are still read; their
        spec comes from the result type.

    Returns
    -------
    Dataset : one annotation row per (annotation, field) answered; ``source_row`` is the
        1-based position of the task in the export list.
    """
    name = source_name(path_or_records, source)
    tasks: Iterable[Any]
    if stream and isinstance(path_or_records, (str, os.PathLike)):
        tasks = iter_json_tasks(path_or_records, name)
    elif isinstance(path_or_records, (str, os.PathLike, list, dict)):
        tasks = _records(path_or_records, name, 'a list of tasks ([{"id": ..., "data": {...}, '
                         '"annotations": [...]}, ...]) as Label Studio\'s JSON export writes')
    else:
        tasks = path_or_records
    col = Collector(name, fields)
    row = 0
    for row, task in enumerate(tasks, 1):
        if not isinstance(task, dict):
            col.problem(f"expected a task object, found {type(task).__name__}", row)
            continue
        if task.get("id") is None:
            col.problem('task has no "id"; its annotations are skipped', row)
            continue
        task_id = id_str(task["id"])
        data = task.get("data")
        if not isinstance(data, dict):
            col.problem('task has no "data" object (its annotations are kept)', row, task_id)
            data = {}
        col.add_task(task_id, data, task.get("meta"), row)
        annotations = task.get("annotations", task.get("completions")) or []
        if not isinstance(annotations, list):
            col.problem('"annotations" is not a list; skipped', row, task_id)
            continue
        for annotation in annotations:
            _read_annotation(col, annotation, row, task_id)
    col.n_records = row
    return col.finish(strict=strict)


def _read_annotation(col: Collector, ann: Any, row: int, task_id: str) -> None:
    if not isinstance(ann, dict):
        col.problem(f"expected an annotation object, found {type(ann).__name__}", row, task_id)
        return
    if ann.get("id") is None:
        col.problem('annotation has no "id"; skipped', row, task_id)
        return
    aid = id_str(ann["id"])
    if not col.claim_id(aid, row, task_id):
        return
    if ann.get(WAS_CANCELLED) or ann.get("skipped"):
        col.cancel(aid)
        return
    annotator, email = _annotator(ann.get("completed_by"))
    if annotator is None:
        col.problem('annotation has no "completed_by": unknown annotator; skipped', row, task_id, aid)
        return
    results = ann.get("result") or []
    if not isinstance(results, list):
        col.problem('"result" is not a list; annotation skipped', row, task_id, aid)
        return
    parts: dict[str, list[Parsed]] = {}
    to_names: dict[str, str] = {}
    for item in results:
        if not isinstance(item, dict) or item.get("type") in IGNORED_TYPES:
            continue
        field = item.get("from_name")
        if field is None or "value" not in item:
            missing = "from_name" if field is None else "value"
            col.problem(f'result item has no "{missing}"; skipped', row, task_id, aid,
                        None if field is None else str(field))
            continue
        field = str(field)
        try:
            parsed = parse_value(item.get("type"), item["value"])
        except UnsupportedType as err:
            col.unsupported(err.type, row, task_id, aid, field)
        except ValueShapeError as err:
            col.problem(str(err), row, task_id, aid, field)
        else:
            parts.setdefault(field, []).append(parsed)
        if isinstance(item.get("to_name"), str):
            to_names.setdefault(field, item["to_name"])
    col.add_annotation(
        row=row, task_id=task_id, annotation_id=aid, annotator_id=annotator, email=email,
        answers=_combined(col, parts, row, task_id, aid),
        created_at=ann.get(CREATED_AT), updated_at=ann.get(UPDATED_AT),
        lead_time=ann.get(LEAD_TIME), ground_truth=bool(ann.get(GROUND_TRUTH, False)),
        to_names=to_names,
    )


def _annotator(completed_by: Any) -> tuple[str | None, str | None]:
    if isinstance(completed_by, dict):
        email = completed_by.get("email")
        email = email if isinstance(email, str) else None
        ident = completed_by.get("id")
        return (id_str(ident) if ident is not None else email), email
    if completed_by is None or completed_by == "":
        return None, None
    return id_str(completed_by), None


def _combined(
    col: Collector, parts: Mapping[str, list[Parsed]], row: int, task_id: str, aid: str
) -> dict[str, Parsed]:
    answers: dict[str, Parsed] = {}
    for field, items in parts.items():
        try:
            parsed = combine(items)
        except ValueShapeError as err:
            col.problem(str(err), row, task_id, aid, field)
            continue
        if not _empty(parsed):
            answers[field] = parsed
    return answers


def _empty(parsed: Parsed) -> bool:
    return parsed.kind in ("choice", "span", "region") and len(parsed.payload) == 0


# --- JSON-MIN and CSV --------------------------------------------------------------------
def read_labelstudio_json_min(
    path_or_records: PathOrRecords,
    *,
    source: str | None = None,
    strict: bool = False,
    fields: Any = None,
) -> Dataset:
    """Read a Label Studio JSON-MIN export (one record per annotation).

    Parameters are those of :func:`read_labelstudio_json`; ``fields`` also says which
    keys are answers (see the module notes).  ``source_row`` is the 1-based position of
    the record in the list.
    """
    name = source_name(path_or_records, source)
    records = _records(path_or_records, name, 'a list of annotation records ([{"id": ..., '
                       '"annotator": ..., "annotation_id": ..., ...}]) as the JSON-MIN export writes')
    return _read_flat(records, name, fields, strict)


def read_labelstudio_csv(
    path: str | os.PathLike[str],
    *,
    source: str | None = None,
    strict: bool = False,
    fields: Any = None,
    sep: str | None = None,
) -> Dataset:
    """Read a Label Studio CSV (or TSV) export: one row per annotation.

    Parameters are those of :func:`read_labelstudio_json_min`; ``sep`` defaults to a tab
    for ``.tsv`` files and a comma otherwise.  ``source_row`` is the 1-based data row
    (the header not counted).  Every cell is read as text, so ids keep their spelling.
    """
    name = source_name(path, source)
    if sep is None:
        sep = "\t" if os.fspath(path).lower().endswith(".tsv") else ","
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    frame = frame.astype(object).where(frame.notna(), None)
    return _read_flat(frame.to_dict("records"), name, fields, strict)


def _read_flat(records: list[Any], name: str, fields: Any, strict: bool) -> Dataset:
    keys = list(dict.fromkeys(k for r in records if isinstance(r, dict) for k in r))
    absent = [k for k in (MIN_TASK_ID, MIN_ANNOTATOR, ANNOTATION_ID) if k not in keys]
    if records and absent:
        raise InvalidInput(
            f"{name}: not a Label Studio JSON-MIN/CSV export: no {', '.join(absent)} "
            f"column; found {', '.join(map(str, keys[:20])) or 'nothing'}"
        )
    specs = as_field_specs(fields)
    candidates = [k for k in keys if k not in _MIN_RESERVED]
    answer_keys = _answer_keys(records, candidates, specs, name)
    data_keys = [k for k in candidates if k not in answer_keys]
    col = Collector(name, specs, n_records=len(records))
    for row, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            col.problem(f"expected a record object, found {type(rec).__name__}", row)
            continue
        if _blank(rec.get(MIN_TASK_ID)):
            col.problem('record has no task "id"; skipped', row)
            continue
        task_id = id_str(rec[MIN_TASK_ID])
        col.add_task(task_id, {k: rec.get(k) for k in data_keys}, None, row, repeats=True)
        if _blank(rec.get(ANNOTATION_ID)):
            col.problem('record has no "annotation_id"; skipped', row, task_id)
            continue
        aid = id_str(rec[ANNOTATION_ID])
        if not col.claim_id(aid, row, task_id):
            continue
        if _truthy(rec.get(WAS_CANCELLED)):
            col.cancel(aid)
            continue
        if _blank(rec.get(MIN_ANNOTATOR)):
            col.problem('record has no "annotator": unknown annotator; skipped', row, task_id, aid)
            continue
        answers: dict[str, Parsed] = {}
        for field in answer_keys:
            try:
                parsed = parse_flat(rec.get(field))
            except UnsupportedType as err:
                col.unsupported(err.type, row, task_id, aid, field)
                continue
            except ValueShapeError as err:
                col.problem(str(err), row, task_id, aid, field)
                continue
            if parsed is not None and not _empty(parsed):
                answers[field] = parsed
        col.add_annotation(
            row=row, task_id=task_id, annotation_id=aid,
            annotator_id=id_str(rec[MIN_ANNOTATOR]), answers=answers,
            created_at=rec.get(CREATED_AT), updated_at=rec.get(UPDATED_AT),
            lead_time=rec.get(LEAD_TIME), ground_truth=_truthy(rec.get(GROUND_TRUTH)),
        )
    return col.finish(strict=strict)


def _answer_keys(
    records: list[Any], candidates: list[str], specs: Mapping[str, Any], name: str
) -> list[str]:
    """Which keys hold answers (see the module notes)."""
    if specs:
        found = [k for k in candidates if k in specs]
        if not found:
            raise InvalidInput(
                f"{name}: none of the fields {', '.join(specs)} is a column; "
                f"found {', '.join(candidates) or 'no answer columns'}"
            )
        return found
    seen: dict[str, dict[Any, Any]] = {k: {} for k in candidates}
    answers: set[str] = set()
    missing = object()
    for rec in records:
        if not isinstance(rec, dict) or _blank(rec.get(MIN_TASK_ID)):
            continue
        task = id_str(rec[MIN_TASK_ID])
        for k in candidates:
            if k in answers:
                continue
            value = rec.get(k, missing)
            if _looks_like_result(value):
                answers.add(k)
                continue
            frozen = value if value is missing else json.dumps(json_cell(value), sort_keys=True)
            first = seen[k].setdefault(task, frozen)
            if first != frozen:
                answers.add(k)
    return [k for k in candidates if k in answers]


def _looks_like_result(value: Any) -> bool:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    if isinstance(value, dict):
        return infer_type(value) is not None
    if isinstance(value, list) and value:
        return all(isinstance(v, dict) and infer_type(v) is not None for v in value)
    return False


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_STRINGS
    return bool(value)
