"""Majority vote: tie policies, reliability, the result's shapes, properties."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelcheck.consensus import METHODS, TIE_POLICIES, majority_vote
from labelcheck.errors import InvalidInput
from labelcheck.table import encode, from_records
from tests.conftest import from_matrix, make_table


def test_hand_worked_votes(one_dissenter: pd.DataFrame) -> None:
    # r3 says x on t2 where r1 and r2 say y
    result = majority_vote(one_dissenter)
    assert result.labels.tolist() == ["x", "y", "x", "y"]
    assert result.confidence.tolist() == pytest.approx([1, 2 / 3, 1, 1])
    assert result.posterior[1].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert not result.tie.any() and result.n_unresolved == 0
    assert result.annotators()["reliability"].tolist() == pytest.approx([1, 1, 0.75])
    assert result.reliability_name == "agreement_with_consensus"


TIED = from_matrix([
    ["x", "y", "x", "x", "y"],
    ["x", "y", "y", "x", "z"],
    ["x", "x", None, "y", "z"],
    [None, "y", None, "y", None],
])


def test_unresolved_is_the_default_and_names_the_tie() -> None:
    result = majority_vote(TIED)
    assert result.labels.tolist() == ["x", "y", None, None, "z"]
    assert result.tie.tolist() == [False, False, True, True, False]
    assert list(result.reasons) == [None, None, "tie between x and y (1 answer each)",
                                    "tie between x and y (2 answers each)", None]
    assert result.confidence[2:4].tolist() == [0.5, 0.5]
    assert result.details["n_unresolved"] == 2


def test_deterministic_takes_the_first_category_and_keeps_the_tie_flag() -> None:
    result = majority_vote(TIED, tie="deterministic")
    assert result.labels.tolist() == ["x", "y", "x", "x", "z"]
    assert result.tie.tolist() == [False, False, True, True, False]
    assert all(r is None for r in result.reasons)
    declared = majority_vote(TIED, tie="deterministic", categories=["z", "y", "x"])
    assert declared.labels.tolist()[2:4] == ["y", "y"]


def test_reliability_breaks_ties_with_estimated_weights() -> None:
    result = majority_vote(TIED, tie="reliability")
    # strict-majority items t1, t2, t5: r1 agrees 2/3, r2 3/3, r3 2/3, r4 1/1
    # t3: x (r1) vs y (r2): r2 wins; t4: x (r1, r2) vs y (r3, r4): 2/3 + 1 each, still tied
    assert result.labels.tolist() == ["x", "y", "y", None, "z"]
    assert result.reasons[3] == (
        "tie between x and y (the tie persists after weighting answers by annotator reliability)"
    )
    assert result.details["reliability_source"] == "agreement_with_strict_majority"
    assert result.details["n_broken_by_reliability"] == 1


def test_reliability_given_by_the_caller() -> None:
    weights = {"r1": 0.9, "r2": 0.2, "r3": 0.5, "r4": 0.5}
    result = majority_vote(TIED, tie="reliability", reliability=weights)
    assert result.labels.tolist() == ["x", "y", "x", "x", "z"]
    assert result.details["reliability_source"] == "given"


def test_reliability_must_cover_every_annotator() -> None:
    with pytest.raises(InvalidInput, match=r'no reliability for annotator\(s\) r3, r4 of field "label"'):
        majority_vote(TIED, tie="reliability", reliability={"r1": 1.0, "r2": 0.5})
    with pytest.raises(InvalidInput, match=r"finite number >= 0; annotator\(s\) r2 have another value"):
        majority_vote(TIED, tie="reliability", reliability={"r1": 1, "r2": -1, "r3": 1, "r4": 1})


def test_unknown_tie_policy_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="tie must be one of unresolved, reliability, deterministic; got 'coin'"):
        majority_vote(TIED, tie="coin")  # type: ignore[arg-type]


def test_several_fields_need_a_choice() -> None:
    table = pd.concat([make_table([("t1", "a", "x")], field="f1"),
                       make_table([("t1", "a", 1)], field="f2")], ignore_index=True)
    table = from_records(table)
    with pytest.raises(InvalidInput, match=r"the table has 2 fields \(f1, f2\); choose one"):
        majority_vote(table)
    assert majority_vote(table, field="f2").labels.tolist() == [1]


def test_coded_ratings_are_accepted_and_the_field_checked() -> None:
    coded = encode(TIED)
    assert majority_vote(coded).labels.tolist() == majority_vote(TIED).labels.tolist()
    with pytest.raises(ValueError, match="coded ratings are for field 'label', not 'other'"):
        majority_vote(coded, field="other")


def test_result_frames_and_json() -> None:
    result = majority_vote(TIED)
    items = result.items()
    assert list(items.columns) == ["item_id", "label", "confidence", "tie", "p_x", "p_y", "p_z",
                                   "reason", "n_answers"]
    assert items["n_answers"].tolist() == [3, 4, 2, 4, 3]
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert set(payload) == {"method", "field", "items", "annotators", "model"}
    first, tie = payload["items"][0], payload["items"][2]
    assert set(first) == {"item_id", "label", "confidence", "tie", "posterior", "reason"}
    assert first["posterior"] == {"x": 1.0, "y": 0.0, "z": 0.0}
    assert tie["label"] is None and tie["tie"] is True
    assert payload["annotators"][0] == {"annotator_id": "r1", "n_annotations": 5,
                                        "reliability": pytest.approx(2 / 3)}


def test_numeric_and_tuple_labels_keep_their_type_in_json() -> None:
    nums = majority_vote(make_table([("t1", "a", 2), ("t1", "b", 2), ("t2", "a", 1)]))
    payload = nums.to_dict()
    assert [i["label"] for i in payload["items"]] == [2, 1]
    assert payload["items"][0]["posterior"] == {"1": 0.0, "2": 1.0}
    multi = majority_vote(make_table([("t1", "a", ("p", "q")), ("t1", "b", ("p", "q"))]))
    assert multi.to_dict()["items"][0]["label"] == ["p", "q"]


def test_the_registry_names_the_contract_methods() -> None:
    from labelcheck.commands.consensus import METHOD_NAMES, TIE_CHOICES

    assert tuple(METHODS) == METHOD_NAMES
    assert TIE_POLICIES == TIE_CHOICES


# --- properties -------------------------------------------------------------------------
PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tables(draw: Any) -> pd.DataFrame:
    cats = [f"c{i}" for i in range(draw(st.integers(1, 5)))]
    rows = []
    for i in range(draw(st.integers(1, 15))):
        for _ in range(draw(st.integers(1, 5))):
            rows.append({"task_id": f"t{i}", "annotator_id": f"a{draw(st.integers(0, 5))}",
                         "label": draw(st.sampled_from(cats))})
    return from_records(rows)


@PROPS
@given(tables(), st.sampled_from(TIE_POLICIES))
def test_one_row_per_item_and_the_label_was_given(table: pd.DataFrame, tie: Any) -> None:
    result = majority_vote(table, tie=tie)
    assert list(result.item_ids) == list(pd.unique(table["task_id"]))
    given_per_item = table.groupby("task_id")["label"].agg(set)
    for item_id, label in result.labels.items():
        assert label is None or label in given_per_item[item_id]
    assert ((result.labels.isna()) == (result.codes < 0)).all()
    if tie == "deterministic":
        assert result.n_unresolved == 0
    assert np.allclose(result.posterior.sum(axis=1), 1.0)


@PROPS
@given(tables(), st.randoms(use_true_random=False))
def test_relabelling_categories_relabels_the_result(table: pd.DataFrame, rnd: Any) -> None:
    cats = sorted(set(table["label"]))
    targets = [f"n{i}" for i in range(len(cats))]
    rnd.shuffle(targets)
    rename = dict(zip(cats, targets))
    before = majority_vote(table)
    after = majority_vote(table.assign(label=table["label"].map(rename)))
    assert before.labels.map(lambda x: None if x is None else rename[x]).tolist() == after.labels.tolist()
    assert after.tie.tolist() == before.tie.tolist()
    assert after.confidence.tolist() == before.confidence.tolist()
