"""Guideline suggestions: deterministic text a lead can act on, from the evidence of a
confused pair of labels (:func:`labelcheck.guidelines.evidence.pair_evidence`) and the
current guideline's text.

No language model: every sentence is a template filled with counts.  A suggestion says

* what: how often the two labels are confused against chance, and in which direction;
* who: the annotators who add most confusions beyond their peers, and which way they lean;
* where: the slice values where the confusion rate is highest;
* which passages of the guideline mention either label (so the lead sees what annotators
  read today), and
* a proposed clarification to complete ("When an item could be A or B, choose A if ...;
  choose B if ..."), with the most split example items.

Pure string and number work (computational core; no I/O).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from typing import Any

#: Annotators named in a suggestion: those adding at least this many confusions beyond
#: their peers, at most ``MAX_DRIVERS`` of them.
MIN_EXCESS = 10.0
MAX_DRIVERS = 3
MAX_PASSAGES = 4


@dataclass(frozen=True)
class Suggestion:
    """A guideline suggestion for one confused pair of labels of one field."""

    field: str
    labels: tuple[str, str]
    reference: str  # stable id, e.g. "intent:Billing|Refund"
    findings: list[str]
    passages: list[str]  # markdown blocks of the guideline that mention a label
    proposal: str  # markdown to paste into the draft
    example_item_ids: list[str] = dc_field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "labels": list(self.labels), "reference": self.reference,
                "findings": list(self.findings), "passages": list(self.passages),
                "proposal": self.proposal, "example_item_ids": list(self.example_item_ids)}


def suggestion_reference(field_name: str, labels: tuple[Any, Any] | list[Any]) -> str:
    """The stable reference of a pair's suggestion: the field and the two labels sorted."""
    a, b = sorted(str(x) for x in labels)
    return f"{field_name}:{a}|{b}"


def markdown_blocks(text: str) -> list[str]:
    """Top-level blocks of a markdown text (separated by blank lines; a fenced code block
    stays whole)."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def passages_mentioning(guideline: str | None, labels: tuple[str, str] | list[str],
                        limit: int = MAX_PASSAGES) -> list[str]:
    """The guideline's blocks (headings excluded) that name either label as a word
    (case-insensitive), those naming both first."""
    if not guideline:
        return []
    patterns = [re.compile(rf"(?<!\w){re.escape(str(label))}(?!\w)", re.IGNORECASE) for label in labels]
    scored = []
    for position, block in enumerate(markdown_blocks(guideline)):
        if block.lstrip().startswith("#"):
            continue
        hits = sum(1 for p in patterns if p.search(block))
        if hits:
            scored.append((-hits, position, block))
    return [block for _, _, block in sorted(scored)[:limit]]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def suggest_for_pair(evidence: dict[str, Any], field_name: str, guideline: str | None = None) -> Suggestion:
    """A :class:`Suggestion` from ``evidence`` (``PairEvidence.to_dict()``) and the
    current guideline's markdown."""
    a, b = (str(x) for x in evidence["labels"])
    counts = evidence.get("counts") or {}
    findings = []
    n_items = counts.get("n_items")
    confusions, expected = counts.get("confusions"), counts.get("confusions_expected")
    sentence = f"{a} and {b} are confused"
    if confusions is not None and expected:
        sentence += f" {confusions} times where chance predicts {expected:.0f} ({confusions / expected:.1f}x)"
    if n_items:
        sentence += f", on {n_items} items"
    if counts.get("agreement") is not None:
        sentence += f"; agreement on these items is alpha = {counts['agreement']:.2f}"
    findings.append(sentence + ".")
    direction = evidence.get("direction")
    if direction:
        findings.append(f"The confusion is one-sided: mostly {direction[1]} where the others answer "
                        f"{direction[0]} (rates {_pct(counts.get('rate_a_to_b'))} {a}→{b} against "
                        f"{_pct(counts.get('rate_b_to_a'))} {b}→{a}).")
    else:
        findings.append(f"It goes both ways ({_pct(counts.get('rate_a_to_b'))} of {a} answers are {b} "
                        f"for someone else, {_pct(counts.get('rate_b_to_a'))} the other way round).")
    drivers = [r for r in evidence.get("annotators") or [] if (r.get("excess") or 0) >= MIN_EXCESS][:MAX_DRIVERS]
    for row in drivers:
        lean = row.get("lean") or [a, b]
        rate_key = "rate_a_to_b" if list(lean) == [a, b] else "rate_b_to_a"
        findings.append(
            f"Annotator {row['annotator_id']} answers {lean[1]} where the others' plurality is {lean[0]} in "
            f"{_pct(row.get(rate_key))} of cases (peers: {_pct(row.get('peer_' + rate_key))}), adding about "
            f"{row['excess']:.0f} confusions: they may read the guideline differently.")
    slices = sorted(evidence.get("slices") or [], key=lambda r: -(r.get("rate") or 0))
    if len(slices) >= 2 and (slices[0].get("rate") or 0) > 1.25 * (slices[-1].get("rate") or 0):
        top = slices[0]
        findings.append(f"It is most frequent where {top['column']} = {top['value']} "
                        f"({_pct(top.get('rate'))} of answers, against {_pct(slices[-1].get('rate'))} "
                        f"where {slices[-1]['column']} = {slices[-1]['value']}).")
    examples = [str(e["task_id"]) for e in evidence.get("examples") or []]
    passages = passages_mentioning(guideline, (a, b))
    if guideline is not None and not passages:
        findings.append(f"The current guideline does not mention {a} or {b} by name.")
    example_text = ", ".join(f"task {t}" for t in examples[:3])
    proposal = (f"**{a} or {b}?** When an item could be {a} or {b}, choose **{a}** if ___; choose "
                f"**{b}** if ___." + (f" Examples to discuss: {example_text}." if example_text else ""))
    return Suggestion(field=field_name, labels=(a, b), reference=suggestion_reference(field_name, (a, b)),
                      findings=findings, passages=passages, proposal=proposal, example_item_ids=examples)
