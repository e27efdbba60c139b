"""Slices and time windows: the same parts and values as the agreement breakdowns,
the test against the rest, the trend and the step."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labelcheck.agreement.breakdown import by_period, by_slice
from labelcheck.hotspots import coincidences, find_hotspots
from labelcheck.hotspots.periods import period_agreement, trend
from labelcheck.hotspots.slices import slice_agreement, slice_columns, with_length_columns
from labelcheck.table import encode
from tests.core.test_hotspots_planted import Plan, simulate


@pytest.fixture(scope="module")
def project():  # type: ignore[no-untyped-def]
    ann, tasks = simulate(Plan(hard_value="phone", n_items=300, seed=31))
    tasks = tasks.assign(text=["x" * (5 + i % 40) for i in range(len(tasks))],
                         score=np.arange(len(tasks)) % 17 + 0.5)
    return ann, tasks, coincidences(encode(ann))


@pytest.mark.parametrize("column", ["channel", "score", "text:length"])
def test_slices_are_the_breakdowns_slices(project, column: str) -> None:  # type: ignore[no-untyped-def]
    ann, tasks, co = project
    ours = slice_agreement(co, tasks, column)
    theirs = by_slice(co.coded, with_length_columns(tasks, [column]), "krippendorff_alpha", column)
    assert list(ours["value"]) == [r.details["slice"]["value"] for r in theirs]
    np.testing.assert_allclose(ours["agreement"], [r.value for r in theirs], rtol=1e-12)
    np.testing.assert_allclose(ours["se"], [r.se for r in theirs], rtol=1e-12)
    if column != "channel":  # numeric with > 12 values: quintile buckets
        assert len(ours) == 5 and ours["value"].iloc[0].startswith("[")


def test_the_hard_slice_is_tested_against_the_rest(project) -> None:  # type: ignore[no-untyped-def]
    _, tasks, co = project
    frame = slice_agreement(co, tasks, "channel").set_index("value")
    others = frame.drop(index="phone")
    w = others["n_items"].to_numpy(float)
    assert frame.loc["phone", "rest_agreement"] == pytest.approx(w @ others["agreement"] / w.sum())
    se_rest = math.sqrt((w**2) @ others["se"] ** 2) / w.sum()
    z = (frame.loc["phone", "rest_agreement"] - frame.loc["phone", "agreement"]) / math.hypot(
        frame.loc["phone", "se"], se_rest)
    assert frame.loc["phone", "z"] == pytest.approx(z)
    assert frame.loc["phone", "p_value"] < 1e-3
    assert (others["p_value"] > 0.05).all()


def test_small_slices_are_skipped_with_the_reason(project) -> None:  # type: ignore[no-untyped-def]
    ann, tasks, _ = project
    tasks = tasks.assign(tiny=np.where(np.arange(len(tasks)) < 10, "rare", "common"))
    report = find_hotspots(ann, tasks, slices=["tiny"], period=None)
    assert [s["key"] for s in report.skipped] == [{"column": "tiny", "value": "rare"}]
    assert "min_items=30" in report.skipped[0]["reason"]
    assert {h.key["value"] for h in report.hotspots if h.kind == "slice"} == {"common"}


def test_default_slices_are_the_task_columns_with_few_values(project) -> None:  # type: ignore[no-untyped-def]
    ann, tasks, _ = project
    assert slice_columns(tasks, ann) == ["channel"]


@pytest.mark.parametrize("freq", ["day", "week", "month"])
def test_windows_are_the_breakdowns_windows(project, freq: str) -> None:  # type: ignore[no-untyped-def]
    _, _, co = project
    ours = period_agreement(co, freq)
    theirs = [r for r in by_period(co.coded, "krippendorff_alpha", freq) if r.details["period"]]
    assert list(ours["period"]) == [r.details["period"] for r in theirs]
    np.testing.assert_allclose(ours["agreement"], [r.value for r in theirs], rtol=1e-12)


def test_trend_is_weighted_least_squares() -> None:
    frame = pd.DataFrame({
        "period": ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29"],
        "agreement": [0.50, 0.55, 0.52, 0.70, 0.72], "se": [0.05] * 5,
        "n_items": [10, 20, 30, 40, 50],
    })
    out = trend(frame, "week")
    assert out is not None
    slope, _ = np.polyfit(np.arange(5.0), frame["agreement"], 1, w=np.sqrt(frame["n_items"]))
    assert out["slope_per_period"] == pytest.approx(slope)
    assert out["ci"][0] < slope < out["ci"][1]
    assert out["step"]["at"] == "2024-01-22"  # the largest jump
    assert out["step"]["p_value"] == pytest.approx(min(1.0, 2 * 2 * (1 - _phi(abs(out["step"]["z"])))))


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_no_created_at_means_no_windows() -> None:
    ann, tasks = simulate(Plan(n_items=60, seed=32))
    ann["created_at"] = pd.NaT
    report = find_hotspots(ann, tasks, period="week")
    assert report.trend is None and not any(h.kind == "period" for h in report.hotspots)
    assert report.skipped[-1]["reason"].startswith("no answer has created_at")
