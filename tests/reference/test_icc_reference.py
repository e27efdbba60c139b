"""Intraclass correlations against Shrout & Fleiss (1979), R psych and pingouin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.formula.api import ols

from labelcheck.agreement.icc import icc_agreement, icc_consistency, icc_oneway
from labelcheck.table import from_records

# Shrout & Fleiss (1979) Table 2: 6 targets (rows) x 4 judges (columns).
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def table_from(matrix: list[list[float]] | np.ndarray) -> pd.DataFrame:
    """Canonical table from a targets x judges matrix (nan = not rated)."""
    return from_records(
        [
            {"task_id": f"t{i}", "annotator_id": f"j{j}", "label": float(x)}
            for i, row in enumerate(matrix)
            for j, x in enumerate(row)
            if not np.isnan(x)
        ]
    )


@pytest.mark.parametrize(
    ("function", "published"),
    # Shrout & Fleiss (1979) p. 425 (Table 4 of the example): .17, .29, .71 (2 decimals).
    [(icc_oneway, 0.17), (icc_agreement, 0.29), (icc_consistency, 0.71)],
)
def test_shrout_fleiss_table_2(function, published: float) -> None:  # type: ignore[no-untyped-def]
    assert function(table_from(SHROUT_FLEISS)).value == pytest.approx(published, abs=5e-3)


@pytest.mark.parametrize(
    ("function", "low", "high"),
    # R psych::ICC(sf) (the Shrout & Fleiss data shipped as `sf`), 95% bounds as printed
    # in psych's ICC help-page example: ICC1 -0.133 0.72, ICC2 0.019 0.76, ICC3 0.342 0.95.
    # Not re-run here (R is not installable on our machines).
    [
        (icc_oneway, -0.133, 0.72),
        (icc_agreement, 0.019, 0.76),
        (icc_consistency, 0.342, 0.95),
    ],
)
def test_shrout_fleiss_f_intervals(function, low: float, high: float) -> None:  # type: ignore[no-untyped-def]
    result = function(table_from(SHROUT_FLEISS))
    assert result.ci_method == "F"
    assert result.ci[0] == pytest.approx(low, abs=5e-4)
    assert result.ci[1] == pytest.approx(high, abs=5e-3)


def test_shrout_fleiss_f_statistics() -> None:
    # Shrout & Fleiss (1979) Table 3: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02.
    oneway = icc_oneway(table_from(SHROUT_FLEISS)).details
    twoway = icc_agreement(table_from(SHROUT_FLEISS)).details
    assert oneway["ms_between"] == pytest.approx(11.24, abs=5e-3)
    assert oneway["ms_within"] == pytest.approx(6.26, abs=5e-3)
    assert twoway["ms_columns"] == pytest.approx(32.49, abs=5e-3)
    assert twoway["ms_error"] == pytest.approx(1.02, abs=5e-3)


@pytest.fixture
def unrounded_pingouin():  # type: ignore[no-untyped-def]
    # pingouin rounds the CI95 column to 2 decimals by default
    # (options["round.column.CI95"] = 2); lift that to compare to 1e-9 instead of 5e-3.
    old = dict(pg.options)
    pg.options["round.column.CI95"] = None
    yield
    pg.options.clear()
    pg.options.update(old)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(3, 12), k=st.integers(2, 5), seed=st.integers(0, 2**16),
    spread=st.sampled_from([0.5, 2.0, 10.0]),
)
def test_matches_pingouin(unrounded_pingouin, n: int, k: int, seed: int, spread: float) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    matrix = (rng.normal(0, spread, (n, 1)) + rng.normal(0, 1, (1, k))
              + rng.normal(0, 1, (n, k))).round(2)
    long = pd.DataFrame(
        [{"t": i, "j": j, "x": matrix[i, j]} for i in range(n) for j in range(k)]
    )
    ref = pg.intraclass_corr(long, targets="t", raters="j", ratings="x").set_index("Type")
    table = table_from(matrix)
    for function, row in ((icc_oneway, "ICC(1,1)"), (icc_agreement, "ICC(A,1)"),
                          (icc_consistency, "ICC(C,1)")):
        ours = function(table)
        assert ours.value == pytest.approx(ref.at[row, "ICC"], abs=1e-9), row
        assert ours.details["F"] == pytest.approx(ref.at[row, "F"], rel=1e-9), row
        assert ours.ci == pytest.approx(tuple(ref.at[row, "CI95"]), abs=1e-9), row


def test_unbalanced_oneway_mean_squares_match_statsmodels_anova() -> None:
    # statsmodels has no intraclass correlation; its one-way ANOVA gives the mean
    # squares of the unbalanced design, from which ICC(1) with k0 follows.
    rng = np.random.default_rng(1)
    sizes = rng.integers(2, 6, 30)
    task = np.repeat(np.arange(30), sizes)
    y = rng.normal(0, 2, 30)[task] + rng.normal(0, 1, task.size)
    frame = pd.DataFrame({"task": task.astype(str), "y": y})
    aov = sm.stats.anova_lm(ols("y ~ C(task)", data=frame).fit())
    table = from_records(
        [{"task_id": t, "annotator_id": f"a{i}", "label": v}
         for i, (t, v) in enumerate(zip(frame["task"], frame["y"], strict=True))]
    )
    result = icc_oneway(table)
    ms_b, ms_w = aov.loc["C(task)", "mean_sq"], aov.loc["Residual", "mean_sq"]
    n_tot = sizes.sum()
    k0 = (n_tot - (sizes**2).sum() / n_tot) / (30 - 1)
    assert result.details["ms_between"] == pytest.approx(ms_b, rel=1e-10)
    assert result.details["ms_within"] == pytest.approx(ms_w, rel=1e-10)
    assert result.details["k0"] == pytest.approx(k0, rel=1e-12)
    assert result.value == pytest.approx((ms_b - ms_w) / (ms_b + (k0 - 1) * ms_w), abs=1e-12)
