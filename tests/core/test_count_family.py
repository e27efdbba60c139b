"""Count-family coefficients: properties, conventions, degenerate data, intervals."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from labelcheck.agreement import (
    Interval,
    brennan_prediger,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    percent_agreement,
    scott_pi,
    specific_agreement,
)
from labelcheck.agreement import _count_family as cf
from labelcheck.agreement.fleiss import fleiss_category_kappas
from labelcheck.errors import InvalidInput
from labelcheck.table import encode, from_records

NOMINAL = [fleiss_kappa, scott_pi, gwet_ac1, brennan_prediger, percent_agreement]
KAPPA_LIKE = [fleiss_kappa, scott_pi, gwet_ac1, brennan_prediger]


def table_of(tasks: list[list[Any]], annotators: list[list[str]] | None = None) -> pd.DataFrame:
    rows = []
    for t, labels in enumerate(tasks):
        for j, label in enumerate(labels):
            who = annotators[t][j] if annotators else f"a{j}"
            rows.append({"task_id": f"t{t}", "annotator_id": who, "label": label})
    return from_records(rows)


@st.composite
def task_lists(draw: Any, min_answers: int = 1, equal: bool = False) -> list[list[str]]:
    """Tasks with 1-5 answers from 2-6 string categories; at least one task with two."""
    cats = [f"c{i}" for i in range(draw(st.integers(2, 6)))]
    n_tasks = draw(st.integers(2, 15))
    size = draw(st.integers(max(2, min_answers), 5))
    tasks = []
    for _ in range(n_tasks):
        m = size if equal else draw(st.integers(min_answers, 5))
        tasks.append(draw(st.lists(st.sampled_from(cats), min_size=m, max_size=m)))
    assume(any(len(t) >= 2 for t in tasks))
    assume(len({x for t in tasks for x in t}) >= 2)
    return tasks


PROPS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- properties ------------------------------------------------------------------------
@PROPS
@given(tasks=task_lists(), seed=st.integers(0, 2**16))
def test_invariant_to_relabelling_and_permutation(tasks: list[list[str]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = table_of(tasks)
    cats = sorted({x for t in tasks for x in t})
    new_names = dict(zip(cats, rng.permutation([f"z{i}" for i in range(len(cats))])))
    relabelled = base.assign(label=base["label"].map(new_names))
    shuffled = base.iloc[rng.permutation(len(base))].reset_index(drop=True)
    for func in NOMINAL:
        ref = func(base)
        for other in (relabelled, shuffled):
            res = func(other)
            assert res.value == pytest.approx(ref.value, abs=1e-12)
            assert res.se == pytest.approx(ref.se, abs=1e-12)


@PROPS
@given(tasks=task_lists())
def test_ranges(tasks: list[list[str]]) -> None:
    table = table_of(tasks)
    # Gwet's and Brennan-Prediger's chance agreement is at most 1/2, so >= -1 always
    for func in (gwet_ac1, brennan_prediger):
        assert -1.0 - 1e-12 <= func(table).value <= 1.0 + 1e-12
    assert 0.0 <= percent_agreement(table).value <= 1.0
    # Fleiss/Scott: in [-1, 1] once single-answer tasks are left out of the propensities
    for func in (fleiss_kappa, scott_pi):
        res = func(table, single_answer_items="ignore")
        assert not res.defined or -1.0 - 1e-12 <= res.value <= 1.0 + 1e-12


def test_fleiss_can_fall_below_minus_one_with_gwet_single_answer_convention() -> None:
    # One disagreeing pair, ten single answers "a": pi_a = (0.5 + 10) / 11 so
    # p_e = 0.905 while p_a = 0.  Gwet's convention lets single answers move p_e,
    # so kappa = -p_e / (1 - p_e) = -9.5; "ignore" gives the textbook -1.
    table = table_of([["a", "b"]] + [["a"]] * 10)
    assert fleiss_kappa(table).value == pytest.approx(-(10.5**2 + 0.5**2) / 11**2 / (
        1 - (10.5**2 + 0.5**2) / 11**2))
    assert fleiss_kappa(table).value < -1
    assert fleiss_kappa(table, single_answer_items="ignore").value == pytest.approx(-1.0)


@PROPS
@given(tasks=task_lists(min_answers=2), k=st.integers(2, 5))
def test_perfect_agreement_is_one(tasks: list[list[str]], k: int) -> None:
    perfect = [[f"c{i % k}"] * len(t) for i, t in enumerate(tasks)]
    assume(len(perfect) >= k)
    table = table_of(perfect)
    for func in NOMINAL:
        assert func(table).value == pytest.approx(1.0, abs=1e-12)


@PROPS
@given(tasks=task_lists(), pick=st.integers(0, 10), new=st.booleans())
def test_single_answer_task_does_not_change_observed(
    tasks: list[list[str]], pick: int, new: bool
) -> None:
    used = sorted({x for t in tasks for x in t})
    extra = "new" if new else used[pick % len(used)]
    base, more = table_of(tasks), table_of(tasks + [[extra]])
    for func in NOMINAL:
        assert func(more).observed == pytest.approx(
            func(base).observed, abs=1e-12, nan_ok=True)
        assert func(more).n_items == func(base).n_items
        if not new:  # with "ignore" a task with one answer changes nothing at all
            a = func(base, single_answer_items="ignore")
            b = func(more, single_answer_items="ignore")
            assert b.value == pytest.approx(a.value, abs=1e-12, nan_ok=True)
            assert b.se == pytest.approx(a.se, abs=1e-12, nan_ok=True)


@PROPS
@given(tasks=task_lists(equal=True))
def test_binary_category_kappas_equal_overall_kappa(tasks: list[list[str]]) -> None:
    binary = [["yes" if x == "c0" else "no" for x in t] for t in tasks]
    table = table_of(binary)
    overall = fleiss_kappa(table)
    assume(overall.defined)
    for res in fleiss_category_kappas(table).values():
        assert res.value == pytest.approx(overall.value, abs=1e-12)


def test_equal_answers_category_kappa_formula() -> None:
    # Fleiss 1971: kappa_j = 1 - sum n_ij (m - n_ij) / (N m (m - 1) p_j q_j)
    tasks = [["a", "a", "b"], ["b", "b", "b"], ["a", "a", "a"], ["c", "a", "c"]]
    counts = np.array([[2, 1, 0], [0, 3, 0], [3, 0, 0], [1, 0, 2]], float)
    n, m = counts.shape[0], 3
    p = counts.sum(0) / (n * m)
    expected = 1 - (counts * (m - counts)).sum(0) / (n * m * (m - 1) * p * (1 - p))
    got = fleiss_category_kappas(table_of(tasks))
    assert [got[c].value for c in "abc"] == pytest.approx(expected, abs=1e-12)


def test_scott_pi_is_fleiss_kappa() -> None:
    table = table_of([["a", "b"], ["a", "a"], ["b", "b"], ["c", "a"]])
    s, f = scott_pi(table), fleiss_kappa(table)
    assert s.metric == "scott_pi" and f.metric == "fleiss_kappa"
    assert (s.value, s.se) == pytest.approx((f.value, f.se), abs=1e-15)
    # two annotators on every task: Scott's (1955) pi = (p_o - p_e) / (1 - p_e) with
    # p_e from the pooled marginals
    p_o, pooled = 2 / 4, np.array([4, 3, 1]) / 8
    assert s.value == pytest.approx((p_o - (pooled**2).sum()) / (1 - (pooled**2).sum()))


def test_ac2_unweighted_is_ac1_and_weights_need_order() -> None:
    table = table_of([[1, 2, 2], [3, 3], [1, 1, 1], [2, 3, 3], [1]])
    ac1 = gwet_ac1(table)
    ac2 = gwet_ac2(table, weights="unweighted")
    assert (ac2.value, ac2.se) == pytest.approx((ac1.value, ac1.se), abs=1e-15)
    assert gwet_ac2(table).weights == "quadratic" and gwet_ac2(table).level == "ordinal"
    words = table_of([["lo", "hi"], ["hi", "hi"]])
    with pytest.raises(InvalidInput, match="non-numeric labels"):
        gwet_ac2(words)
    with pytest.raises(InvalidInput, match="need ordered categories"):
        fleiss_kappa(encode(words), weights="linear")
    with pytest.raises(InvalidInput, match="need numeric categories"):
        gwet_ac2(words, categories=["lo", "hi"], weights_basis="values")
    assert gwet_ac2(words, categories=["lo", "hi"]).defined
    with pytest.raises(ValueError, match="use gwet_ac2"):
        gwet_ac1(table, weights="linear")
    with pytest.raises(ValueError, match="single_answer_items"):
        fleiss_kappa(table, single_answer_items="drop")  # type: ignore[arg-type]


def test_weights_over_ranks_and_values() -> None:
    table = table_of([[1, 2, 2], [5, 5], [1, 1, 2], [2, 5, 5], [1, 2]])
    ranks = gwet_ac2(table, weights="linear")
    values = gwet_ac2(table, weights="linear", weights_basis="values")
    assert ranks.value != pytest.approx(values.value)
    evenly = table_of([[1, 2, 3], [3, 3], [1, 1, 2], [2, 3, 3]])
    assert gwet_ac2(evenly, weights="linear").value == pytest.approx(
        gwet_ac2(evenly, weights="linear", weights_basis="values").value, abs=1e-12)


def test_repeated_answers_count_and_one_annotator_is_flagged() -> None:
    table = table_of([["a", "a"], ["b", "a"], ["b", "b"]],
                     annotators=[["x", "x"], ["x", "x"], ["x", "x"]])
    res = fleiss_kappa(table)
    assert res.defined and res.n_annotations == 6 and res.n_annotators == 1
    assert "only one annotator" in (res.reason or "")


# --- degenerate data --------------------------------------------------------------------
@pytest.mark.parametrize("func", NOMINAL)
def test_empty_table(func: Any) -> None:
    res = func(from_records([]))
    assert math.isnan(res.value) and "no answers" in (res.reason or "")


@pytest.mark.parametrize("func", NOMINAL)
def test_no_task_with_two_answers(func: Any) -> None:
    res = func(table_of([["a"], ["b"], ["a"]]))
    assert math.isnan(res.value) and "no task has two or more answers" in (res.reason or "")
    assert res.n_items == 0


def test_one_category_in_use() -> None:
    table = table_of([["a", "a"], ["a", "a", "a"], ["a"]])
    for func in (fleiss_kappa, scott_pi):
        res = func(table)
        assert math.isnan(res.value) and "only one category in use" in (res.reason or "")
        assert res.observed == pytest.approx(1.0) and res.n_items == 2
    # AC1 is defined there (Gwet 2014): p_e = 0 with two declared categories
    assert gwet_ac1(table, categories=["a", "b"]).value == pytest.approx(1.0)
    assert brennan_prediger(table, categories=["a", "b"]).value == pytest.approx(1.0)
    assert percent_agreement(table).value == pytest.approx(1.0)
    per = fleiss_category_kappas(table, categories=["a", "b"])
    assert "always chosen" in (per["a"].reason or "")
    assert "never chosen" in (per["b"].reason or "")


def test_json_ready() -> None:
    res = fleiss_kappa(table_of([["a", "b"], ["a", "a"], ["b", "b"]]))
    json.dumps(res.to_dict())
    json.dumps(fleiss_kappa(from_records([])).to_dict())


# --- intervals ------------------------------------------------------------------------
def random_table(n_tasks: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.choice(4, size=n_tasks, p=[0.4, 0.3, 0.2, 0.1])
    m = rng.integers(1, 5, size=n_tasks)
    task = np.repeat(np.arange(n_tasks), m)
    noisy = rng.random(task.size) < 0.3
    label = np.where(noisy, rng.integers(0, 4, size=task.size), truth[task])
    return from_records(pd.DataFrame({
        "task_id": task.astype(str), "annotator_id": rng.integers(0, 8, task.size).astype(str),
        "label": label}))


def test_analytic_interval_options() -> None:
    table = random_table(60, 1)
    t = fleiss_kappa(table)
    z = fleiss_kappa(table, ci=Interval(quantile="normal"))
    assert t.ci_method == "analytic-t" and z.ci_method == "analytic-normal"
    assert z.se == t.se and t.ci is not None and z.ci is not None
    assert z.ci[1] - z.ci[0] < t.ci[1] - t.ci[0]
    none = fleiss_kappa(table, ci=None)
    assert none.ci is None and math.isnan(none.se) and none.value == t.value


@pytest.mark.parametrize("func", NOMINAL)
def test_bootstrap_reproducible_and_bca(func: Any) -> None:
    table = random_table(80, 2)
    spec = Interval(method="bootstrap", n_boot=300, seed=7)
    a, b = func(table, ci=spec), func(table, ci=spec)
    assert a.ci == b.ci and a.se == b.se and a.ci_method == "bootstrap-percentile"
    c = func(table, ci=Interval(method="bootstrap", n_boot=300, seed=8))
    assert c.ci != a.ci
    bca = func(table, ci=Interval(method="bootstrap", bootstrap="bca", n_boot=300))
    assert bca.ci_method == "bootstrap-bca" and bca.ci is not None
    assert bca.ci[0] < bca.value < bca.ci[1]


@pytest.mark.parametrize("func", KAPPA_LIKE + [percent_agreement])
def test_bootstrap_se_close_to_analytic(func: Any) -> None:
    table = random_table(3000, 3)
    analytic = func(table, single_answer_items="ignore")
    boot = func(table, single_answer_items="ignore",
                ci=Interval(method="bootstrap", n_boot=1000, seed=0))
    assert boot.se == pytest.approx(analytic.se, rel=0.15)


def test_gwet_variance_is_conservative_with_single_answer_tasks() -> None:
    # Gwet's (2008) linearised terms scale each task by n / n' as if the number n' of
    # tasks with two answers were fixed; under task resampling it is random, and p_a is
    # a ratio over those tasks.  With a quarter of the tasks single-answer, Gwet's (and
    # irrCAC's) se of p_a is ~28% above the bootstrap's; without such tasks they agree.
    table = random_table(3000, 3)
    analytic = percent_agreement(table)
    boot = percent_agreement(table, ci=Interval(method="bootstrap", n_boot=1000, seed=0))
    assert analytic.se > 1.15 * boot.se


def test_pattern_statistic_matches_estimate() -> None:
    coded = encode(random_table(200, 4))
    prepared = cf.prepare(coded, field=None, categories=None, weights="unweighted",
                          weights_basis="ranks", single_answer_items="gwet")
    patterns, freq = cf.count_patterns(prepared.counts)
    for chance in ("fleiss", "gwet", "uniform", "none"):
        stat = cf.pattern_statistic(chance, prepared.weights)  # type: ignore[arg-type]
        direct = cf.estimate(prepared.counts, prepared.weights, chance)  # type: ignore[arg-type]
        assert stat(patterns, freq[None, :].astype(float))[0] == pytest.approx(
            direct.value, abs=1e-12)


# --- specific agreement -----------------------------------------------------------------
def test_specific_agreement_two_annotators() -> None:
    # a = 4 both yes, b + c = 1 split, d = 5 both no: p_pos = 2a / (2a + b + c)
    pairs = [["yes", "yes"]] * 4 + [["yes", "no"]] + [["no", "no"]] * 5 + [["yes"]]
    res = specific_agreement(table_of(pairs), ci="analytic")
    assert res["yes"].value == pytest.approx(8 / 9)
    assert res["no"].value == pytest.approx(10 / 11)
    assert res["yes"].n_items == 10 and res["yes"].ci_method == "analytic-t"
    assert res["yes"].se > 0


def test_specific_agreement_bootstrap_and_undefined() -> None:
    table = random_table(100, 5)
    res = specific_agreement(table, categories=[0, 1, 2, 3, 9])
    assert res[9].reason is not None and "never chosen" in res[9].reason
    for cat in (0, 1, 2, 3):
        r = res[cat]
        assert r.ci_method == "bootstrap-percentile" and r.ci is not None
        assert r.ci[0] <= r.value <= r.ci[1]
    again = specific_agreement(table, categories=[0, 1, 2, 3, 9])
    assert again[0].ci == res[0].ci
    boot = specific_agreement(random_table(3000, 6), ci=Interval(method="bootstrap", seed=1))
    analytic = specific_agreement(random_table(3000, 6), ci="analytic")
    for cat in boot:
        assert boot[cat].se == pytest.approx(analytic[cat].se, rel=0.15)
