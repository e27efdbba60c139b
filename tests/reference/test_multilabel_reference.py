"""Cross-checks against NLTK (a test dependency): MASI and Jaccard distances, and
``AnnotationTask.alpha()`` with a set distance and with the normalised edit distance.

NLTK's ``masi_distance`` used the rounded weights 0.67 / 0.33 before version 3.10 and
uses 2/3 / 1/3 since; ours uses Passonneau's 2/3 / 1/3.  The tests compare exactly
with an NLTK that uses 2/3 and, on an older NLTK, with a tolerance of 0.0034 (the
largest difference the rounding can make).  NLTK divides by zero on two empty sets,
so the NLTK distances are wrapped to give 0 there, as ours does.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

nltk_agreement = pytest.importorskip("nltk.metrics.agreement")
nltk_distance = pytest.importorskip("nltk.metrics.distance")

from labelcheck.agreement.multilabel import jaccard_distance, masi_distance, multilabel_alpha  # noqa: E402
from labelcheck.agreement.text import text_alpha  # noqa: E402
from labelcheck.table import from_records  # noqa: E402

NLTK_EXACT_MASI = nltk_distance.masi_distance({1, 2}, {1, 2, 3, 4}) == 1 - 0.5 * 2 / 3
MASI_TOL = 1e-12 if NLTK_EXACT_MASI else 3.4e-3
LABELS = ("a", "b", "c", "d", "e")


def nltk_set(f):  # type: ignore[no-untyped-def]
    return lambda x, y: 0.0 if not x and not y else f(x, y)


def random_rows(seed: int, n_tasks: int = 30) -> list[tuple[str, str, tuple[str, ...]]]:
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        truth = {x for x in LABELS if rng.random() < 0.35}
        for c in range(int(rng.integers(1, 5))):
            noisy = {x for x in LABELS if (x in truth) != (rng.random() < 0.15)}
            rows.append((f"t{t}", f"c{c}", tuple(sorted(noisy))))
    return rows


def test_set_distances_match_nltk() -> None:
    subsets = [frozenset(s) for r in range(4) for s in itertools.combinations("abcd", r)]
    for x, y in itertools.product(subsets, repeat=2):
        assert jaccard_distance(x, y) == pytest.approx(
            nltk_set(nltk_distance.jaccard_distance)(x, y), abs=1e-15)
        assert masi_distance(x, y) == pytest.approx(
            nltk_set(nltk_distance.masi_distance)(x, y), abs=MASI_TOL)
    # NLTK's own doctest value (nltk/metrics/distance.py, masi_distance)
    assert masi_distance({1, 2}, {1, 2, 3, 4}) == pytest.approx(0.6666666666666667, abs=1e-15)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", ["masi", "jaccard"])
def test_multilabel_alpha_matches_nltk_annotation_task(seed: int, name: str) -> None:
    rows = random_rows(seed)
    table = from_records([dict(task_id=t, annotator_id=c, label=s) for t, c, s in rows])
    mine = multilabel_alpha(table, distance=name).value  # type: ignore[arg-type]
    nltk_dist = nltk_distance.masi_distance if name == "masi" else nltk_distance.jaccard_distance
    task = nltk_agreement.AnnotationTask(
        [(c, t, frozenset(s)) for t, c, s in rows], distance=nltk_set(nltk_dist)
    )
    tol = MASI_TOL * 10 if name == "masi" else 1e-12
    assert mine == pytest.approx(task.alpha(), abs=tol)
    # with Passonneau's exact weights NLTK agrees to rounding error whatever its version
    exact = nltk_agreement.AnnotationTask(
        [(c, t, frozenset(s)) for t, c, s in rows],
        distance=masi_distance if name == "masi" else jaccard_distance,
    )
    assert mine == pytest.approx(exact.alpha(), abs=1e-12)


def nltk_normalised_edit(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return 0.0 if longest == 0 else nltk_distance.edit_distance(a, b) / longest


def test_text_alpha_matches_nltk_edit_distance() -> None:
    rng = np.random.default_rng(5)
    words = ["red car", "a red car", "red cars", "blue car", "car", "", "the red car"]
    rows = [(f"t{t}", f"c{c}", str(rng.choice(words)))
            for t in range(25) for c in range(int(rng.integers(1, 4)))]
    table = from_records([dict(task_id=t, annotator_id=c, label=s) for t, c, s in rows])
    mine = text_alpha(table, normalise=False).value
    task = nltk_agreement.AnnotationTask([(c, t, s) for t, c, s in rows],
                                         distance=nltk_normalised_edit)
    assert mine == pytest.approx(task.alpha(), abs=1e-12)
