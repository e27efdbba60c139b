"""Hotspots of structured fields (labelcheck.hotspots.structured): slice and annotator
hotspots built from the field's own alpha, with the ranking module's gain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labelcheck.agreement.multilabel import multilabel_alpha
from labelcheck.hotspots.ranking import gain
from labelcheck.hotspots.structured import structured_hotspots
from labelcheck.io import read_annotations

MIXED = Path(__file__).parents[1] / "data" / "mixed" / "mixed_export.json"


def topics() -> tuple:
    data = read_annotations(str(MIXED))
    rows = data.annotations[data.annotations["field"] == "topics"]
    alpha = lambda r: multilabel_alpha(r)  # noqa: E731
    report = structured_hotspots(rows, data.tasks, field="topics", value_type="multichoice", alpha=alpha,
                                 overall=alpha(rows), slice_columns=["channel"], target=0.8)
    return data, rows, alpha, report


def test_slice_hotspots_are_the_fields_alpha_inside_the_slice() -> None:
    data, rows, alpha, report = topics()
    by_key = {(h["kind"], str(h["key"])): h for h in report["hotspots"]}
    email = by_key[("slice", str({"column": "channel", "value": "email"}))]
    channel = data.tasks.set_index("task_id")["channel"].reindex(rows["task_id"]).to_numpy()
    inside, overall = alpha(rows[channel == "email"]), alpha(rows)
    assert email["agreement"] == pytest.approx(inside.value)
    assert email["evidence"]["rest_agreement"] == pytest.approx(alpha(rows[channel != "email"]).value)
    expected = gain(0.5, inside.value, 0.8, inside.expected / overall.expected)
    assert email["gain"] == pytest.approx(expected) and email["priority"] == email["gain"]
    assert report["hotspots"][0] is not None and report["hotspots"][0]["key"] == {"column": "channel", "value": "email"}
    assert "ranked by gain" in report["notes"][0] and not any(h["significant"] for h in report["hotspots"])


def test_annotator_hotspots_average_the_two_annotator_alphas() -> None:
    _, rows, alpha, report = topics()
    three = next(h for h in report["hotspots"] if h["kind"] == "annotator" and h["key"] == "3")
    who = rows["annotator_id"].astype(str).to_numpy()
    pairs = [alpha(rows[(who == "3") | (who == b)]).value for b in ("1", "2")]  # all 40 tasks shared
    assert three["agreement"] == pytest.approx(np.mean(pairs))
    assert three["evidence"]["alpha_without"] == pytest.approx(alpha(rows[who != "3"]).value)
    assert three["evidence"]["alpha_without"] == pytest.approx(1.0)  # without the extra "other": unanimous
