"""Krippendorff's alpha: properties, undefined cases, routes, distances, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import labelcheck.agreement.krippendorff as kripp
from labelcheck.agreement import Interval
from labelcheck.agreement.intervals import count_patterns
from labelcheck.agreement.krippendorff import (
    NO_PAIRABLE,
    ONE_LABEL,
    _PatternModel,
    krippendorff_alpha,
)
from labelcheck.errors import InvalidInput
from labelcheck.table import encode, from_records

NAN = np.nan
# Krippendorff (2011) worked example, observers x units.
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def table_from(rows: list[list[float]] | np.ndarray, label=float) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return from_records(
        [
            {"task_id": f"t{u}", "annotator_id": f"a{c}", "label": label(v)}
            for c, row in enumerate(rows)
            for u, v in enumerate(row)
            if not np.isnan(v)
        ]
    )


@st.composite
def tables(draw: st.DrawFn, n_cat_max: int = 6) -> pd.DataFrame:
    n_cat = draw(st.integers(2, n_cat_max))
    n_units = draw(st.integers(2, 15))
    records = []
    for u in range(n_units):
        m = draw(st.integers(1, 5))
        for a in range(m):
            records.append({"task_id": f"t{u}", "annotator_id": f"a{a}",
                            "label": float(draw(st.integers(1, n_cat)))})
    table = from_records(records)
    m_u = table.groupby("task_id")["label"].transform("size")
    assume((m_u >= 2).any())
    assume(table.loc[m_u >= 2, "label"].nunique() >= 2)
    return table


# --- properties ----------------------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), seed=st.integers(0, 2**16))
def test_nominal_invariant_to_relabelling_and_row_order(table: pd.DataFrame, seed: int) -> None:
    base = krippendorff_alpha(table, ci=None).value
    rng = np.random.default_rng(seed)
    cats = sorted(table["label"].unique())
    names = dict(zip(cats, rng.permutation([f"c{i}" for i in range(len(cats))]), strict=True))
    relabelled = table.assign(label=table["label"].map(names))
    shuffled = relabelled.iloc[rng.permutation(len(table))].reset_index(drop=True)
    renamed = shuffled.assign(
        annotator_id=shuffled["annotator_id"] + "x", task_id="z" + shuffled["task_id"]
    )
    assert krippendorff_alpha(renamed, ci=None).value == pytest.approx(base, abs=1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables())
def test_alpha_at_most_one_every_level(table: pd.DataFrame) -> None:
    for level in ("nominal", "ordinal", "interval", "ratio"):
        result = krippendorff_alpha(table, level=level)
        assert result.value <= 1 + 1e-12
        assert math.isfinite(result.se) or result.n_items < 2


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), extra=st.integers(1, 9))
def test_single_answer_task_does_not_move_alpha(table: pd.DataFrame, extra: int) -> None:
    lonely = from_records([{"task_id": "lonely", "annotator_id": "a0", "label": float(extra)}])
    both = from_records(pd.concat([table, lonely], ignore_index=True))
    for level in ("nominal", "ordinal", "interval"):
        a = krippendorff_alpha(table, level=level, ci=None)
        b = krippendorff_alpha(both, level=level, ci=None)
        assert b.value == pytest.approx(a.value, abs=1e-12)
        assert (b.n_items, b.n_annotations) == (a.n_items, a.n_annotations)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables())
def test_duplicated_tasks_change_n_but_alpha_stays_valid(table: pd.DataFrame) -> None:
    copy = table.assign(task_id=table["task_id"] + "-copy")
    doubled = from_records(pd.concat([table, copy], ignore_index=True))
    a = krippendorff_alpha(table)
    b = krippendorff_alpha(doubled)
    assert b.n_items == 2 * a.n_items and b.n_annotations == 2 * a.n_annotations
    assert math.isfinite(b.value) and b.value <= 1
    assert math.isfinite(b.se)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_perfect_agreement_is_one(level: str) -> None:
    rows = [[1, 2, 3, 2, NAN], [1, 2, 3, 2, 3], [NAN, 2, 3, 2, 3]]
    result = krippendorff_alpha(table_from(rows), level=level)  # type: ignore[arg-type]
    assert result.value == pytest.approx(1.0, abs=1e-12)
    assert result.observed == 0


# --- undefined cases -----------------------------------------------------------------
def test_one_label_in_use_is_undefined() -> None:
    result = krippendorff_alpha(table_from([[1, 1, 1], [1, 1, NAN]]))
    assert math.isnan(result.value)
    assert result.reason == ONE_LABEL
    assert result.n_items == 2


def test_no_pairable_task_is_undefined() -> None:
    result = krippendorff_alpha(table_from([[1, NAN, 2], [NAN, 3, NAN]]))
    assert math.isnan(result.value)
    assert result.reason == NO_PAIRABLE
    assert result.to_dict()["value"] is None


def test_unpaired_variation_only_is_one_label() -> None:
    # the second value appears only on a task with one answer: not pairable
    result = krippendorff_alpha(table_from([[1, 1, 2], [1, 1, NAN]]))
    assert result.reason == ONE_LABEL


# --- the result ----------------------------------------------------------------------
def test_counts_and_coincidences_of_the_2011_example() -> None:
    result = krippendorff_alpha(table_from(K2011))
    assert (result.n_items, result.n_annotations, result.n_annotators) == (11, 40, 4)
    o = np.asarray(result.details["coincidences"])
    # Krippendorff (2011) p. 5, the coincidence matrix: n_c = 9, 13, 10, 5, 3
    assert o.sum(axis=1) == pytest.approx([9, 13, 10, 5, 3])
    assert o[0, 0] == pytest.approx(7) and o[1, 2] == pytest.approx(4 / 3)
    assert result.details["n_single_answer_tasks"] == 1
    assert result.ci is not None and result.ci_method == "analytic-t"


# --- custom distances ----------------------------------------------------------------
def test_distance_array_reproduces_the_level() -> None:
    table = table_from(K2011)
    x = np.arange(1, 6, dtype=float)
    interval = krippendorff_alpha(table, level="interval")
    custom = krippendorff_alpha(table, distance=(x[:, None] - x[None, :]) ** 2 * 7.0)
    assert custom.value == pytest.approx(interval.value, abs=1e-12)
    assert custom.se == pytest.approx(interval.se, abs=1e-12)
    assert custom.weights == "custom"


def test_distance_callable_gets_category_values() -> None:
    table = table_from(K2011)
    seen = {}

    def absolute(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        seen["shape"] = (a.shape, b.shape)
        return np.abs(a - b)

    result = krippendorff_alpha(table, level="interval", distance=absolute)
    assert seen["shape"] == ((5, 1), (1, 5))
    x = np.arange(1, 6, dtype=float)
    as_array = krippendorff_alpha(table, distance=np.abs(x[:, None] - x[None, :]))
    assert result.value == pytest.approx(as_array.value, abs=1e-12)


def test_distance_must_be_a_proper_difference() -> None:
    table = table_from(K2011)
    with pytest.raises(ValueError, match=r"distance must have shape \(5, 5\)"):
        krippendorff_alpha(table, distance=np.ones((3, 3)))
    with pytest.raises(ValueError, match="symmetric with zeros on the diagonal"):
        krippendorff_alpha(table, distance=np.ones((5, 5)))
    with pytest.raises(ValueError, match="non-negative"):
        krippendorff_alpha(table, distance=-(1 - np.eye(5)))


def test_ratio_needs_non_negative_values() -> None:
    with pytest.raises(InvalidInput, match="ratio alpha needs values >= 0"):
        krippendorff_alpha(table_from([[-1, 2], [1, 2]]), level="ratio")


def test_bad_level_is_named() -> None:
    with pytest.raises(ValueError, match="level must be one of nominal, ordinal"):
        krippendorff_alpha(table_from(K2011), level="cardinal")  # type: ignore[arg-type]


# --- many distinct values: the unit-sum route ----------------------------------------
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_unit_sum_route_matches_coincidence_route(
    level: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(50, 10, (4, 80)).round(1)
    rows[rng.random(rows.shape) < 0.3] = NAN
    table = table_from(rows)
    dense = krippendorff_alpha(table, level=level)  # type: ignore[arg-type]
    monkeypatch.setattr(kripp, "MAX_CATEGORIES", 2)
    sparse = krippendorff_alpha(table, level=level)  # type: ignore[arg-type]
    assert sparse.details["route"] == "unit-sums" and dense.details["route"] == "coincidences"
    assert sparse.value == pytest.approx(dense.value, abs=1e-10)
    assert sparse.se == pytest.approx(dense.se, abs=1e-10)
    # the two routes draw differently (tasks vs count patterns): compare the spread
    spec = Interval("bootstrap", n_boot=400)
    boot_sparse = krippendorff_alpha(table, level=level, ci=spec)  # type: ignore[arg-type]
    monkeypatch.setattr(kripp, "MAX_CATEGORIES", 1000)
    boot_dense = krippendorff_alpha(table, level=level, ci=spec)  # type: ignore[arg-type]
    assert boot_sparse.se == pytest.approx(boot_dense.se, rel=0.25)


def test_many_distinct_values_ratio_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kripp, "MAX_CATEGORIES", 3)
    with pytest.raises(InvalidInput, match=r'field "label": ratio alpha over 5 distinct values'):
        krippendorff_alpha(table_from(K2011), level="ratio")


def test_thousands_of_distinct_interval_values() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 100, 3000)
    rows = truth[None, :] + rng.normal(0, 10, (3, 3000))  # ~9000 distinct values
    result = krippendorff_alpha(table_from(rows), level="interval")
    assert result.details["route"] == "unit-sums"
    assert result.details["n_categories_used"] > kripp.MAX_CATEGORIES
    assert result.value == pytest.approx(100**2 / (100**2 + 10**2), abs=0.02)


# --- bootstrap -----------------------------------------------------------------------
def test_bootstrap_is_reproducible_with_a_seed() -> None:
    table = table_from(K2011)
    a = krippendorff_alpha(table, level="ordinal", ci=Interval("bootstrap", n_boot=300, seed=7))
    b = krippendorff_alpha(table, level="ordinal", ci=Interval("bootstrap", n_boot=300, seed=7))
    c = krippendorff_alpha(table, level="ordinal", ci=Interval("bootstrap", n_boot=300, seed=8))
    assert a.ci == b.ci and a.se == b.se
    assert a.ci != c.ci
    assert a.ci_method == "bootstrap-percentile"
    assert a.details["n_boot_valid"] <= 300


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_pattern_statistic_at_the_observed_weights_is_the_point(level: str) -> None:
    coded = encode(table_from(K2011), level=level)  # type: ignore[arg-type]
    point = krippendorff_alpha(coded, level=level, ci=None).value  # type: ignore[arg-type]
    keep = np.bincount(coded.task)[coded.task] >= 2
    _, unit = np.unique(coded.task[keep], return_inverse=True)
    counts = np.zeros((unit.max() + 1, coded.n_categories), dtype=np.int64)
    np.add.at(counts, (unit, coded.label[keep]), 1)
    patterns, freq = count_patterns(counts)
    x = np.asarray(coded.values if coded.values is not None else np.arange(5.0))
    model = _PatternModel(patterns, freq.astype(float), level, x, None)  # type: ignore[arg-type]
    stat = model.statistic(patterns, np.vstack([freq, freq]).astype(float))
    assert stat == pytest.approx([point, point], abs=1e-12)


def test_bca_bootstrap_runs() -> None:
    result = krippendorff_alpha(
        table_from(K2011), ci=Interval("bootstrap", n_boot=200, bootstrap="bca")
    )
    assert result.ci_method == "bootstrap-bca"
    assert result.ci is not None and result.ci[0] < result.ci[1]
