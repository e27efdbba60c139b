"""Intraclass correlations: design rules, undefined cases, intervals, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labelcheck.agreement import Interval
from labelcheck.agreement import icc as icc_module
from labelcheck.agreement.icc import NO_VARIATION, icc_agreement, icc_consistency, icc_oneway
from labelcheck.errors import InvalidInput
from labelcheck.table import encode, from_records

NAN = np.nan
SF = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
TWO_WAY = (icc_agreement, icc_consistency)
ALL = (icc_oneway, icc_agreement, icc_consistency)


def table_from(matrix: list[list[float]] | np.ndarray) -> pd.DataFrame:
    return from_records(
        [
            {"task_id": f"t{i}", "annotator_id": f"j{j}", "label": float(x)}
            for i, row in enumerate(matrix)
            for j, x in enumerate(row)
            if not np.isnan(x)
        ]
    )


@pytest.mark.parametrize("function", ALL)
def test_perfect_agreement_is_one(function) -> None:  # type: ignore[no-untyped-def]
    result = function(table_from([[1, 1, 1], [4, 4, 4], [2, 2, 2]]))
    assert result.value == pytest.approx(1.0)


@pytest.mark.parametrize("function", ALL)
def test_all_ratings_equal_is_undefined(function) -> None:  # type: ignore[no-untyped-def]
    result = function(table_from([[3, 3], [3, 3], [3, 3]]))
    assert math.isnan(result.value)
    assert result.reason == NO_VARIATION


@pytest.mark.parametrize("function", ALL)
def test_one_task_is_undefined(function) -> None:  # type: ignore[no-untyped-def]
    result = function(table_from([[1, 2, 3]]))
    assert math.isnan(result.value)
    assert "at least two" in result.reason or "only one task" in result.reason


@pytest.mark.parametrize("function", TWO_WAY)
def test_incomplete_design_says_what_to_do(function) -> None:  # type: ignore[no-untyped-def]
    # every task rated by two of three annotators: no complete task
    matrix = [[1, 2, NAN], [NAN, 3, 4], [5, NAN, 6], [2, 2, NAN]]
    result = function(table_from(matrix))
    assert math.isnan(result.value)
    assert result.reason.startswith("no task was rated by all 3 annotators (j0, j1, j2)")
    assert "use icc_oneway" in result.reason and "annotators=[...]" in result.reason
    # icc_oneway accepts this design
    assert math.isfinite(icc_oneway(table_from(matrix)).value)


@pytest.mark.parametrize("function", TWO_WAY)
def test_complete_cases_and_annotator_choice(function) -> None:  # type: ignore[no-untyped-def]
    matrix = np.array(SF, dtype=float)
    extra = np.full((6, 1), NAN)
    extra[0, 0] = 5.0  # a fifth judge who rated one target only
    table = table_from(np.hstack([matrix, extra]))
    assert math.isnan(function(table).value)
    chosen = function(table, annotators=["j0", "j1", "j2", "j3"])
    assert chosen.value == pytest.approx(function(table_from(SF)).value, abs=1e-12)
    assert chosen.ci == pytest.approx(function(table_from(SF)).ci, abs=1e-12)
    with pytest.raises(InvalidInput, match=r'annotators j9 have no answers on field "label"'):
        function(table, annotators=["j0", "j9"])


def test_two_way_drops_incomplete_tasks_and_counts_them() -> None:
    matrix = np.array(SF + [[3, NAN, 4, 5]], dtype=float)
    result = icc_consistency(table_from(matrix))
    assert result.details["n_incomplete_tasks"] == 1
    assert result.n_items == 6 and result.n_annotations == 24
    assert result.value == pytest.approx(icc_consistency(table_from(SF)).value, abs=1e-12)


def test_oneway_leaves_out_single_answer_tasks() -> None:
    base = icc_oneway(table_from(SF))
    lonely = from_records(
        pd.concat(
            [table_from(SF), from_records([{"task_id": "x", "annotator_id": "j0", "label": 7.0}])],
            ignore_index=True,
        )
    )
    result = icc_oneway(lonely)
    assert result.value == pytest.approx(base.value, abs=1e-12)
    assert result.n_items == 6


def test_oneway_balanced_k0_is_k() -> None:
    assert icc_oneway(table_from(SF)).details["k0"] == pytest.approx(4.0)


def test_non_numeric_labels_are_refused() -> None:
    table = from_records(
        [{"task_id": t, "annotator_id": a, "label": v}
         for t, a, v in [(1, "a", "good"), (1, "b", "bad"), (2, "a", "bad"), (2, "b", "bad")]]
    )
    with pytest.raises(InvalidInput, match="not numbers"):
        icc_oneway(table)


def test_ci_option_is_checked() -> None:
    with pytest.raises(ValueError, match="ci must be 'F', 'bootstrap', an Interval or None"):
        icc_oneway(table_from(SF), ci="analytic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        icc_oneway(table_from(SF), confidence=95)


@pytest.mark.parametrize("function", ALL)
def test_no_interval_and_other_confidence(function) -> None:  # type: ignore[no-untyped-def]
    table = table_from(SF)
    assert function(table, ci=None).ci is None
    wide = function(table, confidence=0.99).ci
    narrow = function(table, confidence=0.90).ci
    assert wide[0] < narrow[0] and narrow[1] < wide[1]


@pytest.mark.parametrize("function", ALL)
def test_bootstrap_is_seeded_and_weighted_anova_is_exact(function, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    matrix = (rng.normal(0, 2, (40, 1)) + rng.normal(0, 1, (40, 3))).round(1)
    table = table_from(matrix)
    a = function(table, ci=Interval("bootstrap", n_boot=300, seed=1))
    b = function(table, ci=Interval("bootstrap", n_boot=300, seed=1))
    assert a.ci == b.ci and a.ci_method == "bootstrap-percentile"
    assert a.ci[0] < a.value < a.ci[1]
    # a resample drawing task 0 twice and task 1 never equals the ANOVA of that table
    dup = np.vstack([matrix[[0, 0]], matrix[2:]])
    point = function(table_from(dup), ci=None).value
    captured = {}
    real = icc_module.bootstrap_tasks

    def spy(statistic, n, interval, point_value):  # type: ignore[no-untyped-def]
        captured["stat"] = statistic
        return real(statistic, n, interval, point_value)

    monkeypatch.setattr(icc_module, "bootstrap_tasks", spy)
    function(table, ci="bootstrap")
    w = np.ones((1, 40), dtype=np.int64)
    w[0, 0], w[0, 1] = 2, 0
    assert captured["stat"](w)[0] == pytest.approx(point, abs=1e-10)


def test_coded_ratings_are_accepted() -> None:
    coded = encode(table_from(SF), level="interval")
    assert icc_consistency(coded).value == pytest.approx(icc_consistency(table_from(SF)).value)
