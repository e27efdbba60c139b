"""Dawid-Skene: the paper's data, EM's monotone objective, the formulas, properties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelcheck.consensus import DawidSkene, dawid_skene
from labelcheck.errors import InvalidInput
from labelcheck.table import encode, from_records

# Dawid & Skene (1979), Table 1: 45 patients rated 1-4 by 5 anaesthetists; observer 1
# rated every form three times.  One string per patient: observer 1's three ratings,
# then observers 2-5.
DAWID_SKENE_1979 = """
111 1 1 1 1|333 4 3 3 4|112 2 1 2 2|222 3 1 2 1|222 3 2 2 2|222 3 3 2 2|122 2 1 1 1
333 3 4 3 3|222 2 2 2 3|232 2 2 2 3|444 4 4 4 4|222 3 3 4 3|111 1 1 1 1|222 3 2 1 2
121 1 1 1 1|111 2 1 1 1|111 1 1 1 1|111 1 1 1 1|222 2 2 2 1|222 1 3 2 2|222 2 2 2 2
222 2 2 2 1|222 3 2 2 2|221 2 2 2 2|111 1 1 1 1|111 1 1 1 1|232 2 2 2 2|111 1 1 1 1
111 1 1 1 1|112 1 1 2 1|111 1 1 1 1|333 3 2 3 3|111 1 1 1 1|222 2 2 2 2|222 3 2 3 2
433 4 3 4 3|221 2 2 3 2|232 3 2 3 3|333 3 4 3 2|111 1 1 1 1|111 1 1 1 1|121 2 1 1 1
232 2 2 2 2|121 1 1 1 1|222 2 2 2 2
"""


def dawid_skene_1979() -> pd.DataFrame:
    """Table 1 as a canonical table (315 answers; ids "1".."45", observers "1".."5")."""
    rows = []
    patients = [p for line in DAWID_SKENE_1979.strip().splitlines() for p in line.split("|")]
    for patient, text in enumerate(patients, start=1):
        first, *others = text.split()
        for rating in first:
            rows.append((str(patient), "1", int(rating)))
        for observer, rating in enumerate(others, start=2):
            rows.append((str(patient), str(observer), int(rating)))
    return from_records([dict(task_id=t, annotator_id=a, label=l) for t, a, l in rows])


# Expected values from the reference implementation on the same data, converged:
#   crowdkit.aggregation.DawidSkene(n_iter=100, tol=-1).fit(df)   (crowd-kit 1.4.2;
#   tol=-1 runs all 100 iterations: see tests/reference/test_consensus_crowdkit.py)
# with df = the table above as columns task, worker, label.
CK_PRIORS = [0.399555, 0.421983, 0.111795, 0.066667]
CK_OBSERVER1 = [  # confusions_[observer 1, true, given]
    [0.889488, 0.110512, 0.0, 0.0],
    [0.070585, 0.876380, 0.053035, 0.0],
    [0.0, 0.338822, 0.661178, 0.0],
    [0.0, 0.0, 0.555556, 0.444444],
]
CK_LABELS = [1, 4, 2, 2, 2, 2, 1, 3, 2, 2, 4, 3, 1, 2, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1,
             2, 1, 1, 1, 1, 3, 1, 2, 2, 4, 2, 3, 3, 1, 1, 1, 2, 1, 2]
CK_POSTERIORS = {"7": [0.98102, 0.01898, 0.0, 0.0], "38": [0.0, 0.02120, 0.9788, 0.0]}


@pytest.fixture(scope="module")
def anaesthetists() -> pd.DataFrame:
    return dawid_skene_1979()


def test_table_1_has_the_papers_shape(anaesthetists: pd.DataFrame) -> None:
    coded = encode(anaesthetists)
    assert (coded.n_annotations, coded.n_tasks, coded.n_annotators, coded.n_categories) == (315, 45, 5, 4)


def test_maximum_likelihood_on_the_papers_data(anaesthetists: pd.DataFrame) -> None:
    model = DawidSkene(n_iter=1000, tol=1e-12, smoothing=0).fit(anaesthetists)
    assert model.converged_
    assert model.priors_.to_numpy() == pytest.approx(CK_PRIORS, abs=5e-6)
    assert model.confusions_[0] == pytest.approx(np.array(CK_OBSERVER1), abs=5e-6)
    assert model.labels_.tolist() == CK_LABELS
    for patient, expected in CK_POSTERIORS.items():
        assert model.posteriors_.loc[patient].to_numpy() == pytest.approx(expected, abs=5e-5)


def test_log_likelihood_is_monotone_without_smoothing(anaesthetists: pd.DataFrame) -> None:
    model = DawidSkene(n_iter=200, tol=0, smoothing=0).fit(anaesthetists)
    assert np.all(np.diff(model.log_likelihoods_) >= -1e-9)
    assert np.array_equal(model.log_likelihoods_, model.log_posteriors_)


def test_with_smoothing_the_log_posterior_is_the_monotone_quantity() -> None:
    from tests.core.test_consensus_synthetic import confusions, simulate

    table, _, _ = simulate(300, 6, conf=confusions(6, 4, seed=2, spammers=(1,)), seed=4)
    model = DawidSkene(n_iter=300, tol=0, smoothing=0.5).fit(table)
    assert model.n_iter_ > 5
    assert np.all(np.diff(model.log_posteriors_) >= -1e-9)
    assert not np.array_equal(model.log_likelihoods_, model.log_posteriors_)


def test_convergence_and_iteration_cap(anaesthetists: pd.DataFrame) -> None:
    capped = DawidSkene(n_iter=3, tol=1e-12).fit(anaesthetists)
    assert capped.n_iter_ == 3 and not capped.converged_
    assert len(capped.log_likelihoods_) == 3
    loose = DawidSkene(tol=1e-2).fit(anaesthetists)
    assert loose.converged_ and loose.n_iter_ < 10


def naive_dawid_skene(counts: np.ndarray, n_iter: int, s: float) -> np.ndarray:
    """Equations 2.3-2.5 of the paper with loops, from the vote-share start:
    ``counts[i, j, l]`` answers of annotator j on item i with label l."""
    n_items, n_ann, k = counts.shape
    T = counts.sum(axis=1) / counts.sum(axis=(1, 2))[:, None]
    for _ in range(n_iter):
        p = (T.sum(axis=0) + s) / (n_items + k * s)
        pi = np.zeros((n_ann, k, k))
        for j in range(n_ann):
            for a in range(k):
                for b in range(k):
                    pi[j, a, b] = s + sum(T[i, a] * counts[i, j, b] for i in range(n_items))
                pi[j, a] /= pi[j, a].sum()
        for i in range(n_items):
            for a in range(k):
                T[i, a] = p[a] * np.prod([pi[j, a, b] ** counts[i, j, b]
                                          for j in range(n_ann) for b in range(k)])
            T[i] /= T[i].sum()
    return T


def test_sparse_em_matches_the_papers_equations_with_loops() -> None:
    from tests.core.test_consensus_synthetic import simulate

    table, _, _ = simulate(30, 5, k=3, seed=8)
    coded = encode(table)
    counts = np.zeros((coded.n_tasks, coded.n_annotators, coded.n_categories))
    np.add.at(counts, (coded.task, coded.annotator, coded.label), 1)
    for n_iter, s in ((1, 0.0), (4, 0.0), (6, 0.3)):
        model = DawidSkene(n_iter=n_iter, tol=0, smoothing=s).fit(coded)
        assert model.posteriors_.to_numpy() == pytest.approx(naive_dawid_skene(counts, n_iter, s), abs=1e-10)


def test_result_reliability_is_the_expected_accuracy(anaesthetists: pd.DataFrame) -> None:
    model = DawidSkene().fit(anaesthetists)
    result = model.result_
    p = model.priors_.to_numpy()
    expected = [float(p @ np.diag(c)) for c in model.confusions_]
    assert result.reliability == pytest.approx(expected)
    assert result.reliability_name == "expected_accuracy"
    assert result.annotator_details["confusion"].shape == (5, 4, 4)
    assert result.confidence == pytest.approx(model.posteriors_.max(axis=1).to_numpy())
    assert result.details["convergence_on"] == "log_posterior"


def test_a_symmetric_item_is_a_tie() -> None:
    # two annotators who agree elsewhere split on t8; swapping x<->y and a<->b maps the
    # data onto itself, so the posterior of t8 is exactly 50/50
    rows = [(f"t{i}", w, lab) for i, lab in enumerate("xyxyxyxy") for w in ("a", "b")]
    rows += [("t8", "a", "x"), ("t8", "b", "y")]
    table = from_records([dict(task_id=t, annotator_id=a, label=l) for t, a, l in rows])
    result = dawid_skene(table)
    assert bool(result.tie[-1]) and result.labels.iloc[-1] is None
    assert result.reasons[-1] == "tie between x and y (equal posterior)"
    decided = dawid_skene(table, tie="deterministic")
    assert decided.labels.iloc[-1] == "x" and bool(decided.tie[-1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_iter": 0}, "n_iter must be an integer >= 1; got 0"),
        ({"tol": -1.0}, "tol must be >= 0; got -1.0"),
        ({"smoothing": -0.1}, "smoothing must be a finite number >= 0; got -0.1"),
        ({"init": "random"}, "init must be 'majority_vote'; got 'random'"),
        ({"tie": "reliability"}, "tie must be one of unresolved, deterministic; got 'reliability'"),
    ],
)
def test_bad_settings_are_named(anaesthetists: pd.DataFrame, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DawidSkene(**kwargs).fit(anaesthetists)


def test_a_field_without_answers_is_refused() -> None:
    table = from_records([{"task_id": "t1", "annotator_id": "a", "label": None}])
    with pytest.raises(InvalidInput, match='field "label" has no answers: every label is missing'):
        DawidSkene().fit(table)


def test_rows_without_annotator_are_named() -> None:
    table = from_records([{"task_id": "t1", "annotator_id": "a", "label": "x"},
                          {"task_id": "t1", "annotator_id": None, "label": "y"}])
    with pytest.raises(InvalidInput, match="annotator_id is missing"):
        DawidSkene().fit(table)


# --- properties -------------------------------------------------------------------------
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_tables(draw: Any) -> pd.DataFrame:
    n_items = draw(st.integers(1, 12))
    cats = [f"c{i}" for i in range(draw(st.integers(1, 4)))]
    rows = []
    for i in range(n_items):
        for j in range(draw(st.integers(1, 4))):
            rows.append({"task_id": f"t{i}", "annotator_id": f"a{draw(st.integers(0, 4))}",
                         "label": draw(st.sampled_from(cats))})
    return from_records(rows)


@PROPS
@given(small_tables())
def test_one_row_per_item_and_labels_are_categories(table: pd.DataFrame) -> None:
    result = dawid_skene(table)
    assert list(result.item_ids) == list(pd.unique(table["task_id"]))
    given_labels = set(table["label"])
    assert {x for x in result.labels if x is not None} <= given_labels
    assert np.allclose(result.posterior.sum(axis=1), 1.0)
    assert ((result.codes >= 0) | result.tie).all()


@PROPS
@given(small_tables(), st.randoms(use_true_random=False))
def test_relabelling_categories_permutes_the_posterior(table: pd.DataFrame, rnd: Any) -> None:
    cats = sorted(set(table["label"]))
    shuffled = cats[:]
    rnd.shuffle(shuffled)
    rename = {a: f"z{b}" for a, b in zip(cats, shuffled)}
    before = DawidSkene(tol=0, n_iter=20).fit(table)
    after = DawidSkene(tol=0, n_iter=20).fit(table.assign(label=table["label"].map(rename)))
    moved = before.posteriors_.rename(columns=rename)[after.posteriors_.columns]
    assert np.allclose(moved.to_numpy(), after.posteriors_.to_numpy(), atol=1e-9)
    clear = ~before.result_.tie
    assert before.labels_[clear].map(rename).tolist() == after.labels_[clear].tolist()


@PROPS
@given(small_tables(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(table: pd.DataFrame, rnd: Any) -> None:
    order = list(range(len(table)))
    rnd.shuffle(order)
    a = DawidSkene(tol=0, n_iter=20).fit(table).posteriors_
    b = DawidSkene(tol=0, n_iter=20).fit(table.iloc[order].reset_index(drop=True)).posteriors_
    assert np.allclose(a.to_numpy(), b.loc[a.index].to_numpy(), atol=1e-9)
