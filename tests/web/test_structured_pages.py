"""Fields beyond single choices in the app, on the mixed fixture project
(tests/data/mixed/make_mixed.py: NER spans, rectangles, multi-label topics, a rating and
free text with planted disagreements): the overview shows each type's agreement and its
tables (the planted ORG boundary and LOC/ORG label disagreements, the annotator whose
boxes are shifted), and the item page highlights each annotation's spans in the text and
draws its boxes over the image."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from labelcheck.web import create_app
from labelcheck.web.auth import create_user

MIXED = Path(__file__).parents[1] / "data" / "mixed" / "mixed_export.json"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FlaskClient, str]]:
    app: Flask = create_app({"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BOOTSTRAP_RESAMPLES": 50},
                            instance_path=tmp_path_factory.mktemp("mixed"))
    create_user(app.extensions["labelcheck.db"], "lead@example.com", PASSWORD, "lead")
    client = app.test_client()
    assert client.post("/login", data={"email": "lead@example.com", "password": PASSWORD}).status_code == 302
    response = client.post("/projects/new", data={"name": "mixed", "file": (io.BytesIO(MIXED.read_bytes()),
                                                                             "mixed_export.json")})
    assert response.status_code == 302
    project_url = "/projects/" + response.headers["Location"].split("/projects/")[1].split("/")[0]
    yield client, project_url
    app.extensions["labelcheck.db"].dispose()


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def coefficient(html: str, name: str) -> float:
    card = html.split(f'data-testid="coef-{name}"')[1]
    return float(re.search(r'<div class="value">([-0-9.]+)</div>', card).group(1))  # type: ignore[union-attr]


def table_rows(html: str, testid: str) -> list[list[str]]:
    body = html.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1], re.S)]


def test_spans_show_character_alpha_f1_and_the_planted_disagreements(project: tuple[FlaskClient, str]) -> None:
    client, url = project
    html = page(client.get(f"{url}?field=ner"))
    assert 0.8 < coefficient(html, "span_character_alpha") < 0.9
    assert coefficient(html, "span_f1_exact") == pytest.approx(0.7, abs=1e-3)  # 252 exact of 720 spans x 2
    assert coefficient(html, "span_f1_overlap") > coefficient(html, "span_f1_exact")
    kinds = table_rows(html, "table-kinds-of-disagreement")
    assert ["boundary", "ORG", "ORG", "80", "100.0%"] in kinds
    assert any(r[:3] == ["label", "LOC", "ORG"] for r in kinds)
    annotators = table_rows(html, "table-annotators")
    assert annotators[0][0] == "3" and annotators[0][3].startswith("+")  # the boundary stretcher


def test_regions_multilabel_and_text_fields_are_analysed(project: tuple[FlaskClient, str]) -> None:
    client, url = project
    boxes = page(client.get(f"{url}?field=box"))
    assert coefficient(boxes, "region_f1@0.5") > coefficient(boxes, "region_f1@0.75")
    assert table_rows(boxes, "table-annotators")[0][0] == "2"  # shifted boxes
    topics = page(client.get(f"{url}?field=topics"))
    assert coefficient(topics, "multilabel_alpha") < coefficient(topics, "multilabel_alpha_jaccard")
    per_label = {r[0]: r for r in table_rows(topics, "table-per-label")}
    assert per_label["billing"][2] == "1.000" and float(per_label["other"][2]) < 0
    comment = page(client.get(f"{url}?field=comment"))
    assert "text_alpha" in comment and "normalised edit distance" in comment
    assert "not analysed" not in page(client.get(url)).split('class="tabs field-tabs"')[1].split("</div>")[0]


def test_the_item_page_highlights_spans_and_draws_boxes(project: tuple[FlaskClient, str]) -> None:
    client, url = project
    html = page(client.get(f"{url}/items/7000"))
    spans = html.split('data-testid="drawn-ner"')[1].split("</section>")[0]
    assert spans.count('class="span-row"') == 3
    assert 'data-label="ORG">Acme Corp<sup>' in spans  # annotators 1 and 2
    assert 'data-label="ORG">Acme Corp flew<sup>' in spans  # annotator 3 swallows a word
    assert 'data-label="ORG">Lisbon<sup>' in spans  # annotator 2's LOC read as ORG
    boxes = html.split('data-testid="drawn-box"')[1].split("</section>")[0]
    assert boxes.count("<figure") == 3 and boxes.count("<rect ") == 6
    assert 'data-label="truck"' in boxes and '<img src="data:image/svg+xml' in boxes
    assert re.search(r'<rect x="13\.0" y="20\.0" width="20\.0" height="30\.0"', boxes)  # annotator 2: +3 %


def test_what_to_fix_first_ranks_the_hotspots_of_structured_fields(project: tuple[FlaskClient, str]) -> None:
    client, url = project
    html = page(client.get(f"{url}/hotspots?field=box"))
    rows = re.findall(r"<td>([A-Z][a-z]+(?: [a-z]+)?)</td>\s*<td><a href=\"([^\"]+)\">([^<]+)</a>", html)
    assert rows[0][0] == "Annotator" and rows[0][2] == "2"  # the shifted boxes
    assert "ranked by gain" in html
    detail = page(client.get(rows[0][1]))
    assert "Annotator" in detail and "2" in detail
    topics = page(client.get(f"{url}/hotspots?field=topics"))
    first = re.findall(r"<td>([A-Z][a-z]+(?: [a-z]+)?)</td>\s*<td><a href=\"[^\"]+\">([^<]+)</a>", topics)[0]
    assert first == ("Slice", "channel = email")  # where annotator 3 adds "other"


def test_an_export_of_a_span_field_uses_span_voting(project: tuple[FlaskClient, str]) -> None:
    import json

    client, url = project
    response = client.post(f"{url}/exports", data={
        "field": "ner", "method": "auto", "tie": "unresolved", "format": "jsonl", "min_confidence": "0",
        "min_agreement": "0", "include_adjudicated": "y", "drop_unresolved": "y"})
    assert response.status_code == 302
    html = page(client.get(f"{url}/exports"))
    export_id = re.findall(r'<tr><td class="num">(\d+)</td>', html)[0]
    assert "succeeded" in re.findall(r'data-testid="export-status">(.*?)</td>', html, re.S)[0]
    manifest = json.loads(client.get(f"{url}/exports/{export_id}/manifest").data)
    assert manifest["rules"]["method"] == "span_vote"
    rows = [json.loads(line) for line in client.get(f"{url}/exports/{export_id}/data").data.decode().splitlines()]
    first = next(r for r in rows if r["task_id"] == "7000")
    assert [(s["start"], s["end"], s["labels"]) for s in first["final_label"]] == [
        (0, 9, ["PER"]), (15, 24, ["ORG"]), (33, 39, ["LOC"])]


def test_structured_items_are_adjudicated_as_ambiguous_or_excluded(project: tuple[FlaskClient, str]) -> None:
    client, url = project
    html = page(client.get(f"{url}/items/7001"))
    form = html.split('data-testid="adjudicate-ner"')[1].split("</form>")[0]
    assert 'value="label"' not in form and 'value="excluded"' in form and "Final label" not in form
    data = {"field_name": "ner", "adj-ner-task_id": "7001", "adj-ner-field": "ner", "adj-ner-status": "label",
            "adj-ner-label": "ORG", "adj-ner-reason": "a span set is not one label"}
    refused = client.post(f"{url}/adjudication/decide", data=data)
    assert "mark the item ambiguous or excluded" in page(client.get(refused.headers["Location"]))
    data["adj-ner-status"] = "excluded"
    client.post(f"{url}/adjudication/decide", data={**data, "next": "//evil.example/x"})
    assert "In force" in page(client.get(f"{url}/items/7001")).split('data-testid="adjudicate-ner"')[0].split(
        '<h4>ner</h4>')[1]


def test_the_item_page_highlights_a_span_after_an_emoji_where_label_studio_put_it() -> None:
    from labelcheck.table import Span
    from labelcheck.web.item_markup import span_segments

    segments = span_segments("ok 👍 Acme now", [Span(6, 10, ("ORG",))])
    assert [(s["text"], s["labels"]) for s in segments] == [("ok 👍 ", ""), ("Acme", "ORG"), (" now", "")]
