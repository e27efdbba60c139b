"""Long annotation tables (CSV / TSV / Parquet): the contract external checks run against."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.errors import InvalidInput
from labelcheck.io import read_annotations, read_long_table
from labelcheck.table import (
    ANNOTATION_ID,
    ANNOTATOR_ID,
    CREATED_AT,
    DEFAULT_FIELD,
    FIELD,
    LABEL,
    LEAD_TIME,
    SOURCE,
    SOURCE_ROW,
    TASK_ID,
    FieldSpec,
    encode,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "long"


@pytest.fixture(scope="module")
def ratings():
    return read_long_table(FIXTURES / "ratings.csv")


def test_ids_stay_strings_as_written(ratings):
    ann = ratings.annotations
    assert list(ann[TASK_ID]) == ["007", "007", "007", "008", "008", "009"]
    assert list(ann[ANNOTATOR_ID][:2]) == ["a1", "a2"]
    # no annotation_id column: the data row number, as text
    assert list(ann[ANNOTATION_ID]) == ["1", "2", "3", "4", "5", "6"]
    assert list(ann[SOURCE_ROW]) == [1, 2, 3, 4, 5, 6]
    assert set(ann[SOURCE]) == {"ratings.csv"} and set(ann[FIELD]) == {DEFAULT_FIELD}


def test_labels_kept_as_read_and_empty_cell_is_a_missing_judgement(ratings):
    labels = list(ratings.annotations[LABEL])
    assert labels[:3] == ["cat", "dog", "NA"]  # "NA" is a label, not a missing value
    assert pd.isna(labels[3])  # empty cell: row kept, label missing
    coded = encode(ratings.annotations)
    assert coded.n_annotations == 5 and list(coded.categories) == ["NA", "cat", "dog"]


def test_times_and_lead_times(ratings):
    ann = ratings.annotations
    assert ann[CREATED_AT].iloc[4] == pd.Timestamp("2024-03-01T09:00:00Z")  # +02:00 -> UTC
    assert pd.isna(ann[CREATED_AT].iloc[5])  # empty cell: unknown time, no problem
    assert list(ann[LEAD_TIME].iloc[:2]) == [3.5, 4.0] and pd.isna(ann[LEAD_TIME].iloc[2])
    assert ratings.report.ok


def test_per_task_columns_go_to_the_task_table(ratings):
    tasks = ratings.tasks.set_index(TASK_ID)
    assert dict(tasks["site"]) == {"007": "yelp", "008": "google", "009": "yelp"}
    assert "shift" not in tasks.columns  # varies within a task: stays on the rows
    assert list(ratings.annotations["shift"]) == ["am", "pm", "am", "am", "pm", "am"]
    assert "site" not in ratings.annotations.columns


def test_bad_rows_are_named_and_good_rows_kept():
    ds = read_long_table(FIXTURES / "broken.csv")
    ann = ds.annotations
    assert list(zip(ann[ANNOTATION_ID], ann[FIELD].astype(str))) == [
        ("x1", "species"), ("x5", "species"), ("x5", "size")  # one id may answer two fields
    ]
    assert pd.isna(ann[CREATED_AT].iloc[1])
    assert [str(p) for p in ds.report.problems] == [
        'broken.csv, row 2: task 1, annotation x2, field "species": annotator_id is empty; '
        "row skipped",
        'broken.csv, row 3: annotation x3, field "species": item_id is empty; row skipped',
        'broken.csv, row 4: task 2, annotation x1, field "species": annotation_id x1 is '
        "duplicated for this field (first at row 1); this later row is skipped",
        'broken.csv, row 5: task 2, annotation x5, field "species": created_at is not an ISO '
        "8601 timestamp such as 2024-03-01T12:30:00Z (row kept, time unknown): found "
        "'03/01/2024 10am'",
    ]
    assert set(ds.fields) == {"species", "size"}


def test_strict_refuses():
    with pytest.raises(InvalidInput, match=r"broken.csv: 4 problem\(s\) found; strict mode"):
        read_long_table(FIXTURES / "broken.csv", strict=True)


def test_missing_columns_named_with_what_was_found(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("task,annotator_id,label\n1,a,b\n")
    with pytest.raises(
        InvalidInput,
        match=r"t.csv: missing column\(s\) item_id; found task, annotator_id, label. A long "
        r"table needs item_id \(or task_id\), annotator_id and label",
    ):
        read_long_table(path)
    with pytest.raises(InvalidInput, match=r"wrong_columns.csv: cannot tell the format from "
                       r"the columns \(task, rater, answer\); expected"):
        read_annotations(FIXTURES / "wrong_columns.csv")


def test_field_argument_names_or_selects(tmp_path):
    ds = read_long_table(FIXTURES / "ratings.csv", field=FieldSpec("animal", level="nominal"))
    assert set(ds.annotations[FIELD]) == {"animal"} and ds.fields["animal"].name == "animal"
    only = read_long_table(FIXTURES / "broken.csv", field="size")
    assert list(only.annotations[LABEL]) == ["big"]
    with pytest.raises(InvalidInput, match=r'broken.csv: field "colour" not found; the file '
                       r"has: size, species"):
        read_long_table(FIXTURES / "broken.csv", field="colour")


def test_tsv_and_task_id_column(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("task_id\tannotator_id\tlabel\tannotation_id\n01\tu\t3\t9\n01\tv\t4\t10\n")
    ds = read_annotations(path)
    assert list(ds.annotations[TASK_ID]) == ["01", "01"]
    assert list(ds.annotations[LABEL]) == ["3", "4"]  # numbers are read by encode()
    assert list(encode(ds.annotations, level="interval").values) == [3.0, 4.0]


def test_parquet(tmp_path):
    pytest.importorskip("pyarrow", exc_type=ImportError)  # broken with numpy<2
    frame = pd.DataFrame({"item_id": [7, 7], "annotator_id": ["a", "b"], "label": ["x", "y"]})
    frame.to_parquet(tmp_path / "t.parquet")
    ds = read_annotations(tmp_path / "t.parquet")
    assert list(ds.annotations[TASK_ID]) == ["7", "7"]


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.from_regex(r"0?[0-9]{1,3}", fullmatch=True),
            st.sampled_from(["a1", "b2", "007"]),
            st.sampled_from(["yes", "no", "NA", "None", "0.5"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_round_trip_keeps_ids_and_labels(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("long") / "t.csv"
    want = pd.DataFrame(rows, columns=["item_id", ANNOTATOR_ID, LABEL])
    want.to_csv(path, index=False)
    got = read_long_table(path).annotations
    assert list(got[TASK_ID]) == list(want["item_id"])
    assert list(got[ANNOTATOR_ID]) == list(want[ANNOTATOR_ID])
    assert list(got[LABEL]) == list(want[LABEL])
