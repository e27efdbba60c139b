"""The hotspot core: the decomposition of alpha, label pairs, items and the ranking
arithmetic, each pinned to Krippendorff's alpha, statsmodels or a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labelcheck.agreement import krippendorff_alpha
from labelcheck.errors import InvalidInput
from labelcheck.hotspots import coincidences, find_hotspots
from labelcheck.hotspots.items import item_disagreement, item_hotspots, select_items
from labelcheck.hotspots.label_pairs import label_pairs
from labelcheck.hotspots.ranking import Hotspot, adjust, benjamini_hochberg, gain, make_hotspot, rank
from labelcheck.hotspots.slices import slice_agreement
from labelcheck.table import encode
from tests.conftest import from_matrix, make_table
from tests.core.test_hotspots_planted import Plan, simulate

NAN = None
#: Krippendorff (2011), pp. 5-9: 4 observers, 12 units, values 1-5, missing data.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


# --- the decomposition ------------------------------------------------------------------
@pytest.mark.parametrize("level, published", [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797),
])
def test_decomposition_reproduces_krippendorffs_worked_example(level: str, published: float) -> None:
    coded = encode(from_matrix(KRIPPENDORFF_2011), level=level)  # type: ignore[arg-type]
    co = coincidences(coded, level)  # type: ignore[arg-type]
    assert co.alpha == pytest.approx(published, abs=5e-4)  # Krippendorff (2011), p. 9
    reference = krippendorff_alpha(coded, level=level, ci=None)  # type: ignore[arg-type]
    assert co.alpha == pytest.approx(reference.value, abs=1e-12)
    assert co.expected == pytest.approx(reference.expected, rel=1e-12)
    # the per-answer terms add up to the observed disagreement
    assert co.disagreement.sum() / co.n_values == pytest.approx(reference.observed, rel=1e-12)
    assert co.n_values == reference.n_annotations and co.n_units == reference.n_items


def test_rest_disagreement_and_consensus_by_hand() -> None:
    # one task, answers x, x, y: the y answer's others are {x, x}
    co = coincidences(encode(from_matrix([["x"], ["x"], ["y"]])))
    labels = [co.category(c) for c in co.label]
    d = dict(zip(labels, co.disagreement))
    rest = dict(zip(labels, co.rest_disagreement))
    assert d["y"] == 1.0 and rest["y"] == 0.0  # y differs from both x; the x's agree
    assert d["x"] == 0.5 and rest["x"] == 1.0  # an x: one of two others differs; they differ
    by_label = {lab: (int(c), float(mt)) for lab, c, mt in zip(labels, co.consensus, co.consensus_match)}
    assert by_label["x"] == (-1, 0.5)  # an x's others tie (x, y): no consensus, half a match
    assert by_label["y"] == (co.coded.categories.get_loc("x"), 0.0)  # y's others say x


def test_no_pairable_task_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="no task has two or more answers"):
        coincidences(encode(make_table([("t1", "a", "x"), ("t2", "a", "y")])))


# --- label pairs ----------------------------------------------------------------------------
def test_label_pair_counts_are_krippendorffs_coincidences() -> None:
    ann, _ = simulate(Plan(confused=("B", "C"), n_items=150, seed=11))
    coded = encode(ann)
    ref = krippendorff_alpha(coded, ci=None)
    o = np.asarray(ref.details["coincidences"])
    cats = ref.details["coincidence_categories"]
    n_c = o.sum(axis=1)
    n = n_c.sum()
    frame = label_pairs(coincidences(coded))
    for row in frame.itertuples():
        i, j = cats.index(row.label_a), cats.index(row.label_b)
        assert row.observed == pytest.approx(o[i, j], rel=1e-12)
        assert row.expected == pytest.approx(n_c[i] * n_c[j] / (n - 1), rel=1e-12)
        # alpha of the 2 x 2 block of the coincidence matrix, by Krippendorff's formula
        block = o[np.ix_([i, j], [i, j])]
        nb = block.sum()
        d_o = (block[0, 1] + block[1, 0]) / nb
        d_e = 2 * block.sum(axis=1)[0] * block.sum(axis=1)[1] / (nb * (nb - 1))
        assert row.agreement == pytest.approx(1 - d_o / d_e, rel=1e-12)


def test_with_two_labels_the_pair_agreement_is_alpha() -> None:
    table = from_matrix([["x", "y", "x", "y", "x", "x"], ["x", "y", "y", "y", "x", "y"],
                         ["x", "x", "x", "y", None, "y"]])
    frame = label_pairs(coincidences(encode(table)))
    assert len(frame) == 1
    assert frame["agreement"].iloc[0] == pytest.approx(krippendorff_alpha(table).value, abs=1e-12)
    assert frame["share"].iloc[0] == pytest.approx(1.0)


def test_symmetry_counts_directional_confusions() -> None:
    # three tasks where two say A and one says B; one where two say B and one A
    rows = [("t1", "r1", "A"), ("t1", "r2", "A"), ("t1", "r3", "B"),
            ("t2", "r1", "A"), ("t2", "r2", "A"), ("t2", "r3", "B"),
            ("t3", "r1", "A"), ("t3", "r2", "B"), ("t3", "r3", "A"),
            ("t4", "r1", "B"), ("t4", "r2", "B"), ("t4", "r3", "A")]
    row = label_pairs(coincidences(encode(make_table(rows)))).iloc[0]
    assert (row.label_a, row.label_b) == ("A", "B")
    assert (row.a_to_b, row.b_to_a) == (3, 1)  # B where the others say A: t1, t2, t3
    # exact binomial: P(X <= 1 or X >= 3 | n = 4, p = 1/2) = 10/16
    assert row.symmetry_p == pytest.approx(10 / 16)


# --- items -----------------------------------------------------------------------------------
def test_item_measures_by_hand() -> None:
    table = make_table([("t1", "a", "x"), ("t1", "b", "x"), ("t1", "c", "y"),
                        ("t2", "a", "x"), ("t2", "b", "x"), ("t2", "c", "x"),
                        ("t3", "a", "y"), ("t3", "b", "z"), ("t3", "c", "y"), ("t3", "d", "z")])
    co = coincidences(encode(table))
    items = item_disagreement(co).set_index("task_id")
    assert items.loc["t1", "vote_entropy"] == pytest.approx(-(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3))
    assert items.loc["t1", "vote_margin"] == pytest.approx(1 / 3)
    assert items.loc["t1", "observed_disagreement"] == pytest.approx(4 / 6)  # 4 of 6 ordered pairs differ
    assert items.loc["t1", "agreement"] == pytest.approx(1 - (4 / 6) / co.expected)
    assert items.loc["t2", "vote_entropy"] == 0 and items.loc["t2", "agreement"] == 1
    assert items.loc["t3", "majority"] is None and items.loc["t3", "vote_margin"] == 0
    assert list(items.index) == ["t1", "t3", "t2"]  # least agreement first; ties by task id
    assert set(select_items(items.reset_index(), co, label="z")["task_id"]) == {"t3"}
    assert set(select_items(items.reset_index(), co, annotator="d")["task_id"]) == {"t3"}
    column = pd.Series({"t1": "web", "t2": "web", "t3": "mail"})
    assert set(select_items(items.reset_index(), co, column=column, value="web")["task_id"]) == {"t1", "t2"}
    post = pd.DataFrame({"x": [0.9, 1.0, 0.0], "y": [0.1, 0.0, 0.6], "z": [0.0, 0.0, 0.4]},
                        index=["t1", "t2", "t3"])
    with_post = item_disagreement(co, post).set_index("task_id")
    assert with_post.loc["t3", "posterior_uncertainty"] == pytest.approx(0.4)


def test_item_hotspots_rank_by_gain_and_show_the_answers() -> None:
    table = make_table([("t1", "a", "x"), ("t1", "b", "y"), ("t1", "c", "z"),
                        ("t2", "a", "x"), ("t2", "b", "x"), ("t2", "c", "y"),
                        ("t3", "a", "x"), ("t3", "b", "x")])
    co = coincidences(encode(table))
    spots = item_hotspots(co, target=0.8, limit=5)
    assert [h.key for h in spots] == ["t1", "t2"]  # t3 agrees: no gain
    assert spots[0].share == pytest.approx(3 / co.n_values)
    assert spots[0].gain == pytest.approx(spots[0].share * (0.8 - spots[0].agreement))
    assert spots[0].priority == 0 and spots[0].p_value is None
    assert {a["annotator_id"]: a["label"] for a in spots[0].evidence["answers"]} == {"a": "x", "b": "y", "c": "z"}


# --- gain: the exact change of overall alpha --------------------------------------------------
def test_slice_gain_is_the_exact_rise_of_overall_alpha() -> None:
    """Lower a slice's observed disagreement until its alpha is the target, holding
    every expected disagreement fixed, and recompute overall alpha: the rise is the
    hotspot's gain (ranking module docstring)."""
    ann, tasks = simulate(Plan(hard_value="phone", n_items=300, seed=12))
    coded = encode(ann)
    overall = krippendorff_alpha(coded, ci=None)
    co = coincidences(coded)
    target = 0.8
    frame = slice_agreement(co, tasks, "channel")
    for row in frame.itertuples():
        mask = np.isin(coded.task_ids[coded.task], tasks.loc[tasks["channel"] == row.value, "task_id"])
        part = krippendorff_alpha(coded.subset(mask), ci=None)
        total_o = overall.observed * overall.n_annotations
        part_o = part.observed * part.n_annotations
        after_o = total_o - part_o + part.n_annotations * (1 - target) * part.expected
        after = 1 - (after_o / overall.n_annotations) / overall.expected
        spot = make_hotspot("slice", {"column": "channel", "value": row.value}, share=row.share,
                            agreement=row.agreement, target=target, chance_ratio=row.chance_ratio)
        assert after - overall.value == pytest.approx(spot.gain, abs=1e-12)


def test_gap_gain_priority_arithmetic() -> None:
    h = make_hotspot("slice", {"column": "c", "value": 1}, share=0.25, agreement=0.5, target=0.8,
                     ci=(0.4, 0.6), reference=0.7, chance_ratio=1.2)
    assert h.gap == pytest.approx(0.3)
    assert h.gain == pytest.approx(0.25 * 1.2 * 0.3)
    assert h.priority == pytest.approx(0.25 * 1.2 * (0.7 - 0.6))  # min(target, reference) - upper end
    above = make_hotspot("slice", "k", share=0.5, agreement=0.9, target=0.8, ci=(0.85, 0.95))
    assert above.gap == 0 and above.gain == 0 and above.priority == 0
    assert gain(0.1, 0.5, 0.8) == pytest.approx(0.03)


# --- BH and the ranking -------------------------------------------------------------------------
def test_benjamini_hochberg_equals_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 100):
        p = rng.uniform(size=n) ** 2
        p[: n // 3] = p[0]  # ties
        np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1],
                                   rtol=0, atol=1e-15)


def test_report_q_values_are_bh_over_the_whole_analysis() -> None:
    from statsmodels.stats.multitest import multipletests

    ann, tasks = simulate(Plan(confused=("B", "C"), careless="u02", hard_value="web", seed=13))
    report = find_hotspots(ann, tasks, slices=["channel"], period="week")
    tested = [h for h in report.hotspots if h.p_value is not None]
    expected = multipletests([h.p_value for h in tested], method="fdr_bh")[1]
    np.testing.assert_allclose([h.q_value for h in tested], expected, rtol=1e-12)
    assert all(h.significant == (h.q_value <= 0.05) for h in tested)
    assert all(not h.significant for h in report.hotspots if h.p_value is None)


def test_rank_orders_by_priority_then_gain_whatever_the_input_order() -> None:
    spots = [make_hotspot("item", "t9", share=0.01, agreement=0.0, target=0.8),
             make_hotspot("slice", "s", share=0.3, agreement=0.5, target=0.8, ci=(0.4, 0.6)),
             make_hotspot("label_pair", ["a", "b"], share=0.3, agreement=0.3, target=0.8, ci=(0.2, 0.4))]
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2]):
        ranked = rank(adjust([spots[i] for i in order]))
        assert [h.kind for h in ranked] == ["label_pair", "slice", "item"]


def test_to_dict_is_plain_json() -> None:
    import json

    h = Hotspot(kind="slice", key={"column": "c", "value": np.int64(3)}, share=0.1,
                agreement=float("nan"), gap=0.0, gain=0.0, priority=0.0, ci=(float("nan"), 1.0),
                evidence={"counts": {"n": np.int64(2)}, "x": np.float64("nan"), "ids": ("a", "b")})
    out = h.to_dict()
    assert out["agreement"] is None and out["ci"] == [None, 1.0]
    assert out["key"] == {"column": "c", "value": 3} and out["evidence"]["x"] is None
    json.dumps(out, allow_nan=False)


def test_progress_is_reported_up_to_one() -> None:
    ann, tasks = simulate(Plan(n_items=80, seed=14))
    seen: list[tuple[str, float]] = []
    find_hotspots(ann, tasks, progress=lambda stage, done: seen.append((stage, done)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_unknown_slice_column_names_the_available_ones() -> None:
    ann, tasks = simulate(Plan(n_items=60, seed=15))
    with pytest.raises(InvalidInput, match='no column "colour".*channel'):
        find_hotspots(ann, tasks, slices=["colour"])
