"""Hotspots on simulated projects: the planted story comes out on top, and data without
any planted effect gives (almost) nothing significant.

:func:`simulate` is a small seeded generator of a labelling project: items with a true
class, annotators who are right with some probability and otherwise pick a wrong class
uniformly, plus optional planted effects (a confused pair, a careless and a contrarian
annotator, a harder slice, a guideline revision that fixes the confused pair).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from labelcheck import table as T
from labelcheck.hotspots import find_hotspots

CLASSES = ("A", "B", "C", "D")


@dataclass
class Plan:
    n_items: int = 400
    n_annotators: int = 8
    per_item: tuple[int, int] = (3, 5)
    accuracy: float = 0.9
    prior: tuple[float, ...] = (0.25, 0.25, 0.25, 0.25)
    confused: tuple[str, str] | None = None  # answered as each other with prob. confusion
    confusion: float = 0.35
    careless: str | None = None  # right with probability careless_accuracy
    careless_accuracy: float = 0.45
    contrarian: str | None = None  # swaps the pair `swap` most of the time
    swap: tuple[str, str] = ("A", "D")
    hard_value: str | None = None  # slice value where errors are `hard_factor` x as likely
    hard_factor: float = 3.0
    revision_week: int | None = None  # the confused pair is fixed from this week on
    n_weeks: int = 8
    seed: int = 0
    slice_values: tuple[str, ...] = ("web", "mail", "phone")
    extra: dict[str, float] = field(default_factory=dict)


def simulate(plan: Plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical annotation table and task table of a simulated project."""
    rng = np.random.default_rng(plan.seed)
    k = len(CLASSES)
    code = {c: i for i, c in enumerate(CLASSES)}
    annotators = [f"u{i:02d}" for i in range(plan.n_annotators)]
    truth = rng.choice(k, size=plan.n_items, p=np.asarray(plan.prior))
    channel = rng.choice(plan.slice_values, size=plan.n_items)
    week = rng.integers(0, plan.n_weeks, size=plan.n_items)
    rows = []
    start = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday
    for i in range(plan.n_items):
        m = int(rng.integers(plan.per_item[0], plan.per_item[1] + 1))
        who = rng.choice(plan.n_annotators, size=m, replace=False)
        for a in who:
            name = annotators[a]
            acc = plan.careless_accuracy if name == plan.careless else plan.accuracy
            if plan.hard_value is not None and channel[i] == plan.hard_value:
                acc = 1.0 - plan.hard_factor * (1.0 - acc)
            t = truth[i]
            if rng.random() < acc:
                label = t
            else:
                label = rng.choice([c for c in range(k) if c != t])
            pair = plan.confused
            fixed = plan.revision_week is not None and week[i] >= plan.revision_week
            if pair is not None and not fixed and t in (code[pair[0]], code[pair[1]]):
                if rng.random() < plan.confusion:
                    label = code[pair[1]] if t == code[pair[0]] else code[pair[0]]
            if name == plan.contrarian and t in (code[plan.swap[0]], code[plan.swap[1]]):
                if rng.random() < 0.8:
                    label = code[plan.swap[1]] if t == code[plan.swap[0]] else code[plan.swap[0]]
            when = start + pd.Timedelta(days=7 * int(week[i]) + float(rng.uniform(0, 6.9)))
            rows.append((f"t{i:04d}", name, CLASSES[label], when, float(rng.gamma(2.0, 8.0))))
    frame = pd.DataFrame(rows, columns=[T.TASK_ID, T.ANNOTATOR_ID, T.LABEL, T.CREATED_AT, T.LEAD_TIME])
    tasks = pd.DataFrame({T.TASK_ID: [f"t{i:04d}" for i in range(plan.n_items)], "channel": channel})
    return T.from_records(frame), tasks


def first(report, kind: str):  # type: ignore[no-untyped-def]
    return next(h for h in report.hotspots if h.kind == kind)


def of_kinds(report, *kinds: str) -> list:  # type: ignore[no-untyped-def]
    return [h for h in report.hotspots if h.kind in kinds]


# --- one planted effect at a time ------------------------------------------------------
def test_planted_confused_pair_is_the_top_label_pair_and_the_top_hotspot() -> None:
    ann, tasks = simulate(Plan(confused=("B", "C"), seed=1))
    report = find_hotspots(ann, tasks, period=None)
    top = first(report, "label_pair")
    assert top.key == ["B", "C"] and top.significant
    assert report.hotspots[0] is top
    # the other pairs are confused no more than chance shares predict
    assert not any(h.significant for h in of_kinds(report, "label_pair")[1:])


def test_planted_careless_annotator_is_the_top_annotator_and_significant() -> None:
    ann, tasks = simulate(Plan(careless="u03", seed=2))
    report = find_hotspots(ann, tasks, period=None)
    people = of_kinds(report, "annotator", "annotator_bias")
    assert people[0].key == "u03" and people[0].significant
    assert [h.key for h in people if h.significant] == ["u03"]
    assert report.hotspots[0].key == "u03"


def test_planted_contrarian_is_flagged_with_a_bias_toward_the_swapped_labels() -> None:
    ann, tasks = simulate(Plan(contrarian="u05", prior=(0.4, 0.2, 0.2, 0.2), seed=3))
    report = find_hotspots(ann, tasks, period=None)
    people = of_kinds(report, "annotator", "annotator_bias")
    top = people[0]
    assert top.key == "u05" and top.significant and top.kind == "annotator_bias"
    swaps = {(c["consensus"], c["label"]) for c in top.evidence["confusions"][:2]}
    assert swaps == {("A", "D"), ("D", "A")}


def test_planted_hard_slice_is_the_top_slice_and_significant() -> None:
    ann, tasks = simulate(Plan(hard_value="phone", seed=4))
    report = find_hotspots(ann, tasks, slices=["channel"], period=None)
    slices = of_kinds(report, "slice")
    assert slices[0].key == {"column": "channel", "value": "phone"}
    assert slices[0].significant
    assert not any(h.significant for h in slices[1:])


def test_planted_revision_shows_as_a_rising_trend_with_its_step() -> None:
    ann, tasks = simulate(Plan(confused=("B", "C"), confusion=0.5, revision_week=4, seed=5))
    report = find_hotspots(ann, tasks, slices=(), period="week")
    assert report.trend is not None
    assert report.trend["slope_per_period"] > 0 and report.trend["p_value"] < 0.05
    assert report.trend["step"]["at"] == "2024-01-29"  # week 4 of a Monday 2024-01-01 start
    early = {h.key for h in of_kinds(report, "period") if h.significant}
    assert early and all(k < "2024-01-29" for k in early)


def test_everything_planted_at_once_tops_the_list() -> None:
    ann, tasks = simulate(Plan(confused=("B", "C"), careless="u01", contrarian="u06",
                               hard_value="mail", n_items=600, seed=6))
    report = find_hotspots(ann, tasks, slices=["channel"], period=None)
    top = {(h.kind, str(h.key)) for h in report.hotspots[:4]}
    assert ("label_pair", "['B', 'C']") in top
    assert {h.key for h in of_kinds(report, "annotator", "annotator_bias") if h.significant} == {"u01", "u06"}
    assert first(report, "slice").key["value"] == "mail"


# --- nothing planted ---------------------------------------------------------------------
@pytest.mark.parametrize("block", range(3))
def test_no_planted_effect_few_false_positives(block: int) -> None:
    """Over 8 seeded null projects per block, at most one has any significant hotspot
    (BH at 5% over the whole analysis controls the family-wise rate under the global
    null at 5%; 2 of 8 would already be unlikely, p ~ 0.06)."""
    runs = []
    for seed in range(8 * block, 8 * block + 8):
        ann, tasks = simulate(Plan(n_items=250, seed=100 + seed))
        report = find_hotspots(ann, tasks, slices=["channel"], period="week", max_items=0)
        runs.append([(h.kind, h.key) for h in report.hotspots if h.significant])
    assert sum(bool(r) for r in runs) <= 1, runs
