"""Interval machinery: pattern compression, multinomial bootstrap, BCa, analytic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelcheck.agreement.intervals import (
    Interval,
    analytic_ci,
    as_interval,
    bootstrap_patterns,
    bootstrap_tasks,
    count_patterns,
    critical_value,
)


def mean_share_of_first_category(patterns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    share = patterns[:, 0] / patterns.sum(axis=1)
    return (weights @ share) / weights.sum(axis=1)


@given(arrays(np.int64, st.tuples(st.integers(1, 60), st.integers(1, 6)), elements=st.integers(0, 9)))
@settings(max_examples=80, deadline=None)
def test_count_patterns_reconstructs_the_rows(counts: np.ndarray) -> None:
    patterns, freq = count_patterns(counts)
    assert freq.sum() == counts.shape[0]
    assert len({tuple(r) for r in patterns}) == patterns.shape[0]
    rebuilt = sorted(tuple(r) for r, f in zip(patterns, freq) for _ in range(f))
    assert rebuilt == sorted(tuple(r) for r in counts)


def test_count_patterns_falls_back_when_keys_overflow() -> None:
    counts = np.array([[10**6] * 8, [1] * 8, [10**6] * 8])
    patterns, freq = count_patterns(counts)
    assert sorted(freq.tolist()) == [1, 2]


def test_pattern_bootstrap_matches_a_plain_task_bootstrap() -> None:
    rng = np.random.default_rng(1)
    counts = rng.multinomial(4, [0.6, 0.3, 0.1], size=3000)
    patterns, freq = count_patterns(counts)
    iv = Interval(method="bootstrap", n_boot=2000, seed=3)
    by_pattern = bootstrap_patterns(mean_share_of_first_category, patterns, freq, iv)
    share = counts[:, 0] / counts.sum(axis=1)
    point = float(share.mean())
    by_task = bootstrap_tasks(lambda w: (w @ share) / w.sum(axis=1), len(share), iv, point)
    analytic_se = share.std(ddof=1) / math.sqrt(len(share))
    assert by_pattern.se == pytest.approx(analytic_se, rel=0.08)
    assert by_task.se == pytest.approx(analytic_se, rel=0.08)
    assert by_pattern.ci is not None and by_pattern.ci[0] < point < by_pattern.ci[1]


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    counts = np.random.default_rng(0).multinomial(3, [0.5, 0.5], size=200)
    patterns, freq = count_patterns(counts)
    iv = Interval(method="bootstrap", n_boot=300, seed=42, bootstrap="bca")
    a = bootstrap_patterns(mean_share_of_first_category, patterns, freq, iv)
    b = bootstrap_patterns(mean_share_of_first_category, patterns, freq, iv)
    assert a.ci == b.ci and a.se == b.se
    c = bootstrap_patterns(mean_share_of_first_category, patterns, freq, Interval("bootstrap", n_boot=300, seed=43))
    assert c.ci != a.ci


def test_bca_is_close_to_percentile_for_a_symmetric_statistic() -> None:
    counts = np.random.default_rng(5).multinomial(4, [0.5, 0.5], size=5000)
    patterns, freq = count_patterns(counts)
    pct = bootstrap_patterns(mean_share_of_first_category, patterns, freq, Interval("bootstrap", n_boot=2000))
    bca = bootstrap_patterns(
        mean_share_of_first_category, patterns, freq, Interval("bootstrap", n_boot=2000, bootstrap="bca")
    )
    assert pct.ci is not None and bca.ci is not None
    assert bca.ci[0] == pytest.approx(pct.ci[0], abs=0.004)
    assert bca.ci[1] == pytest.approx(pct.ci[1], abs=0.004)


def test_undefined_replicates_are_left_out_and_counted() -> None:
    def sometimes_nan(patterns: np.ndarray, weights: np.ndarray) -> np.ndarray:
        out = weights[:, 0].astype(float)
        out[::2] = np.nan
        return out

    res = bootstrap_patterns(sometimes_nan, np.array([[1, 1], [2, 0]]), np.array([5, 5]), Interval("bootstrap", n_boot=100))
    assert res.n_valid == 50


def test_analytic_ci_t_and_normal() -> None:
    iv_t, iv_z = Interval(), Interval(quantile="normal")
    assert critical_value(iv_z, 10) == pytest.approx(1.959964, abs=1e-6)
    assert critical_value(iv_t, 10) == pytest.approx(2.262157, abs=1e-6)  # qt(0.975, 9)
    assert analytic_ci(0.5, 0.1, 10, iv_z) == pytest.approx((0.5 - 0.1959964, 0.5 + 0.1959964))
    assert analytic_ci(math.nan, 0.1, 10, iv_t) is None
    assert analytic_ci(0.5, 0.1, 1, iv_t) is None


def test_interval_options_are_checked() -> None:
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        Interval(confidence=95)
    with pytest.raises(ValueError, match="ci must be 'analytic', 'bootstrap'"):
        as_interval("jackknife")  # type: ignore[arg-type]
    assert as_interval("bootstrap") == Interval(method="bootstrap")
