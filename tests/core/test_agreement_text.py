"""Free-text agreement: normalisation, the edit distance, text_alpha."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from rapidfuzz.distance import Levenshtein

from labelcheck.agreement.text import normalise_text, read_texts, text_alpha, text_distance
from labelcheck.errors import InvalidInput
from labelcheck.table import from_records


def make(rows: list[tuple[str, str, object]]) -> pd.DataFrame:
    return from_records([
        {"task_id": t, "annotator_id": c, "label": s, "field": "caption", "annotation_id": f"n{k}"}
        for k, (t, c, s) in enumerate(rows)
    ])


HAND = [("t1", "a", "cat"), ("t1", "b", "Cat "), ("t2", "a", "dog"), ("t2", "b", "dot")]


def test_normalise_text() -> None:
    assert normalise_text("  Ｃafé\n\t OK ") == "café ok"  # full-width C: NFKC
    assert normalise_text("Straße") == normalise_text("STRASSE")  # casefold
    assert normalise_text("e\u0301") == "é"  # composed by NFKC
    assert normalise_text("") == ""


def test_text_distance_is_normalised_levenshtein() -> None:
    # kitten -> sitting: 3 edits over 7 characters (Levenshtein's classic example)
    assert text_distance("kitten", "sitting") == pytest.approx(3 / 7, abs=1e-15)
    assert text_distance("", "") == 0.0 and text_distance("", "ab") == 1.0
    assert text_distance("abc", "abd") == pytest.approx(Levenshtein.distance("abc", "abd") / 3)


def test_hand_example() -> None:
    # worked in the text_alpha docstring: D_o = 1/6, D_e = 11/18, alpha = 8/11
    result = text_alpha(make(HAND))
    assert result.observed == pytest.approx(1 / 6, abs=1e-15)
    assert result.expected == pytest.approx(11 / 18, abs=1e-15)
    assert result.value == pytest.approx(8 / 11, abs=1e-15)
    assert result.details["normalise"] is True and result.n_categories == 3
    # as written, "cat" and "Cat " differ by 2 edits over 4 characters
    raw = text_alpha(make(HAND), normalise=False)
    assert raw.observed == pytest.approx((2 * 0.5 + 2 / 3) / 4, abs=1e-15)


def test_undefined_and_errors() -> None:
    same = text_alpha(make([("t1", "a", "x"), ("t1", "b", " X")]))
    assert math.isnan(same.value) and "one distinct value" in (same.reason or "")
    with pytest.raises(InvalidInput, match='field "caption": 1 label\\(s\\) are not text') as err:
        read_texts(make([("t1", "a", "x"), ("t1", "b", 3.5)]))
    assert (err.value.problems[0].task_id, err.value.problems[0].annotation_id) == ("t1", "n1")


def test_missing_is_no_answer_empty_is_an_answer() -> None:
    rows = [("t1", "a", ""), ("t1", "b", ""), ("t1", "c", None), ("t2", "a", "x"), ("t2", "b", "x")]
    result = text_alpha(make(rows))
    assert result.value == 1.0 and result.n_annotations == 4


def test_sampled_route_close_to_exact() -> None:
    rows = [(f"t{t}", f"c{c}", f"answer {t % 7} {'x' * (c % 3)} {t * c % 5}")
            for t in range(150) for c in range(3)]
    exact = text_alpha(make(rows))
    sampled = text_alpha(make(rows), max_expected_pairs=2_000)
    assert sampled.details["expected_route"] == "sampled"
    assert abs(sampled.expected - exact.expected) < 5 * sampled.details["expected_se"]
