"""The export core (``labelcheck.consensus.export``, ``.adjudication``, ``.canonical``):
rules, adjudication, label sources, counts, order and the snapshot hash.

The hand-made table (values worked by hand, majority vote unless said otherwise):

======= ================== ============================================
task    answers            majority vote
======= ================== ============================================
1       a:A b:A c:A        A, share 1, unanimous
2       a:A b:A c:B        A, share 2/3, model
3       a:A b:B            tie A/B: unresolved
4       a:B b:B c:B d:B    B, share 1, unanimous
5       d:B                B, share 1, model (one answer is not unanimity)
6       a:A b:B c:B d:C    B, share 1/2, model
7       a:C b:C            C, share 1, unanimous
10      a:A b:A c:A d:B    A, share 3/4, model
x1      b:C c:C d:A        C, share 2/3, model
======= ================== ============================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelcheck.consensus.adjudication import adjudications_sha256
from labelcheck.consensus.canonical import canonical_json, snapshot_sha256, task_order
from labelcheck.consensus.export import DROP_REASONS, ExportRules, build_export
from labelcheck.errors import InvalidInput
from labelcheck.table import Dataset, FieldSpec, ImportReport, from_records

ANSWERS = {
    "1": {"a": "A", "b": "A", "c": "A"},
    "2": {"a": "A", "b": "A", "c": "B"},
    "3": {"a": "A", "b": "B"},
    "4": {"a": "B", "b": "B", "c": "B", "d": "B"},
    "5": {"d": "B"},
    "6": {"a": "A", "b": "B", "c": "B", "d": "C"},
    "7": {"a": "C", "b": "C"},
    "10": {"a": "A", "b": "A", "c": "A", "d": "B"},
    "x1": {"b": "C", "c": "C", "d": "A"},
}
ORDER = ["1", "2", "4", "5", "6", "7", "10", "x1"]  # kept by default: 3 is a tie


def make_dataset(
    answers: dict[str, dict[str, object]] = ANSWERS,
    spec: FieldSpec | None = None,
    tasks: pd.DataFrame | None = None,
) -> Dataset:
    rows = []
    n = 0
    for task, given in answers.items():
        for annotator, label in given.items():
            n += 1
            rows.append(dict(task_id=task, annotation_id=str(n), annotator_id=annotator,
                             field="topic", label=label,
                             created_at=f"2025-03-{n % 28 + 1:02d}T10:00:00Z"))
    table = from_records(rows)
    if tasks is None:
        tasks = pd.DataFrame({"task_id": list(answers), "text": [f"text of {t}" for t in answers]})
    fields = {"topic": spec or FieldSpec("topic", to_name="text")}
    return Dataset(annotations=table, tasks=tasks, fields=fields, report=ImportReport("hand"))


@pytest.fixture
def dataset() -> Dataset:
    return make_dataset()


def by_task(table: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {str(r["task_id"]): r for r in table.to_dict("records")}


# --- defaults, label sources, order ----------------------------------------------------
def test_default_keeps_every_resolved_item_in_task_id_order(dataset: Dataset) -> None:
    table = build_export(dataset, "topic")
    assert table.rows["task_id"].tolist() == ORDER
    assert list(table.rows.columns) == ["task_id", "text", "final_label", "label_source",
                                        "confidence", "n_answers", "agreement"]
    assert table.dropped.to_dict("records") == [
        {"task_id": "3", "reason": "unresolved_tie", "detail": "tie between A and B (1 answer each)"}
    ]
    rows = by_task(table.rows)
    assert rows["2"]["final_label"] == "A" and rows["2"]["confidence"] == pytest.approx(2 / 3)
    assert rows["2"]["agreement"] == pytest.approx(2 / 3) and rows["2"]["n_answers"] == 3
    assert rows["x1"]["text"] == "text of x1"
    assert table.n_items == 9 and table.n_kept == 8 and table.n_dropped == 1


def test_unanimous_needs_two_answers_all_equal_to_the_label(dataset: Dataset) -> None:
    rows = by_task(build_export(dataset, "topic").rows)
    sources = {t: rows[t]["label_source"] for t in ORDER}
    assert sources == {"1": "unanimous", "2": "model", "4": "unanimous", "5": "model",
                       "6": "model", "7": "unanimous", "10": "model", "x1": "model"}
    assert build_export(dataset, "topic").kept_by_source() == {
        "adjudicated": 0, "unanimous": 3, "model": 5, "unresolved": 0}


def test_task_order_numbers_first_then_code_points() -> None:
    ids = ["10", "9", "b", "a", "007", "7", "B"]
    assert [ids[i] for i in task_order(ids)] == ["007", "7", "9", "10", "B", "a", "b"]
    huge = ["123456789012345678901234", "2", "x"]
    assert [huge[i] for i in task_order(huge)] == ["2", "123456789012345678901234", "x"]


# --- each rule drops what it should ----------------------------------------------------
def test_min_confidence(dataset: Dataset) -> None:
    table = build_export(dataset, "topic", ExportRules(min_confidence=0.7))
    assert table.rows["task_id"].tolist() == ["1", "4", "5", "7", "10"]
    reasons = dict(zip(table.dropped["task_id"], table.dropped["reason"]))
    assert reasons == {"2": "below_min_confidence", "3": "unresolved_tie",
                       "6": "below_min_confidence", "x1": "below_min_confidence"}
    detail = dict(zip(table.dropped["task_id"], table.dropped["detail"]))
    assert detail["6"] == "confidence 0.5 is below 0.7"


def test_a_share_equal_to_the_threshold_is_kept(dataset: Dataset) -> None:
    kept = build_export(dataset, "topic", ExportRules(min_confidence=0.75)).rows["task_id"]
    assert "10" in kept.tolist()  # 3/4 >= 0.75


def test_min_agreement(dataset: Dataset) -> None:
    table = build_export(dataset, "topic", ExportRules(min_agreement=0.6))
    assert dict(zip(table.dropped["task_id"], table.dropped["reason"])) == {
        "3": "unresolved_tie", "6": "below_min_agreement"}
    assert table.dropped["detail"].iloc[1] == "agreement 0.5 (2 of 4 answers) is below 0.6"


def test_exclude_annotators(dataset: Dataset) -> None:
    table = build_export(dataset, "topic", ExportRules(exclude_annotators=("d",)))
    assert dict(zip(table.dropped["task_id"], table.dropped["reason"])) == {
        "3": "unresolved_tie", "5": "no_answers_after_exclusion"}
    rows = by_task(table.rows)
    assert rows["10"]["label_source"] == "unanimous" and rows["10"]["n_answers"] == 3
    assert rows["x1"]["label_source"] == "unanimous"
    assert rows["6"]["confidence"] == pytest.approx(2 / 3)
    summary = table.agreement
    assert summary.before.n_annotators == 4 and summary.after.n_annotators == 3
    assert summary.after.value != pytest.approx(summary.before.value)
    assert table.agreement.to_dict()["excluded_annotators"] == ["d"]


def test_excluding_an_unknown_annotator_names_it_and_the_known_ones(dataset: Dataset) -> None:
    with pytest.raises(InvalidInput, match=r'no annotator zz on field "topic"; its annotators '
                                           r"are a, b, c, d \(CLI: --exclude-annotator\)"):
        build_export(dataset, "topic", ExportRules(exclude_annotators=("zz", "a")))


def test_excluding_everyone_is_an_error(dataset: Dataset) -> None:
    with pytest.raises(InvalidInput, match='no answers left after excluding annotator'):
        build_export(dataset, "topic", ExportRules(exclude_annotators=("a", "b", "c", "d")))


def test_keep_unresolved_keeps_ties_without_a_label_whatever_the_thresholds(dataset: Dataset) -> None:
    table = build_export(dataset, "topic", ExportRules(drop_unresolved=False, min_confidence=0.9))
    rows = by_task(table.rows)
    assert rows["3"]["final_label"] is None and rows["3"]["label_source"] == "unresolved"
    assert rows["3"]["confidence"] == pytest.approx(0.5) and np.isnan(rows["3"]["agreement"])
    assert table.dropped_by_reason()["unresolved_tie"] == 0


def test_deterministic_tie_policy_labels_the_tie(dataset: Dataset) -> None:
    rows = by_task(build_export(dataset, "topic", ExportRules(tie="deterministic")).rows)
    assert rows["3"]["final_label"] == "A" and rows["3"]["label_source"] == "model"


@pytest.mark.parametrize("method", ["dawid_skene", "mace"])
def test_em_models_label_every_item_here(dataset: Dataset, method: str) -> None:
    table = build_export(dataset, "topic", ExportRules(method=method, tie="deterministic"))  # type: ignore[arg-type]
    assert table.n_kept == 9 and table.model["method"] == method
    assert set(table.annotators["annotator_id"]) == {"a", "b", "c", "d"}


def test_dropped_by_reason_lists_every_reason(dataset: Dataset) -> None:
    counts = build_export(dataset, "topic", ExportRules(min_confidence=0.7)).dropped_by_reason()
    assert tuple(counts) == DROP_REASONS
    assert counts == {"excluded_by_adjudication": 0, "ambiguous": 0,
                      "no_answers_after_exclusion": 0, "unresolved_tie": 1,
                      "below_min_confidence": 3, "below_min_agreement": 0}


# --- class counts ------------------------------------------------------------------------
def test_counts_per_class_before_and_after(dataset: Dataset) -> None:
    table = build_export(dataset, "topic", ExportRules(min_confidence=0.7))
    assert table.class_counts.to_dict("records") == [
        {"label": "A", "before": 3, "after": 2},
        {"label": "B", "before": 3, "after": 2},
        {"label": "C", "before": 2, "after": 1},
    ]


# --- adjudication ----------------------------------------------------------------------
ADJUDICATIONS = pd.DataFrame({
    "task_id": ["2", "3", "7", "1", "99", "4"],
    "field": ["topic", "topic", "topic", "topic", "topic", "other"],
    "label": ["B", "A", None, None, "A", "A"],
    "status": ["label", "label", "excluded", "ambiguous", "label", "label"],
    "reason": ["lead says B", None, "duplicate ticket", "", None, "other field"],
})


def test_adjudication_overrides_the_model_and_the_rules(dataset: Dataset) -> None:
    rules = ExportRules(min_confidence=0.7, adjudications=ADJUDICATIONS)
    table = build_export(dataset, "topic", rules)
    rows = by_task(table.rows)
    assert rows["2"]["final_label"] == "B" and rows["2"]["label_source"] == "adjudicated"
    assert rows["2"]["confidence"] == 1.0 and rows["2"]["agreement"] == pytest.approx(1 / 3)
    assert rows["3"]["final_label"] == "A" and rows["3"]["agreement"] == pytest.approx(0.5)
    reasons = dict(zip(table.dropped["task_id"], table.dropped["reason"]))
    assert reasons == {"1": "ambiguous", "6": "below_min_confidence",
                       "7": "excluded_by_adjudication", "x1": "below_min_confidence"}
    details = dict(zip(table.dropped["task_id"], table.dropped["detail"]))
    assert details["7"] == "adjudicated excluded: duplicate ticket"
    assert details["1"] == "adjudicated ambiguous"
    assert rows["4"]["final_label"] == "B"  # the decision on another field does not apply
    assert table.unmatched_adjudications == ("99",)
    assert table.kept_by_source()["adjudicated"] == 2
    assert table.class_counts.to_dict("records") == [
        {"label": "A", "before": 3, "after": 2},  # 1 (its model label), 3 (adjudicated), 10
        {"label": "B", "before": 4, "after": 3},  # 2 (adjudicated), 4, 5, 6
        {"label": "C", "before": 2, "after": 0},
    ]


def test_an_adjudication_without_field_applies_to_the_exported_field(dataset: Dataset) -> None:
    adj = pd.DataFrame({"task_id": ["2", "4"], "field": [None, "other"], "label": ["B", "A"],
                        "status": ["label", "label"]})
    rows = by_task(build_export(dataset, "topic", ExportRules(adjudications=adj)).rows)
    assert rows["2"]["final_label"] == "B" and rows["4"]["label_source"] == "unanimous"


def test_include_adjudicated_false_ignores_them(dataset: Dataset) -> None:
    plain = build_export(dataset, "topic")
    ignored = build_export(dataset, "topic", ExportRules(adjudications=ADJUDICATIONS,
                                                         include_adjudicated=False))
    pd.testing.assert_frame_equal(plain.rows, ignored.rows)
    assert ignored.rules.to_dict()["include_adjudicated"] is False


def test_an_adjudicated_label_nobody_gave_gets_its_own_class(dataset: Dataset) -> None:
    adj = pd.DataFrame({"task_id": ["6"], "label": ["D"], "status": ["label"]})
    table = build_export(dataset, "topic", ExportRules(adjudications=adj))
    row = by_task(table.rows)["6"]
    assert row["final_label"] == "D" and row["agreement"] == 0.0
    assert table.class_counts["label"].tolist() == ["A", "B", "C", "D"]
    assert table.class_counts["before"].tolist() == [3, 2, 2, 1]


def test_an_adjudicated_label_outside_the_declared_categories_is_an_error() -> None:
    data = make_dataset(spec=FieldSpec("topic", categories=("A", "B", "C"), to_name="text"))
    adj = pd.DataFrame({"task_id": ["6"], "label": ["D"], "status": ["label"]})
    with pytest.raises(InvalidInput, match=r"leads.csv: 1 problem") as err:
        build_export(data, "topic", ExportRules(adjudications=adj, adjudications_source="leads.csv"))
    assert "leads.csv, row 1: task 6, field \"topic\": label 'D' is not one of the declared " \
           "categories (A, B, C)" in str(err.value)


def test_a_rating_adjudication_read_as_text_matches_the_number() -> None:
    answers = {"1": {"a": 3, "b": 3}, "2": {"a": 1, "b": 2}}
    data = make_dataset(answers, spec=FieldSpec("topic", value_type="rating", level="ordinal"))
    adj = pd.DataFrame({"task_id": ["2"], "label": ["2"], "status": ["label"]})
    row = by_task(build_export(data, "topic", ExportRules(adjudications=adj)).rows)["2"]
    assert row["final_label"] == 2 and row["agreement"] == pytest.approx(0.5)


def test_malformed_adjudications_are_listed_row_by_row(dataset: Dataset) -> None:
    adj = pd.DataFrame({"task_id": ["1", None, "2"], "status": ["maybe", "label", "label"],
                        "label": ["A", "A", None]})
    with pytest.raises(InvalidInput, match="adjudications: 3 problem") as err:
        build_export(dataset, "topic", ExportRules(adjudications=adj))
    text = str(err.value)
    assert "row 1: task 1, field \"topic\": status 'maybe' is not one of label, ambiguous, excluded" in text
    assert "row 2: field \"topic\": task_id is missing" in text
    assert "row 3: task 2, field \"topic\": status \"label\" needs a label" in text
    with pytest.raises(InvalidInput, match="missing column"):
        build_export(dataset, "topic", ExportRules(adjudications=pd.DataFrame({"task": ["1"]})))


def test_a_task_decided_twice_needs_decided_at_and_the_latest_wins(dataset: Dataset) -> None:
    twice = pd.DataFrame({"task_id": ["2", "2"], "label": ["B", "C"], "status": ["label"] * 2})
    with pytest.raises(InvalidInput, match=r'task\(s\) 2 of field "topic" are decided more than once'):
        build_export(dataset, "topic", ExportRules(adjudications=twice))
    dated = twice.assign(decided_at=["2025-05-02T10:00:00Z", "2025-05-01T10:00:00Z"])
    row = by_task(build_export(dataset, "topic", ExportRules(adjudications=dated)).rows)["2"]
    assert row["final_label"] == "B"
    assert adjudications_sha256(dated, "topic") == adjudications_sha256(dated.iloc[::-1], "topic")
    assert adjudications_sha256(dated, "topic") != adjudications_sha256(twice.iloc[:1].assign(label="C"), "topic")


# --- task data -------------------------------------------------------------------------
def test_task_data_columns_named_like_export_columns_are_prefixed() -> None:
    tasks = pd.DataFrame({"task_id": list(ANSWERS), "confidence": ["high"] * len(ANSWERS),
                          "meta.batch": ["b1"] * len(ANSWERS)})
    table = build_export(make_dataset(tasks=tasks), "topic")
    assert table.data_columns == ("data.confidence", "meta.batch")
    assert table.rows["data.confidence"].eq("high").all()
    assert table.notes and "data.confidence" in table.notes[0]


def test_a_task_missing_from_the_task_table_has_empty_data() -> None:
    tasks = pd.DataFrame({"task_id": ["1"], "text": ["only one"]})
    rows = by_task(build_export(make_dataset(tasks=tasks), "topic").rows)
    assert rows["1"]["text"] == "only one" and pd.isna(rows["2"]["text"])


# --- rules -----------------------------------------------------------------------------
def test_rules_are_validated_and_recorded() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        ExportRules(method="glad")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='tie="reliability" applies to majority_vote only'):
        ExportRules(method="dawid_skene", tie="reliability")
    with pytest.raises(ValueError, match=r"min_confidence must be a number in \[0, 1\]"):
        ExportRules(min_confidence=1.5)
    with pytest.raises(TypeError, match="not one string"):
        ExportRules(exclude_annotators="abc")  # type: ignore[arg-type]
    rules = ExportRules(method="mace", exclude_annotators=("b", "a", "b"), seed=7)
    assert rules.to_dict() == {
        "method": "mace", "tie": "unresolved", "min_confidence": 0.0, "min_agreement": 0.0,
        "exclude_annotators": ["a", "b"], "include_adjudicated": True, "adjudications": None,
        "drop_unresolved": True, "seed": 7,
    }


def test_the_same_input_gives_the_same_table(dataset: Dataset) -> None:
    rules = ExportRules(method="mace", seed=3, min_confidence=0.6)
    one, two = build_export(dataset, "topic", rules), build_export(dataset, "topic", rules)
    pd.testing.assert_frame_equal(one.rows, two.rows)
    pd.testing.assert_frame_equal(one.dropped, two.dropped)


# --- the snapshot hash -----------------------------------------------------------------
def test_snapshot_hash_ignores_row_order_and_provenance(dataset: Dataset) -> None:
    table = dataset.annotations
    digest = snapshot_sha256(table)
    shuffled = table.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert snapshot_sha256(shuffled) == digest
    assert snapshot_sha256(table.assign(source="elsewhere.json", lead_time=9.0)) == digest
    changed = table.copy()
    changed.loc[0, "label"] = "B"
    assert snapshot_sha256(changed) != digest
    later = table.copy()
    later.loc[0, "created_at"] = later.loc[0, "created_at"] + pd.Timedelta(microseconds=1)
    assert snapshot_sha256(later) != digest
    micro = table.assign(created_at=table["created_at"].dt.as_unit("us"))
    assert snapshot_sha256(micro) == digest  # the same instants in another unit


def test_snapshot_hash_of_a_hand_computed_serialisation() -> None:
    import hashlib

    table = from_records([
        dict(task_id="2", annotation_id="9", annotator_id="a", field="f", label="x",
             created_at="1970-01-01T00:00:01Z"),
        dict(task_id="10", annotation_id="8", annotator_id="b", field="f", label=3.0),
    ])
    text = ('labelcheck-snapshot-v1\n"task_id":["10","2"]\n"annotation_id":["8","9"]\n'
            '"annotator_id":["b","a"]\n"field":["f","f"]\n"label":[3,"x"]\n'
            '"created_at":[null,1000000000]\n')
    assert snapshot_sha256(table) == hashlib.sha256(text.encode()).hexdigest()


def test_canonical_json_spells_each_value_once() -> None:
    assert canonical_json(3.0) == canonical_json(3) == "3"
    assert canonical_json(np.int64(3)) == "3" and canonical_json(float("nan")) == "null"
    assert canonical_json(("A", "B")) == '["A","B"]' and canonical_json('é"') == '"é\\""'
    assert canonical_json({"b": 1, "a": None}) == '{"a":null,"b":1}'


# --- the demo project ------------------------------------------------------------------
DEMO = Path(__file__).resolve().parents[2] / "labelcheck" / "demo"


def test_demo_dawid_skene_export_at_confidence_0_9() -> None:
    from labelcheck.io import read_annotations

    data = read_annotations(DEMO / "support_tickets.json")
    table = build_export(data, "intent", ExportRules(method="dawid_skene", min_confidence=0.9))
    # measured: 2,669 of 3,000 tickets kept (89%), every drop for low confidence
    assert (table.n_items, table.n_kept) == (3000, 2669)
    assert table.dropped_by_reason()["below_min_confidence"] == 331
    assert table.kept_by_source() == {"adjudicated": 0, "unanimous": 1601, "model": 1068,
                                      "unresolved": 0}
    assert table.rows["confidence"].min() >= 0.9
    assert list(table.rows.columns[:6]) == ["task_id", "ticket_id", "text", "channel",
                                            "language", "text_length"]
    # the kept labels are better than all labels against the generator's truth
    truth = pd.read_csv(DEMO / "truth.csv", dtype={"task_id": str}).set_index("task_id")["intent"]
    kept_accuracy = (table.rows["final_label"].to_numpy()
                     == truth.reindex(table.rows["task_id"]).to_numpy()).mean()
    assert kept_accuracy == pytest.approx(0.9756, abs=5e-5)  # 93.8% on all 3,000
    assert table.agreement.before.value == pytest.approx(0.6532, abs=5e-5)
