"""Consensus for spans (span and character voting) and regions (box fusion)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.consensus.regions import region_consensus
from labelcheck.consensus.spans import span_consensus
from labelcheck.table import Region, Span, from_records


def S(start: int, end: int, *labels: str, text: str | None = None) -> Span:
    return Span(start, end, tuple(labels), text)


def B(x: float, y: float, w: float, h: float, label: str = "car") -> Region:
    return Region("rectangle", (label,), x, y, w, h)


def table(rows: Sequence[tuple[str, str, Any]]) -> pd.DataFrame:
    return from_records([
        {"task_id": t, "annotator_id": a, "label": lab, "annotation_id": f"n{k}"}
        for k, (t, a, lab) in enumerate(rows, start=1)
    ])


SPANS = table([
    ("t", "a", (S(0, 5, "PER", text="Alice"), S(7, 9, "LOC"))),
    ("t", "b", (S(0, 4, "PER"), S(7, 9, "ORG"))),
    ("t", "c", (S(0, 5, "PER"),)),
    ("u", "a", ()),
    ("u", "b", (S(1, 3, "PER"),)),
    ("v", "a", (S(2, 4, "X"),)),
])


def test_span_voting_worked_example() -> None:
    out = span_consensus(SPANS).set_index("task_id")
    assert list(out.columns) == ["label", "confidence", "n_answers", "reason"]
    # t: PER[0,5) in 2 of 3 (kept, share 2/3); PER[0,4), LOC, ORG in 1 of 3 (left out,
    # 2/3 agree with leaving them out).  confidence = mean(2/3, 2/3, 2/3, 2/3) = 2/3.
    assert out.loc["t", "label"] == (S(0, 5, "PER", text="Alice"),)
    assert out.loc["t", "confidence"] == pytest.approx(2 / 3)
    assert out.loc["t", "n_answers"] == 3 and out.loc["t", "reason"] is None
    # u: PER[1,3) in 1 of 2 = exactly min_share: a tie, left out
    assert out.loc["u", "label"] == ()
    assert "exactly 0.5 of the answers (a tie)" in str(out.loc["u", "reason"])
    assert out.loc["v", "label"] == (S(2, 4, "X"),)
    assert out.loc["v", "reason"] == "one answer: the consensus is that answer"


def test_character_voting_worked_example() -> None:
    out = span_consensus(SPANS, mode="character").set_index("task_id")
    # t, characters 0..8: 0-3 PER (3/3), 4 PER (2/3), 5-6 O (3/3), 7-8 LOC/ORG/O (1/3
    # each: no majority, O).  Spans: PER[0,5).  confidence = (4*1 + 2/3 + 2*1 + 2*1/3)/9
    assert out.loc["t", "label"] == (S(0, 5, "PER", text="Alice"),)
    assert out.loc["t", "confidence"] == pytest.approx((4 + 2 / 3 + 2 + 2 / 3) / 9)
    assert "2 character(s) had no category with more than 0.5" in str(out.loc["t", "reason"])


def test_character_voting_builds_new_spans() -> None:
    # a: A[0,7); b: A[2,8); c: A[2,6) B[6,8).  Per character: 0-1 O (A 1/3), 2-5 A (3/3),
    # 6 A (2/3: a, b), 7 no majority (O, A, B) -> O.  One run A[2,7), drawn by no one.
    t = table([("t", "a", (S(0, 7, "A"),)), ("t", "b", (S(2, 8, "A"),)),
               ("t", "c", (S(2, 6, "A"), S(6, 8, "B")))])
    assert span_consensus(t, mode="character")["label"].iloc[0] == (S(2, 7, "A"),)
    assert span_consensus(t, mode="span")["label"].iloc[0] == ()


span_st = st.tuples(st.integers(0, 10), st.integers(1, 5), st.sampled_from("AB")).map(
    lambda x: S(x[0], x[0] + x[1], x[2]))


@settings(max_examples=30, deadline=None)
@given(anns=st.lists(st.lists(span_st, max_size=3).map(tuple), min_size=1, max_size=4),
       mode=st.sampled_from(["span", "character"]))
def test_consensus_one_row_per_task_and_labels_given(anns: list[tuple[Span, ...]], mode: str) -> None:
    data = table([("t", f"a{k}", lab) for k, lab in enumerate(anns)] + [("u", "a0", ())])
    out = span_consensus(data, mode=mode)  # type: ignore[arg-type]
    assert list(out["task_id"]) == ["t", "u"]
    given_labels = {x for lab in anns for s in lab for x in s.labels}
    got = {x for s in out["label"].iloc[0] for x in s.labels}
    assert got <= given_labels
    assert ((out["confidence"] >= 0) & (out["confidence"] <= 1)).all()
    if mode == "span":
        given_spans = {(s.start, s.end) for lab in anns for s in lab}
        assert {(s.start, s.end) for s in out["label"].iloc[0]} <= given_spans


def test_region_fusion_worked_example() -> None:
    data = table([
        ("t", "a", (B(10, 10, 20, 20), B(70, 70, 10, 10, "dog"))),
        ("t", "b", (B(12, 10, 20, 22),)),
        ("t", "c", (B(11, 14, 18, 20), B(50, 0, 5, 5))),
    ])
    out = region_consensus(data).set_index("task_id")
    # the three cars overlap pairwise with IoU >= 0.5 (e.g. a-b: 18*20 / (400+440-360)
    # = 0.75): one cluster of 3/3, fused by medians x 11, y 10, width 20, height 20.
    # dog (1/3) and the small car (1/3) are left out.  confidence = mean(1, 2/3, 2/3).
    assert out.loc["t", "label"] == (Region("rectangle", ("car",), 11.0, 10.0, 20.0, 20.0, 0.0),)
    assert out.loc["t", "confidence"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert out.loc["t", "n_answers"] == 3


def test_region_consensus_polygon_medoid_and_ties() -> None:
    tri = Region("polygon", ("roof",), points=((10.0, 10.0), (30.0, 10.0), (20.0, 30.0)))
    tri2 = Region("polygon", ("roof",), points=((11.0, 10.0), (30.0, 10.0), (20.0, 30.0)))
    tri3 = Region("polygon", ("roof",), points=((12.0, 10.0), (30.0, 11.0), (20.0, 29.0)))
    data = table([("t", "a", (tri,)), ("t", "b", (tri2,)), ("t", "c", (tri3,)),
                  ("u", "a", (B(0, 0, 10, 10),)), ("u", "b", ())])
    out = region_consensus(data).set_index("task_id")
    assert out.loc["t", "label"] == (tri2,)  # the middle one has the largest summed IoU
    assert out.loc["u", "label"] == ()
    assert "exactly 0.5 of the answers (a tie)" in str(out.loc["u", "reason"])


def test_one_region_per_annotation_per_cluster() -> None:
    # a drew two near-identical boxes; b one.  a's two boxes never share a cluster,
    # so one cluster has a+b (kept, 2/2) and the other only a (1/2: a tie, left out).
    data = table([("t", "a", (B(10, 10, 20, 20), B(10, 10, 20, 21))), ("t", "b", (B(10, 10, 20, 20),))])
    out = region_consensus(data)
    assert out["label"].iloc[0] == (Region("rectangle", ("car",), 10.0, 10.0, 20.0, 20.0, 0.0),)
