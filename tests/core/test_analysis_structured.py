"""The overview of fields beyond single choices (labelcheck.analysis.structured): each
type's measures as the agreement modules compute them, malformed spans and regions
reported with where they are and left out, the rest analysed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelcheck.agreement.multilabel import multilabel_alpha
from labelcheck.agreement.regions import region_alpha
from labelcheck.agreement.spans import span_character_alpha
from labelcheck.agreement.text import text_alpha
from labelcheck.analysis.overview import project_overview
from labelcheck.io import read_annotations

MIXED = Path(__file__).parents[1] / "data" / "mixed" / "mixed_export.json"


def fields(path: Path) -> dict[str, dict]:
    return {f["name"]: f for f in project_overview(read_annotations(str(path)), n_boot=20)["fields"]}


def coefficient(field: dict, name: str) -> float:
    return next(c["value"] for c in field["coefficients"] if c["name"] == name)


def test_each_type_reports_the_measures_of_its_module() -> None:
    data = read_annotations(str(MIXED))
    a = data.annotations
    lengths = dict(zip(data.tasks["task_id"], data.tasks["text"].str.len()))
    out = fields(MIXED)
    assert coefficient(out["ner"], "span_character_alpha") == pytest.approx(
        span_character_alpha(a[a.field == "ner"], text_lengths=lengths).value)
    assert coefficient(out["box"], "region_alpha") == pytest.approx(region_alpha(a[a.field == "box"]).value)
    assert coefficient(out["topics"], "multilabel_alpha") == pytest.approx(
        multilabel_alpha(a[a.field == "topics"]).value)
    assert coefficient(out["comment"], "text_alpha") == pytest.approx(text_alpha(a[a.field == "comment"]).value)
    assert out["quality"]["coefficients"][0]["name"] == "krippendorff_alpha"  # ratings: the choice route
    for name in ("ner", "box", "topics", "comment"):
        assert out[name]["analysed"] and out[name]["problems"]["n"] == 0
        slices = next((t for t in out[name]["tables"] if t["title"] == "Slices"), None)
        assert slices is not None and all(r["slice"].startswith("channel = ") for r in slices["rows"])


def test_malformed_spans_and_boxes_are_listed_and_the_rest_analysed(tmp_path: Path) -> None:
    tasks = json.loads(MIXED.read_text(encoding="utf-8"))
    ner = next(r for r in tasks[0]["annotations"][1]["result"] if r["from_name"] == "ner")
    ner["value"]["end"] = 500  # past the end of the text
    box = next(r for r in tasks[2]["annotations"][0]["result"] if r["from_name"] == "box")
    box["value"]["x"] = 150.0  # outside the image
    negative = next(r for r in tasks[3]["annotations"][0]["result"] if r["from_name"] == "box")
    negative["value"]["width"] = -5.0
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    # a negative size is refused when the file is read, naming where; the annotation's other box is kept
    report = read_annotations(str(path)).report
    assert [(p.task_id, p.annotation_id, p.field) for p in report.problems] == [("7003", "90031", "box")]
    assert "negative size" in report.problems[0].message
    out = fields(path)
    for name, task, annotation in (("ner", "7000", "90002"), ("box", "7002", "90021")):
        problems = out[name]["problems"]
        assert problems["n"] == 1, (name, problems)
        first = problems["first"][0]
        assert (first["task_id"], first["annotation_id"], first["field"]) == (task, annotation, name)
        # only the bad span (box) is dropped: its annotation keeps its two good ones
        assert out[name]["analysed"] and out[name]["summary"]["annotations"] == 120
    assert "past the end" in out["ner"]["problems"]["first"][0]["message"]
    assert "outside" in out["box"]["problems"]["first"][0]["message"]
