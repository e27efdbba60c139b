"""Krippendorff's alpha against published worked examples and reference implementations."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from irrCAC.raw import CAC

from labelcheck.agreement.krippendorff import _distance_matrix, _ordinal_scores, krippendorff_alpha
from labelcheck.table import from_records

NAN = np.nan
LEVELS = ("nominal", "ordinal", "interval", "ratio")

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C
# (4 observers x 12 units, values 1-5, missing data); reliability data as printed there.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]
# Wikipedia, "Krippendorff's alpha", section "A computational example" (3 coders x 15
# units), the same data as the fast-krippendorff README / `krippendorff.alpha` docstring.
WIKIPEDIA = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]


def table_from(reliability: list[list[float]] | np.ndarray) -> pd.DataFrame:
    """Canonical table from an observers x units reliability matrix (nan = no answer)."""
    return from_records(
        [
            {"task_id": f"u{u}", "annotator_id": f"c{c}", "label": float(v)}
            for c, row in enumerate(reliability)
            for u, v in enumerate(row)
            if not np.isnan(v)
        ]
    )


@pytest.mark.parametrize(
    ("level", "published"),
    # Krippendorff (2011) pp. 5-9 (the C, D sections): alpha printed to 3 decimals.
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_worked_example(level: str, published: float) -> None:
    result = krippendorff_alpha(table_from(KRIPPENDORFF_2011), level=level)  # type: ignore[arg-type]
    assert result.value == pytest.approx(published, abs=5e-4)
    assert result.n_items == 11  # unit 12 has a single value and is not pairable
    assert result.n_annotations == 40  # Krippendorff's n.. = 40


def test_krippendorff_2011_ordinal_with_string_categories() -> None:
    # Same example, categories spelled out (as the fast-krippendorff docstring does).
    names = ["very low", "low", "mid", "high", "very high"]
    rel = [[names[int(v) - 1] if not np.isnan(v) else NAN for v in row] for row in KRIPPENDORFF_2011]
    table = from_records(
        [
            {"task_id": u, "annotator_id": c, "label": v}
            for c, row in enumerate(rel)
            for u, v in enumerate(row)
            if isinstance(v, str)
        ]
    )
    result = krippendorff_alpha(table, level="ordinal", categories=names)
    assert result.value == pytest.approx(0.815, abs=5e-4)


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.691), ("interval", 0.811)])
def test_wikipedia_example(level: str, published: float) -> None:
    # Wikipedia "A computational example": nominal 0.691, interval 0.811 (3 decimals);
    # fast-krippendorff's README prints 0.691358 and 0.810845.
    result = krippendorff_alpha(table_from(WIKIPEDIA), level=level)  # type: ignore[arg-type]
    assert result.value == pytest.approx(published, abs=5e-4)


# --- cross-checks on generated reliability data --------------------------------------
@st.composite
def reliability_data(draw: st.DrawFn) -> np.ndarray:
    n_cat = draw(st.integers(2, 12))
    domain = np.array(
        sorted(draw(st.sets(st.integers(0, 60), min_size=n_cat, max_size=n_cat))), dtype=float
    )
    n_coders = draw(st.integers(2, 6))
    n_units = draw(st.integers(2, 25))
    idx = draw(
        st.lists(st.integers(0, n_cat - 1), min_size=n_coders * n_units,
                 max_size=n_coders * n_units)
    )
    missing = draw(
        st.lists(st.booleans(), min_size=n_coders * n_units, max_size=n_coders * n_units)
    )
    rel = domain[np.asarray(idx)].reshape(n_coders, n_units)
    rel[np.asarray(missing).reshape(n_coders, n_units)] = NAN
    pairable = (~np.isnan(rel)).sum(axis=0) >= 2
    assume(pairable.any())
    assume(np.unique(rel[:, pairable][~np.isnan(rel[:, pairable])]).size >= 2)
    return rel


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rel=reliability_data())
def test_matches_fast_krippendorff(rel: np.ndarray) -> None:
    table = table_from(rel)
    for level in LEVELS:
        ours = krippendorff_alpha(table, level=level, ci=None)  # type: ignore[arg-type]
        ref = krippendorff.alpha(reliability_data=rel, level_of_measurement=level)
        assert ours.value == pytest.approx(float(ref), abs=1e-9), level


def _irrcac_alpha(rel: np.ndarray, level: str) -> dict[str, float]:
    """irrCAC's krippen_alpha with agreement weights 1 - delta / max(delta).

    irrCAC has no ordinal metric of Krippendorff's kind (its "ordinal" weights are
    Gwet's rank-based ones), so every level is passed as a custom weight matrix; the
    coefficient and Gwet's variance do not depend on the scale of delta."""
    values = rel[~np.isnan(rel)]
    cats = np.unique(values)
    if level == "ordinal":
        counts = np.stack([(rel == c).sum(axis=0) for c in cats], axis=1)
        counts = counts[counts.sum(axis=1) >= 2]
        z = _ordinal_scores(counts.sum(axis=0).astype(float))
        delta = (z[:, None] - z[None, :]) ** 2
    else:
        delta = _distance_matrix(level, cats)  # type: ignore[arg-type]
    weights = 1.0 - delta / delta.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CAC(pd.DataFrame(rel.T), weights=weights, categories=cats.tolist(), digits=15)
        return est.krippendorff()["est"]  # type: ignore[no-any-return]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rel=reliability_data())
def test_value_and_se_match_irrcac(rel: np.ndarray) -> None:
    assume(((~np.isnan(rel)).sum(axis=0) >= 2).sum() >= 2)  # irrCAC divides by n - 1
    table = table_from(rel)
    for level in LEVELS:
        ours = krippendorff_alpha(table, level=level)  # type: ignore[arg-type]
        ref = _irrcac_alpha(rel, level)
        assert ours.value == pytest.approx(ref["coefficient_value"], abs=1e-9), level
        if ref["se"] > 1e-12:  # irrCAC replaces a zero se by 1e-15
            assert ours.se == pytest.approx(ref["se"], abs=1e-9), level


def test_interval_level_matches_irrcac_quadratic_weights() -> None:
    # An independent weight matrix: irrCAC's own "quadratic" weights are the interval
    # metric rescaled, so alpha and se must agree without our distance code.
    rel = np.asarray(KRIPPENDORFF_2011, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CAC(pd.DataFrame(rel.T), weights="quadratic", digits=15).krippendorff()["est"]
    ours = krippendorff_alpha(table_from(rel), level="interval")
    assert ours.value == pytest.approx(ref["coefficient_value"], abs=1e-9)
    assert ours.se == pytest.approx(ref["se"], abs=1e-9)
    # irrCAC cuts the upper bound at 1; the lower bound uses the same t quantile.
    assert ours.ci is not None
    assert ours.ci[0] == pytest.approx(ref["confidence_interval"][0], abs=1e-9)
