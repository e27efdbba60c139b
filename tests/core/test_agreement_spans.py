"""Span (NER) agreement: pairwise F1, character alpha, disagreements, validation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.agreement import krippendorff_alpha
from labelcheck.agreement.span_checks import check_spans, split_valid_spans
from labelcheck.agreement.spans import (
    MICRO,
    disagreement_summary,
    span_agreement,
    span_character_alpha,
    span_disagreements,
)
from labelcheck.errors import InvalidInput
from labelcheck.table import Span, from_records


def S(start: int, end: int, *labels: str) -> Span:
    return Span(start, end, tuple(labels))


def table(rows: Sequence[tuple[str, str, Any]], field: str = "ner") -> pd.DataFrame:
    """(task_id, annotator_id, label) rows; annotation ids n1, n2, ... in row order."""
    return from_records([
        {"task_id": t, "annotator_id": a, "label": lab, "field": field,
         "annotation_id": f"n{k}", "source": "fixture.json", "source_row": k}
        for k, (t, a, lab) in enumerate(rows, start=1)
    ])


# Task t: a = PER[0,5) LOC[7,9); b = PER[0,4) ORG[7,9); c = PER[0,5).
# Task u: a = no span; b = PER[1,3).
EXAMPLE = table([
    ("t", "a", (S(0, 5, "PER"), S(7, 9, "LOC"))),
    ("t", "b", (S(0, 4, "PER"), S(7, 9, "ORG"))),
    ("t", "c", (S(0, 5, "PER"),)),
    ("u", "a", ()),
    ("u", "b", (S(1, 3, "PER"),)),
])


def row(frame: pd.DataFrame, label: str) -> pd.Series:
    out = frame.set_index("label").loc[label]
    assert isinstance(out, pd.Series)
    return out


def test_exact_f1_worked_example() -> None:
    # PER: only [0,5) is shared, by a and c: TP = C(2,2) = 1.
    # |A|+|B| over pairs = sum over spans of (m_t - 1): t has 3 PER spans x 2 + u 1 x 1 = 7.
    # F1(PER) = 2/7; LOC and ORG: 0 of 2.  Micro: TP 1, denominator 7 + 2 + 2 = 11.
    out = span_agreement(EXAMPLE, match="exact")
    assert list(out.columns) == ["label", "match", "tp", "n_a_plus_b", "f1", "n_pairs"]
    assert list(out["label"]) == ["LOC", "ORG", "PER", MICRO]
    per = row(out, "PER")
    assert (per.tp, per.n_a_plus_b, per.f1) == (1, 7, pytest.approx(2 / 7))
    # pairs with a PER span on either side: t's 3 pairs + u's 1 pair
    assert per.n_pairs == 4
    assert row(out, "LOC").n_pairs == 2  # (a,b), (a,c)
    micro = row(out, MICRO)
    assert (micro.tp, micro.n_a_plus_b, micro.f1) == (1, 11, pytest.approx(2 / 11))


def test_overlap_f1_worked_example() -> None:
    # PER overlaps: a-b, a-c, b-c on t (3 TP), nothing on u: F1 = 2*3/7.
    out = span_agreement(EXAMPLE, match="overlap")
    assert row(out, "PER").tp == 3
    assert row(out, "PER").f1 == pytest.approx(6 / 7)
    assert row(out, MICRO).f1 == pytest.approx(6 / 11)
    assert set(out["match"]) == {"overlap"}


def test_overlap_matching_is_one_to_one_and_maximal() -> None:
    # A: [0,10) [10,20); B: [4,14) overlaps both (6 and 4 characters), [0,3) overlaps
    # [0,10) by 3.  Greedy by overlap would pair [0,10)-[4,14) and stop at 1 match; the
    # maximum matching pairs [0,10)-[0,3) and [10,20)-[4,14): TP 2, F1 = 2*2/(2+2) = 1.
    t = table([("t", "a", (S(0, 10, "X"), S(10, 20, "X"))),
               ("t", "b", (S(4, 14, "X"), S(0, 3, "X")))])
    assert row(span_agreement(t, match="overlap"), "X").tp == 2
    # one long span against two halves: one match only, F1 = 2*1/3
    t = table([("t", "a", (S(0, 10, "X"),)), ("t", "b", (S(0, 4, "X"), S(5, 10, "X")))])
    assert row(span_agreement(t, match="overlap"), "X").f1 == pytest.approx(2 / 3)


def test_multi_label_span_and_duplicates() -> None:
    # a's span carries PER and ORG: two labelled spans; b's duplicate PER counts once
    t = table([("t", "a", (S(0, 3, "ORG", "PER"),)), ("t", "b", (S(0, 3, "PER"), S(0, 3, "PER")))])
    out = span_agreement(t)
    assert row(out, "PER").f1 == 1.0
    assert row(out, "ORG").f1 == 0.0
    assert row(out, MICRO).f1 == pytest.approx(2 / 3)


# --- character alpha -------------------------------------------------------------------
def materialised_alpha(data: pd.DataFrame, lengths: dict[str, int] | None) -> float:
    """Krippendorff's nominal alpha on an explicit per-character table."""
    rows = []
    for task, group in data.groupby("task_id"):
        spans = [s for lab in group["label"] for s in lab]
        if lengths is not None and str(task) in lengths:
            lo, hi = 0, lengths[str(task)]
        elif spans:
            lo, hi = min(s.start for s in spans), max(s.end for s in spans)
        else:
            continue
        for ann, lab in zip(group["annotation_id"], group["label"]):
            for ch in range(lo, hi):
                cats = sorted({x for s in lab if s.start <= ch < s.end for x in (s.labels or ("",))})
                rows.append({"task_id": f"{task}#{ch}", "annotator_id": ann,
                             "label": "|".join(cats) if cats else "O"})
    if not rows:
        return float("nan")
    return krippendorff_alpha(from_records(rows), ci=None).value


def test_character_alpha_matches_materialised_characters() -> None:
    lengths = {"t": 12, "u": 5}
    for lens in (None, lengths):
        fast = span_character_alpha(EXAMPLE, text_lengths=lens)
        assert fast.value == pytest.approx(materialised_alpha(EXAMPLE, lens), rel=1e-12, abs=1e-12)
    # with lengths, t has 12 chars x 3 annotations and u 5 x 2: 46 pairable values
    assert span_character_alpha(EXAMPLE, text_lengths=lengths).n_annotations == 46


def test_character_alpha_overlapping_labels_form_one_category() -> None:
    t = table([("t", "a", (S(0, 4, "PER"), S(2, 6, "ORG"))), ("t", "b", (S(0, 6, "PER"),))])
    fast = span_character_alpha(t, text_lengths={"t": 8})
    assert "ORG|PER" in fast.details["categories"]
    assert fast.value == pytest.approx(materialised_alpha(t, {"t": 8}), rel=1e-12)


def test_character_alpha_undefined_cases() -> None:
    one = table([("t", "a", (S(0, 2, "X"),))])
    assert "two or more annotations" in (span_character_alpha(one).reason or "")
    same = table([("t", "a", (S(0, 2, "X"),)), ("t", "b", (S(0, 2, "X"),))])
    res = span_character_alpha(same)  # only X on [0, 2): one category
    assert np.isnan(res.value) and "one category" in (res.reason or "")
    assert span_character_alpha(same, text_lengths={"t": 4}).value == 1.0


span_st = st.tuples(st.integers(0, 15), st.integers(1, 6), st.sampled_from(["A", "B", "C"])).map(
    lambda x: S(x[0], min(x[0] + x[1], 20), x[2]))
task_st = st.lists(st.lists(span_st, max_size=4).map(tuple), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(tasks=st.lists(task_st, min_size=1, max_size=3), known=st.booleans())
def test_character_alpha_equals_materialised_alpha_property(
    tasks: list[list[tuple[Span, ...]]], known: bool
) -> None:
    rows = [(f"t{k}", f"a{j}", lab) for k, anns in enumerate(tasks) for j, lab in enumerate(anns)]
    data = table(rows)
    lengths = {f"t{k}": 20 for k in range(len(tasks))} if known else None
    fast = span_character_alpha(data, text_lengths=lengths).value
    slow = materialised_alpha(data, lengths)
    if np.isnan(slow):
        assert np.isnan(fast)
    else:
        assert fast == pytest.approx(slow, rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(tasks=st.lists(task_st, min_size=1, max_size=3), seed=st.integers(0, 1000))
def test_row_order_and_relabelling_do_not_change_agreement(
    tasks: list[list[tuple[Span, ...]]], seed: int
) -> None:
    rows = [(f"t{k}", f"a{j}", lab) for k, anns in enumerate(tasks) for j, lab in enumerate(anns)]
    data = table(rows)
    shuffled = data.sample(frac=1.0, random_state=seed)
    for match in ("exact", "overlap"):
        a = span_agreement(data, match=match).set_index("label")
        b = span_agreement(shuffled, match=match).set_index("label")
        pd.testing.assert_frame_equal(a, b)
        f1 = a["f1"].dropna()
        assert ((f1 >= 0) & (f1 <= 1)).all()
    rename = {"A": "zz", "B": "yy", "C": "xx"}
    new_labels: list[Any] = [tuple(Span(s.start, s.end, tuple(rename[x] for x in s.labels)) for s in lab)
                             for lab in data["label"]]
    relabelled = data.assign(label=pd.Series(new_labels, dtype=object).to_numpy())
    x = span_character_alpha(data).value
    y = span_character_alpha(relabelled).value
    assert (np.isnan(x) and np.isnan(y)) or x == pytest.approx(y, rel=1e-12)


def test_perfect_agreement() -> None:
    lab = (S(0, 3, "A"), S(5, 9, "B"))
    t = table([("t", "a", lab), ("t", "b", lab), ("t", "c", lab)])
    for match in ("exact", "overlap"):
        assert (span_agreement(t, match=match)["f1"] == 1.0).all()
    assert span_character_alpha(t).value == 1.0
    assert span_disagreements(t).empty


# --- disagreements ---------------------------------------------------------------------
def test_disagreements_classified() -> None:
    t = table([
        ("t", "a", (S(0, 5, "PER"), S(10, 14, "LOC"), S(20, 25, "ORG"), S(30, 33, "X"))),
        ("t", "b", (S(0, 4, "PER"), S(10, 14, "ORG"), S(21, 26, "PER"))),
    ])
    out = span_disagreements(t)
    got = {(r.kind, r.start, r.end, r.label, r.other_label) for r in out.itertuples()}
    assert got == {
        ("boundary", 0, 5, "PER", "PER"),            # same label, offsets differ
        ("label", 10, 14, "LOC", "ORG"),             # same offsets, label differs
        ("boundary+label", 20, 25, "ORG", "PER"),    # both differ
        ("missing", 30, 33, "X", None),              # b has nothing there
    }
    # each mutual disagreement reported once, from the first annotation
    assert set(out["annotation_a"]) == {"n1"} and set(out["annotator_b"]) == {"b"}
    assert list(out.columns) == [
        "task_id", "annotation_a", "annotation_b", "annotator_a", "annotator_b", "kind",
        "start", "end", "label", "other_start", "other_end", "other_label"]
    summary = disagreement_summary(out)
    assert summary.groupby("kind")["n"].sum().to_dict() == {
        "boundary": 1, "label": 1, "boundary+label": 1, "missing": 1}
    assert summary.set_index("kind").loc["missing", "other_label"] == "O"


def test_missing_in_both_directions() -> None:
    t = table([("t", "a", (S(0, 2, "A"),)), ("t", "b", (S(5, 7, "A"),))])
    out = span_disagreements(t)
    assert list(zip(out["annotation_a"], out["kind"])) == [("n1", "missing"), ("n2", "missing")]


# --- validation ------------------------------------------------------------------------
def bad_table() -> pd.DataFrame:
    return table([
        ("t1", "a", (S(0, 5, "PER"),)),
        ("t1", "b", (S(3, 2, "PER"),)),          # end before start
        ("t2", "a", (S(-1, 4, "PER"),)),         # negative start
        ("t2", "b", (Span(1.5, 4, ("PER",)),)),  # type: ignore[arg-type]  # not an integer
        ("t2", "c", (S(0, 40, "PER"),)),         # past the text (length 10)
        ("t2", "d", "PER"),                       # not a tuple of spans
    ])


def test_malformed_spans_are_all_named() -> None:
    with pytest.raises(InvalidInput, match=r'field "ner": 5 malformed span\(s\)') as info:
        check_spans(bad_table(), text_lengths={"t1": 10, "t2": 10})
    messages = [str(p) for p in info.value.problems]
    assert messages[0] == (
        'fixture.json, row 2: task t1, annotation n2, field "ner": span 1 [3, 2) '
        "'PER': end 2 is not after start 3; a span covers [start, end)")
    assert "task t2, annotation n3" in messages[1] and "start -1 is negative" in messages[1]
    assert "offsets must be integers" in messages[2]
    assert "end 40 is past the end of the task's text (10 characters)" in messages[3]
    assert "a span field needs a tuple of Span" in messages[4]
    with pytest.raises(InvalidInput, match="split_valid_spans"):
        span_agreement(bad_table())


def test_split_valid_spans_keeps_good_rows() -> None:
    valid, problems = split_valid_spans(bad_table(), text_lengths={"t1": 10, "t2": 10})
    assert list(valid["annotation_id"]) == ["n1"]
    assert [p.annotation_id for p in problems] == ["n2", "n3", "n4", "n5", "n6"]
    # without the text lengths, the long span is fine
    valid, _ = split_valid_spans(bad_table())
    assert list(valid["annotation_id"]) == ["n1", "n5"]
    assert span_agreement(valid)["tp"].iloc[-1] == 0


def test_split_valid_spans_drops_only_the_bad_spans() -> None:
    t = table([
        ("t", "a", (S(0, 4, "PER"), S(6, 3, "ORG"), S(8, 12, "LOC"))),  # span 2 ends before it starts
        ("t", "b", (S(0, 4, "PER"), S(8, 12, "LOC"))),
        ("t", "c", (S(-2, 1, "PER"), S(5, 5, "ORG"))),                  # every span bad
        ("t", "d", (S(0, 4, "PER"), "ORG")),                            # item 2 is not a Span
        ("t", "e", None),                                               # no answer
        ("t", "f", ()),                                                 # an answer with no span
    ])
    with pytest.raises(InvalidInput, match=r'field "ner": 4 malformed span\(s\)'):
        check_spans(t)
    valid, problems = split_valid_spans(t)
    assert list(valid["annotation_id"]) == ["n1", "n2", "n4", "n5", "n6"]
    labels = dict(zip(valid["annotation_id"], valid["label"]))
    assert labels["n1"] == (S(0, 4, "PER"), S(8, 12, "LOC"))
    assert labels["n4"] == (S(0, 4, "PER"),)
    assert labels["n5"] is None and labels["n6"] == ()
    assert [str(p) for p in problems] == [
        'fixture.json, row 1: task t, annotation n1, field "ner": span 2 [6, 3) \'ORG\': '
        "end 3 is not after start 6; a span covers [start, end)",
        'fixture.json, row 3: task t, annotation n3, field "ner": span 1 [-2, 1) \'PER\': '
        "start -2 is negative; offsets count characters from 0",
        'fixture.json, row 3: task t, annotation n3, field "ner": span 2 [5, 5) \'ORG\': '
        "end 5 is not after start 5; a span covers [start, end)",
        'fixture.json, row 4: task t, annotation n4, field "ner": item 2 of the label is str '
        "'ORG', not a Span",
    ]
    assert [(p.source, p.source_row, p.task_id, p.annotation_id, p.field) for p in problems][0] == (
        "fixture.json", 1, "t", "n1", "ner")
    # the kept spans count: a, b and d agree on PER (3 pairs), a and b on LOC (1 pair);
    # 5 spans, each compared with the 3 other answers (a, b, d, f)
    check_spans(valid)
    res = row(span_agreement(valid), MICRO)
    assert (res.tp, res.n_a_plus_b) == (4, 15)
    # the input table is left as it was
    assert t["label"].iloc[0] == (S(0, 4, "PER"), S(6, 3, "ORG"), S(8, 12, "LOC"))


def test_missing_label_is_no_answer() -> None:
    t = table([("t", "a", (S(0, 2, "A"),)), ("t", "b", None), ("t", "c", (S(0, 2, "A"),))])
    # b did not answer: one pair (a, c), F1 = 1
    assert row(span_agreement(t), MICRO).n_pairs == 1
    assert row(span_agreement(t), MICRO).f1 == 1.0


def test_bad_match_option() -> None:
    with pytest.raises(ValueError, match="match must be one of exact, overlap; got 'fuzzy'"):
        span_agreement(EXAMPLE, match="fuzzy")  # type: ignore[arg-type]


def test_character_alpha_bootstrap_replicate_is_alpha_of_the_resampled_tasks() -> None:
    """A bootstrap replicate reweights per-task sums; it must equal the alpha of a table
    in which each task is copied as many times as it was drawn."""
    from labelcheck.agreement.intervals import Interval, bootstrap_tasks
    from labelcheck.io import read_annotations

    data = read_annotations(str(Path(__file__).parents[1] / "data" / "mixed" / "mixed_export.json"))
    rows = data.annotations[data.annotations["field"] == "ner"]
    lengths = dict(zip(data.tasks["task_id"], data.tasks["text"].str.len()))
    point = span_character_alpha(rows, text_lengths=lengths)
    result = span_character_alpha(rows, text_lengths=lengths, ci=Interval("bootstrap", n_boot=300, seed=3))
    assert result.value == point.value and result.ci is not None
    assert result.ci[0] < point.value < result.ci[1] and result.ci_method == "bootstrap-percentile"
    tasks = sorted(rows["task_id"].unique())  # the pairable tasks, in the order the replicate uses
    rng = np.random.default_rng(7)
    draws = np.bincount(rng.integers(0, len(tasks), len(tasks)), minlength=len(tasks))
    copies = []
    for t, r in zip(tasks, draws):
        for c in range(r):
            copy = rows[rows["task_id"] == t].copy()
            copy["task_id"] = f"{t}#{c}"
            copies.append(copy)
    resampled = pd.concat(copies, ignore_index=True)
    copied_lengths = {t: lengths[t.split("#")[0]] for t in resampled["task_id"].unique()}
    expected = span_character_alpha(resampled, text_lengths=copied_lengths).value
    captured: list[float] = []

    def spy(statistic, n_tasks, interval, value):  # type: ignore[no-untyped-def]
        captured.append(float(statistic(draws[None, :])[0]))
        return bootstrap_tasks(statistic, n_tasks, interval, value)

    import labelcheck.agreement.spans as spans_module

    original = spans_module.bootstrap_tasks
    spans_module.bootstrap_tasks = spy  # type: ignore[assignment]
    try:
        span_character_alpha(rows, text_lengths=lengths, ci="bootstrap")
    finally:
        spans_module.bootstrap_tasks = original  # type: ignore[assignment]
    assert captured[0] == pytest.approx(expected, abs=1e-12)
