"""Cohen's and Conger's kappa against published values and reference implementations.

Published values
----------------
* Artstein & Poesio (2008), Computational Linguistics 34(4):555-596,
  doi:10.1162/coli.07-034-R2: the two-coder dialogue-act example (100 utterances,
  Stat / IReq / Chck, A_o = 0.88) with S = 0.82, pi = 0.7995 and kappa = 0.8013
  (sec. 2.2-2.3, pp. 558-562).  Its cells are pinned by scikit-learn's
  ``test_cohen_kappa`` (sklearn/metrics/tests/test_classification.py), which labels it
  "Table 4"; the two-category example [[20, 20], [10, 50]] (A_o = 0.7) that the same
  scikit-learn test labels "Table 1" gives kappa 0.348 (3 decimals there) and shows
  kappa and pi apart under coder bias.
* Gwet (2014), Handbook of Inter-Rater Reliability, 4th ed.: the datasets shipped with
  irrCAC (``table_cont3x3abstractors``, ``table_cont4x4diagnosis``, ``raw_4raters``,
  ``raw_5observers``, ``raw_g1g2``, ``raw_gender``, ``raw_ben_gerry``); the expected
  numbers are those pinned, to 3 decimals, by irrCAC's own tests
  (afergadis/irrCAC test/unit/irrCAC/table/test_cohen.py and raw/test_conger.py),
  which reproduce Gwet's R package.

Reference implementations (test-only)
------------------------------------
* scikit-learn ``cohen_kappa_score``: value, unweighted / linear / quadratic (weights
  on category ranks, so ``weights_basis="ranks"``).
* statsmodels ``cohens_kappa``: value and ``std_kappa``.  statsmodels' variance is
  Fleiss, Cohen & Everitt (1969); Gwet's two-rater variance (2008, eq. 12;
  ``irrCAC.table.CAC.cohen``, R ``kappa2.table``) is algebraically the same formula,
  weighted or not, and so is ours: all three agree to rounding.  What differs is
  Gwet's *linearised* raw-data variance (``irrCAC.raw.CAC.conger`` and our
  ``conger_kappa``), which divides by n - 1 instead of n: for two complete raters it
  is the two-rater variance times n / (n - 1).  Tested below.
* irrCAC ``raw.CAC(...).conger()`` (value and se, missing cells, weights on category
  values -> ``weights_basis="values"``) and ``table.CAC(...).cohen()`` (value and se
  from a contingency table, weights on ranks 1..q), with ``digits`` raised to 15.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from irrCAC import datasets as irr_data
from irrCAC.raw import CAC as RawCAC
from irrCAC.table import CAC as TableCAC
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa

from labelcheck.agreement import cohen_kappa, conger_kappa
from labelcheck.table import from_records

XCHECK = settings(max_examples=40, deadline=None)
IRR_WEIGHTS = {"unweighted": "identity", "linear": "linear", "quadratic": "quadratic"}


def wide_to_table(wide: pd.DataFrame) -> pd.DataFrame:
    """Tasks x annotators frame (NaN/None = no answer) as a canonical table."""
    long = wide.reset_index(drop=True).stack().reset_index()
    long.columns = ["task_id", "annotator_id", "label"]
    return from_records(long)


def table_to_pairs(counts: np.ndarray) -> pd.DataFrame:
    """A contingency table (rows: annotator A) as a two-column tasks frame."""
    k, l = np.nonzero(counts)
    reps = counts[k, l]
    return pd.DataFrame({"A": np.repeat(k, reps), "B": np.repeat(l, reps)})


# --- Artstein & Poesio (2008) -------------------------------------------------------
AP_3 = np.array([[46, 0, 0], [6, 32, 6], [0, 0, 10]])  # rows coder A: Stat, IReq, Chck


def test_artstein_poesio_dialogue_acts():
    # A&P 2008, sec. 2.2-2.3 (pp. 558-562): A_o = 0.88, kappa = 0.8013
    result = cohen_kappa(wide_to_table(table_to_pairs(AP_3)))
    assert result.observed == pytest.approx(0.88, abs=5e-3)
    assert result.value == pytest.approx(0.8013, abs=5e-5)
    # S (A_e = 1/3) = 0.82 and pi (pooled shares) = 0.7995 from the same table: pi and
    # kappa differ because the coders' distributions differ (46/44/10 vs 52/32/16)
    table = np.asarray(result.details["table"], dtype=float) / result.n_items
    s = (result.observed - 1 / 3) / (1 - 1 / 3)
    pooled = (table.sum(0) + table.sum(1)) / 2
    pi = (result.observed - (pooled**2).sum()) / (1 - (pooled**2).sum())
    assert s == pytest.approx(0.82, abs=5e-3)
    assert pi == pytest.approx(0.7995, abs=5e-5)


def test_artstein_poesio_two_categories_coder_bias():
    # [[20, 20], [10, 50]]: A_o = 0.7, kappa 0.348 (scikit-learn pins 3 decimals)
    counts = np.array([[20, 20], [10, 50]])
    result = cohen_kappa(wide_to_table(table_to_pairs(counts)))
    assert result.observed == pytest.approx(0.7)
    assert result.value == pytest.approx(0.348, abs=5e-4)
    assert result.value == pytest.approx(0.16 / 0.46, abs=1e-12)  # A_e = .4 x .3 + .6 x .7


def test_scikit_learn_weighted_example():
    # scikit-learn test_cohen_kappa: margins 46/44/10 vs 50/40/10, 4 decimals
    y1 = np.array([0] * 46 + [1] * 44 + [2] * 10)
    y2 = np.array([0] * 50 + [1] * 40 + [2] * 10)
    data = wide_to_table(pd.DataFrame({"A": y1, "B": y2}))
    expected = {"unweighted": 0.9315, "linear": 0.9412, "quadratic": 0.9541}
    for weights, value in expected.items():
        result = cohen_kappa(data, level="ordinal", weights=weights)
        assert result.value == pytest.approx(value, abs=5e-5)


# --- Gwet (2014) handbook datasets, values as pinned by irrCAC's tests --------------
@pytest.mark.parametrize(
    ("dataset", "weights", "value", "se", "ci"),
    [
        ("table_cont3x3abstractors", "unweighted", 0.796, None, (0.680, 0.913)),
        ("table_cont3x3abstractors", "linear", 0.843, None, (0.748, 0.938)),
        ("table_cont3x3abstractors", "quadratic", 0.892, None, (0.822, 0.962)),
        ("table_cont4x4diagnosis", "unweighted", 0.432, 0.046, (0.341, 0.522)),
        ("table_cont4x4diagnosis", "linear", 0.407, 0.053, (0.302, 0.512)),
        ("table_cont4x4diagnosis", "quadratic", 0.383, 0.066, (0.254, 0.513)),
    ],
)
def test_gwet_contingency_tables(dataset, weights, value, se, ci):
    counts = getattr(irr_data, dataset)().to_numpy()
    result = cohen_kappa(wide_to_table(table_to_pairs(counts)), level="ordinal",
                         weights=weights)
    assert result.value == pytest.approx(value, abs=5e-4)
    if se is not None:
        assert result.se == pytest.approx(se, abs=5e-4)
    assert result.ci == pytest.approx(ci, abs=5e-4)


@pytest.mark.parametrize(
    ("dataset", "weights", "value", "pa", "pe", "se", "ci_low"),
    [
        ("raw_4raters", "unweighted", 0.763, 0.818, 0.233, None, 0.435),
        ("raw_4raters", "linear", 0.814, 0.939, 0.675, 0.145, 0.494),
        ("raw_4raters", "quadratic", 0.858, 0.975, 0.827, 0.144, 0.541),
        ("raw_5observers", "unweighted", 0.469, 0.616, 0.276, 0.117, 0.219),
        ("raw_g1g2", "unweighted", 0.659, 0.744, 0.249, 0.146, 0.343),
        ("raw_gender", "unweighted", 0.166, 0.456, 0.347, 0.121, -0.094),
        ("raw_ben_gerry", "unweighted", 0.657, 0.727, 0.205, 0.179, 0.262),
    ],
)
def test_gwet_raw_datasets_conger(dataset, weights, value, pa, pe, se, ci_low):
    wide = getattr(irr_data, dataset)()
    level = "nominal" if weights == "unweighted" else "interval"
    result = conger_kappa(wide_to_table(wide), level=level, weights=weights,
                          weights_basis="values")
    assert result.value == pytest.approx(value, abs=5e-4)
    assert result.observed == pytest.approx(pa, abs=5e-4)
    assert result.expected == pytest.approx(pe, abs=5e-4)
    if se is not None:
        assert result.se == pytest.approx(se, abs=5e-4)
    assert result.ci[0] == pytest.approx(ci_low, abs=5e-4)


# --- cross-checks on generated data ---------------------------------------------
@st.composite
def pair_labels(draw):
    q = draw(st.integers(2, 12))
    n = draw(st.integers(2, 60))
    # -1: no answer (the task then drops out of Cohen's complete pairs)
    a = draw(st.lists(st.integers(-1, q - 1), min_size=n, max_size=n))
    b = draw(st.lists(st.integers(0, q - 1), min_size=n, max_size=n))
    return np.array(a), np.array(b)


@given(pair_labels())
@XCHECK
def test_cohen_matches_sklearn_statsmodels_and_irrcac_table(labels):
    a_all, b_all = labels
    data = wide_to_table(pd.DataFrame({"A": np.where(a_all < 0, np.nan, a_all), "B": b_all}))
    cats = np.unique(np.concatenate([a_all[a_all >= 0], b_all]))
    both = a_all >= 0
    a, b = a_all[both], b_all[both]
    if len(a) == 0:
        reason = cohen_kappa(data).reason
        # A may have no answer at all, and then the table holds one annotator
        assert reason.startswith("annotators A and B have no task in common") or (
            "has 1 annotator(s) (B)" in reason), reason
        return
    for weights in ("unweighted", "linear", "quadratic"):
        ours = cohen_kappa(data, level="ordinal", weights=weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = cohen_kappa_score(a, b, labels=cats,
                                   weights=None if weights == "unweighted" else weights)
        if math.isnan(ours.value):
            assert ours.reason and (np.isnan(sk) or len(cats) == 1)
            continue
        assert ours.value == pytest.approx(sk, abs=1e-12)
        counts = np.asarray(ours.details["table"])
        sm = (cohens_kappa(counts) if weights == "unweighted"
              else cohens_kappa(counts, weights=np.arange(len(cats)), wt=weights))
        assert ours.value == pytest.approx(sm.kappa, abs=1e-12)
        # compare variances: at perfect agreement the formula gives +-1e-17, which
        # statsmodels takes the root of (NaN), irrCAC too (1e-9), and we clip to 0
        assert ours.se**2 == pytest.approx(sm.var_kappa, abs=1e-12)
        irr = TableCAC(pd.DataFrame(counts), weights=IRR_WEIGHTS[weights], digits=15).cohen()
        assert ours.value == pytest.approx(irr["est"]["coefficient_value"], abs=1e-9)
        irr_var = np.nan_to_num(irr["est"]["se"] ** 2)  # NaN: root of a -1e-17 variance
        assert ours.se**2 == pytest.approx(irr_var, abs=1e-12)


@st.composite
def raw_ratings(draw):
    r = draw(st.integers(2, 6))
    n = draw(st.integers(3, 30))
    q = draw(st.integers(2, 12))
    values = draw(st.lists(st.integers(1, q), min_size=r * n, max_size=r * n))
    missing = draw(st.lists(st.booleans(), min_size=r * n, max_size=r * n))
    matrix = np.array(values, dtype=float).reshape(n, r)
    # any cell may be empty except in the first column, so no task is left empty
    matrix[np.array(missing).reshape(n, r) & (np.arange(r)[None, :] > 0)] = np.nan
    return pd.DataFrame(matrix, columns=[f"R{g}" for g in range(r)])


@given(raw_ratings(), st.sampled_from(["unweighted", "linear", "quadratic"]))
@settings(max_examples=30, deadline=None)
def test_conger_matches_irrcac(wide, weights):
    wide = wide.dropna(how="all")
    if wide.notna().sum(axis=1).max() < 2 or (wide.notna().sum() == 0).any():
        return
    data = wide_to_table(wide)
    used = np.unique(wide.stack().to_numpy())
    if len(used) < 2:
        return
    ours = conger_kappa(data, level="interval", weights=weights, weights_basis="values")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = RawCAC(wide.copy(), weights=IRR_WEIGHTS[weights], digits=15).conger()["est"]
    if math.isnan(ours.value):
        assert ours.reason
        return
    assert ours.value == pytest.approx(ref["coefficient_value"], abs=1e-9)
    assert ours.observed == pytest.approx(ref["pa"], abs=1e-9)
    assert ours.expected == pytest.approx(ref["pe"], abs=1e-9)
    # irrCAC reports 1e-15 for a zero standard error; compare variances
    assert ours.se**2 == pytest.approx(ref["se"] ** 2, abs=1e-12)


def test_cohen_and_conger_standard_errors_differ_by_n_over_n_minus_1():
    # the same two complete raters through irrCAC's two routes, and through ours
    wide = irr_data.raw_ben_gerry().dropna()
    counts = pd.crosstab(wide["Ben"], wide["Gerry"]).to_numpy()
    n = int(counts.sum())
    table_se = TableCAC(pd.DataFrame(counts), digits=15).cohen()["est"]["se"]
    raw_se = RawCAC(wide.copy(), digits=15).conger()["est"]["se"]
    assert raw_se == pytest.approx(table_se * math.sqrt(n / (n - 1)), rel=1e-9)
    data = wide_to_table(wide)
    assert cohen_kappa(data).se == pytest.approx(table_se, abs=1e-9)
    assert conger_kappa(data).se == pytest.approx(raw_se, abs=1e-9)
