"""Multi-label agreement: set distances, multilabel_alpha, per_label_agreement."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from labelcheck.agreement.krippendorff import krippendorff_alpha
from labelcheck.agreement.multilabel import (
    jaccard_distance,
    label_sets,
    masi_distance,
    multilabel_alpha,
    per_label_agreement,
    set_distances,
)
from labelcheck.errors import InvalidInput
from labelcheck.table import from_records

LABELS = ("a", "b", "c", "d")


def make(rows: list[tuple[str, str, object]], field: str = "topics") -> pd.DataFrame:
    return from_records([
        {"task_id": t, "annotator_id": c, "label": lab, "field": field, "annotation_id": f"n{k}"}
        for k, (t, c, lab) in enumerate(rows)
    ])


# Hand example: Jaccard alpha worked in the multilabel_alpha docstring.
HAND = [("t1", "a", ("x",)), ("t1", "b", ("x",)), ("t2", "a", ("x", "y")),
        ("t2", "b", ("y",)), ("t3", "a", ()), ("t3", "b", ("z",))]


def test_masi_cases_from_passonneau_2006() -> None:
    # Passonneau (2006), sec. 3: M = 1 identical, 2/3 subset, 1/3 overlap, 0 disjoint
    assert masi_distance({"a", "b"}, {"a", "b"}) == 0.0
    assert masi_distance({"a"}, {"a", "b"}) == pytest.approx(1 - 0.5 * 2 / 3, abs=1e-15)
    assert masi_distance({"a", "b"}, {"b", "c"}) == pytest.approx(1 - (1 / 3) * (1 / 3), abs=1e-15)
    assert masi_distance({"a"}, {"b"}) == 1.0
    assert masi_distance((), ()) == 0.0 and jaccard_distance((), ()) == 0.0
    assert masi_distance((), ("a",)) == 1.0 and jaccard_distance((), ("a",)) == 1.0
    assert jaccard_distance({"a", "b"}, {"b", "c"}) == pytest.approx(2 / 3, abs=1e-15)


def test_vectorised_distances_equal_scalar_ones() -> None:
    subsets = [tuple(s) for r in range(len(LABELS) + 1) for s in itertools.combinations(LABELS, r)]
    rows = [(f"t{k}", "a", s) for k, s in enumerate(subsets)]
    sets = label_sets(make(rows))
    pairs = np.asarray(list(itertools.product(range(len(sets.sets)), repeat=2)))
    a, b = pairs[:, 0], pairs[:, 1]
    for name, scalar in (("masi", masi_distance), ("jaccard", jaccard_distance)):
        got = set_distances(sets.bits, sets.sizes, a, b, name)  # type: ignore[arg-type]
        want = [scalar(sets.sets[i], sets.sets[j]) for i, j in zip(a, b)]
        np.testing.assert_allclose(got, want, atol=1e-15)


def test_many_labels_use_several_bit_words() -> None:
    many = [f"l{k:03d}" for k in range(150)]
    rows = [("t1", "a", tuple(many[:100])), ("t1", "b", tuple(many[50:])),
            ("t2", "a", tuple(many[:10])), ("t2", "b", tuple(many[:10]))]
    sets = label_sets(make(rows))
    assert sets.bits.shape[1] == 3
    d = set_distances(sets.bits, sets.sizes, np.array([0]), np.array([1]), "masi")
    assert d[0] == pytest.approx(masi_distance(many[:100], many[50:]))


def test_hand_example() -> None:
    # docstring of multilabel_alpha: D_o = 0.5, D_e = 12.5 / 15
    result = multilabel_alpha(make(HAND), distance="jaccard")
    assert result.observed == pytest.approx(0.5, abs=1e-15)
    assert result.expected == pytest.approx(12.5 / 15, abs=1e-15)
    assert result.value == pytest.approx(0.4, abs=1e-15)
    assert result.details["distance"] == "jaccard"
    assert (result.n_items, result.n_annotations, result.n_categories) == (3, 6, 5)
    assert multilabel_alpha(make(HAND)).value == pytest.approx(0.35897435897, abs=1e-10)


def test_lists_and_strings_read_as_sets_missing_labels_skipped() -> None:
    rows = [("t1", "a", ["y", "x"]), ("t1", "b", ("x", "y")), ("t2", "a", "x"),
            ("t2", "b", ("x",)), ("t2", "c", None), ("t3", "a", ()), ("t3", "b", ())]
    sets = label_sets(make(rows))
    assert set(sets.sets) == {("x", "y"), ("x",), ()}
    result = multilabel_alpha(make(rows))
    assert result.value == 1.0 and result.n_annotations == 6


def test_bad_labels_name_the_rows() -> None:
    rows = [("t1", "a", ("x",)), ("t1", "b", 3.0), ("t2", "a", (1, 2))]
    with pytest.raises(InvalidInput, match='field "topics": 2 label\\(s\\) are not sets') as err:
        multilabel_alpha(make(rows))
    assert [(p.task_id, p.annotation_id) for p in err.value.problems] == [("t1", "n1"), ("t2", "n2")]
    with pytest.raises(InvalidInput, match="unknown: z") as err2:
        label_sets(make([("t1", "a", ("x",)), ("t1", "b", ("z",))]), labels=["x", "y"])
    assert err2.value.problems[0].annotation_id == "n1"
    with pytest.raises(ValueError, match="distance must be one of masi, jaccard"):
        multilabel_alpha(make(HAND), distance="dice")  # type: ignore[arg-type]


@st.composite
def set_tables(draw: st.DrawFn) -> list[tuple[str, str, tuple[str, ...]]]:
    rows = []
    for t in range(draw(st.integers(2, 8))):
        for c in range(draw(st.integers(1, 4))):
            chosen = draw(st.sets(st.sampled_from(LABELS), max_size=3))
            rows.append((f"t{t}", f"c{c}", tuple(sorted(chosen))))
    return rows


@settings(max_examples=40, deadline=None)
@given(set_tables(), st.permutations(["p", "q", "r", "s"]))
def test_property_invariant_to_renaming_labels(rows: list, names: list[str]) -> None:  # type: ignore[type-arg]
    rename = dict(zip(LABELS, names))
    renamed = [(t, c, tuple(sorted(rename[x] for x in s))) for t, c, s in rows]
    for dist in ("masi", "jaccard"):
        a = multilabel_alpha(make(rows), distance=dist).value  # type: ignore[arg-type]
        b = multilabel_alpha(make(renamed), distance=dist).value  # type: ignore[arg-type]
        assume(not math.isnan(a))
        assert b == pytest.approx(a, abs=1e-12)
        assert a <= 1.0 + 1e-12


def test_per_label_hand_example() -> None:
    # per_label_agreement docstring: x: alpha = 1 - 5/9, PA = 2/3; y: alpha = -1/4, PA = 0
    rows = [("t1", "a", ("x",)), ("t1", "b", ("x", "y")), ("t2", "a", ()),
            ("t2", "b", ("y",)), ("t3", "a", ("x",)), ("t3", "b", ())]
    out = per_label_agreement(make(rows)).set_index("label")
    assert out.loc["x", "alpha"] == pytest.approx(4 / 9, abs=1e-15)
    assert out.loc["x", "positive_agreement"] == pytest.approx(2 / 3, abs=1e-15)
    assert out.loc["x", "negative_agreement"] == pytest.approx(2 / 3, abs=1e-15)
    assert out.loc["y", "alpha"] == pytest.approx(-0.25, abs=1e-15)
    assert out.loc["y", "positive_agreement"] == 0.0
    assert out.loc["x", "prevalence"] == 0.5 and out.loc["x", "n_items"] == 3


@pytest.mark.parametrize("seed", range(4))
def test_per_label_alpha_equals_binary_nominal_alpha(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(40):
        for c in range(int(rng.integers(1, 5))):
            rows.append((f"t{t}", f"c{c}", tuple(x for x in LABELS if rng.random() < 0.3)))
    table = make(rows)
    out = per_label_agreement(table, labels=[*LABELS, "unused"]).set_index("label")
    for lab in LABELS:
        binary = table.assign(label=[lab in s for s in table["label"]])
        ref = krippendorff_alpha(binary, level="nominal", ci=None).value
        assert out.loc[lab, "alpha"] == pytest.approx(ref, abs=1e-12)
        # positive specific agreement from an explicit loop over answer pairs
        both = either = 0
        for _, g in table.groupby("task_id"):
            marks = [lab in s for s in g["label"]]
            for i, j in itertools.combinations(range(len(marks)), 2):
                both += marks[i] and marks[j]
                either += marks[i] != marks[j]
        assert out.loc[lab, "positive_agreement"] == pytest.approx(2 * both / (2 * both + either))
    assert math.isnan(out.loc["unused", "alpha"])
    assert out.loc["unused", "reason"] == "label never chosen on a task with two or more answers"
    assert out.loc["unused", "prevalence"] == 0.0
