"""The export of answers that are not single choices (``labelcheck.consensus.export_structured``):
method resolution, the types' consensus rules inside ``build_export``, agreement and label
sources, malformed spans and regions, exclusions, adjudications and class counts.

Pinned values come from ``tests/data/mixed/mixed_export.json`` (40 tasks x 3 annotators;
``tests/data/mixed/make_mixed.py`` plants the disagreements).  Worked by hand for task 7000
(i = 0): annotator 2 labels the LOC span as ORG (i % 3 == 0), annotator 3 extends the ORG
span by one word, so the span vote keeps PER 0-9 (3/3), ORG 15-24 (2/3) and LOC 33-39 (2/3)
and leaves out ORG 33-39 and ORG 15-29 (1/3 each): confidence (1 + 4 * 2/3) / 5 = 11/15,
and only annotator 1's answer is identical (agreement 1/3).  Task 7001 (i = 1): the car
boxes are x = 20, 23 (annotator 2 shifted by 3), 20, so the fused car is x 20, y 20,
w 20, h 30; annotator 2's shifted boxes still overlap at IoU 17/23 and 12/18 >= 0.5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelcheck.consensus.export import DROP_REASONS, METHODS, ExportRules, build_export
from labelcheck.consensus.export_structured import STRUCTURED_DROP_REASONS, parse_label
from labelcheck.consensus.rules import resolve_method
from labelcheck.errors import InvalidInput
from labelcheck.io import read_annotations
from labelcheck.table import Dataset, FieldSpec, ImportReport, Region, Span, from_records

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "tests" / "data" / "mixed" / "mixed_export.json"


@pytest.fixture(scope="module")
def mixed() -> Dataset:
    return read_annotations(str(MIXED))


def row_of(table: object, task: str) -> dict[str, object]:
    rows = table.rows  # type: ignore[attr-defined]
    found = rows[rows["task_id"] == task].to_dict("records")
    assert len(found) == 1
    return found[0]  # type: ignore[no-any-return]


def span_dataset(answers: dict[str, dict[str, object]]) -> Dataset:
    rows = []
    for task, given in answers.items():
        for annotator, label in given.items():
            rows.append(dict(task_id=task, annotation_id=f"{task}-{annotator}", annotator_id=annotator,
                             field="ner", label=label, created_at="2025-03-03T10:00:00Z"))
    tasks = pd.DataFrame({"task_id": list(answers), "text": [f"text {t}" for t in answers]})
    return Dataset(annotations=from_records(rows), tasks=tasks,
                   fields={"ner": FieldSpec("ner", value_type="span", to_name="text")},
                   report=ImportReport("hand"))


GOOD = (Span(0, 4, ("PER",)),)
BAD = (Span(5, 3, ("PER",)),)  # ends before it starts


# --- method resolution ---------------------------------------------------------------
def test_methods_are_the_consensus_cli_names() -> None:
    from labelcheck.commands.export import EXPORT_METHODS

    assert set(METHODS) == set(EXPORT_METHODS)
    assert ExportRules().method == "majority_vote"


@pytest.mark.parametrize(("value_type", "expected"), [
    ("choice", "majority_vote"), ("rating", "majority_vote"), ("number", "majority_vote"),
    ("multichoice", "label_vote"), ("span", "span_vote"), ("region", "box_fusion"), ("text", "medoid"),
])
def test_auto_picks_the_types_rule(value_type: str, expected: str) -> None:
    assert resolve_method("auto", value_type, "f") == expected


def test_a_choice_model_on_spans_names_the_method_to_use(mixed: Dataset) -> None:
    with pytest.raises(InvalidInput, match='field "ner" holds span answers; use --method span_vote or auto'):
        build_export(mixed, "ner")
    with pytest.raises(InvalidInput, match='field "topics" holds multichoice answers; use --method label_vote'):
        build_export(mixed, "topics", ExportRules(method="dawid_skene"))
    with pytest.raises(InvalidInput, match='field "box" holds region answers; use --method box_fusion'):
        build_export(mixed, "box", ExportRules(method="mace"))
    with pytest.raises(InvalidInput, match='field "comment" holds text answers; use --method medoid'):
        build_export(mixed, "comment", ExportRules(method="majority_vote"))


def test_a_types_rule_on_another_type_is_refused(mixed: Dataset) -> None:
    with pytest.raises(InvalidInput, match='method span_vote is for span answers; field "box" holds '
                                           "region answers; use --method box_fusion or auto"):
        build_export(mixed, "box", ExportRules(method="span_vote"))
    with pytest.raises(InvalidInput, match="use --method majority_vote or auto"):
        resolve_method("medoid", "choice", "f")


def test_reliability_ties_do_not_apply_to_the_types_rules(mixed: Dataset) -> None:
    with pytest.raises(InvalidInput, match='tie "reliability" applies to majority_vote'):
        build_export(mixed, "ner", ExportRules(method="auto", tie="reliability"))
    with pytest.raises(ValueError, match="majority_vote only"):
        ExportRules(method="span_vote", tie="reliability")


def test_auto_on_a_rating_is_majority_vote_and_median_on_request(mixed: Dataset) -> None:
    auto = build_export(mixed, "quality", ExportRules(method="auto"))
    assert auto.model["method"] == "majority_vote"
    assert tuple(auto.dropped_by_reason()) == DROP_REASONS
    median = build_export(mixed, "quality", ExportRules(method="median"))
    assert median.model["method"] == "median"
    assert median.model["details"]["parameters"] == {"statistic": "lower median", "tolerance": 0.5}
    # task 7000: 3, 4 (annotator 2 one star higher), 3
    row = row_of(median, "7000")
    assert row["final_label"] == 3.0 and row["agreement"] == pytest.approx(2 / 3)
    assert row["label_source"] == "model"
    assert row_of(median, "7001")["label_source"] == "unanimous"
    assert median.class_counts.to_dict("records") == [
        {"label": 2.0, "before": 5, "after": 5}, {"label": 3.0, "before": 24, "after": 24},
        {"label": 4.0, "before": 11, "after": 11}]


# --- pinned consensus values ---------------------------------------------------------
def test_span_vote_on_the_mixed_fixture(mixed: Dataset) -> None:
    table = build_export(mixed, "ner", ExportRules(method="auto"))
    assert table.n_kept == 40 and table.model["method"] == "span_vote"
    row = row_of(table, "7000")
    assert [(s.start, s.end, s.labels) for s in row["final_label"]] == [  # type: ignore[attr-defined]
        (0, 9, ("PER",)), (15, 24, ("ORG",)), (33, 39, ("LOC",))]
    assert [s.text for s in row["final_label"]] == ["Ana Lopez", "Acme Corp", "Lisbon"]  # type: ignore[attr-defined]
    assert row["confidence"] == pytest.approx(11 / 15)
    assert row["agreement"] == pytest.approx(1 / 3)
    assert row["n_answers"] == 3 and row["label_source"] == "model"
    assert row["text"] == "Ana Lopez from Acme Corp flew to Lisbon on Monday about order 1000."
    # task 7001 (i % 3 != 0): only the ORG extension disagrees
    assert row_of(table, "7001")["agreement"] == pytest.approx(2 / 3)
    assert table.class_counts.to_dict("records") == [
        {"label": "LOC", "before": 40, "after": 40}, {"label": "ORG", "before": 40, "after": 40},
        {"label": "PER", "before": 40, "after": 40}]
    assert table.agreement.before.metric == "span_character_alpha"
    assert tuple(table.dropped_by_reason()) == STRUCTURED_DROP_REASONS
    assert table.annotators["annotator_id"].tolist() == ["1", "2", "3"]
    assert np.isnan(table.annotators["reliability"]).all()


def test_box_fusion_on_the_mixed_fixture(mixed: Dataset) -> None:
    table = build_export(mixed, "box", ExportRules(method="box_fusion"))
    row = row_of(table, "7001")
    car, person = row["final_label"]  # type: ignore[misc]
    assert car == Region("rectangle", ("car",), 20.0, 20.0, 20.0, 30.0, 0.0)
    assert person == Region("rectangle", ("person",), 60.0, 55.0, 15.0, 35.0, 0.0)
    # annotator 2's shifted boxes match at IoU >= 0.5: every answer agrees, none is identical
    assert row["agreement"] == 1.0 and row["label_source"] == "model" and row["confidence"] == 1.0
    # task 7000: annotator 3 calls the car a truck; the car fuses x = 10 and 13
    row0 = row_of(table, "7000")
    assert row0["final_label"][0].x == 11.5  # type: ignore[index]
    assert row0["confidence"] == pytest.approx(7 / 9)
    assert row0["agreement"] == pytest.approx(2 / 3)
    assert table.class_counts["label"].tolist() == ["car", "person"]
    assert table.class_counts["before"].tolist() == [40, 40]


def test_label_vote_and_medoid_on_the_mixed_fixture(mixed: Dataset) -> None:
    topics = build_export(mixed, "topics", ExportRules(method="auto"))
    assert row_of(topics, "7000")["final_label"] == ("billing", "shipping")
    assert row_of(topics, "7000")["confidence"] == pytest.approx(8 / 9)
    assert row_of(topics, "7001")["final_label"] == ("shipping",)
    assert row_of(topics, "7001")["label_source"] == "unanimous"
    assert topics.kept_by_source() == {"adjudicated": 0, "unanimous": 20, "model": 20, "unresolved": 0}
    assert topics.class_counts.to_dict("records") == [
        {"label": "billing", "before": 17, "after": 17}, {"label": "product", "before": 16, "after": 16},
        {"label": "shipping", "before": 17, "after": 17}]
    comment = build_export(mixed, "comment", ExportRules(method="auto"))
    row = row_of(comment, "7000")
    assert row["final_label"] == "Customer asks about order 1000."
    # annotator 2's lower-case copy agrees after normalisation; the rewrite does not
    assert row["agreement"] == pytest.approx(2 / 3) and row["label_source"] == "model"
    assert comment.class_counts.empty


def test_thresholds_and_exclusion(mixed: Dataset) -> None:
    strict = build_export(mixed, "ner", ExportRules(method="auto", min_agreement=0.5))
    # i % 3 == 0 (14 tasks): two of the three answers differ from the vote
    assert strict.dropped_by_reason()["below_min_agreement"] == 14
    assert strict.dropped.iloc[0].to_dict() == {
        "task_id": "7000", "reason": "below_min_agreement",
        "detail": "agreement 0.3333 (1 of 3 answers) is below 0.5"}
    confident = build_export(mixed, "box", ExportRules(method="auto", min_confidence=0.9))
    assert confident.dropped_by_reason()["below_min_confidence"] == 10  # every fourth: the truck
    without = build_export(mixed, "ner", ExportRules(method="auto", exclude_annotators=("3",)))
    row = row_of(without, "7000")
    # two answers left: LOC (1 of 2) is not a majority
    assert [(s.start, s.end, s.labels) for s in row["final_label"]] == [  # type: ignore[attr-defined]
        (0, 9, ("PER",)), (15, 24, ("ORG",))]
    assert row["n_answers"] == 2
    assert without.agreement.after.n_annotators == 2 and without.agreement.before.n_annotators == 3
    assert without.annotators["annotator_id"].tolist() == ["1", "2"]


# --- malformed answers, no answers ---------------------------------------------------
def test_items_whose_every_answer_is_malformed_are_dropped() -> None:
    data = span_dataset({"1": {"a": GOOD, "b": GOOD, "c": BAD}, "2": {"a": BAD, "b": BAD},
                         "3": {"a": GOOD, "b": GOOD}})
    table = build_export(data, "ner", ExportRules(method="auto"))
    assert table.rows["task_id"].tolist() == ["1", "3"]
    assert row_of(table, "1")["n_answers"] == 2 and row_of(table, "1")["label_source"] == "unanimous"
    dropped = table.dropped.to_dict("records")
    assert [(d["task_id"], d["reason"]) for d in dropped] == [("2", "malformed")]
    assert dropped[0]["detail"].startswith("every answer is malformed: ")
    assert "start" in dropped[0]["detail"] and "(and 1 more problem(s))" in dropped[0]["detail"]
    assert table.dropped_by_reason()["malformed"] == 1
    assert table.model["details"]["n_malformed_answers"] == 3
    assert any("3 malformed span(s) left out" in note and "1, 2" in note for note in table.notes)


def test_a_field_of_malformed_answers_only_is_an_error() -> None:
    with pytest.raises(InvalidInput, match='field "ner": every answer left is malformed'):
        build_export(span_dataset({"1": {"a": BAD}}), "ner", ExportRules(method="auto"))


def test_malformed_regions_are_dropped() -> None:
    good = (Region("rectangle", ("car",), 10.0, 10.0, 20.0, 20.0),)
    bad = (Region("rectangle", ("car",), 10.0, 10.0, -5.0, 20.0),)
    rows = [dict(task_id=t, annotation_id=f"{t}{a}", annotator_id=a, field="box", label=lab)
            for t, a, lab in (("1", "a", good), ("1", "b", good), ("2", "a", bad))]
    data = Dataset(annotations=from_records(rows), tasks=pd.DataFrame({"task_id": ["1", "2"]}),
                   fields={"box": FieldSpec("box", value_type="region", to_name="image")},
                   report=ImportReport("hand"))
    table = build_export(data, "box", ExportRules(method="auto"))
    assert table.rows["task_id"].tolist() == ["1"]
    assert table.dropped[["task_id", "reason"]].values.tolist() == [["2", "malformed"]]
    assert "width" in table.dropped["detail"].iloc[0]


def test_no_answers_after_exclusion() -> None:
    data = span_dataset({"1": {"a": GOOD, "b": GOOD}, "2": {"c": GOOD}})
    table = build_export(data, "ner", ExportRules(method="auto", exclude_annotators=("c",)))
    assert table.dropped.to_dict("records") == [
        {"task_id": "2", "reason": "no_answers_after_exclusion",
         "detail": "every answer came from an excluded annotator"}]


# --- adjudications -------------------------------------------------------------------
def test_adjudications_of_spans(mixed: Dataset) -> None:
    adj = pd.DataFrame({
        "task_id": ["7000", "7001", "7002", "9999"],
        "field": ["ner", "ner", "", "ner"],
        "status": ["label", "excluded", "ambiguous", "excluded"],
        "label": ['[{"start": 0, "end": 9, "labels": ["PER"], "text": "Ana Lopez"}, '
                  '{"start": 15, "end": 29, "labels": ["ORG"]}]', None, None, None],
        "reason": [None, "wrong text", None, None],
    })
    table = build_export(mixed, "ner", ExportRules(method="auto", adjudications=adj,
                                                   min_agreement=0.9))
    row = row_of(table, "7000")
    assert row["final_label"] == (Span(0, 9, ("PER",), "Ana Lopez"), Span(15, 29, ("ORG",)))
    assert row["label_source"] == "adjudicated" and row["confidence"] == 1.0
    assert row["agreement"] == 0.0  # nobody gave exactly that
    dropped = {d["task_id"]: d for d in table.dropped.to_dict("records")}
    assert dropped["7001"]["reason"] == "excluded_by_adjudication"
    assert dropped["7001"]["detail"] == "adjudicated excluded: wrong text"
    assert dropped["7002"]["reason"] == "ambiguous"
    assert table.unmatched_adjudications == ("9999",)


def test_adjudicated_sets_regions_and_ratings_are_read_from_json_text(mixed: Dataset) -> None:
    adj = pd.DataFrame({"task_id": ["7000"], "status": ["label"], "label": ['["other"]']})
    topics = build_export(mixed, "topics", ExportRules(method="auto", adjudications=adj))
    assert row_of(topics, "7000")["final_label"] == ("other",)
    assert row_of(topics, "7000")["agreement"] == 0.0
    boxes = '[{"shape": "rectangle", "labels": ["car"], "x": 10, "y": 20, "width": 20, "height": 30}]'
    adj = pd.DataFrame({"task_id": ["7000"], "status": ["label"], "label": [boxes]})
    box = build_export(mixed, "box", ExportRules(method="auto", adjudications=adj))
    assert row_of(box, "7000")["final_label"] == (Region("rectangle", ("car",), 10.0, 20.0, 20.0, 30.0),)
    adj = pd.DataFrame({"task_id": ["7000"], "status": ["label"], "label": ["4"]})
    rating = build_export(mixed, "quality", ExportRules(method="median", adjudications=adj))
    assert row_of(rating, "7000")["final_label"] == 4.0
    assert row_of(rating, "7000")["agreement"] == pytest.approx(1 / 3)


def test_a_bad_adjudicated_label_names_the_row(mixed: Dataset) -> None:
    adj = pd.DataFrame({"task_id": ["7000", "7001"], "status": ["label", "label"],
                        "label": ["PER 0-9", '[{"start": 9, "end": 2, "labels": ["PER"]}]']})
    with pytest.raises(InvalidInput, match="2 problem") as info:
        build_export(mixed, "ner", ExportRules(method="auto", adjudications=adj))
    messages = [(p.source_row, p.message) for p in info.value.problems]
    assert messages[0][0] == 1 and "is not JSON" in messages[0][1]
    assert messages[1][0] == 2 and "0 <= start < end" in messages[1][1]


@pytest.mark.parametrize(("value_type", "raw", "expected"), [
    ("multichoice", '["b", "a", "a"]', ("a", "b")),
    ("multichoice", "billing", ("billing",)),
    ("span", '[{"start": 3, "end": 5, "labels": "X"}]', (Span(3, 5, ("X",)),)),
    ("region", '[{"shape": "polygon", "labels": ["p"], "points": [[0, 0], [10, 0], [0, 10]]}]',
     (Region("polygon", ("p",), points=((0.0, 0.0), (10.0, 0.0), (0.0, 10.0))),)),
    ("rating", "3", 3.0),
    ("text", '"as written"', '"as written"'),
])
def test_parse_label(value_type: str, raw: str, expected: object) -> None:
    assert parse_label(value_type, raw) == expected


def test_parse_label_checks_declared_labels() -> None:
    with pytest.raises(ValueError, match="label.s. Z are not among the declared ones"):
        parse_label("multichoice", '["a", "Z"]', declared=("a", "b"))


def test_the_same_input_gives_the_same_table(mixed: Dataset) -> None:
    for field in ("ner", "box", "topics", "comment"):
        one = build_export(mixed, field, ExportRules(method="auto"))
        two = build_export(mixed, field, ExportRules(method="auto"))
        pd.testing.assert_frame_equal(one.rows, two.rows)
        pd.testing.assert_frame_equal(one.class_counts, two.class_counts)


def test_an_answer_keeps_its_well_formed_spans() -> None:
    data = span_dataset({"1": {"a": GOOD, "b": GOOD + BAD}})
    table = build_export(data, "ner", ExportRules(method="auto"))
    row = row_of(table, "1")
    assert row["n_answers"] == 2 and row["label_source"] == "unanimous"
    assert row["final_label"] == GOOD
