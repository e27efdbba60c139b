"""Cohen's kappa, the pairwise Cohen matrix and Conger's kappa: behaviour, degenerate
cases and properties.  Published values and reference cross-checks live in
tests/reference/test_cohen_conger_reference.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.agreement import Interval, cohen_kappa, cohen_kappa_matrix, conger_kappa
from labelcheck.agreement.cohen import answer_cells
from labelcheck.errors import InvalidInput
from labelcheck.table import encode, from_records, rating_matrix

PROPERTY = settings(max_examples=40, deadline=None)


def wide_to_table(wide: dict[str, list[object]], field: str = "label") -> pd.DataFrame:
    """Annotator -> answers per task (None = no answer) as a canonical table."""
    rows = [
        {"task_id": f"t{i}", "annotator_id": who, "field": field, "label": x}
        for who, answers in wide.items()
        for i, x in enumerate(answers)
        if x is not None
    ]
    return from_records(rows)


def pairs_to_table(pairs: list[tuple[object, object]], names: tuple[str, str] = ("A", "B")):
    return wide_to_table({names[0]: [p[0] for p in pairs], names[1]: [p[1] for p in pairs]})


# A&P (2008) dialogue-act example: rows coder A, columns coder B
AP_CELLS = {("Stat", "Stat"): 46, ("IReq", "Stat"): 6, ("IReq", "IReq"): 32,
            ("IReq", "Chck"): 6, ("Chck", "Chck"): 10}
AP_PAIRS = [p for p, c in AP_CELLS.items() for _ in range(c)]


# --- Cohen: basics ------------------------------------------------------------------
def test_two_annotators_are_found_and_reported():
    result = cohen_kappa(pairs_to_table(AP_PAIRS))
    assert result.metric == "cohen_kappa"
    assert result.value == pytest.approx(0.484 / 0.604, abs=1e-12)  # (0.88 - 0.396) / 0.604
    assert result.observed == pytest.approx(0.88)
    assert result.expected == pytest.approx(0.396)
    assert result.n_items == 100 and result.n_annotations == 200 and result.n_annotators == 2
    assert result.details["annotators"] == ["A", "B"]
    assert np.asarray(result.details["table"]).sum() == 100
    assert result.ci is not None and result.ci_method == "analytic-t"
    assert result.ci[0] < result.value < result.ci[1]
    assert result.to_dict()["value"] == pytest.approx(result.value)


def test_named_annotators_in_either_order_give_the_same_value():
    table = wide_to_table({"x": ["a", "b", "a", "b"], "y": ["a", "b", "b", "b"],
                           "z": ["b", "b", "a", "a"]})
    xy = cohen_kappa(table, annotators=("x", "y"))
    yx = cohen_kappa(table, annotators=("y", "x"))
    assert xy.value == pytest.approx(yx.value, abs=1e-15)
    assert xy.se == pytest.approx(yx.se, abs=1e-15)
    assert np.array_equal(np.asarray(xy.details["table"]).T, yx.details["table"])


def test_more_than_two_annotators_needs_names():
    table = wide_to_table({f"ann{i}": ["a", "b", "a"] for i in range(8)})
    result = cohen_kappa(table)
    assert math.isnan(result.value)
    assert result.reason is not None
    assert "has 8 annotators" in result.reason
    assert "ann0, ann1" in result.reason and "and 3 more" in result.reason
    assert "conger_kappa" in result.reason and "cohen_kappa_matrix" in result.reason


def test_one_annotator_is_undefined():
    result = cohen_kappa(wide_to_table({"solo": ["a", "b"]}))
    assert math.isnan(result.value)
    assert result.reason == 'field "label" has 1 annotator(s) (solo): Cohen\'s kappa needs two'


def test_unknown_or_repeated_annotator_is_an_input_error():
    table = wide_to_table({"x": ["a", "b"], "y": ["a", "a"]})
    with pytest.raises(InvalidInput, match=r"annotator\(s\) zed have no answers on field "
                       r'"label"; its annotators are: x, y'):
        cohen_kappa(table, annotators=("x", "zed"))
    with pytest.raises(ValueError, match="two different ids; got 'x' twice"):
        cohen_kappa(table, annotators=("x", "x"))
    with pytest.raises(ValueError, match="annotators must be two annotator ids"):
        cohen_kappa(table, annotators="xy")


def test_weights_need_an_ordered_level():
    table = pairs_to_table([("a", "b"), ("b", "b")])
    with pytest.raises(ValueError, match="linear weights need ordered categories, but field "
                       '"label" is nominal'):
        cohen_kappa(table, weights="linear")


def test_only_complete_pairs_count():
    table = wide_to_table({"A": ["a", "b", "a", None, "b"], "B": ["a", "b", None, "a", "b"]})
    result = cohen_kappa(table)
    assert result.n_items == 3
    assert result.value == pytest.approx(1.0)


def test_latest_answer_counts_when_an_annotator_answers_twice():
    rows = [
        {"task_id": "1", "annotator_id": "A", "label": "x", "created_at": "2024-01-01"},
        {"task_id": "1", "annotator_id": "A", "label": "y", "created_at": "2024-01-03"},
        {"task_id": "1", "annotator_id": "B", "label": "y", "created_at": "2024-01-02"},
        {"task_id": "2", "annotator_id": "A", "label": "x", "created_at": "2024-01-02"},
        {"task_id": "2", "annotator_id": "B", "label": "x", "created_at": "2024-01-02"},
    ]
    result = cohen_kappa(from_records(rows))
    assert result.value == pytest.approx(1.0)
    assert result.details["n_duplicates"] == 1
    assert "latest" in result.details["duplicates"]


@given(st.data())
@PROPERTY
def test_answer_cells_are_the_cells_of_rating_matrix(data):
    n = data.draw(st.integers(1, 25))
    rows = data.draw(st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(0, 3), st.integers(0, 6)),
        min_size=n, max_size=n,
    ))
    table = from_records([
        {"task_id": t, "annotator_id": f"a{a}", "label": f"c{c}",
         "created_at": pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)}
        for t, a, c, d in rows
    ])
    coded = encode(table)
    matrix = rating_matrix(coded, duplicates="latest")
    cells = answer_cells(coded)
    dense = np.full(matrix.shape, np.nan)
    dense[cells.annotator, cells.task] = cells.label
    assert np.array_equal(matrix, dense, equal_nan=True)
    assert cells.n_duplicates == len(rows) - len(cells.task)


# --- Cohen: degenerate cases --------------------------------------------------------
def test_no_common_task_is_undefined():
    table = wide_to_table({"A": ["a", "b", None, None], "B": [None, None, "a", "b"]})
    result = cohen_kappa(table)
    assert math.isnan(result.value) and result.n_items == 0
    assert result.reason == ('annotators A and B have no task in common on field "label": '
                             "Cohen's kappa needs tasks both answered")


def test_one_category_in_use_is_undefined():
    result = cohen_kappa(pairs_to_table([("yes", "yes")] * 5))
    assert math.isnan(result.value)
    assert result.expected == pytest.approx(1.0)
    assert result.reason == ("annotators A and B used only category yes on their 5 common "
                             "task(s): chance agreement is 1, so kappa is undefined")


def test_single_task_disagreement_is_zero_without_interval():
    result = cohen_kappa(pairs_to_table([("a", "b")]))
    assert result.value == pytest.approx(0.0)
    assert result.n_items == 1 and result.ci is None
    assert "only 1 task(s) in common" in (result.reason or "")


def test_single_task_agreement_is_undefined():
    result = cohen_kappa(pairs_to_table([("a", "a")]))
    assert math.isnan(result.value) and "chance agreement is 1" in (result.reason or "")


def test_no_interval_when_ci_is_none():
    result = cohen_kappa(pairs_to_table(AP_PAIRS), ci=None)
    assert result.ci is None and math.isnan(result.se)


def test_bootstrap_interval_is_reproducible_and_near_the_analytic_se():
    table = pairs_to_table(AP_PAIRS)
    analytic = cohen_kappa(table)
    boot = cohen_kappa(table, ci=Interval(method="bootstrap", n_boot=400, seed=7))
    again = cohen_kappa(table, ci=Interval(method="bootstrap", n_boot=400, seed=7))
    assert boot.ci == again.ci and boot.ci_method == "bootstrap-percentile"
    assert boot.value == analytic.value
    assert boot.se == pytest.approx(analytic.se, rel=0.25)
    bca = cohen_kappa(table, ci=Interval(method="bootstrap", n_boot=300, bootstrap="bca"))
    assert bca.ci is not None and bca.ci_method == "bootstrap-bca"


# --- the pairwise matrix -----------------------------------------------------------
def test_matrix_layout_and_reasons():
    table = wide_to_table({
        "A": ["a", "b", "a", "b", None, None],
        "B": ["a", "b", "b", "b", None, None],
        "C": [None, None, None, None, "a", "b"],
        "D": ["a", None, None, None, "a", None],
    })
    frame = cohen_kappa_matrix(table, min_items=2)
    assert list(frame.columns) == ["annotator_a", "annotator_b", "value", "se", "n_items",
                                   "observed", "expected", "reason"]
    assert len(frame) == 4 * 3
    by_pair = frame.set_index(["annotator_a", "annotator_b"])
    assert by_pair.loc[("A", "C"), "reason"] == "no task in common"
    assert by_pair.loc[("A", "C"), "n_items"] == 0
    assert by_pair.loc[("A", "D"), "reason"] == "only 1 task(s) in common (min_items=2)"
    assert by_pair.loc[("C", "D"), "n_items"] == 1
    assert by_pair.loc[("A", "B"), "reason"] is None
    assert by_pair.loc[("A", "B"), "value"] == pytest.approx(
        cohen_kappa(table, annotators=("A", "B")).value)
    matrix = frame.pivot(index="annotator_a", columns="annotator_b", values="value")
    assert matrix.shape == (4, 4)


def test_matrix_pair_with_one_category_says_why():
    table = wide_to_table({"A": ["a", "a", "b"], "B": ["a", "a", None], "C": ["a", "b", "b"]})
    frame = cohen_kappa_matrix(table).set_index(["annotator_a", "annotator_b"])
    assert frame.loc[("A", "B"), "reason"] == (
        "chance agreement is 1: only category a in use on the common tasks")
    with pytest.raises(ValueError, match="min_items must be at least 1"):
        cohen_kappa_matrix(table, min_items=0)


# --- Conger -------------------------------------------------------------------------
def test_conger_equals_cohen_for_two_complete_annotators():
    table = pairs_to_table(AP_PAIRS)
    cohen, conger = cohen_kappa(table), conger_kappa(table)
    assert conger.value == pytest.approx(cohen.value, abs=1e-12)
    # Gwet's linearised variance divides by n - 1, the two-rater formula by n
    n = cohen.n_items
    assert conger.se == pytest.approx(cohen.se * math.sqrt(n / (n - 1)), rel=1e-10)
    assert conger.n_items == 100 and conger.details["n_pairable_tasks"] == 100


def test_conger_undefined_cases():
    one = conger_kappa(wide_to_table({"solo": ["a", "b"]}))
    assert math.isnan(one.value)
    assert one.reason == (
        'field "label" has 1 annotator(s) (solo): Conger\'s kappa needs two or more')
    apart = conger_kappa(wide_to_table({"A": ["a", None], "B": [None, "b"]}))
    assert apart.reason == 'no task on field "label" has answers from two annotators'
    same = conger_kappa(wide_to_table({"A": ["a", "a"], "B": ["a", "a"], "C": ["a", None]}))
    assert math.isnan(same.value)
    assert same.reason == ('only category a is in use on field "label": chance agreement is 1, '
                           "so kappa is undefined")


def test_conger_bootstrap_runs_and_handles_sparse_annotators():
    table = wide_to_table({
        "A": ["a", "b", "a", "b", "a", "b", "a", "a"],
        "B": ["a", "b", "b", "b", "a", "b", "a", "a"],
        "C": ["a", None, None, None, None, None, None, None],
    })
    result = conger_kappa(table, ci=Interval(method="bootstrap", n_boot=300, seed=1))
    assert result.ci is not None and result.se > 0
    assert result.ci_method == "bootstrap-percentile"


# --- properties ---------------------------------------------------------------------
@st.composite
def ratings(draw, min_annotators=2, max_annotators=5):
    r = draw(st.integers(min_annotators, max_annotators))
    n = draw(st.integers(2, 20))
    q = draw(st.integers(2, 5))
    cells = draw(st.lists(st.one_of(st.none(), st.integers(0, q - 1)),
                          min_size=r * n, max_size=r * n))
    return {f"r{g}": [None if c is None else f"c{c}" for c in cells[g * n:(g + 1) * n]]
            for g in range(r)}


@given(ratings(2, 2))
@PROPERTY
def test_cohen_is_symmetric_and_bounded(wide):
    table = wide_to_table(wide)
    if table.empty or table["annotator_id"].nunique() < 2:
        return
    ab = cohen_kappa(table, annotators=("r0", "r1"))
    ba = cohen_kappa(table, annotators=("r1", "r0"))
    if math.isnan(ab.value):
        assert math.isnan(ba.value) and ab.reason
        return
    assert ab.value == pytest.approx(ba.value, abs=1e-12)
    assert -1.0 - 1e-12 <= ab.value <= 1.0 + 1e-12
    if not math.isnan(ab.se):
        assert ab.se == pytest.approx(ba.se, abs=1e-12)


@given(ratings(2, 4), st.permutations(range(5)))
@PROPERTY
def test_relabelling_categories_leaves_values_unchanged(wide, perm):
    renamed = {g: [None if x is None else f"z{perm[int(x[1:])]}" for x in xs]
               for g, xs in wide.items()}
    a, b = wide_to_table(wide), wide_to_table(renamed)
    if a.empty or a["annotator_id"].nunique() < 2:
        return
    for f in (conger_kappa,):
        x, y = f(a), f(b)
        assert (math.isnan(x.value) and math.isnan(y.value)) or x.value == pytest.approx(y.value)
    fa = cohen_kappa_matrix(a)["value"].to_numpy()
    fb = cohen_kappa_matrix(b)["value"].to_numpy()
    np.testing.assert_allclose(fa, fb, atol=1e-12)


@given(ratings(2, 5))
@PROPERTY
def test_permuting_annotators_leaves_conger_unchanged(wide):
    table = wide_to_table(wide)
    if table.empty:
        return
    renamed = table.copy()
    ids = sorted(table["annotator_id"].unique())
    renamed["annotator_id"] = renamed["annotator_id"].map(dict(zip(ids, ids[::-1])))
    renamed = renamed.iloc[::-1].reset_index(drop=True)
    x, y = conger_kappa(table), conger_kappa(renamed)
    if math.isnan(x.value):
        assert math.isnan(y.value)
        return
    assert x.value == pytest.approx(y.value, abs=1e-12)
    assert x.value <= 1.0 + 1e-12
    complete = all(v is not None for column in wide.values() for v in column)
    if complete:  # with missing answers Gwet's generalisation can go below -1 (see below)
        assert x.value >= -1.0 - 1e-12
    if not math.isnan(x.se):
        assert x.se == pytest.approx(y.se, abs=1e-10)


def test_conger_with_missing_answers_can_fall_below_minus_one():
    """Gwet's generalisation takes p_a from tasks with two answers but each annotator's
    category shares from every task they answered.  Here the one pairable task is a
    disagreement (p_a = 0) while r0 always says c1 and r1 says c1 on 2 of 3 tasks, so
    p_e = 2/3 and kappa = (0 - 2/3) / (1 - 2/3) = -2: correct under the definition,
    outside Cohen's [-1, 1].  irrCAC's conger() gives the same number."""
    wide = {"r0": [None, None, None, None, None, "c1"], "r1": [None, None, None, "c1", "c1", "c0"]}
    result = conger_kappa(wide_to_table(wide))
    assert result.value == pytest.approx(-2.0, abs=1e-12)
    assert result.expected == pytest.approx(2 / 3, abs=1e-12)


@given(st.integers(2, 6), st.lists(st.integers(0, 4), min_size=2, max_size=30))
@PROPERTY
def test_perfect_agreement_gives_one(n_annotators, truth):
    if len(set(truth)) < 2:
        truth = truth + [(truth[0] + 1) % 5]
    wide = {f"g{g}": [f"c{c}" for c in truth] for g in range(n_annotators)}
    table = wide_to_table(wide)
    assert conger_kappa(table).value == pytest.approx(1.0)
    frame = cohen_kappa_matrix(table)
    np.testing.assert_allclose(frame["value"], 1.0)
    assert cohen_kappa(table, annotators=("g0", "g1")).value == pytest.approx(1.0)


@given(ratings(2, 5))
@PROPERTY
def test_matrix_is_symmetric_and_equals_cohen_on_each_pair(wide):
    table = wide_to_table(wide)
    if table.empty or table["annotator_id"].nunique() < 2:
        return
    frame = cohen_kappa_matrix(table)
    matrix = frame.pivot(index="annotator_a", columns="annotator_b", values="value")
    np.testing.assert_allclose(matrix.to_numpy(), matrix.to_numpy().T, atol=1e-12)
    for row in frame.itertuples():
        single = cohen_kappa(table, annotators=(row.annotator_a, row.annotator_b))
        assert single.n_items == row.n_items
        if math.isnan(single.value):
            assert math.isnan(row.value) and row.reason
        else:
            assert row.value == pytest.approx(single.value, abs=1e-12)
            assert row.se == pytest.approx(single.se, abs=1e-12, nan_ok=True)
