"""The bundled demo projects: the hotspot analysis finds the story planted in them
(labelcheck/demo/README.md; tests/data/sentiment/make_sentiment.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelcheck.hotspots import find_hotspots
from labelcheck.io import read_annotations

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "labelcheck" / "demo" / "support_tickets.json"
SENTIMENT = next((p for p in (ROOT / "tests" / "data" / "sentiment" / "demo_export.json",
                              ROOT / "labelcheck" / "demo" / "demo_export.json") if p.exists()), None)


def kinds(report, *names: str) -> list:  # type: ignore[no-untyped-def]
    return [h for h in report.hotspots if h.kind in names]


@pytest.fixture(scope="module")
def support():  # type: ignore[no-untyped-def]
    if not SUPPORT.exists():
        pytest.skip("the support-ticket demo is not generated")
    data = read_annotations(SUPPORT)
    return find_hotspots(data.annotations, data.tasks, field="intent",
                         slices=["channel", "language", "text_length"], period="week")


def test_support_billing_refund_is_the_first_label_pair(support) -> None:  # type: ignore[no-untyped-def]
    pairs = kinds(support, "label_pair")
    assert pairs[0].key == ["Billing", "Refund"] and pairs[0].significant
    # the contrarian (9) drives the Refund -> Billing side of it
    drivers = {d["annotator_id"]: d for d in pairs[0].evidence["annotators"]}
    assert drivers["9"]["b_to_a"] > 100


def test_support_careless_and_contrarian_annotators_are_flagged(support) -> None:  # type: ignore[no-untyped-def]
    people = kinds(support, "annotator", "annotator_bias")
    assert {h.key for h in people if h.significant} == {"15", "9"}
    assert [h.key for h in people[:2]] == ["15", "9"]
    careless = people[0]
    assert careless.evidence["speed"]["median_lead_time"] < 8  # she is fast (5 s)


def test_support_phone_is_the_low_slice_and_languages_are_not(support) -> None:  # type: ignore[no-untyped-def]
    slices = kinds(support, "slice")
    assert slices[0].key == {"column": "channel", "value": "phone"} and slices[0].significant
    assert not any(h.significant for h in slices if h.key["column"] == "language")


def test_support_the_weeks_before_the_revision_are_worse(support) -> None:  # type: ignore[no-untyped-def]
    significant = [h.key for h in kinds(support, "period") if h.significant]
    assert significant and all(k < "2025-03-31" for k in significant)
    assert support.trend["slope_per_period"] > 0
    assert support.trend["step"]["at"] in ("2025-03-31", "2025-04-07")


def test_support_top_of_the_list_is_the_planted_story(support) -> None:  # type: ignore[no-untyped-def]
    top = [(h.kind, str(h.key)) for h in support.hotspots[:5]]
    assert top[:2] == [("annotator_bias", "15"), ("label_pair", "['Billing', 'Refund']")]
    # then the phone slice, the long texts (mostly calls: README, item 5) and annotator 9
    assert top[2] == ("slice", "{'column': 'channel', 'value': 'phone'}")
    assert ("annotator_bias", "9") in top
    assert all(h.significant for h in support.hotspots[:5])


@pytest.mark.skipif(SENTIMENT is None, reason="the sentiment demo is missing")
def test_sentiment_demo_story() -> None:
    data = read_annotations(SENTIMENT)  # type: ignore[arg-type]
    report = find_hotspots(data.annotations, data.tasks, field="sentiment", period="week")
    assert kinds(report, "label_pair")[0].key == ["Mixed", "Neutral"]
    people = kinds(report, "annotator", "annotator_bias")
    assert [h.key for h in people if h.significant] == ["13"]
    assert kinds(report, "slice")[0].key == {"column": "source", "value": "forum"}
    assert report.trend["step"]["at"] == "2024-04-01"  # the guideline revision
    assert [h.kind for h in report.hotspots[:3]] == ["annotator", "label_pair", "slice"]
