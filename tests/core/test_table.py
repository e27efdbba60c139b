"""The canonical table: normalisation, validation, encoding and derived shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck import table as T
from labelcheck.errors import InvalidInput
from tests.conftest import from_matrix, make_table


def test_ids_become_strings_so_sources_join() -> None:
    frame = T.from_records([{"task_id": 7, "annotator_id": 3.0, "label": "x"}])
    assert frame[T.TASK_ID].tolist() == ["7"]
    assert frame[T.ANNOTATOR_ID].tolist() == ["3"]
    assert frame[T.ANNOTATION_ID].tolist() == ["1"]
    assert list(frame.columns[: len(T.COLUMNS)]) == list(T.COLUMNS)


def test_validate_names_missing_columns() -> None:
    with pytest.raises(InvalidInput, match=r"missing column\(s\) annotator_id, label"):
        T.validate(pd.DataFrame({"task_id": ["1"], "annotation_id": ["1"], "field": ["f"]}))


def test_validate_names_rows_without_ids() -> None:
    frame = make_table([("t1", "a", "x"), ("t2", None, "y")])
    with pytest.raises(InvalidInput, match=r"fixture, row 2: task t2, annotation a2.*annotator_id is missing"):
        T.validate(frame)


def test_encode_counts_every_answer_including_repeats(one_dissenter: pd.DataFrame) -> None:
    coded = T.encode(one_dissenter)
    assert list(coded.categories) == ["x", "y"]
    counts = T.count_matrix(coded)
    assert counts.tolist() == [[3, 0], [1, 2], [3, 0], [0, 3]]
    repeated = make_table([("t1", "a", "x"), ("t1", "a", "y"), ("t1", "b", "y")])
    assert T.count_matrix(T.encode(repeated)).tolist() == [[1, 2]]


def test_encode_skips_missing_labels_but_keeps_rows() -> None:
    frame = make_table([("t1", "a", "x"), ("t1", "b", None), ("t2", "a", "y")])
    coded = T.encode(frame)
    assert coded.n_annotations == 2
    assert coded.rows.tolist() == [0, 2]


def test_encode_requires_a_field_when_there_are_several() -> None:
    frame = pd.concat([make_table([("t1", "a", "x")], field="f1"), make_table([("t1", "a", "x")], field="f2")])
    frame = T.normalise(frame.reset_index(drop=True))
    with pytest.raises(InvalidInput, match=r"2 fields \(f1, f2\); choose one with field="):
        T.encode(frame)
    assert T.encode(frame, field="f2").field == "f2"
    with pytest.raises(InvalidInput, match=r'field "f3" not found; the table has: f1, f2'):
        T.encode(frame, field="f3")


def test_declared_categories_keep_unused_ones_and_reject_unknown() -> None:
    frame = make_table([("t1", "a", "low"), ("t1", "b", "high")])
    coded = T.encode(frame, level="ordinal", categories=["low", "mid", "high"])
    assert coded.n_categories == 3
    assert coded.label.tolist() == [0, 2]
    with pytest.raises(InvalidInput, match=r"not among the declared categories \(low, high\); unknown: mid"):
        T.encode(make_table([("t1", "a", "mid")]), categories=["low", "high"])


def test_ordinal_strings_without_an_order_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"ordinal but has non-numeric labels \(high, low\); declare"):
        T.encode(make_table([("t1", "a", "low"), ("t1", "b", "high")]), level="ordinal")


def test_numeric_levels_read_numeric_looking_strings() -> None:
    coded = T.encode(make_table([("t1", "a", "10"), ("t1", "b", "2.5")]), level="interval")
    assert coded.values is not None
    assert coded.values.tolist() == [2.5, 10.0]
    with pytest.raises(InvalidInput, match=r"fixture, row 2: task t1, annotation a2, field \"label\": label 'ten' is not a number"):
        T.encode(make_table([("t1", "a", "10"), ("t1", "b", "ten")]), level="ratio")


def test_rating_matrix_latest_answer_wins() -> None:
    frame = make_table(
        [("t1", "a", "x"), ("t1", "a", "y"), ("t1", "b", "x")],
        created_at=["2024-01-02", "2024-01-01", "2024-01-01"],
    )
    coded = T.encode(frame)
    assert T.rating_matrix(coded).tolist() == [[0.0], [0.0]]
    assert T.rating_matrix(coded, duplicates="first").tolist() == [[1.0], [0.0]]
    with pytest.raises(InvalidInput, match="annotator a on task t1"):
        T.rating_matrix(coded, duplicates="error")


def test_subset_keeps_the_category_set(missing_answers: pd.DataFrame) -> None:
    coded = T.encode(missing_answers)
    sub = coded.subset(coded.label == 0)
    assert sub.n_categories == coded.n_categories
    assert T.count_matrix(sub).shape == (sub.n_tasks, coded.n_categories)


labels = st.sampled_from(["a", "b", "c", "d"])
triples = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), labels), min_size=1, max_size=40)


@given(triples)
@settings(max_examples=60, deadline=None)
def test_count_matrix_matches_a_pandas_crosstab(rows: list[tuple[int, int, str]]) -> None:
    frame = make_table([(f"t{t}", f"r{a}", lab) for t, a, lab in rows])
    coded = T.encode(frame)
    counts = T.count_matrix(coded)
    expected = pd.crosstab(frame[T.TASK_ID], frame[T.LABEL])
    got = pd.DataFrame(counts, index=coded.task_ids, columns=coded.categories)
    pd.testing.assert_frame_equal(
        got.loc[expected.index, expected.columns], expected, check_names=False, check_dtype=False
    )
    assert counts.sum() == len(frame)


@given(triples)
@settings(max_examples=40, deadline=None)
def test_rating_matrix_holds_one_answer_per_cell(rows: list[tuple[int, int, str]]) -> None:
    coded = T.encode(make_table([(f"t{t}", f"r{a}", lab) for t, a, lab in rows]))
    matrix = T.rating_matrix(coded)
    n_cells = len({(t, a) for t, a, _ in rows})
    assert int((~np.isnan(matrix)).sum()) == n_cells


def test_from_matrix_fixture_layout() -> None:
    frame = from_matrix([["x", None], ["y", "x"]])
    assert frame[T.TASK_ID].tolist() == ["t1", "t1", "t2"]
