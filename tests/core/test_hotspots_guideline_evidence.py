"""Evidence for a guideline suggestion on one confused pair (labelcheck.guidelines.evidence)."""

from __future__ import annotations

import json

import pytest

from labelcheck.errors import InvalidInput
from labelcheck.guidelines.evidence import pair_evidence
from tests.conftest import make_table
from tests.core.test_hotspots_planted import Plan, simulate


def test_counts_direction_and_examples_by_hand() -> None:
    rows = [("t1", "r1", "A"), ("t1", "r2", "A"), ("t1", "r3", "B"),
            ("t2", "r1", "A"), ("t2", "r2", "A"), ("t2", "r3", "B"),
            ("t3", "r1", "A"), ("t3", "r2", "B"), ("t3", "r3", "A"),
            ("t4", "r1", "B"), ("t4", "r2", "B"), ("t4", "r3", "C")]
    ev = pair_evidence(make_table(rows), "B", "A")
    assert ev.labels == ("A", "B")  # category order
    assert (ev.counts["a_to_b"], ev.counts["b_to_a"]) == (3, 0)
    by_id = {r["annotator_id"]: r for r in ev.annotators}
    assert by_id["r3"]["a_to_b"] == 2 and by_id["r2"]["a_to_b"] == 1
    # r3's two "B where the others say A" answers, against r2's one in one chance: the
    # peers' rate of r3 is r2's (1/1), so r3 adds no excess over what peers would do
    assert by_id["r3"]["rate_a_to_b"] == 1.0 and by_id["r3"]["peer_rate_a_to_b"] == 1.0
    assert by_id["r3"]["excess"] == 0.0
    assert set(ev.example_item_ids) == {"t1", "t2", "t3"}
    first = ev.examples[0]
    assert sorted(a["label"] for a in first["answers"]) == ["A", "A", "B"]
    json.dumps(ev.to_dict(), allow_nan=False)


def test_planted_contrarian_drives_the_pair_and_the_slice_shows_where() -> None:
    ann, tasks = simulate(Plan(contrarian="u03", swap=("A", "D"), n_items=300, seed=41))
    ev = pair_evidence(ann, "A", "D", tasks=tasks, slices=["channel"])
    top = ev.annotators[0]
    assert top["annotator_id"] == "u03"
    assert top["rate_a_to_b"] > 0.5 and top["peer_rate_a_to_b"] < 0.1
    assert {s["value"] for s in ev.slices} == {"web", "mail", "phone"}
    assert sum(s["confusions"] for s in ev.slices) == ev.counts["a_to_b"] + ev.counts["b_to_a"]
    assert ev.counts["p_value"] < 0.01 and top["lean"] in (["A", "D"], ["D", "A"])


def test_unknown_label_is_named() -> None:
    with pytest.raises(InvalidInput, match=r'no label Z; labels: x, y'):
        pair_evidence(make_table([("t1", "a", "x"), ("t1", "b", "y")]), "x", "Z")
