"""Storage on SQLite and PostgreSQL: schema from the migrations, bulk import and load
round trips, idempotent re-import, diffs, and all-or-nothing imports."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from labelcheck import table as T
from labelcheck.io import read_annotations
from labelcheck.storage import annotations as storage_annotations
from labelcheck.storage.annotations import import_dataset, load_dataset
from labelcheck.storage.database import Database
from labelcheck.storage.models import Annotation, Base, DataSource, Item, ItemMeta, Project
from tests.support import SENTIMENT_EXPORT

SENTIMENT = SENTIMENT_EXPORT
COMPARED = [T.TASK_ID, T.ANNOTATION_ID, T.ANNOTATOR_ID, T.FIELD, T.LABEL, T.CREATED_AT,
            T.UPDATED_AT, T.LEAD_TIME, T.GROUND_TRUTH, T.SOURCE_ROW]


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


def new_project(db: Database, source_name: str = "export.json") -> tuple[int, int]:
    with db.session() as session:
        project = Project(name="p")
        session.add(project)
        session.flush()
        source = DataSource(project_id=project.id, kind="upload", name=source_name)
        session.add(source)
        session.flush()
        return project.id, source.id


def count(db: Database, model: type, project_id: int) -> int:
    with db.session() as session:
        return int(session.execute(select(func.count()).select_from(model)
                                   .where(model.project_id == project_id)).scalar_one())


def snapshot(db: Database, project_id: int) -> int:
    with db.session() as session:
        return int(session.get(Project, project_id).snapshot)


def assert_same_table(expected: pd.DataFrame, found: pd.DataFrame) -> None:
    a = expected.reset_index(drop=True)[COMPARED]
    b = found.reset_index(drop=True)[COMPARED]
    assert len(a) == len(b)
    for column in COMPARED:
        left, right = a[column].to_numpy(dtype=object), b[column].to_numpy(dtype=object)
        same = [(x == y) or (pd.isna(x) and pd.isna(y)) if not isinstance(x, tuple) else x == y
                for x, y in zip(left, right)]
        assert all(same), f"column {column} differs at rows {np.flatnonzero(~np.array(same))[:5]}"


def test_migrations_create_exactly_the_models_schema(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_export_round_trips_through_the_database(db: Database) -> None:
    dataset = read_annotations(SENTIMENT)
    project_id, source_id = new_project(db)
    counts = import_dataset(db, project_id, source_id, dataset)
    assert counts.added == len(dataset.annotations) and counts.changed and counts.snapshot == 1
    back = load_dataset(db, project_id)
    assert_same_table(dataset.annotations, back.annotations)
    assert set(back.annotations[T.SOURCE].astype(str)) == {"export.json"}
    assert dict(back.fields) == dict(dataset.fields)
    tasks = back.tasks.set_index(T.TASK_ID)
    original = dataset.tasks.set_index(T.TASK_ID)
    assert list(tasks.index) == list(original.index)
    assert tasks.loc[original.index[0]].to_dict() == original.iloc[0].dropna().to_dict()
    # slice values are stored for SQL filtering (source and lang are task columns)
    assert count(db, ItemMeta, project_id) > 0


def test_reimporting_the_same_export_writes_nothing(db: Database) -> None:
    dataset = read_annotations(SENTIMENT)
    project_id, source_id = new_project(db)
    import_dataset(db, project_id, source_id, dataset)
    n_rows = count(db, Annotation, project_id)
    again = import_dataset(db, project_id, source_id, read_annotations(SENTIMENT))
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == n_rows and not again.changed
    assert count(db, Annotation, project_id) == n_rows
    assert count(db, Item, project_id) == len(dataset.tasks)
    assert snapshot(db, project_id) == 1


def test_a_changed_export_adds_updates_and_removes(db: Database) -> None:
    dataset = read_annotations(SENTIMENT)
    project_id, source_id = new_project(db)
    import_dataset(db, project_id, source_id, dataset)
    frame = dataset.annotations.copy()
    sentiment = frame.index[frame[T.FIELD] == "sentiment"]
    frame.loc[sentiment[0], T.LABEL] = "changed-label"
    frame = frame.drop(index=sentiment[1:3])
    extra = frame.loc[[sentiment[5]]].copy()
    extra[T.ANNOTATION_ID] = "new-annotation"
    frame = T.normalise(pd.concat([frame, extra], ignore_index=True))
    changed = T.Dataset(frame, dataset.tasks, dataset.fields, dataset.report)
    counts = import_dataset(db, project_id, source_id, changed)
    assert (counts.added, counts.updated, counts.removed) == (1, 1, 2)
    assert counts.snapshot == 2
    assert_same_table(frame, load_dataset(db, project_id).annotations.pipe(
        lambda t: t.set_index([T.ANNOTATION_ID, T.FIELD]).loc[
            pd.MultiIndex.from_frame(frame[[T.ANNOTATION_ID, T.FIELD]].astype(str))].reset_index()))


def test_a_failing_import_leaves_the_project_as_it_was(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = read_annotations(SENTIMENT)
    project_id, source_id = new_project(db)
    import_dataset(db, project_id, source_id, dataset)
    before = load_dataset(db, project_id).annotations
    frame = dataset.annotations.copy()
    frame[T.LABEL] = frame[T.LABEL].map(lambda v: f"{v}-v2")
    changed = T.Dataset(T.normalise(frame), dataset.tasks, dataset.fields, dataset.report)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")  # after the annotation rows were written

    monkeypatch.setattr(storage_annotations, "_upsert_fields", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        import_dataset(db, project_id, source_id, changed)
    assert snapshot(db, project_id) == 1
    assert_same_table(before, load_dataset(db, project_id).annotations)


def test_two_sources_keep_their_own_rows(db: Database) -> None:
    dataset = read_annotations(SENTIMENT)
    project_id, first = new_project(db)
    with db.session() as session:
        second = DataSource(project_id=project_id, kind="upload", name="second.json")
        session.add(second)
        session.flush()
        second_id = second.id
    import_dataset(db, project_id, first, dataset)
    frame = dataset.annotations.copy()
    frame[T.ANNOTATION_ID] = "b" + frame[T.ANNOTATION_ID].astype(str)
    other = T.Dataset(T.normalise(frame), dataset.tasks, dataset.fields, dataset.report)
    counts = import_dataset(db, project_id, second_id, other)
    assert counts.added == len(frame) and counts.removed == 0
    assert count(db, Annotation, project_id) == 2 * len(frame)


# --- property: any canonical table survives the round trip --------------------------
LABELS = st.one_of(
    st.text(min_size=0, max_size=8),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True).map(
        lambda xs: tuple(sorted(xs))),
    st.builds(lambda s, n, lab: (T.Span(s, s + n, (lab,), None),),
              st.integers(0, 50), st.integers(1, 10), st.sampled_from(["PER", "ORG"])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["t1", "t2", "t3"]), st.sampled_from(["u1", "u2"]),
                               LABELS, st.booleans()), min_size=1, max_size=12))
def test_any_table_round_trips(rows: list[tuple[str, str, object, bool]], tmp_path_factory: pytest.TempPathFactory) -> None:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('rt')}/db.sqlite")
    db.upgrade()
    frame = T.from_records([
        {T.TASK_ID: t, T.ANNOTATOR_ID: a, T.LABEL: label, T.ANNOTATION_ID: str(i), T.FIELD: "f",
         T.GROUND_TRUTH: gt, T.CREATED_AT: pd.Timestamp("2024-01-01T00:00:00Z") + pd.Timedelta(seconds=i),
         T.SOURCE_ROW: i + 1}
        for i, (t, a, label, gt) in enumerate(rows)
    ])
    tasks = pd.DataFrame({T.TASK_ID: sorted(set(frame[T.TASK_ID]))})
    dataset = T.Dataset(frame, tasks, {}, T.ImportReport(source="x"))
    project_id, source_id = new_project(db)
    import_dataset(db, project_id, source_id, dataset)
    back = load_dataset(db, project_id).annotations
    expected = frame.copy()
    # numbers come back as float; every statistic treats 2 and 2.0 as one label
    assert_same_table(expected, back)
    db.dispose()


def _reference_item_json(record: dict[str, object]) -> str:
    """What ``_item_data`` must produce: the record as ``json.dumps`` writes it."""
    import json

    def plain(v: object) -> object:
        return v.item() if isinstance(v, np.generic) else v

    def missing(v: object) -> bool:
        return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)

    return json.dumps({k: plain(v) for k, v in record.items() if not missing(v)},
                      sort_keys=True, default=str)


_cell = st.one_of(st.none(), st.text(max_size=8), st.integers(-10**6, 10**6),
                  st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                  st.lists(st.integers(0, 3), max_size=2),
                  st.dictionaries(st.sampled_from(["b", "a"]), st.integers(0, 3), max_size=2))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_item_json_is_json_dumps_of_each_record(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 6))
    kinds = data.draw(st.lists(st.sampled_from(["str", "int", "bool", "float", "mixed"]), min_size=0, max_size=4))
    columns: dict[str, object] = {T.TASK_ID: [f"t{i}" for i in range(n)]}
    for k, kind in enumerate(kinds):
        name = data.draw(st.sampled_from(["text", "Zeta", "ä", 'q"uote', "n"])) + str(k)
        if kind == "str":
            columns[name] = data.draw(st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=n, max_size=n))
        elif kind == "int":
            columns[name] = np.asarray(data.draw(st.lists(st.integers(-99, 99), min_size=n, max_size=n)))
        elif kind == "bool":
            columns[name] = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        elif kind == "float":
            columns[name] = np.asarray(data.draw(st.lists(st.floats(allow_nan=True), min_size=n, max_size=n)))
        else:
            columns[name] = pd.Series(data.draw(st.lists(_cell, min_size=n, max_size=n)), dtype=object)
    tasks = pd.DataFrame(columns)
    ids, texts, hashes = storage_annotations._item_data(tasks)
    records = tasks.drop(columns=[T.TASK_ID]).to_dict("records") if kinds else [{}] * n
    assert texts == [_reference_item_json(r) for r in records]
    assert ids == [f"t{i}" for i in range(n)]
    assert len(set(hashes.tolist())) == len(set(texts))


def test_slice_columns_take_scalar_columns_with_few_values() -> None:
    tasks = pd.DataFrame({
        T.TASK_ID: ["a", "b", "c"],
        "channel": ["email", None, "chat"],
        "n": [1, 2, 1],
        "mixed": pd.Series(["x", 2, 3.5], dtype=object),
        "lists": pd.Series([[1], [2], None], dtype=object),
        "empty": [None, None, None],
    })
    assert storage_annotations.slice_columns(tasks) == ["channel", "n", "mixed"]


def test_migration_0002_keeps_rows_and_ties_annotations_to_their_sources_project(database_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command

    from labelcheck.storage.database import alembic_config

    db = Database(database_url)
    try:
        db.upgrade("0001")
        dataset = read_annotations(SENTIMENT)
        with db.engine.begin() as conn:  # the 0001 schema, without the ORM of today's models
            project_id = conn.execute(sa.text(
                "INSERT INTO project (name, description, snapshot, snapshot_hash, target_alpha, created_at) "
                "VALUES ('p', '', 0, '', 0.8, CURRENT_TIMESTAMP) RETURNING id")).scalar_one()
            source_id = conn.execute(sa.text(
                "INSERT INTO data_source (project_id, kind, name, settings, created_at) "
                "VALUES (:p, 'upload', 'export.json', '{}', CURRENT_TIMESTAMP) RETURNING id"),
                {"p": project_id}).scalar_one()
        import_dataset(db, project_id, source_id, dataset)
        db.upgrade("0002")
        assert count(db, Annotation, project_id) == len(dataset.annotations)
        with db.engine.begin() as conn:
            other_source = conn.execute(sa.text(
                "INSERT INTO data_source (project_id, kind, name, settings, created_at) VALUES "
                "(:p, 'upload', 'b.json', '{}', CURRENT_TIMESTAMP) RETURNING id"), {"p": project_id + 0}).scalar_one()
            other_project = conn.execute(sa.text(
                "INSERT INTO project (name, description, snapshot, snapshot_hash, target_alpha, created_at) "
                "VALUES ('q', '', 0, '', 0.8, CURRENT_TIMESTAMP) RETURNING id")).scalar_one()
            conn.execute(sa.text("UPDATE data_source SET project_id = :q WHERE id = :s"),
                         {"q": other_project, "s": other_source})
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:  # source of another project
            conn.execute(sa.insert(Annotation).values(
                project_id=project_id, source_id=other_source, task_id="t", annotation_id="a",
                annotator_id="x", field="f", ground_truth=False, row_hash=0))
        with db.engine.begin() as conn:
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        assert count(db, Annotation, project_id) == len(dataset.annotations)
        db.upgrade()
        other_project, other_source = new_project(db)
        with db.session() as session:  # deleting a source still deletes its rows
            session.delete(session.get(DataSource, source_id))
        assert count(db, Annotation, project_id) == 0
    finally:
        db.dispose()
