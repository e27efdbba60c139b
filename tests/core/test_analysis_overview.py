"""The project overview payload: pinned to published worked examples and to the
agreement functions it summarises."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck import table as T
from labelcheck.agreement import fleiss_kappa, gwet_ac1, krippendorff_alpha, percent_agreement
from labelcheck.agreement.breakdown import by_annotator, by_period
from labelcheck.agreement.intervals import Interval
from labelcheck.analysis import overview as ov
from labelcheck.analysis.overview import (
    alpha_from_coincidences,
    annotator_table,
    coincidence_matrix,
    project_overview,
    slice_summary,
)
from tests.conftest import make_table
from tests.reference.data_fleiss1971 import DIAGNOSES

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", pp. 5-9: 4 observers
# (rows), 12 units (columns), values 1-5, None = missing.
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
# The coincidence matrix printed on p. 6 (values 1-5); n_c = 9, 13, 10, 5, 3; n.. = 40.
F = Fraction
K2011_COINCIDENCES = [
    [7, F(4, 3), F(1, 3), F(1, 3), 0],
    [F(4, 3), 10, F(4, 3), F(1, 3), 0],
    [F(1, 3), F(4, 3), 8, F(1, 3), 0],
    [F(1, 3), F(1, 3), F(1, 3), 4, 0],
    [0, 0, 0, 0, 3],
]
K2011_N_C = [9, 13, 10, 5, 3]
# Alpha of the same data, p. 7-9 (three decimals).
K2011_ALPHA = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
# Fleiss (1971), p. 381: kappa .430; per category kappa_j and shares p_j.
FLEISS_KAPPA = 0.430
FLEISS_CLASS_KAPPAS = {1: 0.245, 2: 0.245, 3: 0.520, 4: 0.471, 5: 0.566}
FLEISS_SHARES = {1: 0.144, 2: 0.144, 3: 0.167, 4: 0.306, 5: 0.239}


def k2011_table() -> pd.DataFrame:
    return make_table(
        (f"u{j + 1}", f"o{i + 1}", v)
        for i, row in enumerate(K2011) for j, v in enumerate(row) if v is not None
    )


def dataset(
    annotations: pd.DataFrame, fields: dict[str, T.FieldSpec] | None = None,
    tasks: pd.DataFrame | None = None,
) -> T.Dataset:
    if tasks is None:
        tasks = pd.DataFrame({T.TASK_ID: pd.unique(annotations[T.TASK_ID])})
    return T.Dataset(annotations, tasks, fields or {}, T.ImportReport("test"))


def field_of(payload: dict, name: str) -> dict:
    return next(f for f in payload["fields"] if f["name"] == name)


# --- coincidences -----------------------------------------------------------------------
def test_coincidence_matrix_is_krippendorff_2011_published_table() -> None:
    counts = T.count_matrix(T.encode(k2011_table(), level="interval"))
    observed, expected = coincidence_matrix(counts)
    assert observed == pytest.approx(np.array(K2011_COINCIDENCES, dtype=float), abs=1e-12)
    assert observed.sum(axis=1) == pytest.approx(K2011_N_C)
    # e_ck = n_c (n_k - [c = k]) / (n.. - 1), worked by hand: e_12 = 9 * 13 / 39 = 3,
    # e_11 = 9 * 8 / 39, e_55 = 3 * 2 / 39
    assert expected[0, 1] == pytest.approx(3.0)
    assert expected[0, 0] == pytest.approx(72 / 39)
    assert expected[4, 4] == pytest.approx(6 / 39)
    assert expected.sum() == pytest.approx(40.0)
    for level, published in K2011_ALPHA.items():
        value = alpha_from_coincidences(observed, level, np.arange(1.0, 6.0))
        assert value == pytest.approx(published, abs=5e-4)


def test_coincidences_ignore_single_answer_tasks_and_handle_no_pairs() -> None:
    observed, expected = coincidence_matrix([[1, 0], [0, 1]])
    assert not observed.any() and not expected.any()
    assert math.isnan(alpha_from_coincidences(observed, "nominal"))
    with_single, _ = coincidence_matrix([[2, 1], [0, 1]])
    without, _ = coincidence_matrix([[2, 1]])
    assert with_single == pytest.approx(without)


def test_overview_confusion_is_in_declared_category_order() -> None:
    spec = T.FieldSpec("label", "rating", "ordinal", categories=(5, 4, 3, 2, 1, 0))
    payload = project_overview(dataset(k2011_table(), {"label": spec}), n_boot=50)
    confusion = field_of(payload, "label")["confusion"]
    assert confusion["categories"] == [5, 4, 3, 2, 1, 0]
    observed = np.array(confusion["observed"])
    published = np.array(K2011_COINCIDENCES, dtype=float)[::-1, ::-1]
    assert observed[:5, :5] == pytest.approx(published, abs=1e-12)
    assert not observed[5].any()  # declared, never used: a row of zeros
    assert confusion["row_normalised"][5] == [None] * 6
    assert confusion["row_normalised"][0][0] == pytest.approx(1.0)  # 5 only ever meets 5
    assert confusion["ratio"][0][0] == pytest.approx(3 / (6 / 39))


# --- coefficients -------------------------------------------------------------------------
def test_coefficients_match_the_agreement_functions() -> None:
    table = k2011_table()
    spec = T.FieldSpec("label", "rating", "interval")
    payload = project_overview(dataset(table, {"label": spec}), n_boot=200, seed=3)
    coefs = {c["name"]: c for c in field_of(payload, "label")["coefficients"]}
    assert list(coefs) == ["krippendorff_alpha", "fleiss_kappa", "gwet_ac2",
                           "percent_agreement", "icc_oneway"]
    boot = Interval("bootstrap", n_boot=200, seed=3)
    alpha = krippendorff_alpha(table, level="interval", ci=boot)
    assert coefs["krippendorff_alpha"]["value"] == pytest.approx(K2011_ALPHA["interval"], abs=5e-4)
    assert coefs["krippendorff_alpha"]["value"] == pytest.approx(alpha.value, abs=1e-12)
    assert alpha.ci is not None
    assert [coefs["krippendorff_alpha"]["ci_low"], coefs["krippendorff_alpha"]["ci_high"]] == \
        pytest.approx(list(alpha.ci), abs=1e-12)
    assert coefs["krippendorff_alpha"]["ci_method"] == "bootstrap-percentile"
    assert coefs["krippendorff_alpha"]["band"] == "reliable"
    assert coefs["krippendorff_alpha"]["band_class"] == "band-good"
    fleiss = fleiss_kappa(table)
    assert coefs["fleiss_kappa"]["value"] == pytest.approx(fleiss.value, abs=1e-12)
    assert fleiss.ci is not None
    assert coefs["fleiss_kappa"]["ci_low"] == pytest.approx(fleiss.ci[0], abs=1e-12)
    assert coefs["fleiss_kappa"]["ci_method"] == "analytic-t"
    assert coefs["icc_oneway"]["ci_method"] == "F"
    assert coefs["percent_agreement"]["band"] is None  # not chance-corrected: no band
    assert coefs["gwet_ac2"]["weights"] == "quadratic"


def test_fleiss_1971_per_class_table_is_the_published_one() -> None:
    table = make_table((f"p{i}", f"slot{j}", d) for i, row in enumerate(DIAGNOSES)
                       for j, d in enumerate(row))
    spec = T.FieldSpec("label", "choice", "nominal", categories=(1, 2, 3, 4, 5))
    field = field_of(project_overview(dataset(table, {"label": spec}), n_boot=50), "label")
    coefs = {c["name"]: c for c in field["coefficients"]}
    assert coefs["fleiss_kappa"]["value"] == pytest.approx(FLEISS_KAPPA, abs=5e-4)
    assert coefs["fleiss_kappa"]["band"] == "moderate"  # Landis & Koch: .41-.60
    assert coefs["gwet_ac1"]["value"] == pytest.approx(gwet_ac1(table).value, abs=1e-12)
    assert coefs["percent_agreement"]["value"] == pytest.approx(
        percent_agreement(table).value, abs=1e-12)
    assert "icc_oneway" not in coefs  # nominal
    rows = {r["class"]: r for r in field["classes"]}
    assert list(rows) == [1, 2, 3, 4, 5]
    for category, published in FLEISS_CLASS_KAPPAS.items():
        assert rows[category]["kappa"] == pytest.approx(published, abs=5e-4)
        assert rows[category]["share"] == pytest.approx(FLEISS_SHARES[category], abs=5e-4)
        assert rows[category]["ci_low"] < rows[category]["kappa"] < rows[category]["ci_high"]
    assert sum(r["n_answers"] for r in rows.values()) == 180
    summary = field["summary"]
    assert summary == {"items": 30, "annotations": 180, "annotators": 6, "items_multi": 30,
                       "categories_used": 5, "categories": 5}


def test_undefined_values_are_none_with_a_reason_and_payload_is_strict_json() -> None:
    table = make_table([("t1", "a", "x"), ("t1", "b", "x"), ("t2", "a", "x"), ("t2", "b", "x")])
    payload = project_overview(dataset(table), n_boot=20)
    json.dumps(payload, allow_nan=False)
    coefs = {c["name"]: c for c in field_of(payload, "label")["coefficients"]}
    assert coefs["krippendorff_alpha"]["value"] is None
    assert "one label" in coefs["krippendorff_alpha"]["reason"]
    assert coefs["krippendorff_alpha"]["band"] == "undefined"


# --- per annotator ------------------------------------------------------------------------
def awkward_table() -> pd.DataFrame:
    """Missing answers, a task with one answer, an annotator who answers a task twice
    and one who shares no task with anyone."""
    rows = [
        ("t1", "a", 1), ("t1", "b", 1), ("t1", "c", 2),
        ("t2", "a", 2), ("t2", "b", 3), ("t2", "c", 3), ("t2", "d", 3),
        ("t3", "a", 4), ("t3", "b", 4),
        ("t4", "b", 1), ("t4", "c", 1), ("t4", "c", 2), ("t4", "d", 1),
        ("t5", "a", 3),
        ("t6", "e", 2),
        ("t7", "c", 4), ("t7", "d", 4), ("t7", "a", 3),
    ]
    return make_table(rows, lead_time=[float(i) for i in range(len(rows))])


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_annotator_table_equals_by_annotator(level: T.Level) -> None:
    coded = T.encode(awkward_table(), level=level)
    mine = annotator_table(coded, level)
    reference = by_annotator(coded, "krippendorff_alpha", level=level, ci=None)
    assert [r["annotator"] for r in mine] == [r.details["annotator"] for r in reference]
    for row, ref in zip(mine, reference):
        assert row["alpha_without"] == pytest.approx(
            ref.details["leave_one_out"], abs=1e-12, nan_ok=True)
        assert row["delta"] == pytest.approx(ref.details["delta"], abs=1e-12, nan_ok=True)
        assert row["alpha_with_peers"] == pytest.approx(ref.value, abs=1e-12, nan_ok=True)
    by_id = {r["annotator"]: r for r in mine}
    assert by_id["e"]["n_pairs"] == 0 and by_id["e"]["agreement_with_peers"] is None
    assert "shares no task" in by_id["e"]["reason"]
    # c answered t4 twice (1, 2): 2 answers x 2 peers' answers = 4 pairs, 2 agree (the 1s)
    # plus t1 (2 vs 1, 1), t2 (3 vs 2, 3, 3), t7 (4 vs 4, 3): 11 pairs, 5 agree
    assert (by_id["c"]["n_pairs"], by_id["c"]["n_answers"]) == (11, 5)
    assert by_id["c"]["agreement_with_peers"] == pytest.approx(5 / 11)
    # lead times: a answered rows 0, 3, 7, 13, 17
    assert by_id["a"]["mean_lead_time"] == pytest.approx((0 + 3 + 7 + 13 + 17) / 5)


def test_annotator_table_fallback_for_many_categories(monkeypatch: pytest.MonkeyPatch) -> None:
    coded = T.encode(awkward_table(), level="interval")
    fast = annotator_table(coded, "interval")
    monkeypatch.setattr(ov, "MAX_TABLE_CATEGORIES", 1)
    slow = annotator_table(coded, "interval")
    for a, b in zip(fast, slow):
        assert a == pytest.approx(b, nan_ok=True)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 4), st.integers(0, 3)),
                min_size=2, max_size=40))
def test_annotator_table_equals_by_annotator_on_random_tables(
    rows: list[tuple[int, int, int]],
) -> None:
    table = make_table((f"t{t}", f"a{a}", f"l{lab}") for t, a, lab in rows)
    coded = T.encode(table)
    mine = annotator_table(coded, "nominal")
    reference = by_annotator(coded, "krippendorff_alpha", ci=None)
    for row, ref in zip(mine, reference):
        assert row["annotator"] == ref.details["annotator"]
        assert row["alpha_without"] == pytest.approx(
            ref.details["leave_one_out"], abs=1e-9, nan_ok=True)
        assert row["alpha_with_peers"] == pytest.approx(ref.value, abs=1e-9, nan_ok=True)


# --- over time, slices, field kinds -------------------------------------------------------
def test_over_time_is_weekly_alpha_of_by_period() -> None:
    table = awkward_table()
    days = [0, 1, 2, 8, 9, 10, 11, 15, 16, 2, 3, 3, 9, 1, 2, 16, 16, 17]
    table[T.CREATED_AT] = pd.Timestamp("2024-03-04", tz="UTC") + pd.to_timedelta(days, unit="D")
    payload = project_overview(dataset(table), n_boot=100, seed=1)
    over = field_of(payload, "label")["over_time"]
    assert over["freq"] == "week" and over["reason"] is None
    reference = by_period(table, "krippendorff_alpha", "week",
                          ci=Interval("bootstrap", n_boot=100, seed=1))
    assert [p["period"] for p in over["points"]] == [r.details["period"] for r in reference]
    assert [p["period"] for p in over["points"]] == ["2024-03-04", "2024-03-11", "2024-03-18"]
    for point, ref in zip(over["points"], reference):
        assert point["value"] == pytest.approx(ref.value, abs=1e-12, nan_ok=True)
        assert point["n_items"] == ref.n_items
        if ref.ci is not None:
            assert [point["ci_low"], point["ci_high"]] == pytest.approx(list(ref.ci), abs=1e-12)


def test_over_time_without_created_at_says_why() -> None:
    over = field_of(project_overview(dataset(awkward_table()), n_boot=20), "label")["over_time"]
    assert over["points"] == [] and "created_at" in over["reason"]


def test_slices_are_scalar_columns_with_few_values() -> None:
    tasks = pd.DataFrame({
        T.TASK_ID: [f"t{i}" for i in range(150)],
        "channel": ["email", "chat", None] * 50,
        "length": [i % 7 for i in range(150)],
        "text": [f"text {i}" for i in range(150)],
        "meta": [{"a": i} for i in range(150)],
    })
    assert slice_summary(tasks) == [
        {"column": "channel", "n_values": 2, "values": ["chat", "email"]},
        {"column": "length", "n_values": 7, "values": [0, 1, 2, 3, 4, 5, 6]},
    ]


def test_every_answer_type_is_analysed_with_its_own_measures() -> None:
    span = (T.Span(0, 4, ("PER",)),)
    rows = make_table([("t1", "a", "x"), ("t1", "b", "y"), ("t2", "a", "x"), ("t2", "b", "x")])
    spans = make_table([("t1", "a", span), ("t1", "b", span)], field="ner")
    tags = make_table([("t1", "a", ("p", "q")), ("t1", "b", ("q",))], field="tags")
    table = T.from_records(pd.concat([rows, spans, tags], ignore_index=True))
    fields = {"label": T.FieldSpec("label"), "ner": T.FieldSpec("ner", "span"),
              "notes": T.FieldSpec("notes", "text")}
    payload = project_overview(dataset(table, fields), n_boot=20)
    assert [f["name"] for f in payload["fields"]] == ["label", "ner", "tags", "notes"]
    by_name = {f["name"]: f for f in payload["fields"]}
    assert by_name["label"]["analysed"] is True
    # spans and multi-label sets get their own coefficients (labelcheck.analysis.structured)
    assert by_name["ner"]["analysed"] is True
    assert [c["name"] for c in by_name["ner"]["coefficients"]] == [
        "span_character_alpha", "span_f1_exact", "span_f1_overlap"]
    assert by_name["ner"]["coefficients"][1]["value"] == 1.0  # the two annotations agree
    assert by_name["tags"]["value_type"] == "multichoice" and by_name["tags"]["analysed"] is True
    assert by_name["tags"]["coefficients"][0]["name"] == "multilabel_alpha"
    assert by_name["notes"]["reason"] == "no answers in this field"
    assert payload["totals"] == {"items": 2, "annotations": 4, "annotators": 2, "fields": 4}


def test_a_field_the_loader_cannot_encode_is_reported() -> None:
    table = make_table([("t1", "a", "low"), ("t1", "b", "high")])
    spec = T.FieldSpec("label", "choice", "ordinal")  # string labels, no order declared
    field = field_of(project_overview(dataset(table, {"label": spec}), n_boot=20), "label")
    assert field["analysed"] is False
    assert field["reason"].startswith("not analysed: ") and "categories" in field["reason"]


def test_same_seed_same_payload_and_progress_reaches_one() -> None:
    seen: list[tuple[float, str]] = []
    data = dataset(k2011_table())
    first = project_overview(data, n_boot=100, seed=7, progress=lambda f, m: seen.append((f, m)))
    assert first == project_overview(data, n_boot=100, seed=7)
    assert seen[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in seen)
    assert first["settings"] == {"n_boot": 100, "confidence": 0.95, "seed": 7}


def test_edge_tables_give_reasons_not_errors() -> None:
    empty = project_overview(dataset(T.from_records([])), n_boot=20)
    assert empty["fields"] == [] and empty["totals"]["annotations"] == 0
    unlabelled = make_table([("t1", "a", None), ("t1", "b", None)])
    missing = project_overview(dataset(unlabelled), n_boot=20)
    assert field_of(missing, "label")["reason"] == "no answer in this field has a label"
    alone = field_of(project_overview(dataset(make_table([("t1", "a", "x"), ("t2", "a", "y")])),
                                      n_boot=20), "label")
    assert all(c["value"] is None and c["reason"] for c in alone["coefficients"])
    assert "shares no task" in alone["annotators"][0]["reason"]
    json.dumps([empty, missing, alone], allow_nan=False)


def test_numeric_field_with_many_values_skips_count_tables() -> None:
    rng = np.random.default_rng(0)
    table = make_table((f"t{i // 3}", f"a{i % 5}", float(rng.integers(0, 400))) for i in range(600))
    spec = T.FieldSpec("label", "number", "interval")
    field = field_of(project_overview(dataset(table, {"label": spec}), n_boot=20), "label")
    assert [c["name"] for c in field["coefficients"]] == ["krippendorff_alpha", "icc_oneway"]
    assert field["classes"] is None and "too many" in field["classes_reason"]
    assert field["confusion"] is None
    reference = by_annotator(T.encode(table, level="interval"), "krippendorff_alpha",
                             level="interval", ci=None)
    assert [r["alpha_without"] for r in field["annotators"]] == pytest.approx(
        [r.details["leave_one_out"] for r in reference], abs=1e-12)
