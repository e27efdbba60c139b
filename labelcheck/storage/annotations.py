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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, select, text, update

from labelcheck import table as T
from labelcheck.storage.database import Database
from labelcheck.storage.labels import join_labels, split_labels, timestamps_from_us, timestamps_to_us
from labelcheck.storage.models import Annotator, DataSource, Field, Project

Progress = Callable[[float, str], None]

#: Stored annotation columns, in bulk-path order.
ANNOTATION_COLUMNS = (
    "task_id", "annotation_id", "annotator_id", "field",
    "label_text", "label_number", "label_json",
    "created_at_us", "updated_at_us", "lead_time", "ground_truth", "source_row", "row_hash",
)
_INTEGER_COLUMNS = frozenset({"created_at_us", "updated_at_us", "source_row"})
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
        "created_at_us": timestamps_to_us(annotations[T.CREATED_AT]),
        "updated_at_us": timestamps_to_us(annotations[T.UPDATED_AT]),
        "lead_time": annotations[T.LEAD_TIME].to_numpy(dtype=float),
        "ground_truth": annotations[T.GROUND_TRUTH].to_numpy(dtype=bool),
        "source_row": annotations[T.SOURCE_ROW].to_numpy(dtype=float, na_value=np.nan),
    })
    frame["row_hash"] = pd.util.hash_pandas_object(frame, index=False).to_numpy().view(np.int64)
    return frame


def _keys(frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """One 64-bit key per row: a hash of annotation id, field and the row's rank among
    rows sharing them (usually 0).  A hash collision would merge two keys; at 64 bits
    the chance for a million rows is about 3e-8, and :func:`import_dataset` checks the
    new rows' keys are distinct."""
    pair = pd.util.hash_pandas_object(frame[["annotation_id", "field"]], index=False).to_numpy()
    rank = np.zeros(len(frame), dtype=np.uint64)
    repeated = pd.Series(pair).duplicated(keep=False).to_numpy()
    if repeated.any():
        rank[repeated] = pd.Series(pair[repeated]).groupby(pair[repeated]).cumcount().to_numpy()
    mixed = pd.util.hash_array(pair ^ (rank * np.uint64(0x9E3779B97F4A7C15)))
    return mixed.view(np.int64)


def _python_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[list[Any]]:
    """Columns as lists of plain Python values, None for missing (what both drivers take)."""
    out: list[list[Any]] = []
    for name in columns:
        values = frame[name].to_numpy()
        if values.dtype.kind == "f":
            lst = values.tolist()
            for i in np.flatnonzero(np.isnan(values)):
                lst[i] = None
            if name in _INTEGER_COLUMNS:
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


_CSV_NULL = "\\N"
_CSV_CHUNK = 200_000


def bulk_insert_frame(conn: Connection, table_name: str, columns: Sequence[str], frame: pd.DataFrame,
                      constants: dict[str, Any]) -> None:
    """Insert ``frame[columns]`` plus constant columns in bulk.  On PostgreSQL the rows go
    to ``COPY ... (FORMAT csv)`` as text pandas writes in C, which is several times
    faster than a row at a time; ``\\N`` marks NULL (a string label equal to ``\\N``
    takes the row-at-a-time path instead)."""
    names = [*constants, *columns]
    if conn.dialect.name != "postgresql" or _has_null_marker(frame, columns):
        lists = _python_columns(frame, columns)
        n = len(frame)
        bulk_insert(conn, table_name, names, zip(*([[v] * n for v in constants.values()]), *lists))
        return
    out = pd.DataFrame({name: value for name, value in constants.items()}, index=frame.index)
    for name in columns:
        column = frame[name]
        out[name] = column.astype("Int64") if name in _INTEGER_COLUMNS else column
    raw = conn.connection.driver_connection
    sql = f"COPY {table_name} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, NULL '{_CSV_NULL}')"
    # The queued writer sends from a thread: pandas formats the next chunk while the
    # server parses the last one (the server is the slower side; measured in bench.py).
    with raw.cursor() as cursor, cursor.copy(sql, writer=QueuedLibpqWriter(cursor)) as copy:
        for lo in range(0, len(out), _CSV_CHUNK):
            copy.write(out.iloc[lo:lo + _CSV_CHUNK].to_csv(header=False, index=False, na_rep=_CSV_NULL))


def _has_null_marker(frame: pd.DataFrame, columns: Sequence[str]) -> bool:
    for name in columns:
        column = frame[name]
        if column.dtype == object and (column == _CSV_NULL).any():
            return True
    return False


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
    annotator_emails: Mapping[str, str] | None = None,
) -> ImportCounts:
    """Replace data source ``source_id``'s rows in project ``project_id`` with
    ``dataset``'s, in one transaction, writing only what changed.

    Returns the counts of added, updated, removed and unchanged annotation rows and of
    new or changed items; the project's ``snapshot`` increases when anything changed.
    ``annotator_emails`` (``{annotator id: e-mail}``, e.g. Label Studio's users) sets
    the annotators' e-mails; an annotator missing from it keeps the stored one.
    """
    counts = ImportCounts()
    progress(0.05, "preparing rows")
    new = storage_frame(dataset.annotations)
    new["key"] = _keys(new)
    if new["key"].duplicated().any():  # pragma: no cover - a 64-bit collision
        raise RuntimeError("two annotation rows share a 64-bit key hash; please report this")
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
        fresh_keys = merged.loc[added | changed, "key"].to_numpy()
        fresh = new[new["key"].isin(fresh_keys)] if len(fresh_keys) < len(new) else new
        if len(fresh):
            bulk_insert_frame(conn, "annotation", ANNOTATION_COLUMNS, fresh,
                              {"project_id": project_id, "source_id": source_id})
        progress(0.75, "writing items")
        counts.items_added, counts.items_updated = _upsert_items(conn, project_id, source_id, dataset.tasks)
        _upsert_fields(conn, project_id, dataset.fields)
        _upsert_annotators(conn, project_id, new["annotator_id"].unique(), annotator_emails or {})
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
        return pd.DataFrame({"key": pd.Series([], dtype=np.int64),
                             "row_hash": pd.Series([], dtype=np.int64),
                             "id": pd.Series([], dtype=np.int64)})
    frame["key"] = _keys(frame)
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
        if col.empty or not _all_scalars(col):
            continue
        if col.nunique() <= MAX_SLICE_VALUES:
            out.append(name)
    return out


_SCALAR_KINDS = frozenset({"string", "integer", "floating", "mixed-integer-float", "boolean", "decimal"})


def _all_scalars(col: pd.Series) -> bool:
    """True when every value of ``col`` (no missing ones) is a str, number or bool;
    pandas' C type inference decides most columns without a Python call per value."""
    if col.dtype != object:
        return col.dtype.kind in "biuf" or isinstance(col.dtype, pd.StringDtype)
    if pd.api.types.infer_dtype(col, skipna=False) in _SCALAR_KINDS:
        return True
    return bool(col.map(lambda v: isinstance(v, (str, int, float, bool, np.generic))).all())


def _item_data(tasks: pd.DataFrame) -> tuple[list[str], list[str], np.ndarray]:
    """Each task's data as JSON text (keys sorted, missing values left out: the text of
    ``json.dumps(record, sort_keys=True, default=str)``) and a 64-bit hash of it.

    Built a column at a time: ``'"key": value'`` fragments joined with ``", "``; str and
    number columns are encoded without a per-row dict (3x faster than dumping records at
    a million rows)."""
    ids = tasks[T.TASK_ID].astype(str).tolist()
    n = len(ids)
    body = np.full(n, "", dtype=object)
    for name in sorted((c for c in tasks.columns if c != T.TASK_ID), key=str):
        column = tasks[name]
        present = ~column.isna().to_numpy()
        if not present.any():
            continue
        fragment = np.full(n, "", dtype=object)
        fragment[present] = json.dumps(str(name)) + ": " + _json_values(column[present])
        sep = np.where((body != "") & present, ", ", "")
        body = body + sep + fragment
    texts = ("{" + body + "}").tolist()
    hashes = pd.util.hash_array(np.asarray(texts, dtype=object)).view(np.int64)
    return ids, texts, hashes


def _json_values(column: pd.Series) -> npt.NDArray[np.object_]:
    """``json.dumps`` of each (present) value of ``column``, vectorised for bool, int and
    str columns."""
    kind = column.dtype.kind
    if kind == "b":
        return np.where(column.to_numpy(dtype=bool), "true", "false").astype(object)
    if kind in "iu":
        return column.astype(str).to_numpy(dtype=object)
    values = column.to_numpy(dtype=object)
    if kind == "O" and pd.api.types.infer_dtype(values, skipna=False) == "string":
        return np.asarray([json.dumps(v) for v in values], dtype=object)
    return np.asarray([json.dumps(_plain(v), sort_keys=True, default=str) for v in values], dtype=object)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _upsert_items(conn: Connection, project_id: int, source_id: int, tasks: pd.DataFrame) -> tuple[int, int]:
    if tasks is None or tasks.empty:
        return 0, 0
    tasks = tasks.drop_duplicates(T.TASK_ID, keep="last")
    ids, texts, hashes = _item_data(tasks)
    stored = dict(conn.execute(
        text("SELECT task_id, data_hash FROM item WHERE project_id = :p"), {"p": project_id}
    ).all())
    new_rows: list[int] = []
    changed_rows: list[dict[str, Any]] = []
    for k, (task_id, h) in enumerate(zip(ids, hashes.tolist())):
        old = stored.get(task_id)
        if old is None:
            new_rows.append(k)
        elif old != h:
            changed_rows.append({"data": texts[k], "h": h, "p": project_id, "t": task_id})
    if new_rows:
        frame = pd.DataFrame({"task_id": [ids[k] for k in new_rows], "data": [texts[k] for k in new_rows],
                              "data_hash": hashes[new_rows]})
        bulk_insert_frame(conn, "item", ("task_id", "data", "data_hash"), frame,
                          {"project_id": project_id, "source_id": source_id})
    if changed_rows:
        conn.execute(text("UPDATE item SET data = :data, data_hash = :h "
                          "WHERE project_id = :p AND task_id = :t"), changed_rows)
    touched = {ids[k] for k in new_rows} | {r["t"] for r in changed_rows}
    if touched:
        _write_item_meta(conn, project_id, tasks[tasks[T.TASK_ID].astype(str).isin(touched)], bool(changed_rows))
    return len(new_rows), len(changed_rows)


def _write_item_meta(conn: Connection, project_id: int, tasks: pd.DataFrame, replace: bool) -> None:
    columns = slice_columns(tasks)
    task_ids = tasks[T.TASK_ID].astype(str)
    if replace:
        conn.execute(text("DELETE FROM item_meta WHERE project_id = :p AND task_id = :t"),
                     [{"p": project_id, "t": t} for t in task_ids])
    if not columns:
        return
    long = (tasks[columns].set_axis(task_ids.to_numpy(), axis=0)
            .melt(ignore_index=False, var_name="key", value_name="value").dropna(subset=["value"]))
    values = long["value"].astype(str).str.slice(0, 500).to_numpy(dtype=object)
    frame = pd.DataFrame({"task_id": long.index.to_numpy(dtype=object),
                          "key": long["key"].astype(str).to_numpy(dtype=object), "value": values})
    bulk_insert_frame(conn, "item_meta", ("task_id", "key", "value"), frame, {"project_id": project_id})


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


def _upsert_annotators(conn: Connection, project_id: int, annotator_ids: np.ndarray,
                       emails: Mapping[str, str]) -> None:
    stored = dict(conn.execute(
        select(Annotator.annotator_id, Annotator.email).where(Annotator.project_id == project_id)).all())
    missing = [str(a) for a in annotator_ids if str(a) not in stored]
    if missing:
        conn.execute(Annotator.__table__.insert(), [
            {"project_id": project_id, "annotator_id": a,
             "email": emails.get(a) or (a if "@" in a else None)}
            for a in missing
        ])
    changed = [{"p": project_id, "a": a, "e": e} for a, e in emails.items()
               if a in stored and e and stored[a] != e]
    if changed:
        conn.execute(text("UPDATE annotator SET email = :e WHERE project_id = :p AND annotator_id = :a"), changed)


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
        T.CREATED_AT: timestamps_from_us(frame["created_at_us"].to_numpy(dtype=float)),
        T.UPDATED_AT: timestamps_from_us(frame["updated_at_us"].to_numpy(dtype=float)),
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
            created_at_us=pd.Series([], dtype=float), updated_at_us=pd.Series([], dtype=float),
            ground_truth=pd.Series([], dtype=bool), source_row=pd.Series([], dtype=float))
    columns = list(zip(*rows))
    frame = pd.DataFrame({name: np.asarray(col, dtype=object) for name, col in zip(_LOAD_COLUMNS, columns)})
    for name in ("label_number", "lead_time", "source_row", "created_at_us", "updated_at_us"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    frame["ground_truth"] = frame["ground_truth"].astype(bool)
    return frame


def _copy_out(conn: Connection, project_id: int) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    select_list = ", ".join(_LOAD_COLUMNS)
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
                 ground_truth=pa.string(), source_row=pa.float64(), created_at_us=pa.float64(),
                 updated_at_us=pa.float64())
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
