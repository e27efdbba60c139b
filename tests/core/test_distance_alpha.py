"""distance_alpha: Krippendorff's alpha from a pairwise distance over any values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from labelcheck.agreement import Interval
from labelcheck.agreement.distance_alpha import NO_PAIRABLE, ONE_VALUE, ZERO_EXPECTED, distance_alpha
from labelcheck.agreement.krippendorff import krippendorff_alpha
from labelcheck.table import from_records

# Krippendorff (2011, p. 5), observers x units (NaN: missing).
NAN = math.nan
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def long_form(matrix: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    units = [u for row in matrix for u, v in enumerate(row) if v == v]
    values = [v for row in matrix for v in row if v == v]
    return np.asarray(units), np.asarray(values, dtype=float)


def nominal(x: np.ndarray):  # type: ignore[no-untyped-def]
    return lambda i, j: (x[i] != x[j]).astype(float)


def squared(x: np.ndarray):  # type: ignore[no-untyped-def]
    return lambda i, j: (x[i] - x[j]) ** 2


def table(units: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    return from_records([
        {"task_id": f"t{u}", "annotator_id": f"a{k}", "label": float(v)}
        for k, (u, v) in enumerate(zip(units, values))
    ])


def test_krippendorff_2011_worked_example() -> None:
    # Krippendorff (2011), pp. 5-9: nominal 0.743, interval 0.849 (three decimals)
    units, x = long_form(K2011)
    assert distance_alpha(units, x, nominal(x), metric="m").value == pytest.approx(0.743, abs=5e-4)
    assert distance_alpha(units, x, squared(x), metric="m").value == pytest.approx(0.849, abs=5e-4)


@pytest.mark.parametrize("seed", range(5))
def test_matches_nominal_and_interval_alpha_on_random_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    units = rng.integers(0, 80, n)
    x = rng.integers(0, 6, n).astype(float)
    t = table(units, x)
    for level, dist in (("nominal", nominal(x)), ("interval", squared(x))):
        mine = distance_alpha(units, list(x), dist, metric="m")
        ref = krippendorff_alpha(t, level=level, ci=None)  # type: ignore[arg-type]
        assert mine.value == pytest.approx(ref.value, abs=1e-12)
        assert mine.observed == pytest.approx(ref.observed, abs=1e-12)
        assert mine.expected == pytest.approx(ref.expected, abs=1e-12)
        assert (mine.n_items, mine.n_annotations) == (ref.n_items, ref.n_annotations)
        assert mine.details["expected_route"] == "exact"


@st.composite
def unit_values(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    n_units = draw(st.integers(1, 8))
    units: list[int] = []
    values: list[int] = []
    for u in range(n_units):
        for _ in range(draw(st.integers(1, 4))):
            units.append(u)
            values.append(draw(st.integers(0, 4)))
    return units, values


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit_values())
def test_property_equals_nominal_alpha(data: tuple[list[int], list[int]]) -> None:
    units, values = data
    x = np.asarray(values, dtype=float)
    mine = distance_alpha(units, values, nominal(x), metric="m")
    ref = krippendorff_alpha(table(np.asarray(units), x), level="nominal", ci=None)
    if math.isnan(ref.value):
        assert math.isnan(mine.value)
    else:
        assert mine.value == pytest.approx(ref.value, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(unit_values(), st.permutations(range(5)))
def test_property_relabelling_and_row_order(
    data: tuple[list[int], list[int]], perm: list[int]
) -> None:
    units, values = data
    x = np.asarray(values, dtype=float)
    base = distance_alpha(units, values, nominal(x), metric="m").value
    relabelled = np.asarray([perm[v] for v in values], dtype=float)
    order = np.random.default_rng(0).permutation(len(units))
    shuffled = relabelled[order]
    other = distance_alpha(np.asarray(units)[order], list(shuffled), nominal(shuffled), metric="m").value
    assume(not math.isnan(base))
    assert other == pytest.approx(base, abs=1e-12)
    assert base <= 1.0 + 1e-12


def test_single_answer_task_does_not_move_alpha() -> None:
    units, x = long_form(K2011)
    base = distance_alpha(units, x, nominal(x), metric="m")
    more_u, more_x = np.append(units, 99), np.append(x, 7.0)
    extra = distance_alpha(more_u, more_x, nominal(more_x), metric="m")
    assert extra.value == pytest.approx(base.value, abs=1e-15)
    assert extra.details["n_single_answer_tasks"] == base.details["n_single_answer_tasks"] + 1


def test_undefined_cases_have_reasons() -> None:
    x = np.array([1.0, 2.0, 3.0])
    none = distance_alpha([1, 2, 3], x, nominal(x), metric="m")
    assert math.isnan(none.value) and none.reason == NO_PAIRABLE
    y = np.array([1.0, 1.0, 1.0, 1.0])
    one = distance_alpha([1, 1, 2, 2], y, nominal(y), metric="m")
    assert math.isnan(one.value) and one.reason == ONE_VALUE
    z = np.array([1.0, 2.0, 1.0, 2.0])
    zero = distance_alpha([1, 1, 2, 2], z, lambda i, j: np.zeros(len(i)), metric="m")
    assert math.isnan(zero.value) and zero.reason == ZERO_EXPECTED


def test_sampled_expected_disagreement() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    units = rng.integers(0, 1000, n)
    x = rng.normal(size=n) + 0.8 * rng.normal(size=1000)[units]
    exact = distance_alpha(units, x, squared(x), metric="m")
    sampled = distance_alpha(units, x, squared(x), metric="m", max_expected_pairs=200_000, seed=1)
    assert sampled.details["expected_route"] == "sampled"
    assert sampled.details["n_expected_pairs"] == 200_000
    se = sampled.details["expected_se"]
    assert 0 < se < 0.05
    assert abs(sampled.expected - exact.expected) < 5 * se
    assert sampled.observed == pytest.approx(exact.observed, abs=1e-12)  # D_o stays exact
    assert sampled.reason is not None and "sampled" in sampled.reason
    again = distance_alpha(units, x, squared(x), metric="m", max_expected_pairs=200_000, seed=1)
    assert again.value == sampled.value  # seeded: same sample, same value


def test_bootstrap_interval() -> None:
    units, x = long_form(K2011)
    result = distance_alpha(units, x, squared(x), metric="m",
                            ci=Interval(method="bootstrap", n_boot=300, seed=2))
    assert result.ci is not None and result.ci[0] < result.value < result.ci[1]
    assert result.details["bootstrap_expected"] == "recomputed"
    fixed = distance_alpha(units, x, squared(x), metric="m", max_expected_pairs=5, ci="bootstrap")
    assert fixed.details["bootstrap_expected"] == "fixed"
    with pytest.raises(ValueError, match="no analytic standard error"):
        distance_alpha(units, x, squared(x), metric="m", ci="analytic")


def test_unhashable_values_and_call_checks() -> None:
    values = [[1], [1], [2], [3]]
    dist = lambda i, j: np.asarray([float(values[a] != values[b]) for a, b in zip(i, j)])  # noqa: E731
    result = distance_alpha([1, 1, 2, 2], values, dist, metric="m")
    assert result.value == pytest.approx(1 - (2 / 4) / (5 / 6))
    with pytest.raises(ValueError, match="one distance per pair"):
        distance_alpha([1, 1, 2, 2], [1, 2, 3, 4], lambda i, j: np.zeros(1), metric="m")
    with pytest.raises(ValueError, match="non-negative"):
        distance_alpha([1, 1, 2, 2], [1, 2, 3, 4], lambda i, j: -np.ones(len(i)), metric="m")
    with pytest.raises(ValueError, match="one entry per value"):
        distance_alpha([1, 1, 2], [1, 2, 3, 4], lambda i, j: np.ones(len(i)), metric="m")
