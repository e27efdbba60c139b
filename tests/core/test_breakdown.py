"""Breakdowns of agreement: per class, per annotator, per slice, per time window."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.agreement import (
    brennan_prediger,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from labelcheck.agreement.breakdown import (
    accepted_options,
    by_annotator,
    by_class,
    by_period,
    by_slice,
    call_metric,
    encoding_level,
)
from labelcheck.agreement.fleiss import fleiss_category_kappas
from labelcheck.agreement.intervals import Interval
from labelcheck.errors import InvalidInput
from labelcheck.table import encode, from_records

# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses
# (1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other);
# the same data as R irr's `diagnoses`.  Rows are patients, entries the diagnosis.
DIAGNOSES = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
])


def long_table(matrix: np.ndarray, *, start: str | None = None, hours: float = 24.0) -> pd.DataFrame:
    """Tasks x annotators matrix (nan = no answer) as a canonical table; task ``i``
    answered at ``start + i * hours`` when ``start`` is given."""
    records = []
    for i, row in enumerate(np.asarray(matrix, dtype=object)):
        for j, label in enumerate(row):
            if label is None or (isinstance(label, float) and math.isnan(label)):
                continue
            rec = {"task_id": f"t{i}", "annotator_id": f"r{j}", "label": label}
            if start is not None:
                rec["created_at"] = pd.Timestamp(start, tz="UTC") + pd.Timedelta(hours=hours * i)
            records.append(rec)
    return from_records(records)


def fleiss_1971_category_kappa(matrix: np.ndarray, k: object) -> float:
    """Fleiss (1971) eq. 17, written out: 1 - sum n_ik (m - n_ik) / (N m (m-1) p q)."""
    n_ik = (matrix == k).sum(axis=1)
    n_tasks, m = matrix.shape
    p = n_ik.sum() / (n_tasks * m)
    return 1 - float((n_ik * (m - n_ik)).sum()) / (n_tasks * m * (m - 1) * p * (1 - p))


# --- by class -----------------------------------------------------------------------
def test_by_class_fleiss_reproduces_fleiss_1971_per_category_kappas() -> None:
    # Fleiss (1971), p. 381 (kappa per category), as R irr prints them:
    # kappam.fleiss(diagnoses, detail = TRUE) -> 0.245 0.245 0.520 0.471 0.566
    results = by_class(long_table(DIAGNOSES), "fleiss_kappa")
    assert [r.details["class"] for r in results] == [1, 2, 3, 4, 5]
    assert [r.value for r in results] == pytest.approx([0.245, 0.245, 0.520, 0.471, 0.566], abs=5e-4)


def test_by_class_fleiss_equals_per_category_kappa_of_fleiss_module() -> None:
    table = long_table(DIAGNOSES)
    per_category = fleiss_category_kappas(table)
    for r in by_class(table, fleiss_kappa):
        assert r.value == pytest.approx(per_category[r.details["class"]].value, abs=1e-12)
        assert r.value == pytest.approx(fleiss_1971_category_kappa(DIAGNOSES, r.details["class"]), abs=1e-12)


def test_by_class_carries_specific_agreement() -> None:
    results = by_class(long_table(DIAGNOSES), "fleiss_kappa", ci=None)
    for r in results:
        k = r.details["class"]
        n_ik = (DIAGNOSES == k).sum(axis=1)
        # p_s(k) = sum n_ik (n_ik - 1) / sum n_ik (m - 1)
        expected = (n_ik * (n_ik - 1)).sum() / (n_ik * 5).sum()
        assert r.details["specific_agreement"] == pytest.approx(expected, abs=1e-12)


def test_by_class_unused_declared_category_is_nan_with_reason() -> None:
    table = long_table(np.array([["a", "a", "b"], ["b", "b", "b"], ["a", "a", "a"]], dtype=object))
    results = by_class(table, "fleiss_kappa", categories=["a", "b", "c"])
    assert [r.details["class"] for r in results] == ["a", "b", "c"]
    assert math.isnan(results[2].value) and results[2].reason


# --- by annotator -------------------------------------------------------------------
@pytest.fixture
def one_bad_annotator() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 3, 120)
    answers = np.repeat(truth[:, None], 5, axis=1)
    good_noise = rng.random((120, 5)) < 0.1
    answers[good_noise] = rng.integers(0, 3, good_noise.sum())
    answers[:, 3] = rng.integers(0, 3, 120)  # r3 answers at random
    return long_table(answers.astype(object))


@pytest.mark.parametrize("metric", ["fleiss_kappa", "krippendorff_alpha", "percent_agreement"])
def test_by_annotator_flags_the_bad_annotator(one_bad_annotator: pd.DataFrame, metric: str) -> None:
    results = by_annotator(one_bad_annotator, metric)
    by_id = {r.details["annotator"]: r for r in results}
    assert list(by_id) == ["r0", "r1", "r2", "r3", "r4"]
    assert min(by_id, key=lambda a: by_id[a].value) == "r3"
    assert by_id["r3"].details["delta"] < 0
    assert all(by_id[a].details["delta"] > 0 for a in ("r0", "r1", "r2", "r4"))
    overall = call_metric(metric, one_bad_annotator, ci=None).value
    loo = call_metric(metric, one_bad_annotator[one_bad_annotator["annotator_id"] != "r3"], ci=None).value
    assert by_id["r3"].details["leave_one_out"] == pytest.approx(loo, abs=1e-12)
    assert by_id["r3"].details["delta"] == pytest.approx(overall - loo, abs=1e-12)
    assert by_id["r3"].n_items == 120 and by_id["r3"].n_annotations == 120
    assert by_id["r3"].details["n_pairs"] == 4 * 120


def test_by_annotator_on_two_annotators_is_the_coefficient_itself() -> None:
    table = long_table(np.array([["a", "a"], ["a", "b"], ["b", "b"], ["c", "c"], ["c", "a"]], dtype=object))
    expected = fleiss_kappa(table, ci=None).value
    for r in by_annotator(table, "fleiss_kappa"):
        assert r.value == pytest.approx(expected, abs=1e-12)


def test_by_annotator_cohen_reads_the_pooled_others() -> None:
    table = long_table(np.array([["a", "a", "a"], ["a", "b", "b"], ["b", "b", "a"], ["b", "a", "b"]], dtype=object))
    results = by_annotator(table, "cohen_kappa", ci=None)
    assert all(r.details["n_pairs"] == 8 for r in results)
    assert all(not math.isnan(r.value) or r.reason for r in results)


def test_by_annotator_counts_shared_tasks_and_answers() -> None:
    nan = float("nan")
    table = long_table(np.array([["a", "a", nan], ["b", "b", nan], ["a", "b", nan], [nan, nan, "a"]], dtype=object))
    results = {r.details["annotator"]: r for r in by_annotator(table, "percent_agreement")}
    assert results["r0"].n_items == 3 and results["r0"].n_annotations == 3
    assert math.isnan(results["r2"].value)
    assert results["r2"].reason == "annotator r2 shares no task with another annotator"


def test_by_annotator_cluster_bootstrap_is_seeded_and_brackets_the_value(one_bad_annotator: pd.DataFrame) -> None:
    ci = Interval(method="bootstrap", n_boot=30, seed=3)
    first = by_annotator(one_bad_annotator, "fleiss_kappa", ci=ci)
    again = by_annotator(one_bad_annotator, "fleiss_kappa", ci=ci)
    for r, s in zip(first, again):
        assert r.ci_method == "bootstrap-percentile"
        assert r.ci == s.ci
        assert r.ci is not None and r.ci[0] < r.value < r.ci[1]


def test_by_annotator_analytic_interval_comes_from_the_pair_table(one_bad_annotator: pd.DataFrame) -> None:
    r = by_annotator(one_bad_annotator, "fleiss_kappa", ci="analytic")[0]
    assert r.ci is not None and r.ci_method is not None and r.ci_method.startswith("analytic")


# --- by slice -----------------------------------------------------------------------
@pytest.fixture
def sliced() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    truth = rng.integers(0, 3, 90)
    answers = np.repeat(truth[:, None], 3, axis=1)
    noisy_rows = np.arange(90) >= 60  # the last 30 tasks: "forum", noisy
    flip = (rng.random((90, 3)) < 0.4) & noisy_rows[:, None]
    answers[flip] = rng.integers(0, 3, flip.sum())
    table = long_table(answers.astype(object))
    tasks = pd.DataFrame({
        "task_id": [f"t{i}" for i in range(90)],
        "source": ["forum" if i >= 60 else ("review" if i % 2 else "support") for i in range(90)],
        "length": np.arange(90) * 3 + 1,
    })
    return table, tasks


def test_by_slice_on_a_task_column(sliced: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table, tasks = sliced
    results = by_slice(table, tasks, "krippendorff_alpha", "source", min_items=20)
    values = {r.details["slice"]["value"]: r for r in results}
    assert list(values) == ["forum", "review", "support"]
    assert all(r.details["slice"]["column"] == "source" for r in results)
    assert values["forum"].value < min(values["review"].value, values["support"].value)
    assert values["forum"].n_items == 30
    # the task field "source" wins over the table's provenance column "source"
    assert values["review"].reason is None


def test_by_slice_small_slice_keeps_value_and_gets_reason(sliced: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table, tasks = sliced
    results = by_slice(table, tasks, "percent_agreement", "source", min_items=31)
    small = [r for r in results if r.reason]
    assert {r.details["slice"]["value"] for r in small} == {"forum", "review", "support"}
    forum = next(r for r in results if r.details["slice"]["value"] == "forum")
    assert not math.isnan(forum.value) and forum.ci is not None
    assert forum.reason == ("small slice: 30 tasks (< min_items=31); read the interval, not the value")


def test_by_slice_numeric_column_is_cut_into_quintiles(sliced: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table, tasks = sliced
    results = by_slice(table, tasks, "percent_agreement", "length", min_items=0)
    labels = [r.details["slice"]["value"] for r in results]
    assert labels == ["[1, 54.4)", "[54.4, 107.8)", "[107.8, 161.2)", "[161.2, 214.6)", "[214.6, 268]"]
    assert [r.n_items for r in results] == [18] * 5


def test_by_slice_column_from_annotation_table_and_missing_values(sliced: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table, tasks = sliced
    table = table.assign(batch=np.where(table["task_id"].isin(["t0", "t1"]), None, "b1"))
    results = by_slice(table, tasks, "percent_agreement", "batch", min_items=0)
    assert [r.details["slice"]["value"] for r in results] == ["b1", None]
    assert results[1].n_items == 2


def test_by_slice_keeps_the_global_category_set(sliced: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table, tasks = sliced
    table = table.copy()
    table.loc[table["task_id"].isin(tasks["task_id"][tasks["source"] == "review"]), "label"] = 0
    review = next(r for r in by_slice(table, tasks, "brennan_prediger", "source")
                  if r.details["slice"]["value"] == "review")
    review_rows = table[table["task_id"].isin(tasks["task_id"][tasks["source"] == "review"])]
    # K = 3 (from the whole field), not the 1 category used in this slice
    assert review.value == pytest.approx(brennan_prediger(review_rows, categories=[0, 1, 2]).value)


def test_by_slice_unknown_column_names_the_available_ones(sliced: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    table, tasks = sliced
    with pytest.raises(InvalidInput, match='no column "colour" to slice by; available: source, length'):
        by_slice(table, tasks, "percent_agreement", "colour")


# --- by period ----------------------------------------------------------------------
def test_by_period_weeks_start_on_monday() -> None:
    # 2024-03-06 is a Wednesday; one task a day for 14 days, 3 annotators
    answers = np.array([["a", "a", "b" if i < 7 else "a"] for i in range(14)], dtype=object)
    table = long_table(answers, start="2024-03-06 10:00")
    results = by_period(table, "percent_agreement", "week")
    assert [r.details["period"] for r in results] == ["2024-03-04", "2024-03-11", "2024-03-18"]
    assert [r.n_items for r in results] == [5, 7, 2]
    assert results[0].value == pytest.approx(1 / 3) and results[2].value == pytest.approx(1.0)
    assert [r.details["period"] for r in by_period(table, "percent_agreement", "W")] == \
        ["2024-03-04", "2024-03-11", "2024-03-18"]


def test_by_period_month_and_day() -> None:
    table = long_table(np.array([["a", "a"]] * 40, dtype=object), start="2024-01-20", hours=24)
    assert [r.details["period"] for r in by_period(table, "percent_agreement", "month")] == \
        ["2024-01-01", "2024-02-01"]
    assert len(by_period(table, "percent_agreement", "D")) == 40


def test_by_period_pairs_only_within_a_window() -> None:
    table = long_table(np.array([["a", "b"]] * 3, dtype=object), start="2024-03-04")
    # the second answer of each task arrives a week later
    later = table["annotator_id"] == "r1"
    table.loc[later, "created_at"] = table.loc[later, "created_at"] + pd.Timedelta(days=7)
    results = by_period(table, "percent_agreement", "week")
    assert all(math.isnan(r.value) for r in results)


def test_by_period_reports_answers_without_time() -> None:
    table = long_table(np.array([["a", "a"]] * 4, dtype=object), start="2024-03-04")
    table.loc[table["task_id"] == "t3", "created_at"] = pd.NaT
    results = by_period(table, "percent_agreement", "week")
    assert results[-1].details["period"] is None
    assert math.isnan(results[-1].value)
    assert results[-1].reason == "2 answer(s) on 1 task(s) have no created_at and belong to no time window"


def test_by_period_rejects_unknown_frequency() -> None:
    table = long_table(np.array([["a", "a"]], dtype=object), start="2024-03-04")
    with pytest.raises(ValueError, match="freq must be one of day, D, week, W, month, MS, M; got 'year'"):
        by_period(table, "percent_agreement", "year")


# --- calling convention -------------------------------------------------------------
def test_options_are_passed_only_where_accepted() -> None:
    opts = {"weights": "linear", "level": "ordinal", "ci": None, "weights_basis": None}
    assert accepted_options(krippendorff_alpha, opts) == {"level": "ordinal", "ci": None}
    assert accepted_options(percent_agreement, opts) == {"weights": "linear", "ci": None}
    assert encoding_level("icc_oneway", "nominal") == "interval"
    assert encoding_level("fleiss_kappa", None) == "nominal"


def test_unknown_metric_is_named() -> None:
    with pytest.raises(ValueError, match="unknown metric 'kappa'"):
        by_class(long_table(DIAGNOSES), "kappa")


# --- properties ---------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6).flatmap(lambda m: st.lists(
    st.lists(st.sampled_from("xyz"), min_size=m, max_size=m), min_size=3, max_size=25)))
def test_by_class_fleiss_is_fleiss_per_category_kappa(rows: list[list[str]]) -> None:
    matrix = np.array(rows, dtype=object)
    table = long_table(matrix)
    coded = encode(table)
    for r in by_class(coded, "fleiss_kappa", ci=None):
        k = r.details["class"]
        p = (matrix == k).mean()
        if 0 < p < 1:
            assert r.value == pytest.approx(fleiss_1971_category_kappa(matrix, k), abs=1e-9)
        else:
            assert math.isnan(r.value) and r.reason
