"""Read a long annotation table (CSV, TSV or Parquet) into the canonical table.

The contract, one row per answer:

=============== ======== ==========================================================
column          needed   meaning
=============== ======== ==========================================================
item_id         yes      the task (``task_id`` is accepted as well; it wins if both)
annotator_id    yes      who answered
label           yes      the answer, kept as text as read (an empty cell is a missing
                         judgement: the row is kept with a missing label, which
                         :func:`labelcheck.table.encode` skips); numbers are read
                         from it by ``encode`` for interval, ratio and ordinal levels
annotation_id   no       one submission; default: the data row number, as text
field           no       the question; default ``"label"`` (or ``field=``)
created_at      no       ISO 8601 timestamp, read as UTC
updated_at      no       ISO 8601 timestamp, read as UTC
lead_time       no       seconds spent
ground_truth    no       true/false; kept, never used as gold
anything else   no       slicing metadata: a column with one value per task goes to
                         the task table, any other stays on the annotation rows
=============== ======== ==========================================================

Every CSV cell is read as text (``"007"`` stays ``"007"``); only an empty cell is
missing (``NA`` or ``None`` are labels like any other).  Checks are vectorised; the
rows named in problems are capped at :data:`MAX_ROW_PROBLEMS` per check.  Rows with an
empty id or a repeated ``(annotation_id, field)`` are left out and reported; rows with
an unreadable time or lead time are kept with the value missing and reported.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.errors import InputProblem, InvalidInput, LabelcheckError, name_list
from labelcheck.io._collect import finish_dataset, id_str, parse_times
from labelcheck.io.labelstudio_export import source_name
from labelcheck.table import (
    ANNOTATION_ID,
    ANNOTATOR_ID,
    COLUMNS,
    CREATED_AT,
    DEFAULT_FIELD,
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

#: Accepted name of the task column (crowd-kit and cleanlab call tasks items).
ITEM_ID = "item_id"
#: Prefix for a file's own ``source``/``source_row`` columns, which would otherwise
#: shadow this file's provenance.
UPSTREAM_PREFIX = "upstream_"
#: Rows named per check before the rest are summarised in one problem.
MAX_ROW_PROBLEMS = 1000
PARQUET_SUFFIXES = (".parquet", ".pq")
_TRUE_STRINGS = ("true", "1", "yes", "t", "y")


def read_long_table(
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    field: str | FieldSpec | None = None,
    source: str | None = None,
) -> Dataset:
    """Read a long CSV/TSV or Parquet file (see the module notes for its columns).

    Parameters
    ----------
    path : ``.csv``, ``.tsv`` (tab-separated) or ``.parquet`` file.
    strict : raise :class:`InvalidInput` listing every problem if there is any.
    field : without a ``field`` column, the name (or :class:`FieldSpec`) given to the
        single question (default ``"label"``); with one, keep only this field's rows.
    source : name used in the ``source`` column and in errors (default: base name).

    Returns
    -------
    Dataset : the annotations, a task table with the per-task columns, one
        :class:`FieldSpec` per field (nominal choice unless ``field`` says otherwise).
    """
    name = source_name(path, source)
    frame = _read_frame(path, name)
    n = len(frame)
    shown = {TASK_ID: TASK_ID}
    if TASK_ID not in frame.columns and ITEM_ID in frame.columns:
        frame = frame.rename(columns={ITEM_ID: TASK_ID})
        shown[TASK_ID] = ITEM_ID
    missing = [c for c in (TASK_ID, ANNOTATOR_ID, LABEL) if c not in frame.columns]
    if missing:
        wanted = [ITEM_ID if c == TASK_ID else c for c in missing]
        raise InvalidInput(
            f"{name}: missing column(s) {', '.join(wanted)}; found "
            f"{name_list(map(str, frame.columns)) or 'no columns'}. A long table needs "
            "item_id (or task_id), annotator_id and label; optional: annotation_id, field, "
            "created_at, updated_at, lead_time"
        )
    frame = frame.rename(columns={c: UPSTREAM_PREFIX + c for c in (SOURCE, SOURCE_ROW)
                                  if c in frame.columns})
    rows = np.arange(1, n + 1, dtype=np.int64)
    problems: list[InputProblem] = []
    report_at = _Reporter(name, frame, rows, problems)

    for col in (TASK_ID, ANNOTATOR_ID, ANNOTATION_ID):
        if col in frame.columns:
            frame[col] = _as_id_strings(frame[col])
    bad = np.zeros(n, dtype=bool)
    for col in (TASK_ID, ANNOTATOR_ID, ANNOTATION_ID):
        if col in frame.columns:
            empty = frame[col].isna().to_numpy()
            report_at(empty, f"{shown.get(col, col)} is empty; row skipped")
            bad |= empty
    synthesised = ANNOTATION_ID not in frame.columns
    if synthesised:  # the data row number: unique, so no duplicate check is needed
        frame[ANNOTATION_ID] = pd.RangeIndex(1, n + 1).astype(str).to_numpy(dtype=object)

    spec = field if isinstance(field, FieldSpec) else None
    field_name: str = spec.name if spec is not None else str(field or DEFAULT_FIELD)
    if FIELD in frame.columns:
        values = frame[FIELD].astype(object).where(frame[FIELD].notna(), field_name)
        frame[FIELD] = values.astype(str).astype("category")
        if field is not None:
            if field_name not in frame[FIELD].cat.categories:
                raise InvalidInput(
                    f'{name}: field "{field_name}" not found; the file has: '
                    f"{name_list(map(str, frame[FIELD].cat.categories))}"
                )
            bad |= (frame[FIELD] != field_name).to_numpy()
    else:
        frame[FIELD] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), pd.Index([field_name]))

    if not synthesised:
        _check_duplicates(frame, rows, bad, report_at)
    for col in (CREATED_AT, UPDATED_AT):
        if col in frame.columns:
            parsed, unreadable = parse_times(frame[col].to_numpy())
            report_at(unreadable, f"{col} is not an ISO 8601 timestamp such as "
                      "2024-03-01T12:30:00Z (row kept, time unknown)", values=frame[col])
            frame[col] = parsed.array
    if LEAD_TIME in frame.columns:
        numbers = pd.to_numeric(frame[LEAD_TIME], errors="coerce")
        report_at((frame[LEAD_TIME].notna() & numbers.isna()).to_numpy(),
                  "lead_time is not a number of seconds (row kept)", values=frame[LEAD_TIME])
        frame[LEAD_TIME] = numbers.astype(float)
    if GROUND_TRUTH in frame.columns and frame[GROUND_TRUTH].dtype != bool:
        frame[GROUND_TRUTH] = frame[GROUND_TRUTH].astype(str).str.strip().str.lower().isin(_TRUE_STRINGS)  # type: ignore[misc, unused-ignore]

    frame[SOURCE] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), pd.Index([name]))
    frame[SOURCE_ROW] = rows
    if bad.any():
        frame = frame.loc[~bad].reset_index(drop=True)
    extras = [c for c in frame.columns if c not in COLUMNS]
    task_cols, tasks = _task_table(frame, extras)
    annotations = normalise(frame.drop(columns=task_cols) if task_cols else frame)

    present = [str(f) for f in annotations[FIELD].cat.categories]
    specs = {f: (spec if spec is not None and f == spec.name else FieldSpec(f)) for f in present}
    report = ImportReport(
        source=name,
        n_records=n,
        n_annotations=len(annotations) if synthesised else int(annotations[ANNOTATION_ID].nunique()),
        n_rows=len(annotations),
        n_ground_truth=int(annotations[GROUND_TRUTH].sum()),
        problems=problems,
    )
    return finish_dataset(annotations, tasks, specs, report, strict=strict)


def _read_frame(path: str | os.PathLike[str], name: str) -> pd.DataFrame:
    text = os.fspath(path)
    if not os.path.exists(text):
        raise InvalidInput(f"{name}: no such file ({text})")
    if text.lower().endswith(PARQUET_SUFFIXES):
        try:
            return pd.read_parquet(text)
        except ImportError as err:
            raise LabelcheckError(f"{name}: reading Parquet needs a working pyarrow ({err})") from err
    sep = "\t" if text.lower().endswith(".tsv") else ","
    options: dict[str, Any] = dict(sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    try:
        try:
            return _read_csv_pyarrow(text, sep)
        except Exception:  # pyarrow missing or unusable: the C engine reports real errors
            return pd.read_csv(text, **options)  # type: ignore[no-any-return]
    except pd.errors.EmptyDataError as err:
        raise InvalidInput(f"{name}: the file is empty; expected a header row") from err
    except pd.errors.ParserError as err:
        raise InvalidInput(f"{name}: not a readable CSV file: {err}") from err


def _read_csv_pyarrow(text: str, sep: str) -> pd.DataFrame:
    """Read every column as text with pyarrow's multithreaded CSV reader.

    ``pandas.read_csv(engine="pyarrow", dtype=str)`` infers types first and casts
    afterwards, so the id ``007`` would come back as ``7``; typing every column as
    string up front keeps what was written.  Only an empty cell is missing."""
    import csv

    import pyarrow as pa
    from pyarrow import csv as pacsv

    with open(text, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle, delimiter=sep), None)
    if not header:
        raise pd.errors.EmptyDataError("no header")
    table = pacsv.read_csv(
        text,
        parse_options=pacsv.ParseOptions(delimiter=sep),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        ),
    )
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _as_id_strings(col: pd.Series) -> pd.Series:
    if pd.api.types.is_object_dtype(col) and (len(col) == 0 or isinstance(col.iloc[0], str)):
        return col
    return col.map(id_str, na_action="ignore").astype(object)


class _Reporter:
    """Turns a boolean mask of bad rows into row-precise problems, capped."""

    def __init__(self, name: str, frame: pd.DataFrame, rows: npt.NDArray[np.int64],
                 problems: list[InputProblem]) -> None:
        self.name, self.frame, self.rows, self.problems = name, frame, rows, problems

    def __call__(self, mask: npt.NDArray[np.bool_], message: str,
                 values: pd.Series | None = None) -> None:
        where = np.flatnonzero(mask)
        for i in where[:MAX_ROW_PROBLEMS]:
            text = message if values is None else f"{message}: found {values.iloc[i]!r}"
            self.problems.append(self.at(int(i), text))
        if len(where) > MAX_ROW_PROBLEMS:
            more = len(where) - MAX_ROW_PROBLEMS
            self.problems.append(InputProblem(
                f"{message}: {more!s} more row(s) like this not listed", source=self.name))

    def at(self, i: int, message: str) -> InputProblem:
        def get(col: str) -> str | None:
            if col not in self.frame.columns:
                return None
            v = self.frame[col].iloc[i]
            return None if pd.isna(v) else str(v)

        return InputProblem(message, self.name, int(self.rows[i]), get(TASK_ID),
                            get(ANNOTATION_ID), get(FIELD))


def _check_duplicates(frame: pd.DataFrame, rows: npt.NDArray[np.int64],
                      bad: npt.NDArray[np.bool_], report_at: _Reporter) -> None:
    good = np.flatnonzero(~bad)
    keys = frame[[ANNOTATION_ID, FIELD]].iloc[good]
    dup = keys.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    dup_rows = good[dup]
    shown = dup_rows[:MAX_ROW_PROBLEMS]
    wanted = set(zip(frame[ANNOTATION_ID].to_numpy()[shown], frame[FIELD].to_numpy()[shown]))
    first: dict[tuple[Any, Any], int] = {}
    for i, key in zip(good, zip(keys[ANNOTATION_ID].to_numpy(), keys[FIELD].to_numpy())):
        if key in wanted and key not in first:
            first[key] = int(rows[i])
            if len(first) == len(wanted):
                break
    for i in shown:
        key = (frame[ANNOTATION_ID].iat[i], frame[FIELD].iat[i])
        report_at.problems.append(report_at.at(
            int(i), f"annotation_id {key[0]!s} is duplicated for this field (first at row "
                    f"{first[key]}); this later row is skipped"))
    if len(dup_rows) > MAX_ROW_PROBLEMS:
        report_at.problems.append(InputProblem(
            f"{len(dup_rows) - MAX_ROW_PROBLEMS} more duplicated annotation_id row(s) not listed",
            source=report_at.name))
    bad[dup_rows] = True


def _task_table(frame: pd.DataFrame, extras: list[str]) -> tuple[list[str], pd.DataFrame]:
    """The extra columns holding one value per task (missing counts as a value), and
    the task table made of them (first row of each task).

    A column is per-task when every row carries its task's first value: O(n) with one
    factorize per column and no sort."""
    task_codes, task_uniques = pd.factorize(frame[TASK_ID].to_numpy())
    n_tasks = len(task_uniques)
    first_row = np.full(n_tasks, len(task_codes), dtype=np.int64)
    # reversed fancy assignment: the last write wins, so each task keeps its first row
    first_row[task_codes[::-1]] = np.arange(len(task_codes) - 1, -1, -1)
    constant = []
    for col in extras:
        codes = pd.factorize(frame[col].to_numpy(), use_na_sentinel=True)[0]
        if (codes == codes[first_row][task_codes]).all():
            constant.append(col)
    first_rows = np.sort(first_row)
    tasks = frame[[TASK_ID, *constant]].iloc[first_rows].reset_index(drop=True)
    return constant, tasks
