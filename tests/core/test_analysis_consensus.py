"""The consensus part of the analysis (labelcheck.analysis.consensus): each item's
Dawid-Skene label and posterior, its adjudication need, and annotator reliability."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from labelcheck.analysis.consensus import COLUMNS, project_consensus
from labelcheck.consensus import dawid_skene, majority_vote
from labelcheck.table import Dataset, ImportReport
from tests.conftest import from_matrix

# 4 annotators x 6 tasks; t1 unanimous, t2 3-1, t3 2-2 (tied), t4 one answer,
# t5 and t6 in the "hard" slice
MATRIX = [
    ["a", "a", "a", "b", "a", "b"],
    ["a", "a", "a", None, "b", "b"],
    ["a", "a", "b", None, "a", "a"],
    ["a", "b", "b", None, "b", "b"],
]
FIELDS = [{"name": "label", "value_type": "choice", "analysed": True, "categories": None}]


def dataset() -> Dataset:
    table = from_matrix(MATRIX)
    tasks = pd.DataFrame({"task_id": [f"t{i}" for i in range(1, 7)],
                          "channel": ["web", "web", "web", "web", "phone", "phone"]})
    return Dataset(table, tasks, {}, ImportReport("test"))


def test_need_is_model_doubt_boosted_by_hot_slices_plus_majority_ties() -> None:
    data = dataset()
    report = {"hotspots": [
        {"kind": "slice", "key": {"column": "channel", "value": "phone"}, "priority": 0.4},
        {"kind": "slice", "key": {"column": "channel", "value": "web"}, "priority": 0.1},
        {"kind": "label_pair", "key": ["a", "b"], "priority": 0.9},
    ]}
    items, payloads = project_consensus(data, FIELDS, {"label": report})
    assert tuple(items.columns) == COLUMNS
    ds = dawid_skene(data.annotations, field="label")
    mv = majority_vote(data.annotations, field="label")
    rows = items.set_index("task_id")
    for i, task in enumerate(ds.item_ids):
        row = rows.loc[task]
        p = float(ds.confidence[i])
        assert math.isclose(row["consensus_confidence"], p)
        if task == "t4":  # one answer: nothing to adjudicate between
            assert np.isnan(row["need"]) and row["need_reason"] is None
            continue
        share = {"t5": 1.0, "t6": 1.0}.get(task, 0.25)  # phone: 0.4/0.4; web: 0.1/0.4
        tie = bool(mv.tie[list(mv.item_ids).index(task)])
        assert math.isclose(row["need"], (1 - p) * (1 + share) + tie), task
    assert "majority vote tied" in rows.loc["t3", "need_reason"]
    assert "in slice channel=phone" in rows.loc["t5", "need_reason"]
    payload = payloads["label"]
    assert payload["n_items_multi"] == 5 and payload["n_majority_tied"] == int(mv.tie[mv.n_answers >= 2].sum())
    reliability = {a["annotator_id"]: a["reliability"] for a in payload["annotators"]}
    assert reliability == {str(a): round(float(r), 6) for a, r in zip(ds.annotator_ids, ds.reliability)}
    confusion = np.asarray(payload["annotators"][0]["confusion"])
    assert confusion.shape == (2, 2) and np.allclose(confusion.sum(axis=1), 1, atol=1e-3)


def test_without_hotspots_need_is_doubt_and_other_types_are_left_alone() -> None:
    data = dataset()
    fields = FIELDS + [{"name": "spans", "value_type": "span", "analysed": True}]
    items, payloads = project_consensus(data, fields, None)
    assert set(payloads) == {"label"} and set(items["field"]) == {"label"}
    multi = items.dropna(subset=["need"])
    tied = multi["need_reason"].str.contains("majority vote tied")
    assert np.allclose(multi["need"], 1 - multi["consensus_confidence"] + tied)
