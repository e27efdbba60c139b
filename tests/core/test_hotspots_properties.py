"""Property tests: the hotspot analysis does not depend on the order of rows, the
names of tasks or the names of annotators (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelcheck import table as T
from labelcheck.hotspots import find_hotspots


@st.composite
def projects(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_tasks = draw(st.integers(8, 30))
    n_annotators = draw(st.integers(3, 5))
    labels = draw(st.lists(st.sampled_from("abcd"), min_size=n_tasks * n_annotators,
                           max_size=n_tasks * n_annotators))
    present = draw(st.lists(st.booleans(), min_size=n_tasks * n_annotators,
                            max_size=n_tasks * n_annotators))
    rows = []
    for t in range(n_tasks):
        for a in range(n_annotators):
            i = t * n_annotators + a
            if present[i] or a < 2:  # every task has at least two answers
                day = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=(t * 3 + a) % 20)
                rows.append((f"t{t}", f"r{a}", labels[i], day))
    frame = pd.DataFrame(rows, columns=[T.TASK_ID, T.ANNOTATOR_ID, T.LABEL, T.CREATED_AT])
    tasks = pd.DataFrame({T.TASK_ID: [f"t{t}" for t in range(n_tasks)],
                          "group": ["g1" if t % 3 else "g2" for t in range(n_tasks)]})
    return frame, tasks


def summary(frame: pd.DataFrame, tasks: pd.DataFrame, rename_tasks: dict[str, str] | None = None,
            rename_annotators: dict[str, str] | None = None) -> list[tuple]:
    report = find_hotspots(T.from_records(frame.copy()), tasks, slices=["group"], period="week",
                           min_items=3, max_items=0)
    back_t = {v: k for k, v in (rename_tasks or {}).items()}
    back_a = {v: k for k, v in (rename_annotators or {}).items()}
    out = []
    for h in report.hotspots:
        key = h.key
        if h.kind in ("annotator", "annotator_bias"):
            key = back_a.get(key, key)
        if h.kind == "item":
            key = back_t.get(key, key)
        out.append((h.kind, str(key), round(h.agreement, 9), round(h.gain, 9),
                    None if h.p_value is None else round(h.p_value, 9), h.significant))
    return sorted(out)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects(), st.randoms(use_true_random=False))
def test_row_order_and_names_do_not_matter(project: tuple[pd.DataFrame, pd.DataFrame], rnd) -> None:  # type: ignore[no-untyped-def]
    frame, tasks = project
    try:
        base = summary(frame, tasks)
    except Exception as exc:  # noqa: BLE001 - data with one label in use has no hotspots
        from labelcheck.errors import LabelcheckError

        assert isinstance(exc, LabelcheckError)
        return
    order = list(range(len(frame)))
    rnd.shuffle(order)
    shuffled = frame.iloc[order].reset_index(drop=True)
    assert summary(shuffled, tasks) == base

    task_names = {f"t{i}": f"item-{(i * 7919) % 1000:03d}" for i in range(len(tasks))}
    who = sorted(frame[T.ANNOTATOR_ID].unique())
    people = dict(zip(who, [f"z{x}" for x in reversed(range(len(who)))]))
    renamed = shuffled.assign(task_id=shuffled[T.TASK_ID].map(task_names),
                              annotator_id=shuffled[T.ANNOTATOR_ID].map(people))
    renamed_tasks = tasks.assign(task_id=tasks[T.TASK_ID].map(task_names))
    assert summary(renamed, renamed_tasks, task_names, people) == base


@settings(max_examples=10, deadline=None)
@given(projects())
def test_shares_gains_and_q_values_are_in_range(project: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    frame, tasks = project
    if frame[T.LABEL].nunique() < 2:
        return
    report = find_hotspots(T.from_records(frame), tasks, slices=["group"], min_items=3)
    for h in report.hotspots:
        assert 0 <= h.share <= 1
        assert h.gap >= 0 and h.gain >= 0 and 0 <= h.priority <= h.gain + 1e-12
        if h.q_value is not None:
            assert h.p_value is not None and h.p_value <= h.q_value + 1e-12 <= 1 + 1e-12
    assert np.isfinite(report.overall.value)
