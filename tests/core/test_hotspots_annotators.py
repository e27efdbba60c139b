"""Annotator hotspots: peers, the outlier search, the bias profile, drift and speed,
checked against brute-force loops over the answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelcheck.hotspots import coincidences
from labelcheck.hotspots.annotators import (
    annotator_agreement,
    bias_test,
    drift,
    find_outliers,
    label_usage,
    pairwise_agreement,
    speed,
)
from labelcheck.hotspots.peers import peers, usage_moments
from labelcheck.table import encode
from tests.core.test_hotspots_planted import Plan, simulate


@pytest.fixture(scope="module")
def project():  # type: ignore[no-untyped-def]
    # the contrarian swaps A (40% of tasks) and D (20%): she over-uses D, under-uses A
    ann, _ = simulate(Plan(careless="u01", contrarian="u04", prior=(0.4, 0.2, 0.2, 0.2),
                           n_items=300, seed=21))
    coded = encode(ann)
    return coded, coincidences(coded)


def _brute_peers(co, excluded):  # type: ignore[no-untyped-def]
    """Per answer: its peers' count vector, by a loop."""
    k = co.n_categories
    out = []
    for v in range(co.n_values):
        on_task = np.flatnonzero(co.unit == co.unit[v])
        counts = np.zeros(k)
        for w in on_task:
            if w != v and not excluded[w]:
                counts[co.label[w]] += 1
        out.append(counts)
    return np.asarray(out)


def test_peers_and_usage_moments_equal_a_loop_over_answers(project) -> None:  # type: ignore[no-untyped-def]
    coded, co = project
    excluded = np.isin(co.annotator, [co.annotator_ids.get_loc("u01")])
    peer = peers(co, excluded)
    counts = _brute_peers(co, excluded)
    m = counts.sum(axis=1)
    np.testing.assert_array_equal(peer.m, m)
    ok = m >= 1
    d = np.array([(counts[v] @ co.delta[:, co.label[v]]) / m[v] for v in np.flatnonzero(ok)])
    np.testing.assert_allclose(peer.disagreement[ok], d, rtol=1e-12)
    two = m >= 2
    rest = np.array([(counts[v] @ co.delta @ counts[v]) / (m[v] * (m[v] - 1)) for v in np.flatnonzero(two)])
    np.testing.assert_allclose(peer.rest[two], rest, rtol=1e-12, atol=1e-15)

    observed, expected, second = usage_moments(co, peer)
    k = co.n_categories
    for a in range(co.annotator_ids.size):
        mine = np.flatnonzero((co.annotator == a) & ok)
        p = counts[mine] / m[mine, None]
        e = np.eye(k)[co.label[mine]]
        np.testing.assert_allclose(expected[a], p.sum(axis=0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(observed[a], e.sum(axis=0))
        np.testing.assert_allclose(second[a], (e - p).T @ (e - p), rtol=1e-10, atol=1e-10)


def test_outlier_search_flags_the_careless_and_the_contrarian_only(project) -> None:  # type: ignore[no-untyped-def]
    _, co = project
    table, outliers = find_outliers(co)
    assert outliers == ["u01", "u04"]
    by_id = table.set_index("annotator_id")
    others = by_id.drop(index=["u01", "u04"])
    assert (by_id.loc[["u01", "u04"], "agreement"].max() < others["agreement"].min())
    assert (others["p_value"] > 0.05).all()


def test_bias_profile_names_the_swapped_labels(project) -> None:  # type: ignore[no-untyped-def]
    _, co = project
    excluded = np.isin(co.annotator, [co.annotator_ids.get_loc(x) for x in ("u01", "u04")])
    tests = bias_test(co, excluded).set_index("annotator_id")
    assert tests.loc["u04", "q_value"] < 0.01 and tests.loc["u04", "shift"] > 0.2
    careful = tests.drop(index=["u01", "u04"])
    assert (careful["q_value"] > 0.05).all()
    usage = label_usage(co, excluded)
    mine = usage[usage["annotator_id"] == "u04"].set_index("label")
    assert mine.loc["D", "z"] > 3 and mine.loc["A", "z"] < -2.5
    assert mine.loc["D", "q_value"] < 0.01 and mine.loc["B", "q_value"] > 0.05


def test_agreement_without_exclusions_is_one_minus_mean_disagreement(project) -> None:  # type: ignore[no-untyped-def]
    _, co = project
    table = annotator_agreement(co).set_index("annotator_id")
    for a, name in enumerate(co.annotator_ids):
        d = co.disagreement[co.annotator == a]
        assert table.loc[name, "agreement"] == pytest.approx(1 - d.mean() / co.expected)
        assert table.loc[name, "share"] == pytest.approx(min(1, 2 * d.size / co.n_values))


def test_drift_and_speed_find_a_planted_trend() -> None:
    ann, _ = simulate(Plan(n_items=300, seed=22))
    # annotator u02 gets worse over time: late answers are flipped to a wrong label
    late = (ann["annotator_id"] == "u02") & (ann["created_at"] > pd.Timestamp("2024-02-05", tz="UTC"))
    flip = {"A": "B", "B": "C", "C": "D", "D": "A"}
    ann.loc[late, "label"] = ann.loc[late, "label"].map(flip)
    ann.loc[ann["annotator_id"] == "u02", "lead_time"] = 2.0  # and fast
    co = coincidences(encode(ann))
    d = drift(co).set_index("annotator_id")
    assert d.loc["u02", "slope_per_30_days"] < 0 and d.loc["u02", "p_value"] < 1e-4
    s = speed(co).set_index("annotator_id")
    assert s.loc["u02", "median_lead_time"] == 2.0
    assert s.loc["u03", "median_lead_time"] > 5


def test_pairwise_agreement_is_a_square_kappa_matrix(project) -> None:  # type: ignore[no-untyped-def]
    coded, _ = project
    matrix = pairwise_agreement(coded)
    assert list(matrix.index) == list(matrix.columns)
    assert np.allclose(matrix.to_numpy(), matrix.to_numpy().T, equal_nan=True)
