"""MACE: the model's equations, EM's monotone objective, seeds, properties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelcheck.consensus import MACE, mace
from labelcheck.consensus._responses import Responses
from labelcheck.consensus.mace import _e_step, _Params
from labelcheck.table import encode, from_records
from tests.core.test_consensus_synthetic import confusions, simulate


@pytest.fixture(scope="module")
def spammy() -> pd.DataFrame:
    table, _, _ = simulate(300, 6, conf=confusions(6, 4, seed=4, spammers=(0, 3)), seed=6)
    return table


def test_e_step_matches_the_model_written_out() -> None:
    """P(A = l | T = k) = theta [l = k] + (1 - theta) xi_l, multiplied over an item's
    answers, with the uniform prior over k (Hovy et al. 2013, section 2)."""
    table, _, _ = simulate(12, 4, k=3, seed=1)
    coded = encode(table)
    resp = Responses(coded)
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.2, 0.9, 4)
    xi = rng.dirichlet(np.ones(3), size=4)
    posterior, log_marginal, knew = _e_step(resp, _Params(theta, 1 - theta, xi))
    expected = np.ones((coded.n_tasks, 3)) / 3
    for t, j, l in zip(coded.task, coded.annotator, coded.label):
        expected[t] *= theta[j] * (np.arange(3) == l) + (1 - theta[j]) * xi[j, l]
    assert log_marginal == pytest.approx(np.log(expected.sum(axis=1)).sum(), abs=1e-10)
    assert posterior == pytest.approx(expected / expected.sum(axis=1, keepdims=True), abs=1e-12)
    # P(knew | data) = P(T = l | data) theta / (theta + (1 - theta) xi_l)
    j, l = coded.annotator, coded.label
    want = posterior[coded.task, l] * theta[j] / (theta[j] + (1 - theta[j]) * xi[j, l])
    assert knew == pytest.approx(want, abs=1e-12)


def test_em_objective_is_monotone(spammy: pd.DataFrame) -> None:
    model = MACE(method="em", n_restarts=3, n_iter=200, tol=0, seed=1).fit(spammy)
    assert model.n_iter_ > 10
    assert np.all(np.diff(model.objectives_) >= -1e-9)
    assert model.result_.details["convergence_on"] == "parameters"


def test_spammers_get_low_competence_under_both_methods(spammy: pd.DataFrame) -> None:
    for method in ("vb", "em"):
        competence = MACE(method=method, seed=0).fit(spammy).competence_
        assert set(competence.nsmallest(2).index) == {"w00", "w03"}, method
        assert competence[["w00", "w03"]].max() < 0.15, method


def test_same_seed_same_result_and_restarts_pick_the_best(spammy: pd.DataFrame) -> None:
    a = MACE(seed=7).fit(spammy)
    b = MACE(seed=7).fit(spammy)
    assert np.array_equal(a.posteriors_.to_numpy(), b.posteriors_.to_numpy())
    one = MACE(seed=7, n_restarts=1).fit(spammy)
    assert a.log_marginal_likelihood_ >= one.log_marginal_likelihood_ - 1e-9


def test_result_shape(spammy: pd.DataFrame) -> None:
    model = MACE(seed=0).fit(spammy)
    result = model.result_
    assert result.method == "mace" and result.reliability_name == "competence"
    assert result.reliability == pytest.approx(model.competence_.to_numpy())
    assert result.annotator_details["spam_strategy"].shape == (6, 4)
    assert model.strategies_.sum(axis=1).to_numpy() == pytest.approx(np.ones(6))
    assert list(model.weights_.columns) == ["know", "spam"]
    annotator = result.to_dict()["annotators"][0]
    assert set(annotator) == {"annotator_id", "n_annotations", "reliability", "spam_strategy"}
    assert set(annotator["spam_strategy"]) == {"cat", "dog", "fox", "owl"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_restarts": 0}, "n_restarts must be an integer >= 1; got 0"),
        ({"n_iter": 0}, "n_iter must be an integer >= 1; got 0"),
        ({"method": "gibbs"}, "method must be 'vb' or 'em'; got 'gibbs'"),
        ({"tol": -1}, "tol must be >= 0; got -1"),
        ({"smoothing": -1.0}, "smoothing must be a finite number >= 0; got -1.0"),
        ({"alpha": 0}, "alpha must be a finite number > 0; got 0"),
        ({"tie": "reliability"}, "tie must be one of unresolved, deterministic; got 'reliability'"),
    ],
)
def test_bad_settings_are_named(spammy: pd.DataFrame, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MACE(**kwargs).fit(spammy)


PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_tables(draw: Any) -> pd.DataFrame:
    cats = [f"c{i}" for i in range(draw(st.integers(1, 4)))]
    rows = []
    for i in range(draw(st.integers(1, 10))):
        for _ in range(draw(st.integers(1, 4))):
            rows.append({"task_id": f"t{i}", "annotator_id": f"a{draw(st.integers(0, 3))}",
                         "label": draw(st.sampled_from(cats))})
    return from_records(rows)


@PROPS
@given(small_tables(), st.sampled_from(["vb", "em"]))
def test_one_row_per_item_and_the_label_was_given(table: pd.DataFrame, method: Any) -> None:
    result = mace(table, method=method, n_restarts=2, n_iter=20)
    assert list(result.item_ids) == list(pd.unique(table["task_id"]))
    given_per_item = table.groupby("task_id")["label"].agg(set)
    for item_id, label in result.labels.items():
        assert label is None or label in given_per_item[item_id]
    assert np.allclose(result.posterior.sum(axis=1), 1.0)
