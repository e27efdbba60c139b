"""Consensus models on generated data with known annotator confusions.

``simulate`` is shared with the other consensus tests (core, reference, CLI)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from labelcheck.consensus import MACE, DawidSkene, majority_vote
from labelcheck.table import from_records

CLASSES = ("cat", "dog", "fox", "owl")


def confusions(
    n_annotators: int, k: int, *, seed: int = 0, accuracy: tuple[float, float] = (0.65, 0.9),
    spammers: tuple[int, ...] = (), biased: tuple[int, ...] = (),
) -> np.ndarray:
    """Confusion matrices ``C[j, true, given]`` (rows sum to 1): careful annotators
    with errors spread evenly, ``spammers`` answering at random whatever the truth,
    and ``biased`` annotators who answer class 0 for class 1 most of the time."""
    rng = np.random.default_rng(seed)
    acc = rng.uniform(*accuracy, size=n_annotators)
    conf = np.empty((n_annotators, k, k))
    for j in range(n_annotators):  # a loop over a handful of matrices, not rows
        conf[j] = (1 - acc[j]) / (k - 1)
        np.fill_diagonal(conf[j], acc[j])
    for j in spammers:
        conf[j] = rng.dirichlet(np.ones(k))[None, :]
    for j in biased:  # needs k >= 3: true class 1 is answered 0 70% of the time
        conf[j, 1] = 0.1 / (k - 2)
        conf[j, 1, 0], conf[j, 1, 1] = 0.7, 0.2
    return conf


def simulate(
    n_items: int = 400,
    n_annotators: int = 8,
    *,
    k: int = 4,
    per_item: tuple[int, int] = (3, 5),
    seed: int = 0,
    conf: np.ndarray | None = None,
    prior: np.ndarray | None = None,
    field: str = "label",
) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """A canonical table of answers drawn from ``conf`` (default :func:`confusions`),
    the true label per item, and the confusions used.  Each item gets 3-5 answers
    from distinct annotators; rows are shuffled."""
    rng = np.random.default_rng(seed)
    if conf is None:
        conf = confusions(n_annotators, k, seed=seed + 1)
    prior = np.full(k, 1.0 / k) if prior is None else prior
    truth = rng.choice(k, size=n_items, p=prior)
    sizes = rng.integers(per_item[0], per_item[1] + 1, size=n_items)
    keys = rng.random((n_items, n_annotators))
    order = np.argsort(keys, axis=1)
    keep = np.arange(n_annotators)[None, :] < sizes[:, None]
    item = np.broadcast_to(np.arange(n_items)[:, None], keep.shape)[keep]
    who = order[keep]
    cum = np.cumsum(conf[who, truth[item]], axis=1)
    given = np.minimum((rng.random(len(item))[:, None] > cum).sum(axis=1), k - 1)
    names = np.array(CLASSES[:k] if k <= len(CLASSES) else [f"c{i}" for i in range(k)], dtype=object)
    perm = rng.permutation(len(item))
    frame = pd.DataFrame({
        "task_id": [f"i{n:04d}" for n in item[perm]],
        "annotator_id": [f"w{n:02d}" for n in who[perm]],
        "label": names[given[perm]],
        "field": field,
    })
    truth_labels = pd.Series(names[truth], index=[f"i{n:04d}" for n in range(n_items)])
    return from_records(frame), truth_labels, conf


def accuracy(labels: pd.Series, truth: pd.Series) -> float:
    return float((labels.astype(object) == truth.reindex(labels.index)).mean())


@pytest.fixture(scope="module")
def noisy() -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """600 items, 10 annotators of whom two spam and one confuses dog for cat."""
    conf = confusions(10, 4, seed=3, spammers=(2, 7), biased=(4,))
    return simulate(600, 10, conf=conf, seed=11)


def test_models_beat_majority_vote_when_annotators_spam(noisy: Any) -> None:
    table, truth, _ = noisy
    mv = accuracy(majority_vote(table, tie="deterministic").labels, truth)
    ds = accuracy(DawidSkene().fit(table).labels_, truth)
    mace = accuracy(MACE(seed=0).fit(table).labels_, truth)
    # seeded data: the margins are 5-6 points; pinned loosely so a reseed does not flip them
    assert ds > mv + 0.02
    assert mace > mv + 0.02


def test_dawid_skene_recovers_the_confusions() -> None:
    conf = confusions(10, 4, seed=3, spammers=(2, 7), biased=(4,))
    table, _, _ = simulate(3000, 10, conf=conf, seed=5)
    model = DawidSkene().fit(table)
    order = [int(a[1:]) for a in model.annotator_ids_]  # "w03" -> 3
    error = np.abs(model.confusions_ - conf[order])
    # ~300 answers per (annotator, true class): a cell's sampling sd is <= 0.03
    assert error.mean() < 0.025
    assert error.max() < 0.12


def test_reliability_ranks_the_spammers_last(noisy: Any) -> None:
    table, _, _ = noisy
    for result in (DawidSkene().fit(table).result_, MACE(seed=0).fit(table).result_):
        worst = set(result.annotators().nsmallest(2, "reliability")["annotator_id"])
        assert worst == {"w02", "w07"}, result.method


def test_mace_competence_of_a_spammer_is_low(noisy: Any) -> None:
    table, _, _ = noisy
    competence = MACE(seed=0).fit(table).competence_
    # careful annotators: accuracy 0.65-0.9 is theta + (1 - theta) / 4, theta 0.5-0.87;
    # w04 loses most of class "dog" to "cat"
    assert competence[["w02", "w07"]].max() < 0.05
    assert competence.drop(["w02", "w07"]).min() > 0.35


def test_every_answer_counts_repeats_included() -> None:
    """An annotator answering an item twice counts twice (Dawid & Skene 1979)."""
    table = from_records([
        {"task_id": "t1", "annotator_id": "a", "label": "x"},
        {"task_id": "t1", "annotator_id": "a", "label": "x"},
        {"task_id": "t1", "annotator_id": "b", "label": "y"},
    ])
    mv = majority_vote(table)
    assert mv.labels.tolist() == ["x"] and mv.n_answers.tolist() == [3]
    assert mv.annotator_answers.tolist() == [2, 1]
    ds = DawidSkene().fit(table).result_
    assert ds.n_answers.tolist() == [3]
