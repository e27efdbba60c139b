"""Count-family coefficients against published values and reference implementations.

Published numbers: Fleiss (1971); Gwet's irrCAC R package README (kgwet/irrCAC,
README.md: output of pa.coeff.raw, gwet.ac1.raw, fleiss.kappa.raw, bp.coeff.raw on
``cac.raw4raters`` and gwet.ac1.dist, fleiss.kappa.dist, bp.coeff.dist on
``distrib.6raters``; datasets of Gwet 2014, Handbook of Inter-Rater Reliability, 4th
ed.); the Python irrCAC port's own unit tests (afergadis/irrCAC,
test/unit/irrCAC/raw/test_gwet.py, test_fleiss.py, test_bp.py; three decimals).

Cross-checks: irrCAC.raw.CAC (digits=15) on generated tables for value and standard
error, statsmodels.stats.inter_rater.fleiss_kappa on tables with equal answers per task.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from irrCAC import datasets as irr_data
from irrCAC.raw import CAC
from statsmodels.stats import inter_rater as sm_ir

from labelcheck.agreement import (
    brennan_prediger,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    percent_agreement,
    scott_pi,
)
from labelcheck.agreement.fleiss import fleiss_category_kappas
from labelcheck.table import from_records

try:
    from data_fleiss1971 import (
        CATEGORY_KAPPAS_PUBLISHED,
        CATEGORY_SHARES_PUBLISHED,
        DIAGNOSES,
        FLEISS_KAPPA_PUBLISHED,
        FLEISS_KAPPA_R_IRR,
    )
except ImportError:  # tests/ collected as a package
    from tests.reference.data_fleiss1971 import (  # type: ignore[no-redef]
        CATEGORY_KAPPAS_PUBLISHED,
        CATEGORY_SHARES_PUBLISHED,
        DIAGNOSES,
        FLEISS_KAPPA_PUBLISHED,
        FLEISS_KAPPA_R_IRR,
    )


def long_from_wide(wide: pd.DataFrame | list[list[Any]]) -> pd.DataFrame:
    """Canonical table from a units x raters frame (NaN/None = no rating)."""
    frame = pd.DataFrame(wide)
    rows = []
    for t, (_, unit) in enumerate(frame.iterrows()):
        for rater, label in unit.items():
            if label is None or (isinstance(label, float) and math.isnan(label)):
                continue
            rows.append({"task_id": f"t{t}", "annotator_id": str(rater), "label": label})
    return from_records(rows)


def long_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Canonical table from a units x categories count frame."""
    rows = []
    for t, (_, unit) in enumerate(counts.iterrows()):
        for cat, c in unit.items():
            rows += [
                {"task_id": f"t{t}", "annotator_id": f"slot{j}", "label": cat}
                for j in range(int(c))
            ]
    return from_records(rows)


# --- Fleiss (1971) -------------------------------------------------------------------
@pytest.fixture(scope="module")
def diagnoses() -> pd.DataFrame:
    return long_from_wide(DIAGNOSES)


def test_fleiss_1971_kappa(diagnoses: pd.DataFrame) -> None:
    res = fleiss_kappa(diagnoses)
    # Fleiss 1971, worked diagnoses example: kappa = .430 (three decimals)
    assert res.value == pytest.approx(FLEISS_KAPPA_PUBLISHED, abs=5e-4)
    # R: library(irr); data(diagnoses); kappam.fleiss(diagnoses) -> 0.4302445 (7 decimals)
    assert res.value == pytest.approx(FLEISS_KAPPA_R_IRR, abs=5e-8)
    assert (res.n_items, res.n_annotations, res.n_categories) == (30, 180, 5)


def test_fleiss_1971_category_kappas(diagnoses: pd.DataFrame) -> None:
    per = fleiss_category_kappas(diagnoses)
    # Fleiss 1971: kappa_j = .245, .245, .520, .471, .566 and p_j = .144 ... .239
    for cat, published in CATEGORY_KAPPAS_PUBLISHED.items():
        assert per[cat].value == pytest.approx(published, abs=5e-4)
        assert per[cat].n_categories == 2
    shares = long_from_wide(DIAGNOSES)["label"].value_counts(normalize=True)
    for cat, published in CATEGORY_SHARES_PUBLISHED.items():
        assert shares[cat] == pytest.approx(published, abs=5e-4)
    details = fleiss_kappa(diagnoses).details["category_kappas"]
    assert details == {str(k): pytest.approx(v.value, abs=1e-15) for k, v in per.items()}


def test_fleiss_1971_statsmodels_and_scott(diagnoses: pd.DataFrame) -> None:
    table, _ = sm_ir.aggregate_raters(np.asarray(DIAGNOSES))
    expected = sm_ir.fleiss_kappa(table, method="fleiss")
    assert fleiss_kappa(diagnoses).value == pytest.approx(expected, abs=1e-12)
    assert scott_pi(diagnoses).value == pytest.approx(expected, abs=1e-12)


# --- Gwet's irrCAC README (R, by Gwet) -----------------------------------------------
RAW4 = irr_data.raw_4raters


@pytest.mark.parametrize(
    "func, value, se, pe, low",
    [
        # kgwet/irrCAC README.md, pa.coeff.raw(cac.raw4raters): 0.8181818, se 0.12561,
        # conf.int (0.542, 1)
        (percent_agreement, 0.8181818, 0.12561, 0.0, 0.542),
        # gwet.ac1.raw(cac.raw4raters): 0.77544, se 0.14295, pe 0.1903212, (0.461, 1)
        (gwet_ac1, 0.77544, 0.14295, 0.1903212, 0.461),
        # fleiss.kappa.raw(cac.raw4raters): 0.76117, se 0.15302, pe 0.2387153, (0.424, 1)
        (fleiss_kappa, 0.76117, 0.15302, 0.2387153, 0.424),
        # bp.coeff.raw(cac.raw4raters): 0.77273, se 0.14472, pe 0.2, (0.454, 1)
        (brennan_prediger, 0.77273, 0.14472, 0.2, 0.454),
    ],
)
def test_irrcac_readme_raw4raters(func: Any, value: float, se: float, pe: float,
                                  low: float) -> None:
    res = func(long_from_wide(RAW4()))
    assert res.value == pytest.approx(value, abs=5e-6)
    assert res.se == pytest.approx(se, abs=5e-6)
    assert res.expected == pytest.approx(pe, abs=5e-8)
    assert res.observed == pytest.approx(0.8181818, abs=5e-8)
    # irrCAC truncates the upper bound at 1; we do not, so only the lower end compares
    assert res.ci is not None and res.ci[0] == pytest.approx(low, abs=5e-4)
    assert res.ci[1] > 1.0
    assert (res.n_items, res.n_annotations, res.n_annotators) == (11, 40, 4)


SIX_RATERS = [[0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6],
              [0, 3, 0, 3, 0], [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0],
              [2, 0, 0, 4, 0], [0, 0, 0, 0, 6], [1, 0, 0, 5, 0], [1, 1, 0, 4, 0],
              [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1]]


@pytest.mark.parametrize(
    "func, value, se, pe, ci",
    [
        # kgwet/irrCAC README.md, gwet.ac1.dist(distrib.6raters):
        # 0.4448007, stderr 0.08418757, (0.264, 0.625), pa 0.5511111, pe 0.1914815
        (gwet_ac1, 0.4448007, 0.08418757, 0.1914815, (0.264, 0.625)),
        # fleiss.kappa.dist(distrib.6raters): 0.4139265, 0.08119291, (0.24, 0.588)
        (fleiss_kappa, 0.4139265, 0.08119291, 0.2340741, (0.240, 0.588)),
        # bp.coeff.dist(distrib.6raters): 0.4388889, 0.08312142, (0.261, 0.617), pe 0.2
        (brennan_prediger, 0.4388889, 0.08312142, 0.2, (0.261, 0.617)),
    ],
)
def test_irrcac_readme_distrib_6raters(func: Any, value: float, se: float, pe: float,
                                       ci: tuple[float, float]) -> None:
    counts = pd.DataFrame(SIX_RATERS, columns=["Dep", "PD", "Sch", "Neu", "Oth"])
    res = func(long_from_counts(counts), categories=list(counts.columns))
    assert res.value == pytest.approx(value, abs=5e-8)
    assert res.se == pytest.approx(se, abs=5e-9)
    assert res.observed == pytest.approx(0.5511111, abs=5e-8)
    assert res.expected == pytest.approx(pe, abs=5e-8)
    assert res.ci == pytest.approx(ci, abs=5e-4)


def test_irrcac_readme_dist4cat() -> None:
    # kgwet/irrCAC README.md: gwet.ac1.dist(cac.dist4cat[,2:4]) -> AC1 = 0.3518903
    res = gwet_ac1(long_from_counts(irr_data.dist_4cat()))
    assert res.value == pytest.approx(0.3518903, abs=5e-8)


# --- irrCAC (Python) unit tests, three decimals --------------------------------------
# afergadis/irrCAC test/unit/irrCAC/raw/test_{gwet,fleiss,bp}.py:
# (dataset, weights, pa, pe, value, se, ci_low, ci_high or None when irrCAC cut it at 1)
PUBLISHED_3DP = {
    "gwet": [
        ("raw_4raters", "linear", 0.939, 0.571, 0.859, 0.117, 0.600, None),
        ("raw_4raters", "quadratic", 0.975, 0.714, 0.914, 0.104, 0.685, None),
        ("raw_5observers", "unweighted", 0.616, 0.236, 0.497, 0.122, 0.235, 0.758),
        ("raw_g1g2", "unweighted", 0.744, 0.187, 0.685, 0.134, 0.396, 0.973),
        ("raw_gender", "unweighted", 0.456, 0.312, 0.208, 0.091, 0.014, 0.403),
        ("raw_ben_gerry", "unweighted", 0.727, 0.194, 0.661, 0.184, 0.257, None),
    ],
    "fleiss": [
        ("raw_4raters", "linear", 0.939, 0.667, 0.818, 0.149, 0.491, None),
        ("raw_4raters", "quadratic", 0.975, 0.818, 0.865, 0.146, 0.544, None),
        ("raw_5observers", "unweighted", 0.616, 0.291, 0.458, 0.120, 0.199, 0.716),
        ("raw_g1g2", "unweighted", 0.744, 0.252, 0.657, 0.150, 0.333, 0.981),
        ("raw_gender", "unweighted", 0.456, 0.375, 0.129, 0.141, -0.172, 0.430),
        ("raw_ben_gerry", "unweighted", 0.727, 0.222, 0.649, 0.191, 0.228, None),
    ],
    "bp": [
        ("raw_4raters", "linear", 0.939, 0.600, 0.848, 0.123, 0.577, None),
        ("raw_4raters", "quadratic", 0.975, 0.750, 0.902, 0.111, 0.657, None),
        ("raw_5observers", "unweighted", 0.616, 0.250, 0.487, 0.121, 0.228, 0.747),
        ("raw_g1g2", "unweighted", 0.744, 0.200, 0.679, 0.136, 0.385, 0.974),
        ("raw_gender", "unweighted", 0.456, 0.333, 0.183, 0.102, -0.035, 0.402),
        ("raw_ben_gerry", "unweighted", 0.727, 0.200, 0.659, 0.185, 0.251, None),
    ],
}


#: three published decimals; irrCAC rounds halves to even (0.3125 -> 0.312), hence the
#: hair above 5e-4
TOL3 = 5e-4 + 1e-9


def _coefficient(kind: str, weights: str) -> Any:
    if kind == "gwet":
        return gwet_ac1 if weights == "unweighted" else gwet_ac2
    return fleiss_kappa if kind == "fleiss" else brennan_prediger


@pytest.mark.parametrize(
    "kind, row", [(k, r) for k, rows in PUBLISHED_3DP.items() for r in rows]
)
def test_irrcac_unit_tests_three_decimals(kind: str, row: tuple[Any, ...]) -> None:
    name, weights, pa, pe, value, se, low, high = row
    table = long_from_wide(getattr(irr_data, name)())
    kwargs: dict[str, Any] = {}
    if weights != "unweighted":
        kwargs = {"weights": weights, "weights_basis": "values"}
    res = _coefficient(kind, weights)(table, **kwargs)
    assert res.observed == pytest.approx(pa, abs=TOL3)
    assert res.expected == pytest.approx(pe, abs=TOL3)
    assert res.value == pytest.approx(value, abs=TOL3)
    assert res.se == pytest.approx(se, abs=TOL3)
    assert res.ci is not None
    assert res.ci[0] == pytest.approx(low, abs=TOL3)
    if high is not None:
        assert res.ci[1] == pytest.approx(high, abs=TOL3)


# --- cross-check against irrCAC.raw.CAC on generated tables ---------------------------
@st.composite
def wide_tables(draw: Any, equal: bool = False) -> pd.DataFrame:
    """Units x answer slots of numeric labels, NaN where a slot is empty.

    2-12 categories with unevenly spaced values, 1-6 answers per task (a fixed number
    when ``equal``), skewed category use."""
    k = draw(st.integers(2, 12))
    values = sorted(draw(st.sets(st.integers(-5, 40), min_size=k, max_size=k)))
    n_tasks = draw(st.integers(2, 25))
    slots = draw(st.integers(2, 6))
    probs = np.asarray(draw(st.lists(st.integers(1, 10), min_size=k, max_size=k)), float)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if equal:
        answers = np.full(n_tasks, slots)
    else:
        answers = rng.integers(1, slots + 1, size=n_tasks)
        answers[rng.integers(n_tasks)] = max(2, slots)
    wide = np.full((n_tasks, slots), np.nan)
    for i, m in enumerate(answers):
        wide[i, :m] = rng.choice(values, size=m, p=probs / probs.sum())
        rng.shuffle(wide[i])
    frame = pd.DataFrame(wide, columns=[f"r{j}" for j in range(slots)])
    used = np.unique(wide[~np.isnan(wide)])
    assume(used.size >= 2)
    return frame


def _irrcac(frame: pd.DataFrame, method: str, weights: str,
            categories: list[float] | None = None) -> dict[str, float]:
    w = {"unweighted": "identity"}.get(weights, weights)
    est = getattr(CAC(frame, weights=w, categories=categories, digits=15), method)()["est"]
    return {"value": float(est["coefficient_value"]), "se": float(est["se"]),
            "pa": float(est["pa"]), "pe": float(est["pe"])}


OURS = {"gwet": (gwet_ac1, gwet_ac2), "fleiss": (fleiss_kappa, fleiss_kappa),
        "bp": (brennan_prediger, brennan_prediger)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=wide_tables(), weights=st.sampled_from(["unweighted", "linear", "quadratic"]),
       method=st.sampled_from(["gwet", "fleiss", "bp"]))
def test_matches_irrcac_raw(frame: pd.DataFrame, weights: str, method: str) -> None:
    ref = _irrcac(frame, method, weights)
    unweighted, weighted = OURS[method]
    table = long_from_wide(frame)
    if weights == "unweighted":
        res = unweighted(table)
    else:
        res = weighted(table, weights=weights, weights_basis="values")
    assume(abs(1.0 - ref["pe"]) > 1e-9)
    assert res.observed == pytest.approx(ref["pa"], abs=1e-9)
    assert res.expected == pytest.approx(ref["pe"], abs=1e-9)
    assert res.value == pytest.approx(ref["value"], abs=1e-9)
    if ref["se"] > 1e-12:  # irrCAC replaces a zero se by 1e-15
        assert res.se == pytest.approx(ref["se"], abs=1e-9)
    # percent agreement is irrCAC's pa
    pa = percent_agreement(table, weights=weights,
                           **({} if weights == "unweighted" else {"weights_basis": "values"}))
    assert pa.value == pytest.approx(ref["pa"], abs=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=wide_tables(), method=st.sampled_from(["gwet", "fleiss", "bp"]))
def test_ignore_single_answers_is_irrcac_without_them(frame: pd.DataFrame,
                                                      method: str) -> None:
    # single_answer_items="ignore" == irrCAC run on the tasks with two or more ratings,
    # with the categories of the whole field (K counts a category seen only on a
    # single-answer task: K is the encoding's, declared or in use in the field)
    multi = frame[frame.notna().sum(axis=1) >= 2]
    assume(len(multi) >= 2)  # irrCAC divides by n (n - 1)
    assume(np.unique(multi.to_numpy()[multi.notna().to_numpy()]).size >= 2)
    used = sorted(np.unique(frame.to_numpy()[frame.notna().to_numpy()]).tolist())
    ref = _irrcac(multi, method, "unweighted", categories=used)
    res = OURS[method][0](long_from_wide(frame), single_answer_items="ignore")
    assert res.value == pytest.approx(ref["value"], abs=1e-9)
    if ref["se"] > 1e-12:
        assert res.se == pytest.approx(ref["se"], abs=1e-9)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=wide_tables(equal=True))
def test_matches_statsmodels_on_equal_answers(frame: pd.DataFrame) -> None:
    table = long_from_wide(frame)
    counts, cats = sm_ir.aggregate_raters(frame.to_numpy())
    # statsmodels' table has one column per category in use: BP needs the same K
    assert fleiss_kappa(table).value == pytest.approx(
        sm_ir.fleiss_kappa(counts, method="fleiss"), abs=1e-9)
    assert brennan_prediger(table).value == pytest.approx(
        sm_ir.fleiss_kappa(counts, method="randolph"), abs=1e-9)
    declared = list(range(-5, 41))
    # with every declared category counted, Randolph's kappa over the padded table
    padded = np.zeros((counts.shape[0], len(declared)))
    padded[:, [declared.index(int(c)) for c in cats]] = counts
    assert brennan_prediger(table, categories=declared).value == pytest.approx(
        sm_ir.fleiss_kappa(padded, method="randolph"), abs=1e-9)


# --- where the references disagree ----------------------------------------------------
def test_one_category_ac1_follows_gwet_r_not_python_port() -> None:
    # Every answer is "x" and no other category is known.  Gwet's R irrCAC
    # (gwet.ac1.raw: `if (q>=2) ... else pe=1e-15`) gives AC1 = p_a = 1; the Python
    # port (irrCAC.raw.CAC.gwet: `pe = 1 - 1e-15`) divides by 1e-15 and returns a
    # meaningless number.  Gwet's chance term (1/(K-1)) sum pi_k (1 - pi_k) is 0/0
    # here; R's convention keeps AC1 = p_a, which is also the limit with any second
    # declared category (pi = (1, 0) gives p_e = 0), so we follow R, with a caution.
    table = long_from_wide([["x", "x", "x"], ["x", "x", None], ["x", None, None]])
    res = gwet_ac1(table)
    assert res.value == pytest.approx(1.0)
    assert "only one category exists" in (res.reason or "")
    assert gwet_ac1(table, categories=["x", "y"]).value == pytest.approx(1.0)
    assert gwet_ac1(table, categories=["x", "y"]).reason is None


def test_one_category_bp_is_undefined_not_irrcac_percent_agreement() -> None:
    # irrCAC (R and Python) sets p_e = 1e-15 when K = 1, so its BP equals p_a.  But
    # Brennan-Prediger's chance agreement is 1/K = 1: every pair agrees by chance and
    # (p_a - 1) / (1 - 1) is 0/0.  We return NaN with the reason instead.
    table = long_from_wide([["x", "x"], ["x", "x"]])
    res = brennan_prediger(table)
    assert math.isnan(res.value) and "1/K is 1" in (res.reason or "")
    assert brennan_prediger(table, categories=["x", "y"]).value == pytest.approx(1.0)
