"""Consensus for label sets, ratings and free text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelcheck.consensus.structured import (
    multilabel_consensus,
    rating_consensus,
    text_consensus,
)
from labelcheck.errors import InvalidInput
from labelcheck.table import from_records


def make(rows: list[tuple], field: str = "f") -> pd.DataFrame:  # type: ignore[type-arg]
    records = []
    for k, row in enumerate(rows):
        t, c, lab = row[:3]
        rec = {"task_id": t, "annotator_id": c, "label": lab, "field": field,
               "annotation_id": f"n{k}"}
        if len(row) > 3:
            rec["created_at"] = row[3]
        records.append(rec)
    return from_records(records)


def test_multilabel_majority_per_label() -> None:
    rows = [("t1", "a", ("a", "b")), ("t1", "b", ("a",)), ("t1", "c", ("b",)),
            ("t2", "a", ()), ("t2", "b", ("x",)), ("10", "a", ("y", "x")), ("2", "a", ())]
    out = multilabel_consensus(make(rows))
    assert out["task_id"].tolist() == ["2", "10", "t1", "t2"]  # export order
    by = out.set_index("task_id")
    assert by.loc["t1", "label"] == ("a", "b")  # not any single answer
    assert by.loc["t1", "confidence"] == pytest.approx(2 / 3)
    assert by.loc["t2", "label"] == () and bool(by.loc["t2", "tie"])
    assert by.loc["t2", "tied_labels"] == ("x",) and by.loc["t2", "confidence"] == 0.5
    assert by.loc["10", "label"] == ("x", "y") and by.loc["10", "confidence"] == 1.0
    assert by.loc["2", "confidence"] == 1.0  # nothing named: unanimous empty answer
    assert out["reason"].isna().all() and by["n_answers"].tolist() == [1, 1, 3, 2]


def test_rating_median_lower_median_and_tolerance() -> None:
    rows = [("t1", "a", 1.0), ("t1", "b", 2.0), ("t1", "c", 2.0), ("t2", "a", 4.0),
            ("t2", "b", 2.0), ("t3", "a", 5.0), ("t4", "a", 3.0), ("t4", "b", 3.0)]
    out = rating_consensus(make(rows)).set_index("task_id")
    assert out["label"].tolist() == [2.0, 2.0, 5.0, 3.0]
    assert out["tie"].tolist() == [False, True, False, False]
    assert out["confidence"].tolist() == pytest.approx([2 / 3, 0.5, 1.0, 1.0])
    assert out["tolerance"].iloc[0] == 0.5  # half the step of whole stars
    wide = rating_consensus(make(rows), tolerance=1).set_index("task_id")
    assert wide.loc["t1", "confidence"] == 1.0 and wide.loc["t2", "confidence"] == 0.5
    half = rating_consensus(make([("t1", "a", 1.5), ("t1", "b", 2.0), ("t1", "c", 3.0)]))
    assert half["tolerance"].iloc[0] == 0.25 and half["confidence"].iloc[0] == pytest.approx(1 / 3)
    with pytest.raises(InvalidInput, match="not numbers"):
        rating_consensus(make([("t1", "a", "good")]))


def test_text_medoid() -> None:
    rows = [("t1", "a", "the cat"), ("t1", "b", "The cat."), ("t1", "c", "a dog"),
            ("t2", "a", "x", "2024-01-02"), ("t2", "b", "y", "2024-01-01"),
            ("t3", "a", "solo")]
    out = text_consensus(make(rows)).set_index("task_id")
    assert out.loc["t1", "label"] == "the cat" and not out.loc["t1", "tie"]
    # normalised: "the cat" vs "the cat." is 1 edit over 8 characters
    from rapidfuzz.distance import Levenshtein
    expected = 1 - (1 / 8 + Levenshtein.normalized_distance("the cat", "a dog")) / 2
    assert out.loc["t1", "confidence"] == pytest.approx(expected, abs=1e-12)
    # t2: a tie of two different answers goes to the earliest created_at
    assert out.loc["t2", "label"] == "y" and bool(out.loc["t2", "tie"])
    assert out.loc["t2", "confidence"] == 0.0 and out.loc["t2", "annotation_id"] == "n4"
    assert out.loc["t3", "confidence"] == 1.0 and out.loc["t3", "n_answers"] == 1


def test_text_tie_without_times_is_lexicographic_and_equal_answers_no_tie() -> None:
    out = text_consensus(make([("t1", "a", "b"), ("t1", "b", "a")]))
    assert out["label"].iloc[0] == "a" and bool(out["tie"].iloc[0])
    same = text_consensus(make([("t1", "a", "Yes"), ("t1", "b", "yes"), ("t1", "c", "no")]))
    assert same["label"].iloc[0] == "Yes" and not bool(same["tie"].iloc[0])


def test_hand_medoid_example() -> None:
    # answers abc, abd, xyz: sums abc: 1/3 + 1, abd: 1/3 + 1, xyz: 2 -> tie abc / abd,
    # broken lexicographically; confidence 1 - (4/3)/2 = 1/3
    out = text_consensus(make([("t", "a", "abd"), ("t", "b", "xyz"), ("t", "c", "abc")]))
    assert out["label"].iloc[0] == "abc" and bool(out["tie"].iloc[0])
    assert out["confidence"].iloc[0] == pytest.approx(1 / 3, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_deterministic_under_row_order_and_one_row_per_task(seed: int) -> None:
    rng = np.random.default_rng(seed)
    words = ["alpha", "alphas", "beta", "gamma", "Alpha "]
    rows = [(f"t{t}", f"c{c}", str(rng.choice(words)), f"2024-01-{c + 1:02d}")
            for t in range(20) for c in range(int(rng.integers(1, 5)))]
    table = make(rows)
    shuffled = table.sample(frac=1.0, random_state=seed)
    a, b = text_consensus(table), text_consensus(shuffled)
    pd.testing.assert_frame_equal(a, b)
    assert a["task_id"].is_unique and len(a) == table["task_id"].nunique()
    for _, row in a.iterrows():
        assert row["label"] in set(table.loc[table["task_id"] == row["task_id"], "label"])
        assert 0.0 <= row["confidence"] <= 1.0
