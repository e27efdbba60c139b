"""Build ``mixed_export.json``: a small Label Studio JSON export with every answer type
labelcheck reads beyond single choices (multi-label choices, NER spans, rectangles, a
rating and free text), three annotators per task, and planted disagreements:

- ``ner``: annotator 3 extends every ORG span by the following word (boundary
  disagreements); annotator 2 labels every third LOC as ORG (label disagreements);
- ``topics``: annotator 3 adds "other" to every second task;
- ``quality``: annotator 2 rates one star higher on every third task;
- ``comment``: the same sentence with small edits (case, a typo) and one rewrite per
  five tasks;
- ``box``: annotator 2's boxes are shifted by 3 % of the image, annotator 3 calls every
  fourth car a truck.

Run ``python tests/data/mixed/make_mixed.py`` to rewrite the file (deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
N_TASKS = 40
ANNOTATORS = (1, 2, 3)
PEOPLE = ("Ana Lopez", "Ben Okafor", "Chen Wei", "Dara Singh")
ORGS = ("Acme Corp", "Globex", "Initech", "Umbrella")
PLACES = ("Lisbon", "Nairobi", "Osaka", "Quito")
TOPICS = ("billing", "shipping", "product", "other")
SVG = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='200' height='100'>"
       "<rect width='200' height='100' fill='%23dde'/><rect x='{x}' y='20' width='40' height='30' fill='%23a44'/>"
       "<rect x='{x2}' y='55' width='30' height='35' fill='%2344a'/></svg>")


def sentence(i: int) -> tuple[str, list[tuple[int, int, str]]]:
    person, org, place = PEOPLE[i % 4], ORGS[(i // 2) % 4], PLACES[(i // 3) % 4]
    text = f"{person} from {org} flew to {place} on Monday about order {1000 + i}."
    spans = []
    for value, label in ((person, "PER"), (org, "ORG"), (place, "LOC")):
        start = text.index(value)
        spans.append((start, start + len(value), label))
    return text, spans


def ner_result(i: int, annotator: int, text: str, spans: list[tuple[int, int, str]]) -> list[dict]:
    out = []
    for k, (start, end, label) in enumerate(spans):
        if annotator == 3 and label == "ORG":
            end = text.index(" ", end + 1)  # swallow the next word
        if annotator == 2 and label == "LOC" and i % 3 == 0:
            label = "ORG"
        out.append({"id": f"n{i}-{annotator}-{k}", "from_name": "ner", "to_name": "text", "type": "labels",
                    "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}})
    return out


def box_result(i: int, annotator: int) -> list[dict]:
    shift = 3.0 if annotator == 2 else 0.0
    car = "truck" if annotator == 3 and i % 4 == 0 else "car"
    boxes = [(10 + (i % 5) * 10 + shift, 20.0, 20.0, 30.0, car), (60.0 + shift, 55.0, 15.0, 35.0, "person")]
    return [{"id": f"b{i}-{annotator}-{k}", "from_name": "box", "to_name": "image", "type": "rectanglelabels",
             "original_width": 200, "original_height": 100,
             "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}
            for k, (x, y, w, h, label) in enumerate(boxes)]


def build() -> list[dict]:
    tasks = []
    for i in range(N_TASKS):
        text, spans = sentence(i)
        x = 20 + (i % 5) * 20
        task = {"id": 7000 + i, "data": {"text": text, "image": SVG.format(x=x, x2=120),
                                          "channel": ("email", "chat")[i % 2]},
                "annotations": []}
        for a in ANNOTATORS:
            topics = [TOPICS[i % 3]] + ([TOPICS[(i + 1) % 3]] if i % 4 == 0 else [])
            if a == 3 and i % 2 == 0:
                topics.append("other")
            stars = 3 + (i % 3 == 0) - (i % 5 == 0) + (1 if a == 2 and i % 3 == 0 else 0)
            comment = f"Customer asks about order {1000 + i}."
            if a == 2:
                comment = comment.lower()
            if a == 3 and i % 5 == 0:
                comment = f"Question on the status of {1000 + i}"
            elif a == 3:
                comment = comment.replace("asks", "askss")
            result = ner_result(i, a, text, spans) + box_result(i, a) + [
                {"id": f"t{i}-{a}", "from_name": "topics", "to_name": "text", "type": "choices",
                 "value": {"choices": topics}},
                {"id": f"q{i}-{a}", "from_name": "quality", "to_name": "text", "type": "rating",
                 "value": {"rating": min(stars, 5)}},
                {"id": f"c{i}-{a}", "from_name": "comment", "to_name": "text", "type": "textarea",
                 "value": {"text": [comment]}},
            ]
            task["annotations"].append({
                "id": 90000 + i * 10 + a, "completed_by": a, "result": result, "was_cancelled": False,
                "ground_truth": False, "created_at": f"2025-03-{1 + i % 28:02d}T10:{a:02d}:00.000000Z",
                "updated_at": f"2025-03-{1 + i % 28:02d}T10:{a:02d}:00.000000Z", "lead_time": 30.0 + a})
        tasks.append(task)
    return tasks


if __name__ == "__main__":
    (HERE / "mixed_export.json").write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
