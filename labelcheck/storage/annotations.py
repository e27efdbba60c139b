"""Bulk import of a :class:`~labelcheck.table.Dataset` into a project, and bulk load of a
project back into the canonical table.

Import is one transaction and a diff: the rows of the data source already stored are
compared with the new ones by key (annotation id, field) and content hash, so
re-importing the same export writes nothing, a changed annotation is replaced, and a
missing one is removed.  A failure anywhere rolls everything back: the project keeps
its previous snapshot.  Rows move in bulk: ``executemany`` on SQLite, ``COPY`` on
PostgreSQL, both on the connection of the same transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select, text, update

from labelcheck import table as T
from labelcheck.storage.database import Database
from labelcheck.storage.labels import (
    join_labels,
    split_labels,
    timestamps_for_sql,
    timestamps_from_sql,
)
from labelcheck.storage.models import Annotator, DataSource, Field, Project

Progress = Callable[[float, str], None]

#: Stored annotation columns, in bulk-path order.
ANNOTATION_COLUMNS = (
    "task_id", "annotation_id", "annotator_id", "field",
    "label_text", "label_number", "label_json",
    "created_at", "updated_at", "lead_time", "ground_truth", "source_row", "row_hash",
)
_CONTENT = ANNOTATION_COLUMNS[:-1]
#: A task data column becomes a slice (``item_meta``) when it holds scalars with at
#: most this many distinct values.
MAX_SLICE_VALUES = 100


@dataclass
class ImportCounts:
    """What one import changed."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    items_added: int = 0
    items_updated: int = 0
    snapshot: int = 0
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _noop(_fraction: float, _message: str) -> None:
    return None


# --- rows ---------------------------------------------------------------------------
def storage_frame(annotations: pd.DataFrame) -> pd.DataFrame:
    """The canonical table in stored columns (labels split, times as text, a content
    hash per row)."""
    label_text, label_number, label_json = split_labels(annotations[T.LABEL])
    frame = pd.DataFrame({
        "task_id": annotations[T.TASK_ID].to_numpy(dtype=object),
        "annotation_id": annotations[T.ANNOTATION_ID].to_numpy(dtype=object),
        "annotator_id": annotations[T.ANNOTATOR_ID].to_numpy(dtype=object),
        "field": annotations[T.FIELD].astype(str).to_numpy(dtype=object),
        "label_text": label_text,
        "label_number": label_number,
        "label_json": label_json,
        "created_at": timestamps_for_sql(annotations[T.CREATED_AT]),
        "updated_at": timestamps_for_sql(annotations[T.UPDATED_AT]),
        "lead_time": annotations[T.LEAD_TIME].to_numpy(dtype=float),
        "ground_truth": annotations[T.GROUND_TRUTH].to_numpy(dtype=bool),
        "source_row": annotations[T.SOURCE_ROW].to_numpy(dtype=float, na_value=np.nan),
    })
    frame["row_hash"] = pd.util.hash_pandas_object(frame, index=False).to_numpy().view(np.int64)
    return frame


def _keys(frame: pd.DataFrame) -> pd.Series:
    """One key per row: annotation id, field and the row's rank among rows sharing them."""
    rank = frame.groupby(["annotation_id", "field"], sort=False).cumcount().astype(str)
    return frame["annotation_id"].astype(str) + "\x1f" + frame["field"].astype(str) + "\x1f" + rank


def _python_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[list[Any]]:
    """Columns as lists of plain Python values, None for missing (what both drivers take)."""
    out: list[list[Any]] = []
    for name in columns:
        values = frame[name].to_numpy()
        if values.dtype.kind == "f":
            lst = values.tolist()
            for i in np.flatnonzero(np.isnan(values)):
                lst[i] = None
            if name == "source_row":
                lst = [None if v is None else int(v) for v in lst]
        elif values.dtype.kind in "iub":
            lst = values.tolist()
        else:
            lst = [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v
                   for v in values.tolist()]
        out.append(lst)
    return out


def bulk_insert(conn: Connection, table_name: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert ``rows`` through the driver's bulk path on the transaction's connection."""
    raw = conn.connection.driver_connection
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table_name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(columns))
        cursor = raw.cursor()
        try:
            cursor.executemany(f"INSERT INTO {table_name} ({names}) VALUES ({marks})", rows)
        finally:
            cursor.close()


def _delete_ids(conn: Connection, table_name: str, ids: np.ndarray) -> None:
    if len(ids) == 0:
        return
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table_name} WHERE id = ANY(%s)", [ids.tolist()])
    else:
        cursor = raw.cursor()
        try:
            cursor.executemany(f"DELETE FROM {table_name} WHERE id = ?", [(int(i),) for i in ids])
        finally:
            cursor.close()


# --- import -------------------------------------------------------------------------
def import_dataset(
    db: Database,
    project_id: int,
    source_id: int,
    dataset: T.Dataset,
    *,
    progress: Progress = _noop,
) -> ImportCounts:
    """Replace data source ``source_id``'s rows in project ``project_id`` with
    ``dataset``'s, in one transaction, writing only what changed.

    Returns the counts of added, updated, removed and unchanged annotation rows and of
    new or changed items; the project's ``snapshot`` increases when anything changed.
    """
    counts = ImportCounts()
    progress(0.05, "preparing rows")
    new = storage_frame(dataset.annotations)
    new["key"] = _keys(new).to_numpy()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT id FROM project WHERE id = :p FOR UPDATE"), {"p": project_id})
        old = _stored_keys(conn, source_id)
        progress(0.2, "comparing with the stored rows")
        merged = new[["key", "row_hash"]].merge(
            old, on="key", how="outer", suffixes=("", "_old"), indicator=True
        )
        added = merged["_merge"] == "left_only"
        removed = merged["_merge"] == "right_only"
        both = merged["_merge"] == "both"
        changed = both & (merged["row_hash"] != merged["row_hash_old"])
        counts.added = int(added.sum())
        counts.removed = int(removed.sum())
        counts.updated = int(changed.sum())
        counts.unchanged = int(both.sum()) - counts.updated
        stale = merged.loc[removed | changed, "id"].to_numpy(dtype=np.int64)
        _delete_ids(conn, "annotation", stale)
        progress(0.35, f"writing {counts.added + counts.updated} annotation rows")
        fresh_keys = set(merged.loc[added | changed, "key"])
        fresh = new[new["key"].isin(fresh_keys)] if len(fresh_keys) < len(new) else new
        if len(fresh):
            lists = _python_columns(fresh, ANNOTATION_COLUMNS)
            n = len(fresh)
            rows = zip([project_id] * n, [source_id] * n, *lists)
            bulk_insert(conn, "annotation", ("project_id", "source_id", *ANNOTATION_COLUMNS), rows)
        progress(0.75, "writing items")
        counts.items_added, counts.items_updated = _upsert_items(conn, project_id, source_id, dataset.tasks)
        _upsert_fields(conn, project_id, dataset.fields)
        _upsert_annotators(conn, project_id, new["annotator_id"].unique())
        content_hash = hashlib.sha256(np.sort(new["row_hash"].to_numpy()).tobytes()).hexdigest()
        counts.changed = bool(counts.added or counts.updated or counts.removed
                              or counts.items_added or counts.items_updated)
        counts.snapshot = _finish_snapshot(conn, project_id, source_id, content_hash, counts.changed)
    progress(1.0, "done")
    return counts


def _stored_keys(conn: Connection, source_id: int) -> pd.DataFrame:
    rows = conn.execute(
        text("SELECT id, annotation_id, field, row_hash FROM annotation "
             "WHERE source_id = :s ORDER BY id"), {"s": source_id}
    ).all()
    frame = pd.DataFrame(rows, columns=["id", "annotation_id", "field", "row_hash"])
    if frame.empty:
        return pd.DataFrame({"key": pd.Series([], dtype=object),
                             "row_hash": pd.Series([], dtype=np.int64),
                             "id": pd.Series([], dtype=np.int64)})
    frame["key"] = _keys(frame).to_numpy()
    return frame[["key", "row_hash", "id"]]


def _finish_snapshot(conn: Connection, project_id: int, source_id: int, content_hash: str, changed: bool) -> int:
    source = conn.execute(select(DataSource.settings).where(DataSource.id == source_id)).scalar_one()
    settings = dict(source or {})
    settings["content_hash"] = content_hash
    conn.execute(update(DataSource).where(DataSource.id == source_id).values(settings=settings))
    hashes = sorted(
        (s or {}).get("content_hash", "")
        for s in conn.execute(select(DataSource.settings).where(DataSource.project_id == project_id)).scalars()
    )
    snapshot = conn.execute(select(Project.snapshot).where(Project.id == project_id)).scalar_one()
    if changed:
        snapshot += 1
    conn.execute(
        update(Project).where(Project.id == project_id).values(
            snapshot=snapshot, snapshot_hash=hashlib.sha256("".join(hashes).encode()).hexdigest()
        )
    )
    return int(snapshot)


def slice_columns(tasks: pd.DataFrame) -> list[str]:
    """Task data columns usable as slices: scalar values, at most ``MAX_SLICE_VALUES``
    distinct ones."""
    out = []
    for name in tasks.columns:
        if name == T.TASK_ID:
            continue
        col = tasks[name].dropna()
        if col.empty or not col.map(lambda v: isinstance(v, (str, int, float, bool, np.generic))).all():
            continue
        if col.nunique() <= MAX_SLICE_VALUES:
            out.append(name)
    return out


def _item_data(tasks: pd.DataFrame) -> tuple[list[str], list[str], np.ndarray]:
    ids = tasks[T.TASK_ID].astype(str).tolist()
    columns = [c for c in tasks.columns if c != T.TASK_ID]
    records = tasks[columns].to_dict("records") if columns else [{} for _ in ids]
    texts = [
        json.dumps({k: _plain(v) for k, v in r.items() if not _missing(v)}, sort_keys=True, default=str)
        for r in records
    ]
    hashes = pd.util.hash_array(np.asarray(texts, dtype=object)).view(np.int64)
    return ids, texts, hashes


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _upsert_items(conn: Connection, project_id: int, source_id: int, tasks: pd.DataFrame) -> tuple[int, int]:
    if tasks is None or tasks.empty:
        return 0, 0
    tasks = tasks.drop_duplicates(T.TASK_ID, keep="last")
    ids, texts, hashes = _item_data(tasks)
    stored = dict(conn.execute(
        text("SELECT task_id, data_hash FROM item WHERE project_id = :p"), {"p": project_id}
    ).all())
    new_rows, changed_rows = [], []
    for task_id, data, h in zip(ids, texts, hashes.tolist()):
        old = stored.get(task_id)
        if old is None:
            new_rows.append((project_id, task_id, data, h, source_id))
        elif old != h:
            changed_rows.append({"data": data, "h": h, "p": project_id, "t": task_id})
    if new_rows:
        bulk_insert(conn, "item", ("project_id", "task_id", "data", "data_hash", "source_id"), new_rows)
    if changed_rows:
        conn.execute(text("UPDATE item SET data = :data, data_hash = :h "
                          "WHERE project_id = :p AND task_id = :t"), changed_rows)
    touched = {r[1] for r in new_rows} | {r["t"] for r in changed_rows}
    if touched:
        _write_item_meta(conn, project_id, tasks[tasks[T.TASK_ID].astype(str).isin(touched)], bool(changed_rows))
    return len(new_rows), len(changed_rows)


def _write_item_meta(conn: Connection, project_id: int, tasks: pd.DataFrame, replace: bool) -> None:
    columns = slice_columns(tasks)
    task_ids = tasks[T.TASK_ID].astype(str).to_numpy()
    if replace:
        conn.execute(text("DELETE FROM item_meta WHERE project_id = :p AND task_id = :t"),
                     [{"p": project_id, "t": t} for t in task_ids])
    rows: list[tuple[Any, ...]] = []
    for name in columns:
        values = tasks[name].to_numpy(dtype=object)
        for task_id, value in zip(task_ids, values):
            if not _missing(value):
                rows.append((project_id, task_id, str(name), str(_plain(value))[:500]))
    if rows:
        bulk_insert(conn, "item_meta", ("project_id", "task_id", "key", "value"), rows)


def _upsert_fields(conn: Connection, project_id: int, fields: Any) -> None:
    stored = {name: fid for fid, name in conn.execute(
        select(Field.id, Field.name).where(Field.project_id == project_id)).all()}
    for position, spec in enumerate(dict(fields or {}).values()):
        values = {
            "value_type": spec.value_type, "level": spec.level, "to_name": spec.to_name,
            "categories": [_plain(c) for c in spec.categories] if spec.categories is not None else None,
        }
        if spec.name in stored:
            conn.execute(update(Field).where(Field.id == stored[spec.name]).values(**values))
        else:
            conn.execute(Field.__table__.insert().values(
                project_id=project_id, name=spec.name, position=len(stored) + position, **values))


def _upsert_annotators(conn: Connection, project_id: int, annotator_ids: np.ndarray) -> None:
    stored = set(conn.execute(
        select(Annotator.annotator_id).where(Annotator.project_id == project_id)).scalars())
    missing = [str(a) for a in annotator_ids if str(a) not in stored]
    if missing:
        conn.execute(Annotator.__table__.insert(), [
            {"project_id": project_id, "annotator_id": a, "email": a if "@" in a else None}
            for a in missing
        ])


# --- load ---------------------------------------------------------------------------
def load_dataset(db: Database, project_id: int) -> T.Dataset:
    """The project's annotations as the canonical table, with its task table, field
    specs and a report (``source`` = the project)."""
    with db.engine.connect() as conn:
        names = dict(conn.execute(
            select(DataSource.id, DataSource.name).where(DataSource.project_id == project_id)).all())
        frame = _read_annotations(conn, project_id)
        tasks = _read_items(conn, project_id)
        specs = _read_fields(conn, project_id)
    annotations = pd.DataFrame({
        T.TASK_ID: frame["task_id"],
        T.ANNOTATION_ID: frame["annotation_id"],
        T.ANNOTATOR_ID: frame["annotator_id"],
        T.FIELD: pd.Categorical(frame["field"]),
        T.LABEL: join_labels(frame["label_text"].to_numpy(dtype=object),
                             frame["label_number"].to_numpy(dtype=float),
                             frame["label_json"].to_numpy(dtype=object)),
        T.CREATED_AT: timestamps_from_sql(frame["created_at"]).to_numpy(),
        T.UPDATED_AT: timestamps_from_sql(frame["updated_at"]).to_numpy(),
        T.LEAD_TIME: frame["lead_time"].to_numpy(dtype=float),
        T.GROUND_TRUTH: frame["ground_truth"].to_numpy(dtype=bool),
        T.SOURCE: pd.Categorical(frame["source_id"].map(names)),
        T.SOURCE_ROW: pd.array(frame["source_row"], dtype="Int64"),
    })
    annotations = T.normalise(annotations)
    report = T.ImportReport(source=f"project {project_id}", n_rows=len(annotations),
                            n_annotations=int(annotations[T.ANNOTATION_ID].nunique()))
    return T.Dataset(annotations=annotations, tasks=tasks, fields=specs, report=report)


_LOAD_COLUMNS = ("source_id", *ANNOTATION_COLUMNS[:-1])


def _read_annotations(conn: Connection, project_id: int) -> pd.DataFrame:
    if conn.dialect.name == "postgresql":
        return _copy_out(conn, project_id)
    raw = conn.connection.driver_connection
    cursor = raw.cursor()
    try:
        cursor.execute(f"SELECT {', '.join(_LOAD_COLUMNS)} FROM annotation "
                       "WHERE project_id = ? ORDER BY id", (project_id,))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in _LOAD_COLUMNS}).assign(
            label_number=pd.Series([], dtype=float), lead_time=pd.Series([], dtype=float),
            ground_truth=pd.Series([], dtype=bool), source_row=pd.Series([], dtype=float))
    columns = list(zip(*rows))
    frame = pd.DataFrame({name: np.asarray(col, dtype=object) for name, col in zip(_LOAD_COLUMNS, columns)})
    for name in ("label_number", "lead_time", "source_row"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    frame["ground_truth"] = frame["ground_truth"].astype(bool)
    return frame


def _copy_out(conn: Connection, project_id: int) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    select_list = ", ".join(
        f"to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS {c}"
        if c in ("created_at", "updated_at") else c
        for c in _LOAD_COLUMNS
    )
    buffer = io.BytesIO()
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:
        query = (f"COPY (SELECT {select_list} FROM annotation WHERE project_id = {int(project_id)} "
                 "ORDER BY id) TO STDOUT WITH (FORMAT csv)")
        with cursor.copy(query) as copy:
            for block in copy:
                buffer.write(block)
    buffer.seek(0)
    types = {c: pa.string() for c in _LOAD_COLUMNS}
    types.update(source_id=pa.int64(), label_number=pa.float64(), lead_time=pa.float64(),
                 ground_truth=pa.string(), source_row=pa.float64())
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=list(_LOAD_COLUMNS)),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                             quoted_strings_can_be_null=False),
    )
    frame = table.to_pandas()
    for name in _LOAD_COLUMNS:
        if frame[name].dtype != float and name not in ("source_id",):
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    frame["ground_truth"] = frame["ground_truth"].eq("t")
    return frame


def _read_items(conn: Connection, project_id: int) -> pd.DataFrame:
    rows = conn.execute(
        text("SELECT task_id, data FROM item WHERE project_id = :p ORDER BY id"), {"p": project_id}
    ).all()
    if not rows:
        return pd.DataFrame({T.TASK_ID: pd.Series([], dtype=object)})
    records = []
    for task_id, data in rows:
        record = json.loads(data) if isinstance(data, str) else dict(data or {})
        record[T.TASK_ID] = task_id
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    return frame[[T.TASK_ID] + [c for c in frame.columns if c != T.TASK_ID]]


def _read_fields(conn: Connection, project_id: int) -> dict[str, T.FieldSpec]:
    rows = conn.execute(
        select(Field.name, Field.value_type, Field.level, Field.categories, Field.to_name)
        .where(Field.project_id == project_id).order_by(Field.position)
    ).all()
    return {
        name: T.FieldSpec(name=name, value_type=value_type, level=level, to_name=to_name,
                          categories=tuple(categories) if categories is not None else None)
        for name, value_type, level, categories, to_name in rows
    }
