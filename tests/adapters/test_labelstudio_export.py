"""Label Studio export readers: JSON, JSON-MIN, CSV (fixtures in tests/fixtures/labelstudio,
written by hand in the shapes Label Studio 1.x and label-studio-converter produce)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.errors import InvalidInput
from labelcheck.io import (
    read_annotations,
    read_labelstudio_csv,
    read_labelstudio_json,
    read_labelstudio_json_min,
)
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
    FieldSpec,
    Region,
    Span,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "labelstudio"
KEY = [TASK_ID, ANNOTATION_ID, ANNOTATOR_ID, FIELD, LABEL]


def answers(frame: pd.DataFrame, field: str) -> dict[str, object]:
    rows = frame[frame[FIELD] == field]
    return dict(zip(rows[ANNOTATION_ID], rows[LABEL]))


# --- the JSON export ----------------------------------------------------------------
@pytest.fixture(scope="module")
def text_project():
    return read_labelstudio_json(FIXTURES / "text_project.json")


def test_json_one_row_per_annotation_and_field(text_project):
    ann = text_project.annotations
    assert len(ann) == 14
    assert text_project.report.ok
    assert answers(ann, "sentiment") == {
        "101": "Positive", "102": "Positive", "201": "Negative", "202": "Neutral", "203": "Negative"
    }
    # 203 gave no topics answer: a missing judgement, no row
    assert answers(ann, "topics") == {
        "101": ("food",), "102": ("food", "service"), "201": ("service",), "202": ("service",)
    }
    assert answers(ann, "quality") == {"101": 5.0, "102": 4.0}
    assert answers(ann, "comment") == {"101": "Nice"}


def test_json_spans_of_one_annotation_are_combined_and_sorted(text_project):
    spans = answers(text_project.annotations, "ner")
    assert spans["101"] == (Span(4, 8, ("DISH",), "food"),)
    assert spans["102"] == (Span(4, 8, ("DISH",), "food"), Span(9, 18, ("OPINION",), "was great"))


def test_json_field_specs_come_from_result_types(text_project):
    f = text_project.fields
    assert (f["sentiment"].value_type, f["sentiment"].level) == ("choice", "nominal")
    assert f["topics"].value_type == "multichoice"  # one answer had two choices
    assert f["ner"].value_type == "span"
    assert (f["quality"].value_type, f["quality"].level) == ("rating", "ordinal")
    assert f["comment"].value_type == "text"
    assert f["sentiment"].to_name == "text"


def test_json_cancelled_dropped_ground_truth_kept(text_project):
    ann, report = text_project.annotations, text_project.report
    assert report.n_cancelled == 1 and report.cancelled_annotation_ids == ["103"]
    assert "103" not in set(ann[ANNOTATION_ID])
    assert report.n_ground_truth == 1
    assert set(ann.loc[ann[GROUND_TRUTH], ANNOTATION_ID]) == {"202"}
    assert (report.n_records, report.n_annotations, report.n_rows) == (3, 5, 14)


def test_json_provenance_times_and_ids(text_project):
    ann = text_project.annotations
    assert set(ann[SOURCE]) == {"text_project.json"}
    assert dict(zip(ann[ANNOTATION_ID], ann[SOURCE_ROW])) == {
        "101": 1, "102": 1, "201": 2, "202": 2, "203": 2
    }
    assert all(isinstance(x, str) for x in ann[TASK_ID]) and ann[ANNOTATOR_ID].iloc[0] == "1"
    t203 = ann.loc[ann[ANNOTATION_ID] == "203", CREATED_AT].iloc[0]
    assert t203 == pd.Timestamp("2024-03-02T12:00:00Z")  # 14:00+02:00 in UTC
    assert str(ann[CREATED_AT].dtype) == "datetime64[ns, UTC]"
    assert ann.loc[ann[ANNOTATION_ID] == "102", LEAD_TIME].iloc[0] == 30.25


def test_json_task_table_has_data_and_meta(text_project):
    tasks = text_project.tasks.set_index(TASK_ID)
    assert list(tasks.index) == ["1", "2", "3"]  # task 3 has no annotations, still a task
    assert tasks.loc["2", "text"] == "Slow service"
    assert tasks.loc["2", "meta.batch"] == "b2"
    assert json.loads(tasks.loc["2", "extra"]) == {"lang": "en"}  # nested -> JSON string


def test_json_regions_completed_by_object_and_problems():
    ds = read_labelstudio_json(FIXTURES / "image_project.json")
    ann = ds.annotations
    boxes = answers(ann, "box")
    assert boxes["1101"] == (
        Region("rectangle", ("Cat",), 10.5, 20.0, 30.0, 40.0),
        Region("rectangle", ("Dog",), 1.0, 2.0, 3.0, 4.0),
    )
    # the negative-width box is dropped and reported; the good box of 1102 stays
    assert boxes["1102"] == (Region("rectangle", ("Cat",), 12.0, 22.0, 28.0, 38.0),)
    outline = answers(ann, "outline")["1101"][0]
    assert outline.points == ((10.0, 10.0), (20.0, 10.0), (15.0, 25.5))
    assert dict(zip(ann[ANNOTATION_ID], ann[ANNOTATOR_ID])) == {"1101": "5", "1102": "6"}
    assert set(ann["annotator_email"]) == {"ann5@example.com", "ann6@example.com"}
    messages = [str(p) for p in ds.report.problems]
    assert messages == [
        'image_project.json, row 1: task 11, annotation 1102, field "box": '
        "region has a negative size (width -5.0, height 39.0)",
        'image_project.json, row 1: task 11, annotation 1102, field "mask": result type '
        '"brushlabels" is not supported; 1 result(s) of this field skipped (first one here)',
    ]
    with pytest.raises(InvalidInput, match=r'annotation 1102, field "box": region has a negative'):
        read_labelstudio_json(FIXTURES / "image_project.json", strict=True)


# --- malformed inputs: every problem named, good rows kept -----------------------------
def test_missing_keys_are_each_reported_and_good_rows_survive():
    ds = read_labelstudio_json(FIXTURES / "missing_keys.json")
    assert answers(ds.annotations, "sentiment") == {"21": "Positive", "34": "Negative"}
    problems = ds.report.problems
    assert [str(p) for p in problems] == [
        'missing_keys.json, row 1: task has no "id"; its annotations are skipped',
        'missing_keys.json, row 2: task 2: task has no "data" object (its annotations are kept)',
        'missing_keys.json, row 3: task 3: annotation has no "id"; skipped',
        'missing_keys.json, row 3: task 3, annotation 32: result item has no "from_name"; skipped',
        'missing_keys.json, row 3: task 3, annotation 32, field "sentiment": result item has '
        'no "value"; skipped',
        'missing_keys.json, row 3: task 3, annotation 33, field "sentiment": "choices" must be '
        'a list of strings, found a string ("Negative")',
    ]
    p = problems[-1]
    assert (p.source, p.source_row, p.task_id, p.annotation_id, p.field) == (
        "missing_keys.json", 3, "3", "33", "sentiment"
    )


def test_strict_mode_refuses_and_lists_every_problem():
    with pytest.raises(InvalidInput, match=r"missing_keys.json: 6 problem\(s\) found; strict") as info:
        read_labelstudio_json(FIXTURES / "missing_keys.json", strict=True)
    assert len(info.value.problems) == 6


def test_unknown_annotator():
    ds = read_labelstudio_json(FIXTURES / "unknown_annotator.json")
    assert list(ds.annotations[ANNOTATION_ID]) == ["12"]
    assert [p.annotation_id for p in ds.report.problems] == ["10", "11"]
    with pytest.raises(
        InvalidInput,
        match=r'unknown_annotator.json, row 1: task 1, annotation 10: annotation has no '
        r'"completed_by": unknown annotator; skipped',
    ):
        read_labelstudio_json(FIXTURES / "unknown_annotator.json", strict=True)


def test_duplicated_annotation_ids_keep_first_and_name_both_places():
    ds = read_labelstudio_json(FIXTURES / "duplicate_ids.json")
    assert dict(zip(ds.annotations[ANNOTATION_ID], ds.annotations[TASK_ID])) == {
        "10": "1", "11": "1", "21": "2"
    }
    (p,) = ds.report.problems
    assert str(p) == (
        "duplicate_ids.json, row 2: task 2, annotation 10: annotation id 10 is duplicated: "
        "first seen at row 1 (task 1); this later copy is skipped"
    )


def test_bad_json_names_line_and_column():
    with pytest.raises(
        InvalidInput,
        match=r"bad_json.json: not valid JSON: Expecting ',' delimiter at line 7, column 6",
    ):
        read_labelstudio_json(FIXTURES / "bad_json.json")


def test_bad_timestamps_are_reported_and_the_answer_kept():
    ds = read_labelstudio_json(FIXTURES / "bad_timestamps.json")
    ann = ds.annotations
    assert list(ann[ANNOTATION_ID]) == ["10", "11"]
    assert pd.isna(ann[CREATED_AT].iloc[0]) and pd.isna(ann[LEAD_TIME].iloc[0])
    assert [str(p) for p in ds.report.problems] == [
        'bad_timestamps.json, row 1: task 1, annotation 10: created_at "yesterday at noon" is '
        "not a timestamp; expected ISO 8601 such as 2024-03-01T12:30:00Z (kept the answer, "
        "time unknown)",
        'bad_timestamps.json, row 1: task 1, annotation 10: lead_time "slow" is not a number '
        "of seconds",
    ]


def test_top_level_must_be_a_list(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"id": 1, "data": {}}))
    with pytest.raises(InvalidInput, match=r"one.json: expected a list of tasks .* found an object"):
        read_labelstudio_json(path)


def test_nothing_usable_raises_even_when_not_strict():
    tasks = [{"id": 1, "data": {}, "annotations": [{"id": 5, "completed_by": 1,
                                                    "was_cancelled": True, "result": []}]}]
    with pytest.raises(InvalidInput, match=r"x.json: nothing usable: no answers left \(1 "
                       r"record\(s\) read, 1 cancelled annotation\(s\) dropped, 0 problem"):
        read_labelstudio_json(tasks, source="x.json")


def test_single_choice_spec_refuses_two_choices():
    ds = read_labelstudio_json(
        FIXTURES / "text_project.json", fields={"topics": FieldSpec("topics", "choice")}
    )
    assert answers(ds.annotations, "topics")["101"] == "food"
    (p,) = ds.report.problems
    assert (p.annotation_id, p.field) == ("102", "topics")
    assert p.message == (
        "single-choice field got 2 choices (food, service); declare it multichoice if several "
        "are allowed"
    )


# --- JSON-MIN and CSV: same project, same table ----------------------------------------
def choice_rows(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame[frame[FIELD].isin(["sentiment", "topics"])][KEY].astype({FIELD: str})
    return rows.sort_values([ANNOTATION_ID, FIELD]).reset_index(drop=True)


@pytest.mark.parametrize("name", ["text_project.min.json", "text_project.csv"])
def test_json_min_and_csv_give_the_json_table(text_project, name):
    ds = read_annotations(FIXTURES / name)
    pd.testing.assert_frame_equal(choice_rows(ds.annotations), choice_rows(text_project.annotations))
    assert answers(ds.annotations, "ner") == answers(text_project.annotations, "ner")
    assert answers(ds.annotations, "quality") == {"101": 5.0, "102": 4.0}
    assert ds.report.ok and ds.report.n_rows == 14
    pd.testing.assert_series_equal(
        ds.annotations.sort_values([ANNOTATION_ID, FIELD])[CREATED_AT].reset_index(drop=True),
        text_project.annotations.sort_values([ANNOTATION_ID, FIELD])[CREATED_AT].reset_index(drop=True),
    )
    tasks = ds.tasks.set_index(TASK_ID)
    assert tasks.loc["2", "site"] == "google" and "sentiment" not in tasks.columns


def test_json_min_fields_say_which_keys_are_answers():
    specs = [FieldSpec("sentiment"), FieldSpec("comment", "text")]
    ds = read_labelstudio_json_min(FIXTURES / "text_project.min.json", fields=specs)
    assert set(ds.annotations[FIELD].astype(str)) == {"sentiment", "comment"}
    assert ds.fields["comment"].value_type == "text"
    assert {"topics", "ner", "quality"} <= set(ds.tasks.columns)  # declared data, not answers
    with pytest.raises(InvalidInput, match=r"none of the fields colour is a column; found text"):
        read_labelstudio_json_min(FIXTURES / "text_project.min.json", fields=["colour"])


def test_csv_export_rows_and_cancelled(tmp_path):
    text = (FIXTURES / "text_project.csv").read_text().replace(
        '"Positive","yelp","The food was great","food","2024-03-01T10:00:05.000000Z",False',
        '"Positive","yelp","The food was great","food","2024-03-01T10:00:05.000000Z",True',
    )
    path = tmp_path / "cancel.csv"
    path.write_text(text)
    ds = read_labelstudio_csv(path)
    assert ds.report.cancelled_annotation_ids == ["101"]
    assert dict(zip(ds.annotations[ANNOTATION_ID], ds.annotations[SOURCE_ROW]))["203"] == 5


def test_json_min_unknown_annotator_named(tmp_path):
    records = json.loads((FIXTURES / "text_project.min.json").read_text())
    del records[2]["annotator"]
    ds = read_labelstudio_json_min(records, source="min.json")
    (p,) = ds.report.problems
    assert str(p) == (
        'min.json, row 3: task 2, annotation 201: record has no "annotator": unknown annotator; '
        "skipped"
    )


def test_unrecognised_file_says_what_was_expected(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps([{"question": 1, "answer": "x"}]))
    with pytest.raises(InvalidInput, match=r"other.json: a JSON list of objects with keys "
                       r"answer, question; expected a Label Studio JSON export"):
        read_annotations(path)


# --- round trip: canonical table -> LS JSON -> table ------------------------------------
def write_labelstudio_json(rows: list[dict], path: Path) -> None:
    """A minimal LS JSON writer for the round trip (test only)."""
    tasks: dict[str, dict] = {}
    annotations: dict[str, dict] = {}
    for r in rows:
        task = tasks.setdefault(r[TASK_ID], {"id": int(r[TASK_ID]), "data": {"text": "t"},
                                             "annotations": []})
        ann = annotations.get(r[ANNOTATION_ID])
        if ann is None:
            ann = {"id": int(r[ANNOTATION_ID]), "completed_by": int(r[ANNOTATOR_ID]),
                   "result": [], "was_cancelled": False, "ground_truth": False}
            annotations[r[ANNOTATION_ID]] = ann
            task["annotations"].append(ann)
        label = r[LABEL]
        choices = list(label) if isinstance(label, tuple) else [label]
        ann["result"].append({"from_name": r[FIELD], "to_name": "text", "type": "choices",
                              "value": {"choices": choices}})
    path.write_text(json.dumps(list(tasks.values())))


@st.composite
def canonical_rows(draw):
    n_tasks = draw(st.integers(1, 5))
    rows, ann_id = [], 0
    multi = draw(st.booleans())
    cats = ["a", "b", "c"]
    for t in range(1, n_tasks + 1):
        for annotator in draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True)):
            ann_id += 1
            for field in draw(st.lists(st.sampled_from(["f1", "f2"]), min_size=1, unique=True)):
                if multi and field == "f2":
                    label = tuple(sorted(draw(st.sets(st.sampled_from(cats), min_size=1))))
                else:
                    label = draw(st.sampled_from(cats))
                rows.append({TASK_ID: str(t), ANNOTATION_ID: str(ann_id),
                             ANNOTATOR_ID: str(annotator), FIELD: field, LABEL: label})
    return rows


@settings(max_examples=40, deadline=None)
@given(rows=canonical_rows())
def test_round_trip_keeps_ids_and_labels(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("rt") / "export.json"
    write_labelstudio_json(rows, path)
    fields = {"f2": FieldSpec("f2", "multichoice")} if any(
        isinstance(r[LABEL], tuple) for r in rows) else None
    ds = read_annotations(path, fields=fields)
    got = ds.annotations[KEY].astype({FIELD: str})
    want = pd.DataFrame(rows, columns=KEY)
    order = [ANNOTATION_ID, FIELD]
    pd.testing.assert_frame_equal(
        got.sort_values(order).reset_index(drop=True), want.sort_values(order).reset_index(drop=True)
    )
