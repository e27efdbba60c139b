"""The bundled demo project tells the story planted in it (``labelcheck/demo/README.md``).

Later features (hotspots, revision effect, consensus, the app's overview) are tested on
this demo, so the planted effects must stay where the README says they are: if the
generator (``scripts/make_demo.py``) changes, these tests say which part of the story broke.
The thresholds are the README's figures with room for a re-seeded generator, not fits
to one draw.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

import labelcheck
from labelcheck import table as T
from labelcheck.agreement import krippendorff_alpha
from labelcheck.agreement.breakdown import by_annotator, by_slice
from labelcheck.io import read_annotations
from labelcheck.table import Dataset, count_matrix, encode

DEMO = Path(labelcheck.__file__).parent / "demo"
EXPORT = DEMO / "support_tickets.json"
GENERATOR = Path(__file__).resolve().parents[2] / "scripts" / "make_demo.py"
GENERATED = ("support_tickets.json", "label_config.xml", "annotators.json", "truth.csv")
PAIR = ("Billing", "Refund")


def _load_generator() -> ModuleType:
    """``scripts/make_demo.py`` as a module (scripts are not a package)."""
    name = "labelcheck_demo_generator"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


GEN = _load_generator()
REVISION = pd.Timestamp(GEN.REVISION)
CONTRARIAN, CARELESS = str(GEN.CONTRARIAN), str(GEN.CARELESS)


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return read_annotations(EXPORT)


@pytest.fixture(scope="module")
def intent(demo: Dataset) -> pd.DataFrame:
    return demo.annotations[demo.annotations[T.FIELD] == "intent"]


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return pd.read_csv(DEMO / "truth.csv", dtype={"task_id": str}).set_index("task_id")


# --- the project's shape ----------------------------------------------------------
def test_the_export_loads_cleanly_with_two_fields_of_different_levels(demo: Dataset) -> None:
    assert demo.report.problems == []
    assert demo.report.n_cancelled == GEN.N_CANCELLED
    assert demo.fields["intent"].level == "nominal"
    assert demo.fields["urgency"].level == "ordinal"
    assert len(demo.tasks) == GEN.N_TASKS
    assert {"channel", "language", "text_length", "ticket_id", "text"} <= set(demo.tasks.columns)
    lengths = demo.tasks["text"].str.len()
    assert (pd.to_numeric(demo.tasks["text_length"]) == lengths).all()


def test_overlap_design_three_to_five_annotators_a_few_tasks_with_one(intent: pd.DataFrame) -> None:
    per_task = intent.groupby(T.TASK_ID)[T.ANNOTATOR_ID].nunique()
    assert per_task.value_counts().get(1, 0) == GEN.N_SINGLE
    assert set(per_task[per_task > 1]) == {3, 4, 5}
    assert intent[T.ANNOTATOR_ID].nunique() == 8
    assert not intent.duplicated([T.TASK_ID, T.ANNOTATOR_ID]).any()


def test_truth_covers_every_task_and_the_rare_class_is_rare(
    demo: Dataset, intent: pd.DataFrame, truth: pd.DataFrame
) -> None:
    assert set(truth.index) == set(demo.tasks[T.TASK_ID])
    assert set(truth["intent"]) == set(GEN.INTENTS)
    assert 0.02 <= (truth["intent"] == "Legal complaint").mean() <= 0.05
    assert 0.02 <= (intent[T.LABEL] == "Legal complaint").mean() <= 0.05


def test_work_happens_in_berlin_working_hours_over_eight_weeks(intent: pd.DataFrame) -> None:
    created = intent[T.CREATED_AT]
    span = created.max() - created.min()
    assert pd.Timedelta(weeks=7) < span < pd.Timedelta(weeks=8)
    assert 0.5 < (REVISION - created.min()) / span < 0.6  # the revision, about 55% in
    # CET is UTC+1 until 2025-03-30, CEST UTC+2 from then (the generator's calendar)
    offset = np.where(created >= pd.Timestamp("2025-03-30", tz="UTC"), 2, 1)
    local = created.dt.tz_localize(None) + pd.to_timedelta(offset, unit="h")
    assert (local.dt.dayofweek < 5).all()
    assert local.dt.hour.between(8, 16).all() and not (local.dt.hour == 12).any()


# --- the planted story ------------------------------------------------------------
def test_overall_intent_alpha_is_in_a_realistic_band(intent: pd.DataFrame) -> None:
    alpha = krippendorff_alpha(intent, field="intent").value
    assert 0.55 <= alpha <= 0.80


def _coincidences(frame: pd.DataFrame) -> pd.DataFrame:
    """Krippendorff's coincidence matrix: o_ck = sum_u n_uc n_uk / (m_u - 1)."""
    coded = encode(frame, field="intent")
    n = count_matrix(coded).astype(float)
    m = n.sum(axis=1)
    w = np.divide(1.0, m - 1, out=np.zeros_like(m), where=m > 1)
    o = n.T @ (n * w[:, None]) - np.diag((n * w[:, None]).sum(axis=0))
    return pd.DataFrame(o, index=coded.categories, columns=coded.categories)


def test_billing_and_refund_are_the_most_confused_pair(intent: pd.DataFrame) -> None:
    o = _coincidences(intent)
    labels = list(o.index)
    pairs = {
        (a, b): o.loc[a, b] for i, a in enumerate(labels) for b in labels[i + 1:]
    }
    ranked = sorted(pairs.items(), key=lambda kv: -kv[1])
    assert set(ranked[0][0]) == set(PAIR)
    assert ranked[0][1] > 2.5 * ranked[1][1]


def _pair_alpha(frame: pd.DataFrame) -> float:
    """Alpha on the tasks where someone chose Billing or Refund (issue 8's "targeted")."""
    touched = frame.loc[frame[T.LABEL].isin(PAIR), T.TASK_ID].unique()
    return krippendorff_alpha(frame[frame[T.TASK_ID].isin(touched)], field="intent").value


def test_agreement_on_the_confused_pair_rises_after_the_revision(intent: pd.DataFrame) -> None:
    before = intent[intent[T.CREATED_AT] < REVISION]
    after = intent[intent[T.CREATED_AT] >= REVISION]
    assert _pair_alpha(after) - _pair_alpha(before) > 0.15
    overall_before = krippendorff_alpha(before, field="intent").value
    overall_after = krippendorff_alpha(after, field="intent").value
    assert overall_after - overall_before > 0.05


def test_contrarian_reads_refund_as_billing_and_partly_corrects(
    intent: pd.DataFrame, truth: pd.DataFrame
) -> None:
    theirs = intent[(intent[T.ANNOTATOR_ID] == CONTRARIAN)
                    & (intent[T.TASK_ID].map(truth["intent"]) == "Refund")]
    billing = theirs[T.LABEL] == "Billing"
    before = billing[theirs[T.CREATED_AT] < REVISION].mean()
    after = billing[theirs[T.CREATED_AT] >= REVISION].mean()
    assert before > 0.8 and 0.2 < after < 0.6


def test_contrarian_and_careless_are_the_two_lowest_annotators(intent: pd.DataFrame) -> None:
    results = by_annotator(intent, "krippendorff_alpha", field="intent")
    by_value = sorted(results, key=lambda r: r.value)
    assert [r.details["annotator"] for r in by_value[:2]] == [CARELESS, CONTRARIAN]
    assert by_value[2].value - by_value[1].value > 0.03
    by_delta = sorted(results, key=lambda r: r.details["delta"])
    assert {r.details["annotator"] for r in by_delta[:2]} == {CARELESS, CONTRARIAN}


def test_careless_annotator_is_fast(intent: pd.DataFrame) -> None:
    median = intent.groupby(T.ANNOTATOR_ID)[T.LEAD_TIME].median()
    assert median[CARELESS] < 0.5 * median.drop(CARELESS).min()


def test_phone_transcripts_are_the_hardest_channel(demo: Dataset, intent: pd.DataFrame) -> None:
    results = by_slice(intent, demo.tasks, "krippendorff_alpha", "channel", field="intent")
    values = {r.details["slice"]["value"]: r.value for r in results}
    assert set(values) == set(GEN.CHANNELS)
    assert min(values, key=values.__getitem__) == "phone"
    assert min(v for k, v in values.items() if k != "phone") - values["phone"] > 0.1


# --- the files around the export -------------------------------------------------
def test_guidelines_and_readme_tell_the_same_story() -> None:
    v1 = (DEMO / "guideline_v1.md").read_text(encoding="utf-8")
    v2 = (DEMO / "guideline_v2.md").read_text(encoding="utf-8")
    sentence = "Tickets about money charged to the customer are Billing."
    billing_v2 = v2.split("### Billing", 1)[1].split("###", 1)[0]
    assert sentence in v1 and sentence not in billing_v2
    assert all(f"### {intent}" in v1 and f"### {intent}" in v2 for intent in GEN.INTENTS)
    readme = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "2025-04-01T09:00:00Z" in readme and REVISION.isoformat().startswith("2025-04-01T09:00:00")
    assert f"annotator {CONTRARIAN}" in readme and f"annotator {CARELESS}" in readme
    config = (DEMO / "label_config.xml").read_text(encoding="utf-8")
    assert all(f'<Choice value="{intent}"/>' in config for intent in GEN.INTENTS)


@pytest.mark.slow
def test_the_generator_rewrites_the_shipped_files_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    GEN.main(["--out", str(tmp_path)])
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name
