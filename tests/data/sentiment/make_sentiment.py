"""Write the sentiment test fixture beside this script (seeded, deterministic).

This was labelcheck's first bundled demo; it now lives in the tests, which pin figures
measured on it (``tests/adapters/test_cli.py``).  The bundled demo is the support-ticket
project of ``scripts/make_demo.py``.

A Label Studio sentiment project: 400 short English texts from three sources, six
annotators, 3-5 annotations per task over eight weeks, with three planted problems:

* Neutral and Mixed are confused heavily until the guideline revision of
  ``REVISION`` (Monday of week 5), much less after;
* annotator 13 is noisy;
* forum posts (``source = forum``) are harder: every annotator errs more on them.

Outputs: ``demo_export.json`` (Label Studio JSON export), ``label_config.xml`` and
``demo_long.csv`` (the sentiment answers as a long CSV), in ``tests/data/sentiment/``.
Run: ``python tests/data/sentiment/make_sentiment.py``.  Running it twice gives
identical files (the same bytes as before the move).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

SEED = 20240304
OUT = Path(__file__).resolve().parent
N_TASKS = 400
PROJECT = 1
START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
N_WEEKS = 8
#: The planted guideline revision: Neutral vs Mixed clarified.
REVISION = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)

CLASSES = ("Positive", "Negative", "Neutral", "Mixed")
PRIOR = np.array([0.34, 0.30, 0.20, 0.16])
ANNOTATORS = (2, 3, 5, 8, 13, 21)
NOISY = 13
ACCURACY = {2: 0.96, 3: 0.95, 5: 0.94, 8: 0.96, 13: 0.62, 21: 0.94}
ACTIVITY = np.array([1.0, 1.0, 0.9, 0.8, 0.6, 0.9])
SOURCES = ("review", "forum", "support")
SOURCE_P = np.array([0.5, 0.25, 0.25])
FORUM_ERROR_FACTOR = 2.5
LANGS = ("en", "en-GB", "en-IN")
LANG_P = np.array([0.8, 0.12, 0.08])
NEUTRAL_MIXED_SWAP = (0.40, 0.05)  # before / after the revision
#: Imported annotations flagged ground_truth: true (Label Studio's flag; not gold).
GROUND_TRUTH_IDS = (1009, 1404, 1777, 2213)

PRODUCTS = ("headphones", "the app", "my order", "the charger", "this blender", "the update",
            "the new plan", "the delivery", "the keyboard", "customer support", "the camera",
            "the subscription", "the checkout", "the battery", "the manual")
ASPECTS = ("price", "battery life", "sound", "setup", "design", "speed", "packaging", "the screen")
TEMPLATES = {
    "Positive": ("Really happy with {p}, works great.", "Love {p}! Best purchase this year.",
                 "{P} exceeded my expectations, especially the {a}.", "Five stars for {p}.",
                 "Great {a}, and {p} arrived early.", "Thanks, {p} solved my problem quickly."),
    "Negative": ("{P} broke after two days.", "Terrible {a}, I want a refund for {p}.",
                 "Worst experience with {p} so far.", "{P} keeps crashing, very annoying.",
                 "Nobody answers about {p}. Unacceptable.", "The {a} of {p} is awful."),
    "Neutral": ("{P} arrived on Tuesday.", "Does {p} come in another colour?",
                "I used {p} for a week.", "What is the {a} of {p}?",
                "{P} is the same as the old model.", "Ordered {p} last month."),
    "Mixed": ("{P} is nice but the {a} is poor.", "Good {a}, bad support for {p}.",
              "I like {p}, though it was overpriced.", "{P} works, but setup was a pain.",
              "Great {a}; {p} still feels cheap.", "Fast delivery, but {p} was scratched."),
}
FORUM_PREFIX = ("lol ", "idk, ", "tbh ", "ok so ", "", "")


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _result_id(rng: np.random.Generator) -> str:
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"))
    return "".join(rng.choice(alphabet, 10))


def _text(rng: np.random.Generator, truth: str, source: str) -> str:
    template = TEMPLATES[truth][rng.integers(len(TEMPLATES[truth]))]
    p = PRODUCTS[rng.integers(len(PRODUCTS))]
    a = ASPECTS[rng.integers(len(ASPECTS))]
    text = template.format(p=p, P=p[0].upper() + p[1:], a=a)
    if source == "forum":
        text = FORUM_PREFIX[rng.integers(len(FORUM_PREFIX))] + text.lower()
    return text


def _answer(rng: np.random.Generator, truth: str, annotator: int, source: str, when: datetime) -> str:
    if truth in ("Neutral", "Mixed"):
        swap = NEUTRAL_MIXED_SWAP[0] if when < REVISION else NEUTRAL_MIXED_SWAP[1]
        if rng.random() < swap:
            truth = "Mixed" if truth == "Neutral" else "Neutral"
    error = 1.0 - ACCURACY[annotator]
    if source == "forum":
        error = min(0.8, error * FORUM_ERROR_FACTOR)
    if rng.random() >= error:
        return truth
    others = [c for c in CLASSES if c != truth]
    return others[rng.integers(len(others))]


def _toxicity(rng: np.random.Generator, true_tox: float, annotator: int) -> int:
    sd = 1.4 if annotator == NOISY else 0.55
    return int(np.clip(np.rint(true_tox + rng.normal(0, sd)), 1, 5))


def build(rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    tasks: list[dict] = []
    long_rows: list[dict] = []
    annotation_id = 1000
    cancelled_tasks = {57, 311}
    ground_truth_ids: set[int] = set()
    span = timedelta(weeks=N_WEEKS) - timedelta(hours=30)
    for task_id in range(1, N_TASKS + 1):
        truth = CLASSES[rng.choice(len(CLASSES), p=PRIOR)]
        source = SOURCES[rng.choice(len(SOURCES), p=SOURCE_P)]
        lang = LANGS[rng.choice(len(LANGS), p=LANG_P)]
        base = {"Positive": 1.2, "Negative": 2.8, "Neutral": 1.3, "Mixed": 2.0}[truth]
        true_tox = base + (0.9 if source == "forum" else 0.0) + rng.normal(0, 0.4)
        posted = START + span * (task_id - 1 + rng.random()) / N_TASKS
        n_ann = int(rng.choice([3, 4, 5], p=[0.4, 0.35, 0.25]))
        who = rng.choice(len(ANNOTATORS), size=n_ann, replace=False, p=ACTIVITY / ACTIVITY.sum())
        annotations = []
        for j in who:
            annotator = ANNOTATORS[j]
            annotation_id += 1
            created = posted + timedelta(minutes=float(rng.exponential(240)))
            created = created.replace(microsecond=int(rng.integers(0, 10**6)))
            label = _answer(rng, truth, annotator, source, created)
            rating = _toxicity(rng, true_tox, annotator)
            lead = round(float(rng.lognormal(np.log(18), 0.5)) * (0.6 if annotator == NOISY else 1.0), 3)
            gt = annotation_id in GROUND_TRUTH_IDS
            if gt:
                ground_truth_ids.add(annotation_id)
            annotations.append({
                "id": annotation_id, "completed_by": annotator,
                "result": [
                    {"value": {"choices": [label]}, "id": _result_id(rng), "from_name": "sentiment",
                     "to_name": "text", "type": "choices"},
                    {"value": {"rating": rating}, "id": _result_id(rng), "from_name": "toxicity",
                     "to_name": "text", "type": "rating"},
                ],
                "was_cancelled": False, "ground_truth": gt,
                "created_at": _iso(created), "updated_at": _iso(created + timedelta(seconds=2)),
                "lead_time": lead, "task": task_id, "project": PROJECT,
            })
            long_rows.append({"item_id": task_id, "annotator_id": annotator, "label": label,
                              "annotation_id": annotation_id, "created_at": _iso(created),
                              "source": source, "lang": lang})
        if task_id in cancelled_tasks:
            idle = [a for k, a in enumerate(ANNOTATORS) if k not in set(who.tolist())]
            annotation_id += 1
            skipped = posted + timedelta(minutes=float(rng.exponential(120)))
            annotations.append({
                "id": annotation_id, "completed_by": idle[0], "result": [],
                "was_cancelled": True, "ground_truth": False,
                "created_at": _iso(skipped), "updated_at": _iso(skipped),
                "lead_time": 4.2, "task": task_id, "project": PROJECT,
            })
        tasks.append({
            "id": task_id,
            "data": {"text": _text(rng, truth, source), "source": source, "lang": lang},
            "annotations": annotations,
            "drafts": [], "predictions": [], "meta": {},
            "created_at": _iso(START - timedelta(days=1)), "updated_at": _iso(posted),
            "inner_id": task_id, "total_annotations": n_ann,
            "cancelled_annotations": int(task_id in cancelled_tasks),
            "total_predictions": 0, "project": PROJECT,
        })
    if len(ground_truth_ids) < 3:
        raise RuntimeError("expected some ground_truth annotations")
    return tasks, long_rows


LABEL_CONFIG = """<View>
  <Header value="Read the text and choose its overall sentiment, then rate its toxicity."/>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" showInline="true" required="true">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
    <Choice value="Neutral"/>
    <Choice value="Mixed"/>
  </Choices>
  <Rating name="toxicity" toName="text" maxRating="5" icon="star" size="medium" required="true"/>
</View>
"""


def main() -> None:
    rng = np.random.default_rng(SEED)
    tasks, long_rows = build(rng)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "demo_export.json", "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(t, separators=(",", ":")) for t in tasks))
        f.write("\n]\n")
    (OUT / "label_config.xml").write_text(LABEL_CONFIG, encoding="utf-8")
    with open(OUT / "demo_long.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(long_rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(long_rows)
    n_ann = sum(len(t["annotations"]) for t in tasks)
    print(f"wrote {OUT}: {len(tasks)} tasks, {n_ann} annotations, {len(long_rows)} long rows")


if __name__ == "__main__":
    main()
