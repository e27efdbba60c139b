"""Per-item statistics of the item browser (labelcheck.analysis.items)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.analysis.items import COLUMNS, item_statistics, label_string
from labelcheck.storage.results import ITEM_STAT_COLUMNS
from labelcheck.table import Dataset, FieldSpec, ImportReport, Span, count_matrix, encode
from tests.conftest import from_matrix, make_table


def dataset(table: pd.DataFrame, **fields: FieldSpec) -> Dataset:
    return Dataset(table, pd.DataFrame(), fields, ImportReport("test"))


def by_task(stats: pd.DataFrame, field: str | None = None) -> pd.DataFrame:
    if field is not None:
        stats = stats[stats["field"] == field]
    return stats.set_index("task_id")


def test_columns_are_the_item_stat_table_columns() -> None:
    from labelcheck.analysis.consensus import COLUMNS as CONSENSUS_COLUMNS

    # item_stat = the disagreement figures + the consensus columns (joined on task and field)
    assert COLUMNS + CONSENSUS_COLUMNS[2:] == ITEM_STAT_COLUMNS
    stats = item_statistics(dataset(from_matrix([["x"], ["y"]])))
    assert tuple(stats.columns) == COLUMNS


def test_one_dissenter_worked_by_hand(one_dissenter: pd.DataFrame) -> None:
    # t2 has answers y, y, x: 2 of 6 ordered pairs agree (y-y both ways) -> D = 1 - 2/6;
    # shares 2/3, 1/3 -> H = -(2/3 log2 2/3 + 1/3 log2 1/3) = 0.9182958340544896
    stats = by_task(item_statistics(dataset(one_dissenter)))
    assert stats.loc["t2", "disagreement"] == pytest.approx(2 / 3)
    assert stats.loc["t2", "entropy"] == pytest.approx(0.9182958340544896)
    assert stats.loc["t2", "majority_label"] == "y"
    assert stats.loc["t2", "majority_share"] == pytest.approx(2 / 3)
    assert stats.loc["t2", "n_labels"] == 2
    for task in ("t1", "t3", "t4"):
        assert stats.loc[task, "disagreement"] == 0.0
        assert stats.loc[task, "entropy"] == 0.0
        assert stats.loc[task, "majority_share"] == 1.0
        assert stats.loc[task, "n_labels"] == 1
    assert list(stats["n_answers"]) == [3, 3, 3, 3]


def test_missing_answers_and_single_answer(missing_answers: pd.DataFrame) -> None:
    table = make_table([("t1", "a", "x"), ("t2", "a", "x"), ("t2", "b", "y"), ("t3", "a", "z"),
                        ("t3", "b", "z"), ("t3", "c", "z"), ("t3", "d", "x")])
    stats = by_task(item_statistics(dataset(table)))
    # a single answer: no pair, reported as 0 disagreement, entropy 0
    single = stats.loc["t1", ["n_answers", "disagreement", "entropy", "majority_share"]]
    assert single.tolist() == [1, 0.0, 0.0, 1.0]
    # 1-1 split: every pair differs, 1 bit; the tie goes to the first label in order (x < y)
    assert stats.loc["t2", "disagreement"] == 1.0
    assert stats.loc["t2", "entropy"] == pytest.approx(1.0)
    assert stats.loc["t2", "majority_label"] == "x"
    assert stats.loc["t2", "majority_share"] == 0.5
    # 3-1 of four answers: 6 of 12 ordered pairs agree -> D = 0.5; H = 0.8112781244591328
    assert stats.loc["t3", "disagreement"] == pytest.approx(0.5)
    assert stats.loc["t3", "entropy"] == pytest.approx(0.8112781244591328)
    assert stats.loc["t3", "majority_label"] == "z"
    # the fixture's tasks have two answers each (missing answers are not counted)
    missing = by_task(item_statistics(dataset(missing_answers)))
    assert missing["n_answers"].tolist() == [2, 2, 2, 2]


def test_ties_follow_the_declared_category_order() -> None:
    table = make_table([("t1", "a", "Positive"), ("t1", "b", "Negative"),
                        ("t2", "a", "Neutral"), ("t2", "b", "Negative")], field="sentiment")
    declared = FieldSpec("sentiment", categories=("Positive", "Neutral", "Negative"))
    stats = by_task(item_statistics(dataset(table, sentiment=declared)))
    assert stats["majority_label"].tolist() == ["Positive", "Neutral"]
    # without a declaration: the labels' natural order (Negative < Neutral < Positive)
    plain = by_task(item_statistics(dataset(table)))
    assert plain["majority_label"].tolist() == ["Negative", "Negative"]


def test_labels_outside_the_declared_categories_fall_back_to_their_own_order() -> None:
    table = make_table([("t1", "a", "b"), ("t1", "b", "c")])
    stats = item_statistics(dataset(table, label=FieldSpec("label", categories=("a", "b"))))
    assert stats["majority_label"].tolist() == ["b"]


def test_fields_are_kept_apart_in_declared_order() -> None:
    rating = make_table([("t1", "a", 2.0), ("t1", "b", 2), ("t1", "c", 3)], field="toxicity")
    choice = make_table([("t1", "a", "x"), ("t1", "b", "y")], field="sentiment")
    table = pd.concat([rating, choice], ignore_index=True)
    table["field"] = table["field"].astype("category")
    specs = {"sentiment": FieldSpec("sentiment"),
             "toxicity": FieldSpec("toxicity", "rating", "interval")}
    stats = item_statistics(dataset(table, **specs))
    assert stats["field"].tolist() == ["sentiment", "toxicity"]
    tox = by_task(stats, "toxicity")
    # every distinct rating is a category: 2, 2, 3 is a 2-1 split whatever the level
    assert tox.loc["t1", "disagreement"] == pytest.approx(2 / 3)
    assert tox.loc["t1", "majority_label"] == "2"


def test_non_choice_labels_are_categories_of_their_own() -> None:
    span_a = (Span(0, 4, ("ORG",)),)
    span_b = (Span(0, 5, ("ORG",)),)
    table = make_table([("t1", "a", span_a), ("t1", "b", span_a), ("t1", "c", span_b),
                        ("t2", "a", ("x", "y")), ("t2", "b", ("x",))], field="ner")
    stats = by_task(item_statistics(dataset(table)))
    assert stats.loc["t1", "disagreement"] == pytest.approx(2 / 3)
    assert stats.loc["t1", "majority_label"] == "ORG [0-4]"
    assert stats.loc["t2", "n_labels"] == 2


def test_missing_labels_are_not_answers() -> None:
    table = make_table([("t1", "a", "x"), ("t1", "b", None), ("t1", "c", "x")])
    stats = by_task(item_statistics(dataset(table)))
    assert stats.loc["t1", "n_answers"] == 2


def test_empty_table() -> None:
    empty = make_table([])
    stats = item_statistics(dataset(empty))
    assert stats.empty and tuple(stats.columns) == COLUMNS


@pytest.mark.parametrize(("value", "text"), [
    ("Positive", "Positive"), (2.0, "2"), (2, "2"), (np.int64(3), "3"), (2.5, "2.5"),
    (("a", "b"), "a, b"), ((Span(1, 3, ("PER", "ORG")),), "PER/ORG [1-3]"),
])
def test_label_string(value: object, text: str) -> None:
    assert label_string(value) == text


def test_agrees_with_fleiss_per_subject_agreement() -> None:
    # Fleiss (1971) P_i = (sum_j n_ij^2 - n) / (n (n - 1)): disagreement is 1 - P_i
    rng = np.random.default_rng(3)
    rows = [(f"t{t}", f"r{r}", str(rng.integers(0, 4))) for t in range(60) for r in range(5)]
    table = make_table(rows)
    counts = count_matrix(encode(table)).astype(float)
    p_i = (np.square(counts).sum(axis=1) - 5) / (5 * 4)
    stats = item_statistics(dataset(table))
    np.testing.assert_allclose(stats["disagreement"].to_numpy(), 1.0 - p_i, atol=1e-12)


labels = st.sampled_from(["a", "b", "c", "d"])
answers = st.lists(st.tuples(st.integers(0, 8), st.integers(0, 5), labels), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(answers)
def test_matches_a_direct_count_per_task(rows: list[tuple[int, int, str]]) -> None:
    table = make_table([(f"t{t}", f"r{r}", lab) for t, r, lab in rows])
    stats = by_task(item_statistics(dataset(table)))
    frame = pd.DataFrame(rows, columns=["t", "r", "label"])
    for t, group in frame.groupby("t"):
        counts = group["label"].value_counts()
        m = len(group)
        row = stats.loc[f"t{t}"]
        assert row["n_answers"] == m
        assert row["n_labels"] == len(counts)
        expected_d = 0.0 if m < 2 else 1.0 - float((counts * (counts - 1)).sum()) / (m * (m - 1))
        assert row["disagreement"] == pytest.approx(expected_d, abs=1e-12)
        p = counts / m
        assert row["entropy"] == pytest.approx(float(-(p * np.log2(p)).sum()), abs=1e-12)
        top = counts.max()
        assert row["majority_label"] == min(counts[counts == top].index)
        assert row["majority_share"] == pytest.approx(top / m)
        assert 0.0 <= row["disagreement"] <= 1.0 and row["entropy"] <= math.log2(m) + 1e-12
