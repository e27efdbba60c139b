"""The alpha of each answer type in one place (labelcheck.agreement.by_type), and text
lengths in Label Studio's offset unit."""

from __future__ import annotations

import pandas as pd
import pytest

from labelcheck.agreement.by_type import alpha_for_type, text_lengths
from labelcheck.agreement.span_checks import split_valid_spans
from labelcheck.agreement.spans import span_character_alpha
from labelcheck.table import Span, from_records


def test_text_lengths_count_utf16_code_units_like_label_studio_offsets() -> None:
    tasks = pd.DataFrame({"task_id": ["a", "b", "c"], "text": ["héllo", "ok 👍 fine", None]})
    # "👍" is outside the Basic Multilingual Plane: one Python character, two JavaScript units
    assert text_lengths(tasks, "text") == {"a": 5, "b": 10}
    assert text_lengths(tasks, "other") is None and text_lengths(None, "text") is None


def test_a_span_after_an_emoji_at_label_studio_offsets_is_not_past_the_end() -> None:
    text = "ok 👍 Acme"  # Label Studio offsets: "Acme" is [6, 10) in UTF-16 units
    rows = from_records([{"task_id": "t", "annotator_id": a, "field": "ner",
                          "label": (Span(6, 10, ("ORG",)),)} for a in ("x", "y")])
    lengths = text_lengths(pd.DataFrame({"task_id": ["t"], "text": [text]}), "text")
    valid, problems = split_valid_spans(rows, text_lengths=lengths)
    assert problems == [] and len(valid) == 2


def test_the_span_alpha_of_the_type_is_the_span_modules() -> None:
    rows = from_records([
        {"task_id": "t", "annotator_id": "x", "label": (Span(0, 4, ("PER",)),)},
        {"task_id": "t", "annotator_id": "y", "label": (Span(0, 5, ("PER",)),)}])
    alpha = alpha_for_type("span", text_lengths={"t": 10})
    assert alpha(rows).value == pytest.approx(span_character_alpha(rows, text_lengths={"t": 10}).value)
    assert alpha(rows).value == pytest.approx(1 - 38 / 198)  # the module's worked example

