"""Type-aware item disagreement (labelcheck.analysis.item_distances): the mean pairwise
distance between an item's answers for multi-choice, text, span and region fields, and
its use in the item browser's table (labelcheck.analysis.items.item_statistics)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.agreement.multilabel import masi_distance, multilabel_alpha
from labelcheck.agreement.regions import region_agreement
from labelcheck.agreement.text import text_alpha, text_distance
from labelcheck.analysis.item_distances import answer_pairs, item_disagreement
from labelcheck.analysis.items import item_statistics
from labelcheck.io import read_annotations
from labelcheck.table import Dataset, FieldSpec, ImportReport, Region, Span
from tests.conftest import make_table

MIXED = Path(__file__).parents[1] / "data" / "mixed" / "mixed_export.json"


def box(x: float, y: float, w: float, h: float, label: str) -> Region:
    return Region("rectangle", (label,), x, y, w, h)


def span(start: int, end: int, *labels: str) -> Span:
    return Span(start, end, tuple(labels))


def dataset(table: pd.DataFrame, **fields: FieldSpec) -> Dataset:
    return Dataset(table, pd.DataFrame(), fields, ImportReport("test"))


# --- pairs -------------------------------------------------------------------------------
def test_answer_pairs_are_every_pair_within_each_task_once() -> None:
    task = np.array([2, 0, 2, 1, 0, 2, 0, 0])
    i, j = answer_pairs(task)
    expected = {(a, b) for a, b in combinations(range(task.size), 2) if task[a] == task[b]}
    assert set(zip(i.tolist(), j.tolist())) == expected and i.size == len(expected)
    assert (i < j).all()
    empty = answer_pairs(np.array([0, 1, 2]))
    assert empty[0].size == 0 and empty[1].size == 0


# --- hand-worked values, one type at a time ------------------------------------------
def test_multichoice_masi_by_hand() -> None:
    table = make_table([
        ("t1", "a", ("x", "y")), ("t1", "b", ("x", "y")), ("t1", "c", ("x",)),
        ("t2", "a", ("x",)), ("t2", "b", ("y",)),
        ("t3", "a", ("x", "y")), ("t3", "b", ("y", "z")),
        ("t4", "a", ()), ("t4", "b", ()),
        ("t5", "a", ()), ("t5", "b", ("x",)),
        ("t6", "a", ("x",)),
    ], field="topics")
    d = item_disagreement(table, "multichoice")
    # t1: {x,y}={x,y} -> 0; {x,y} vs {x}: J = 1/2, subset M = 2/3 -> 1 - 1/3 = 2/3 (twice);
    #     D = (0 + 2/3 + 2/3) / 3 = 4/9
    assert d["t1"] == pytest.approx(4 / 9)
    assert d["t2"] == pytest.approx(1.0)  # disjoint: M = 0
    assert d["t3"] == pytest.approx(8 / 9)  # J = 1/3, overlap M = 1/3 -> 1 - 1/9
    assert d["t4"] == 0.0  # two empty selections agree
    assert d["t5"] == pytest.approx(1.0)  # nothing vs something: J = 0
    assert d["t6"] == 0.0  # a single answer: no pair
    assert list(d.index) == ["t1", "t2", "t3", "t4", "t5", "t6"]


def test_text_normalised_edit_distance_by_hand() -> None:
    table = make_table([
        ("t1", "a", "cat"), ("t1", "b", "Cat "), ("t1", "c", " CAT"),
        ("t2", "a", "kitten"), ("t2", "b", "sitting"),
        ("t3", "a", "abcd"), ("t3", "b", "abce"), ("t3", "c", "wxyz"),
    ], field="comment")
    d = item_disagreement(table, "text")
    assert d["t1"] == 0.0  # all "cat" after case folding and stripping
    assert d["t2"] == pytest.approx(3 / 7)  # k->s, e->i, +g: 3 edits over 7 characters
    # abcd/abce: 1 substitution of 4 -> 1/4; either vs wxyz: 4 of 4 -> 1; D = (1/4 + 1 + 1)/3
    assert d["t3"] == pytest.approx(0.75)


def test_span_exact_f1_by_hand() -> None:
    a = (span(0, 5, "PER"), span(10, 15, "ORG"))
    b = (span(0, 5, "PER"), span(10, 16, "ORG"))  # one boundary off
    c = (span(0, 5, "PER"),)
    table = make_table([
        ("t1", "a", a), ("t1", "b", b), ("t1", "c", c),
        ("t2", "a", (span(0, 5, "PER", "ORG"),)), ("t2", "b", (span(0, 5, "PER"),)),
        ("t3", "a", ()), ("t3", "b", ()),
        ("t4", "a", ()), ("t4", "b", c),
        ("t5", "a", a), ("t5", "b", tuple(reversed(a))),
    ], field="ner")
    d = item_disagreement(table, "span")
    # t1: (a, b) TP 1 of 2 + 2 -> F1 1/2, delta 1/2; (a, c) and (b, c) TP 1 of 2 + 1 ->
    #     F1 2/3, delta 1/3; D = (1/2 + 1/3 + 1/3) / 3 = 7/18
    assert d["t1"] == pytest.approx(7 / 18)
    # t2: a two-label span is two labelled spans: TP 1 of 2 + 1 -> delta 1/3
    assert d["t2"] == pytest.approx(1 / 3)
    assert d["t3"] == 0.0  # neither marked anything: F1 taken as 1
    assert d["t4"] == pytest.approx(1.0)  # TP 0 of 0 + 1
    assert d["t5"] == 0.0  # the same spans in another order


def test_region_f1_at_iou_half_by_hand() -> None:
    a = (box(0, 0, 10, 10, "car"), box(50, 50, 10, 10, "person"))
    b = (box(5, 0, 10, 10, "car"), box(52, 50, 10, 10, "person"))
    c = (box(1, 0, 10, 10, "car"),)
    table = make_table([
        ("t1", "a", a), ("t1", "b", b), ("t1", "c", c),
        ("t2", "a", (box(0, 0, 10, 10, "car"), box(0, 0, 10, 10, "car"))),
        ("t2", "b", (box(0, 0, 10, 10, "car"),)),
        ("t3", "a", (box(0, 0, 10, 10, "car"),)), ("t3", "b", (box(0, 0, 10, 10, "truck"),)),
        ("t4", "a", a), ("t4", "b", tuple(reversed(a))),
    ], field="box")
    d = item_disagreement(table, "region")
    # t1: cars a/b IoU 50/150 = 1/3 < 0.5, persons a/b IoU 80/120 = 2/3 -> TP 1 of 2 + 2,
    #     delta 1/2; a/c cars IoU 90/110 -> TP 1 of 2 + 1, delta 1/3; b/c cars IoU 60/140 = 3/7
    #     -> TP 0, delta 1; D = (1/2 + 1/3 + 1) / 3 = 11/18
    assert d["t1"] == pytest.approx(11 / 18)
    # t2: one-to-one: the single box matches one of the two copies, TP 1 of 2 + 1 -> 1/3
    assert d["t2"] == pytest.approx(1 / 3)
    assert d["t3"] == pytest.approx(1.0)  # same box, other label: no match
    assert d["t4"] == 0.0


def test_identical_answers_give_zero_for_every_type() -> None:
    values = {
        "multichoice": ("x", "y"), "text": "Same text.",
        "span": (span(0, 3, "A"), span(2, 6, "B")),
        "region": (box(0, 0, 10, 10, "car"), box(5, 5, 10, 10, "car"),
                   Region("polygon", ("tree",), points=((20.0, 20.0), (30.0, 20.0), (25.0, 30.0)))),
    }
    for value_type, value in values.items():
        table = make_table([("t1", r, value) for r in "abcd"])
        d = item_disagreement(table, value_type)  # type: ignore[arg-type]
        assert d.tolist() == [0.0], value_type


def test_malformed_items_are_left_out_and_the_rest_compared() -> None:
    spans = make_table([
        ("t1", "a", (span(0, 5, "PER"),)), ("t1", "b", (span(0, 5, "PER"), span(9, 3, "PER"))),
        ("t2", "a", (span(0, 5, "PER"),)), ("t2", "b", (span(-2, 1, "PER"),)),  # b: nothing left
    ])
    d = item_disagreement(spans, "span")
    assert d["t1"] == 0.0  # b keeps [0, 5) PER
    assert d["t2"] == 0.0  # one comparable answer: no pair
    regions = make_table([
        ("t1", "a", (box(0, 0, 10, 10, "car"),)),
        ("t1", "b", (box(0, 0, 10, 10, "car"), box(0, 0, -1, 10, "car"))),
    ])
    assert item_disagreement(regions, "region")["t1"] == 0.0
    sets = make_table([("t1", "a", ("x",)), ("t1", "b", ("x",)), ("t1", "c", 3)])
    assert item_disagreement(sets, "multichoice")["t1"] == 0.0  # 3 is not a set of labels


def test_bad_arguments_are_named() -> None:
    table = make_table([("t1", "a", "x")])
    expected = "value_type must be one of multichoice, span, region, text; got 'choice'"
    with pytest.raises(ValueError, match=expected):
        item_disagreement(table, "choice")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"iou_threshold must be in \(0, 1\]"):
        item_disagreement(table, "region", iou_threshold=0.0)


# --- against a brute-force pairwise loop ------------------------------------------------
def brute_force(
    rows: list[tuple[int, int, Any]], delta: Callable[[Any, Any], float]
) -> dict[str, float]:
    """D_u by the definition: a Python loop over the ordered pairs i != j of each task."""
    by_task: dict[str, list[Any]] = {}
    for t, _, value in rows:
        by_task.setdefault(f"t{t}", []).append(value)
    out: dict[str, float] = {}
    for task, answers in by_task.items():
        pairs = [(x, y) for i, x in enumerate(answers) for j, y in enumerate(answers) if i != j]
        out[task] = float(np.mean([delta(x, y) for x, y in pairs])) if pairs else 0.0
    return out


def f1_distance(a: tuple[Span, ...], b: tuple[Span, ...]) -> float:
    sa = {(s.start, s.end, lab) for s in a for lab in s.labels}
    sb = {(s.start, s.end, lab) for s in b for lab in s.labels}
    return 0.0 if not sa and not sb else 1.0 - 2.0 * len(sa & sb) / (len(sa) + len(sb))


label_set = st.lists(st.sampled_from("abcde"), max_size=4).map(lambda x: tuple(sorted(set(x))))
one_span = st.builds(lambda s, w, lab: span(s, s + w, *lab), st.integers(0, 6), st.integers(1, 3),
                     st.lists(st.sampled_from(["PER", "ORG"]), min_size=1, max_size=2, unique=True))
span_list = st.lists(one_span, max_size=4).map(tuple)
tasks, annotators = st.integers(0, 6), st.integers(0, 4)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(tasks, annotators, label_set), min_size=1, max_size=40))
def test_sets_match_a_pairwise_loop(rows: list[tuple[int, int, tuple[str, ...]]]) -> None:
    table = make_table([(f"t{t}", f"r{r}", lab) for t, r, lab in rows])
    d = item_disagreement(table, "multichoice")
    expected = brute_force(rows, masi_distance)
    assert set(d.index) == set(expected)
    for t, value in expected.items():
        assert d[t] == pytest.approx(value, abs=1e-12)
        assert 0.0 <= d[t] <= 1.0


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(tasks, annotators, span_list), min_size=1, max_size=40))
def test_spans_match_a_pairwise_loop(rows: list[tuple[int, int, tuple[Span, ...]]]) -> None:
    table = make_table([(f"t{t}", f"r{r}", lab) for t, r, lab in rows])
    d = item_disagreement(table, "span")
    expected = brute_force(rows, f1_distance)
    assert set(d.index) == set(expected)
    for t, value in expected.items():
        assert d[t] == pytest.approx(value, abs=1e-12)
        assert 0.0 <= d[t] <= 1.0


def test_regions_agree_with_region_agreement_on_two_answer_tasks() -> None:
    """On a task with two answers, D_u = 1 - region_agreement's f1@0.5 for that task:
    the same matching convention."""
    rng = np.random.default_rng(11)
    rows = []
    for t in range(30):
        for r in ("a", "b"):
            n = int(rng.integers(0, 4))
            rows.append((f"t{t}", r, tuple(
                box(float(rng.uniform(0, 20)), float(rng.uniform(0, 20)), float(rng.uniform(5, 15)),
                    float(rng.uniform(5, 15)), str(rng.choice(["car", "bus"]))) for _ in range(n))))
    table = make_table(rows)
    d = item_disagreement(table, "region")
    for t in d.index:
        micro = region_agreement(table[table["task_id"] == t], per_label=False).iloc[0]
        expected = 0.0 if micro["n_a_plus_b"] == 0 else 1.0 - micro["f1@0.5"]
        assert d[t] == pytest.approx(expected, abs=1e-12), t


# --- the mixed fixture ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed_stats() -> pd.DataFrame:
    return item_statistics(read_annotations(str(MIXED)))


def test_mixed_fixture_task_7000_pinned(mixed_stats: pd.DataFrame) -> None:
    stats = mixed_stats.set_index(["field", "task_id"])
    # ner, task 7000: 1 = PER, ORG "Acme Corp", LOC; 2 = the same with Lisbon as ORG;
    # 3 = ORG "Acme Corp flew" (stretched). (1,2): TP 2 of 3 + 3 -> 1/3; (1,3): TP 2 -> 1/3;
    # (2,3): TP 1 (PER) -> 2/3. D = (1/3 + 1/3 + 2/3) / 3 = 4/9
    assert stats.loc[("ner", "7000"), "disagreement"] == pytest.approx(4 / 9, abs=1e-12)
    # box, task 7000: 2's boxes shifted by 3 %: car IoU 510/690 = 0.739, person
    # 420/630 = 0.667, both >= 0.5 -> (1,2) delta 0; 3 calls the car a truck: (1,3) and
    # (2,3) TP 1 (person) of 2 + 2 -> delta 1/2. D = (0 + 1/2 + 1/2) / 3 = 1/3
    assert stats.loc[("box", "7000"), "disagreement"] == pytest.approx(1 / 3, abs=1e-12)
    # topics: {billing, shipping} twice and + "other": J = 2/3, subset M = 2/3 -> 5/9 twice;
    # D = 10/27
    assert stats.loc[("topics", "7000"), "disagreement"] == pytest.approx(10 / 27, abs=1e-12)
    # comment: 1 and 2 differ only in case; 3 rewrote it: two of three pairs at the same distance
    rewrite = text_distance("customer asks about order 1000.", "question on the status of 1000")
    comment = stats.loc[("comment", "7000"), "disagreement"]
    assert comment == pytest.approx(2 / 3 * rewrite, abs=1e-12)
    # the other columns keep counting distinct labels: three different span lists
    assert stats.loc[("ner", "7000"), "n_labels"] == 3
    assert stats.loc[("ner", "7000"), "majority_share"] == pytest.approx(1 / 3)


def test_mixed_fixture_follows_the_planted_disagreements(mixed_stats: pd.DataFrame) -> None:
    stats = mixed_stats.set_index(["field", "task_id"])["disagreement"]
    for i in range(40):
        t = str(7000 + i)
        # every ORG stretched by 3 -> 2/9; with 2's LOC read as ORG (every 3rd) -> 4/9
        assert stats[("ner", t)] == pytest.approx(4 / 9 if i % 3 == 0 else 2 / 9, abs=1e-12)
        # the 3 % shift stays above IoU 0.5; the truck (every 4th) costs 1/3
        assert stats[("box", t)] == pytest.approx(1 / 3 if i % 4 == 0 else 0.0, abs=1e-12)
    quality = stats.loc["quality"]  # ratings keep the nominal share of differing pairs
    assert set(np.round(quality.to_numpy(), 12)) <= {0.0, round(2 / 3, 12)}


def test_mean_over_tasks_is_krippendorffs_observed_disagreement(mixed_stats: pd.DataFrame) -> None:
    """D_o = (1/n) sum_u m_u D_u (Krippendorff 2011) with the same distance."""
    data = read_annotations(str(MIXED))
    for name, alpha in (("topics", multilabel_alpha), ("comment", text_alpha)):
        rows = mixed_stats[mixed_stats["field"] == name]
        m = rows["n_answers"].to_numpy()
        d_o = float((m * rows["disagreement"]).sum() / m.sum())
        expected = alpha(data.annotations[data.annotations["field"] == name]).observed
        assert d_o == pytest.approx(expected, abs=1e-12)


# --- the item table -------------------------------------------------------------------------
def test_item_statistics_uses_the_distance_only_for_typed_fields() -> None:
    a = (span(0, 4, "ORG"),)
    b = (span(0, 5, "ORG"),)
    table = make_table([("t1", "a", a), ("t1", "b", a), ("t1", "c", b)], field="ner")
    nominal = item_statistics(dataset(table)).iloc[0]
    typed = item_statistics(dataset(table, ner=FieldSpec("ner", "span"))).iloc[0]
    assert nominal["disagreement"] == pytest.approx(2 / 3)  # no spec: labels are categories
    # with the span type: (a, a) 0, (a, b) twice TP 0 of 1 + 1 -> 1; D = 2/3 as well ...
    assert typed["disagreement"] == pytest.approx(2 / 3)
    # ... but a partial overlap in a larger answer is a partial disagreement
    c = (span(0, 4, "ORG"), span(6, 9, "PER"))
    d = (span(0, 5, "ORG"), span(6, 9, "PER"))
    table = make_table([("t1", "a", c), ("t1", "b", d)], field="ner")
    typed = item_statistics(dataset(table, ner=FieldSpec("ner", "span"))).iloc[0]
    assert typed["disagreement"] == pytest.approx(0.5)  # TP 1 of 2 + 2
    assert item_statistics(dataset(table)).iloc[0]["disagreement"] == 1.0
    assert typed["n_labels"] == 2 and typed["entropy"] == pytest.approx(1.0)


def test_span_ends_are_checked_against_the_task_text() -> None:
    table = make_table([("t1", "a", (span(0, 3, "X"),)),
                        ("t1", "b", (span(0, 3, "X"), span(2, 9, "X")))], field="ner")
    tasks = pd.DataFrame({"task_id": ["t1"], "text": ["abcde"]})
    specs = {"ner": FieldSpec("ner", "span", to_name="text")}
    stats = item_statistics(Dataset(table, tasks, specs, ImportReport("test")))
    assert stats.iloc[0]["disagreement"] == 0.0  # [2, 9) runs past the 5 characters: dropped
    without_text = item_statistics(Dataset(table, pd.DataFrame(), specs, ImportReport("test")))
    assert without_text.iloc[0]["disagreement"] == pytest.approx(1 / 3)  # TP 1 of 1 + 2
