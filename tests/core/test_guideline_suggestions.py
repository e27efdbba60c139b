"""Guideline suggestions: deterministic text from a confused pair's evidence and the
guideline's passages; on the demo it tells the planted story."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelcheck.guidelines.evidence import pair_evidence
from labelcheck.guidelines.suggestions import (
    markdown_blocks,
    passages_mentioning,
    suggest_for_pair,
    suggestion_reference,
)
from labelcheck.io import read_annotations

DEMO = Path(__file__).resolve().parents[2] / "labelcheck" / "demo"


@pytest.fixture(scope="module")
def demo_evidence() -> dict:
    data = read_annotations(DEMO / "support_tickets.json")
    return pair_evidence(data.annotations, "Billing", "Refund", field="intent", tasks=data.tasks,
                         slices=["channel", "language"]).to_dict()


def test_blocks_and_passages() -> None:
    text = "# Refund\n\nAsk for a refund.\n\n```\nBilling\n\ncode\n```\n\nBilling or refund: see below.\n\nRefunds are fine."
    assert markdown_blocks(text) == ["# Refund", "Ask for a refund.", "```\nBilling\n\ncode\n```",
                                     "Billing or refund: see below.", "Refunds are fine."]
    # headings left out, whole words only ("Refunds" is not "Refund"), both labels first
    assert passages_mentioning(text, ("Billing", "Refund")) == [
        "Billing or refund: see below.", "Ask for a refund.", "```\nBilling\n\ncode\n```"]
    assert passages_mentioning(None, ("a", "b")) == [] and passages_mentioning("x", ("a", "b")) == []


def test_reference_is_stable_in_label_order() -> None:
    assert suggestion_reference("intent", ("Refund", "Billing")) == suggestion_reference("intent", ["Billing", "Refund"])
    assert suggestion_reference("intent", ("Refund", "Billing")) == "intent:Billing|Refund"


def test_demo_suggestion_tells_the_planted_story(demo_evidence: dict) -> None:
    guideline = (DEMO / "guideline_v1.md").read_text()
    s = suggest_for_pair(demo_evidence, "intent", guideline)
    assert s.findings[0].startswith("Billing and Refund are confused 828 times where chance predicts 216 (3.8x), "
                                    "on 606 items; agreement on these items is alpha = 0.39")
    drivers = [f for f in s.findings if f.startswith("Annotator ")]
    assert drivers and drivers[0].startswith("Annotator 9 answers Billing where the others' plurality is Refund "
                                             "in 70% of cases (peers: 18%)")
    assert s.passages and all(("billing" in p.lower()) or ("refund" in p.lower()) for p in s.passages)
    assert "When an item could be Billing or Refund" in s.proposal
    assert s.example_item_ids[:3] == [e["task_id"] for e in demo_evidence["examples"][:3]]
    assert s == suggest_for_pair(demo_evidence, "intent", guideline)  # deterministic


def test_a_guideline_that_never_names_the_labels_says_so(demo_evidence: dict) -> None:
    s = suggest_for_pair(demo_evidence, "intent", "# Guide\n\nBe careful.")
    assert s.passages == [] and any("does not mention Billing or Refund" in f for f in s.findings)
    assert not any("does not mention" in f for f in suggest_for_pair(demo_evidence, "intent", None).findings)
