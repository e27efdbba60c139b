"""The canonical annotation table: its columns, its validation and its derived shapes.

Every source (Label Studio export JSON / JSON-MIN / CSV, a long CSV or Parquet file,
later the Label Studio API) is converted once, at the edge, into one long
:class:`pandas.DataFrame` with one row per annotator's answer to one question
(``field``, a Label Studio control tag) on one task:

============== ================== ===================================================
column         type               meaning
============== ================== ===================================================
task_id        str                the item being labelled
annotation_id  str                one submission by one annotator on one task
annotator_id   str                who answered (Label Studio ``completed_by``)
field          str (categorical)  which question (Label Studio ``from_name``)
label          object             the answer: a scalar (str or number), a sorted tuple
                                  of str for multi-choice, a tuple of :class:`Span` or
                                  :class:`Region` for spans and regions, str for text
created_at     datetime64[UTC]    when the annotation was submitted (may be NaT)
updated_at     datetime64[UTC]    when it was last changed (may be NaT)
lead_time      float              seconds the annotator spent (may be NaN)
ground_truth   bool               Label Studio's flag; kept, never treated as gold
source         str (categorical)  file name or URL the row came from
source_row     Int64              1-based record in that source (task, or CSV row)
============== ================== ===================================================

A companion *task table* (one row per ``task_id``) holds each task's data fields and
the metadata used for slicing; see :class:`Dataset`.

The same annotator may answer the same task several times (distinct annotations):
both rows are kept.  Each field has a declared :class:`FieldSpec` (level of
measurement and, when ordered, its categories); it comes from the label config or
the user and is never guessed from the data.

Derived shapes are computed on demand: :func:`encode` turns one field into integer
codes (:class:`CodedRatings`), from which :func:`count_matrix` (tasks x categories)
and :func:`rating_matrix` (annotators x tasks) are built.  They are never stored as
a second truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field as dc_field
from functools import cached_property
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.errors import InputProblem, InvalidInput, name_list

# --- column names: spelled here once -------------------------------------------------
TASK_ID = "task_id"
ANNOTATION_ID = "annotation_id"
ANNOTATOR_ID = "annotator_id"
FIELD = "field"
LABEL = "label"
CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
LEAD_TIME = "lead_time"
GROUND_TRUTH = "ground_truth"
SOURCE = "source"
SOURCE_ROW = "source_row"

#: Columns every canonical table has, in this order.
COLUMNS: tuple[str, ...] = (
    TASK_ID,
    ANNOTATION_ID,
    ANNOTATOR_ID,
    FIELD,
    LABEL,
    CREATED_AT,
    UPDATED_AT,
    LEAD_TIME,
    GROUND_TRUTH,
    SOURCE,
    SOURCE_ROW,
)
#: The columns without which a table is not a canonical table.
REQUIRED: tuple[str, ...] = (TASK_ID, ANNOTATION_ID, ANNOTATOR_ID, FIELD, LABEL)
ID_COLUMNS: tuple[str, ...] = (TASK_ID, ANNOTATION_ID, ANNOTATOR_ID)

#: Default field name for sources with a single unnamed question (long CSV).
DEFAULT_FIELD = "label"

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = get_args(Level)
ValueType = Literal["choice", "multichoice", "span", "region", "rating", "number", "text"]
VALUE_TYPES: tuple[str, ...] = get_args(ValueType)
NUMERIC_LEVELS = frozenset({"interval", "ratio"})

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


# --- label value types ---------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Span:
    """A labelled text span ``[start, end)`` in characters (Label Studio ``Labels``)."""

    start: int
    end: int
    labels: tuple[str, ...]
    text: str | None = None


@dataclass(frozen=True, order=True)
class Region:
    """A labelled image region in percent of the image (Label Studio ``RectangleLabels``,
    ``PolygonLabels``, ...).  ``points`` holds polygon vertices; rectangles use
    ``x, y, width, height, rotation``."""

    shape: str
    labels: tuple[str, ...]
    x: float | None = None
    y: float | None = None
    width: float | None = None
    height: float | None = None
    rotation: float = 0.0
    points: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    """What one field (a Label Studio control tag) measures.

    Parameters
    ----------
    name : the field name (``from_name``).
    value_type : the kind of answer: one of ``VALUE_TYPES``.
    level : level of measurement, declared by the label config or the user.
    categories : the ordered categories (required for ordinal string labels; for
        nominal fields, the full configured list, so unused categories still count
        where a coefficient depends on the number of categories).
    to_name : the object tag the control labels (Label Studio ``toName``).
    """

    name: str
    value_type: ValueType = "choice"
    level: Level = "nominal"
    categories: tuple[Any, ...] | None = None
    to_name: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {self.level!r}")
        if self.value_type not in VALUE_TYPES:
            raise ValueError(
                f"value_type must be one of {', '.join(VALUE_TYPES)}; got {self.value_type!r}"
            )


@dataclass
class ImportReport:
    """What a loader read, kept out, and found wrong.

    ``problems`` lists every bad record; the good ones are in the table.  Cancelled
    (skipped) annotations are kept out of agreement but counted here, with their ids.
    """

    source: str
    n_records: int = 0
    n_annotations: int = 0
    n_rows: int = 0
    n_cancelled: int = 0
    cancelled_annotation_ids: list[str] = dc_field(default_factory=list)
    n_ground_truth: int = 0
    problems: list[InputProblem] = dc_field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "n_records": self.n_records,
            "n_annotations": self.n_annotations,
            "n_rows": self.n_rows,
            "n_cancelled": self.n_cancelled,
            "cancelled_annotation_ids": list(self.cancelled_annotation_ids),
            "n_ground_truth": self.n_ground_truth,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True)
class Dataset:
    """What a loader returns: the annotation table, the task table, the field specs
    and the import report.

    ``tasks`` has one row per ``task_id`` (a column, string) and one column per task
    data field or slicing metadata column.
    """

    annotations: pd.DataFrame
    tasks: pd.DataFrame
    fields: Mapping[str, FieldSpec]
    report: ImportReport


# --- construction and validation -----------------------------------------------------
def from_records(records: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Build a canonical table from dict rows (or a frame with canonical column names),
    filling optional columns and normalising dtypes.  Extra columns are kept."""
    frame = pd.DataFrame(records) if not isinstance(records, pd.DataFrame) else records.copy()
    for name in REQUIRED:
        if name not in frame.columns:
            if name == FIELD:
                frame[FIELD] = DEFAULT_FIELD
            elif name == ANNOTATION_ID and len(frame) == 0:
                frame[name] = pd.Series([], dtype=object)
            elif name == ANNOTATION_ID:
                frame[ANNOTATION_ID] = [str(i) for i in range(1, len(frame) + 1)]
            else:
                frame[name] = pd.Series([], dtype=object) if len(frame) == 0 else None
    return normalise(frame)


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every canonical column its dtype, adding missing optional columns.

    Ids become ``str`` (``7`` and ``"7"`` must join), times UTC, ``field`` and
    ``source`` categorical.  Works in place on ``frame`` and returns it."""
    n = len(frame)
    for name in ID_COLUMNS:
        col = frame[name]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)) or (
            n and not isinstance(col.iloc[0], str)
        ):
            frame[name] = col.map(_id_to_str, na_action="ignore")
    if not isinstance(frame[FIELD].dtype, pd.CategoricalDtype):
        frame[FIELD] = frame[FIELD].astype(str).astype("category")
    for name in (CREATED_AT, UPDATED_AT):
        if name not in frame.columns:
            frame[name] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        elif not isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = pd.to_datetime(frame[name], utc=True, errors="coerce", format="mixed")
    if LEAD_TIME not in frame.columns:
        frame[LEAD_TIME] = np.nan
    else:
        frame[LEAD_TIME] = pd.to_numeric(frame[LEAD_TIME], errors="coerce").astype(float)
    if GROUND_TRUTH not in frame.columns:
        frame[GROUND_TRUTH] = False
    else:
        frame[GROUND_TRUTH] = frame[GROUND_TRUTH].fillna(False).astype(bool)
    if SOURCE not in frame.columns:
        frame[SOURCE] = None
    if not isinstance(frame[SOURCE].dtype, pd.CategoricalDtype):
        frame[SOURCE] = frame[SOURCE].astype("category")
    if SOURCE_ROW not in frame.columns:
        # all-missing Int64 built from a mask: a list of pd.NA costs seconds at 1M rows
        frame[SOURCE_ROW] = pd.arrays.IntegerArray(
            np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.bool_)
        )
    else:
        frame[SOURCE_ROW] = frame[SOURCE_ROW].astype("Int64")
    ordered = list(COLUMNS) + [c for c in frame.columns if c not in COLUMNS]
    return frame[ordered]


def _id_to_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def validate(annotations: pd.DataFrame) -> pd.DataFrame:
    """Check that ``annotations`` is a canonical table; return it unchanged.

    Raises :class:`InvalidInput` naming the missing columns or the rows whose ids are
    missing.  Labels are not checked here (that needs the field's spec: see
    :func:`encode`)."""
    _require_columns(annotations)
    problems: list[InputProblem] = []
    for name in ID_COLUMNS:
        bad = annotations[name].isna().to_numpy()
        if bad.any():
            for i in np.flatnonzero(bad)[:50]:
                problems.append(_row_problem(annotations, int(i), f"{name} is missing"))
    if problems:
        raise InvalidInput("annotation table has rows without ids", problems)
    return annotations


def _row_problem(frame: pd.DataFrame, i: int, message: str) -> InputProblem:
    row = frame.iloc[i]

    def get(col: str) -> Any:
        if col not in frame.columns:
            return None
        v = row[col]
        return None if _isna(v) else v

    src_row = get(SOURCE_ROW)
    return InputProblem(
        message=message,
        source=get(SOURCE),
        source_row=int(src_row) if src_row is not None else None,
        task_id=get(TASK_ID),
        annotation_id=get(ANNOTATION_ID),
        field=get(FIELD),
    )


def _isna(value: Any) -> bool:
    if isinstance(value, (tuple, list, np.ndarray)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fields_in(annotations: pd.DataFrame) -> list[str]:
    """The field names present in ``annotations``, in order of first appearance
    (categorical order when the column is categorical)."""
    col = annotations[FIELD]
    if isinstance(col.dtype, pd.CategoricalDtype):
        cat_codes = col.cat.codes.to_numpy()
        used = np.flatnonzero(np.bincount(cat_codes[cat_codes >= 0], minlength=len(col.cat.categories)))
        return [str(col.cat.categories[int(i)]) for i in used]
    return [str(x) for x in pd.unique(col.dropna())]


def select_field(annotations: pd.DataFrame, field: str | None) -> tuple[pd.DataFrame, str]:
    """The rows of one field.  ``field=None`` is allowed when the table has one field."""
    present = fields_in(annotations)
    if field is None:
        if len(present) == 1:
            return annotations, present[0]
        if not present:
            raise InvalidInput("the annotation table is empty: no field has any answer")
        raise InvalidInput(
            f"the table has {len(present)} fields ({name_list(present)}); "
            "choose one with field=... (CLI: --field NAME)"
        )
    if field not in present:
        raise InvalidInput(
            f'field "{field}" not found; the table has: {name_list(present) or "no fields"}'
        )
    if len(present) == 1:
        return annotations, field
    return annotations[annotations[FIELD] == field], field


# --- integer encoding ----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CodedRatings:
    """One field's answers as integer codes: what every coefficient runs on.

    Arrays of shape ``(n_annotations,)``: ``task`` indexes ``task_ids``, ``label``
    indexes ``categories``.  Annotator codes are computed on first use.  For
    interval and ratio levels, ``values[c]`` is category ``c`` as a number; for
    ordinal levels the categories are in their declared order.

    ``rows`` holds the positions of these answers in the frame they were encoded
    from, so any statistic can point back to its rows.
    """

    task: IntArray
    label: IntArray
    task_ids: pd.Index
    categories: pd.Index
    values: FloatArray | None
    level: Level
    field: str
    rows: IntArray
    frame: pd.DataFrame

    @property
    def n_annotations(self) -> int:
        return int(self.task.shape[0])

    @property
    def n_tasks(self) -> int:
        return len(self.task_ids)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @cached_property
    def _annotator_codes(self) -> tuple[IntArray, pd.Index]:
        col = self.frame[ANNOTATOR_ID].to_numpy()[self.rows]
        codes, uniques = pd.factorize(col, sort=True)
        return codes.astype(np.intp, copy=False), pd.Index(uniques)

    @property
    def annotator(self) -> IntArray:
        return self._annotator_codes[0]

    @property
    def annotator_ids(self) -> pd.Index:
        return self._annotator_codes[1]

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_ids)

    def subset(self, mask: npt.NDArray[np.bool_]) -> CodedRatings:
        """The answers where ``mask`` is true, with the same categories (so per-slice
        and per-window results share one category set)."""
        task_codes, task_uniques = pd.factorize(self.task[mask], sort=False)
        return CodedRatings(
            task=task_codes.astype(np.intp, copy=False),
            label=self.label[mask],
            task_ids=self.task_ids[task_uniques],
            categories=self.categories,
            values=self.values,
            level=self.level,
            field=self.field,
            rows=self.rows[mask],
            frame=self.frame,
        )


def encode(
    annotations: pd.DataFrame,
    *,
    field: str | None = None,
    level: Level = "nominal",
    categories: Sequence[Any] | None = None,
) -> CodedRatings:
    """Encode one field's labels as integer codes.

    Parameters
    ----------
    annotations : canonical table.
    field : which field; may be omitted when the table has one.
    level : level of measurement.  ``interval`` and ``ratio`` read labels as numbers
        (numeric-looking strings are converted); ``ordinal`` needs an order: numeric
        labels are ordered by value, string labels need ``categories``.
    categories : the declared categories in order.  Labels outside them are an error
        that names the rows.  Unused declared categories are kept (they count where a
        coefficient depends on the number of categories).

    Rows whose label is missing are skipped (a missing judgement).  Multi-choice
    labels (tuples) are nominal categories of their own here; set-valued distances
    belong to a later module.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    _require_columns(annotations)
    frame, field_name = select_field(annotations, field)
    # One factorize of the labels: code -1 marks a missing label, and every per-level
    # conversion below works on the (few) distinct labels, never row by row.
    raw_codes: npt.NDArray[np.int64]
    uniques: npt.NDArray[Any]
    raw_codes, uniques = pd.factorize(frame[LABEL].to_numpy(), sort=False)
    uniques = np.asarray(uniques, dtype=object)
    present = raw_codes >= 0
    all_rows = np.arange(len(frame)) if present.all() else np.flatnonzero(present)
    if len(all_rows) != len(frame):
        raw_codes = raw_codes[all_rows]

    def bad_rows(unique_mask: npt.NDArray[np.bool_]) -> IntArray:
        rows: IntArray = all_rows[unique_mask[raw_codes]]
        return rows

    values: FloatArray | None = None
    if level in NUMERIC_LEVELS or (level == "ordinal" and categories is None):
        numeric_uniques = _as_numbers(uniques)
        bad = np.isnan(numeric_uniques)
        if bad.any():
            if level == "ordinal":
                found = name_list(sorted({str(x) for x in uniques[bad]}))
                raise InvalidInput(
                    f'field "{field_name}" is ordinal but has non-numeric labels ({found}); '
                    "declare their order with categories=[...] (CLI: --categories A,B,C)"
                )
            rows = bad_rows(bad)
            raise InvalidInput(
                f'field "{field_name}": {len(rows)} label(s) are not numbers, '
                f"as the {level} level needs",
                [
                    _row_problem(frame, int(i), f"label {frame[LABEL].iloc[int(i)]!r} is not a number")
                    for i in rows[:50]
                ],
            )
        if categories is not None:
            declared = np.asarray([float(c) for c in categories], dtype=float)
            remap = _declared_index(numeric_uniques, declared, uniques, frame, bad_rows, field_name)
            cats = pd.Index(declared)
            values = declared
        else:
            # "1" and "1.0" are one number: re-unique on the values
            distinct, remap = np.unique(numeric_uniques, return_inverse=True)
            cats = pd.Index(distinct)
            values = distinct.astype(float)
    elif categories is not None:
        remap = _declared_index(uniques, list(categories), uniques, frame, bad_rows, field_name)
        cats = pd.Index(list(categories))
        if level == "ordinal":
            try:
                values = np.asarray([float(c) for c in categories], dtype=float)
            except (TypeError, ValueError):
                values = None
    else:
        keys = [_sort_key(u) for u in uniques]
        order = np.asarray(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.intp)
        remap = np.empty(len(order), dtype=np.intp)
        remap[order] = np.arange(len(order))
        cats = pd.Index(uniques[order], dtype=object)
    codes = np.asarray(remap, dtype=np.intp)[raw_codes]

    task_col: npt.NDArray[Any] = frame[TASK_ID].to_numpy()
    if len(all_rows) != len(frame):
        task_col = task_col[all_rows]
    task_codes, task_uniques = pd.factorize(task_col, sort=False)
    if (task_codes < 0).any():
        missing = all_rows[task_codes < 0]
        raise InvalidInput(
            "annotation table has rows without ids",
            [_row_problem(frame, int(i), f"{TASK_ID} is missing") for i in missing[:50]],
        )
    return CodedRatings(
        task=task_codes.astype(np.intp, copy=False),
        label=codes,
        task_ids=pd.Index(task_uniques),
        categories=cats,
        values=values,
        level=level,
        field=field_name,
        rows=all_rows.astype(np.intp, copy=False),
        frame=frame,
    )


def _require_columns(annotations: pd.DataFrame) -> None:
    if not isinstance(annotations, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(annotations).__name__}")
    missing = [c for c in REQUIRED if c not in annotations.columns]
    if missing:
        raise InvalidInput(
            f"not a canonical annotation table: missing column(s) {', '.join(missing)}; "
            f"found {name_list(annotations.columns)}"
        )


def _sort_key(value: Any) -> tuple[int, Any]:
    # numbers before strings before tuples; each group in its natural order
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value)
    return (2, str(value))


def _as_numbers(raw: npt.NDArray[Any]) -> FloatArray:
    if raw.dtype.kind in "fiub":
        return raw.astype(float)
    return np.asarray(pd.to_numeric(pd.Series(raw), errors="coerce"), dtype=float)


def _declared_index(
    keys: npt.NDArray[Any] | Sequence[Any],
    declared: Sequence[Any] | FloatArray,
    shown: npt.NDArray[Any],
    frame: pd.DataFrame,
    bad_rows: Any,
    field_name: str,
) -> IntArray:
    """Position of each distinct label (``keys``) among the declared categories;
    an error naming the rows of labels that are not declared."""
    cats = pd.Index(list(declared))
    if cats.has_duplicates:
        raise ValueError(f"categories contain duplicates: {name_list(cats[cats.duplicated()])}")
    index = cats.get_indexer(list(keys))
    unknown_mask = index < 0
    if unknown_mask.any():
        rows = bad_rows(unknown_mask)
        unknown = name_list(sorted({str(x) for x in shown[unknown_mask]}))
        raise InvalidInput(
            f'field "{field_name}": {len(rows)} label(s) are not among the declared '
            f"categories ({name_list(cats)}); unknown: {unknown}",
            [
                _row_problem(
                    frame, int(i), f"label {frame[LABEL].iloc[int(i)]!r} is not a declared category"
                )
                for i in rows[:50]
            ],
        )
    positions: IntArray = np.asarray(index, dtype=np.intp)
    return positions


# --- derived shapes ------------------------------------------------------------------
def count_matrix(coded: CodedRatings) -> npt.NDArray[np.int64]:
    """Task x category counts ``n[i, k]``: how many answers put task ``i`` in category
    ``k`` (statsmodels calls this ``aggregate_raters``).  Shape ``(n_tasks, n_categories)``.

    Every answer counts, including repeated answers by one annotator on one task."""
    k = coded.n_categories
    flat = np.bincount(coded.task * k + coded.label, minlength=coded.n_tasks * k)
    return flat.reshape(coded.n_tasks, k)


DuplicatePolicy = Literal["latest", "first", "error"]


def rating_matrix(
    coded: CodedRatings, *, duplicates: DuplicatePolicy = "latest"
) -> npt.NDArray[np.float64]:
    """Annotator x task matrix of category codes (``nan`` where an annotator did not
    answer), the shape of Krippendorff's reliability data and of Cohen/Conger.

    An annotator who answered a task more than once has one cell: ``duplicates``
    chooses the latest answer by ``created_at`` (then by row order), the first, or
    raises naming the task and annotator.  Count-based coefficients keep every answer;
    this shape cannot."""
    a, t = coded.annotator, coded.task
    cell = a.astype(np.int64) * coded.n_tasks + t
    order = np.arange(len(cell))
    keys = created_at_keys(coded)
    if keys is not None:
        order = np.lexsort((np.arange(len(cell)), keys))
    cell_sorted = cell[order]
    if duplicates == "error":
        _, counts = np.unique(cell, return_counts=True)
        if (counts > 1).any():
            dup = np.unique(cell[np.isin(cell, np.unique(cell)[counts > 1])])[:10]
            pairs = [
                f"annotator {coded.annotator_ids[c // coded.n_tasks]} on task "
                f"{coded.task_ids[c % coded.n_tasks]}"
                for c in dup
            ]
            raise InvalidInput(
                "some annotators answered a task more than once: " + "; ".join(pairs)
            )
    matrix = np.full(coded.n_annotators * coded.n_tasks, np.nan)
    if duplicates == "first":
        matrix[cell_sorted[::-1]] = coded.label[order][::-1]
    else:
        matrix[cell_sorted] = coded.label[order]  # later writes win: latest answer
    return matrix.reshape(coded.n_annotators, coded.n_tasks)


def compact_codes(codes: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """Renumber ``codes`` (values in ``0..size-1``) to ``0..n_used-1``, keeping order.

    Returns ``(used, new_codes)`` with ``used`` the sorted distinct old codes: what
    ``np.unique(codes, return_inverse=True)`` returns, in O(n + size) with one bincount
    instead of a sort."""
    present = np.bincount(codes, minlength=size) > 0
    used: IntArray = np.flatnonzero(present).astype(np.intp, copy=False)
    remap = np.cumsum(present, dtype=np.intp) - 1
    new_codes: IntArray = remap[codes]
    return used, new_codes


def n_distinct(codes: IntArray, size: int) -> int:
    """How many distinct values ``codes`` (in ``0..size-1``) takes, without sorting."""
    return int(np.count_nonzero(np.bincount(codes, minlength=size)))


def created_at_keys(coded: CodedRatings) -> npt.NDArray[np.int64] | None:
    """``created_at`` of each coded answer as int64 nanoseconds (NaT is the smallest
    value, so a missing time sorts first), or None when the column is not a datetime.
    Reads the datetime array's integers directly: ``to_numpy()`` on a tz-aware column
    builds one Python object per row."""
    if CREATED_AT not in coded.frame.columns:
        return None
    col = coded.frame[CREATED_AT]
    if not pd.api.types.is_datetime64_any_dtype(col.dtype):
        return None
    return np.asarray(col.array.asi8)[coded.rows]


def task_column(dataset_tasks: pd.DataFrame, annotations: pd.DataFrame, column: str) -> pd.Series:
    """Values of a slicing column for each annotation row: from the annotation table
    when it has the column, else looked up in the task table by ``task_id``."""
    if column in annotations.columns:
        return annotations[column]
    if column in dataset_tasks.columns:
        lookup = dataset_tasks.set_index(TASK_ID)[column]
        return annotations[TASK_ID].map(lookup)
    available = [c for c in dataset_tasks.columns if c != TASK_ID]
    available += [c for c in annotations.columns if c not in COLUMNS]
    raise InvalidInput(
        f'no column "{column}" to slice by; available: {name_list(available) or "none"}'
    )
