r"""Items (tasks) ranked by how much their annotators disagree.

For a pairable task :math:`u` with :math:`m_u` answers, :math:`n_{uc}` of them in
category :math:`c` and shares :math:`p_{uc} = n_{uc}/m_u`:

- observed disagreement :math:`D_{o,u} = \sum_{c,k} n_{uc} n_{uk} \delta_{ck} /
  (m_u (m_u - 1))`, the mean difference over the task's ordered pairs of answers
  (the task's term of Krippendorff's :math:`D_o`);
- agreement :math:`\alpha_u = 1 - D_{o,u} / D_e`, judged against the field's chance
  term :math:`D_e` (one task has no chance term of its own);
- vote entropy :math:`H_u = -\sum_c p_{uc} \log_2 p_{uc}` in bits (Dagan & Engelson
  1995), 0 when all agree;
- vote margin :math:`(n_{u(1)} - n_{u(2)}) / m_u`, the top label's lead over the
  runner-up in shares of the answers, 0 on a tie;
- with a consensus model's posterior :math:`\pi_{uc}`, its uncertainty
  :math:`1 - \max_c \pi_{uc}`.

As a hotspot, task :math:`u` has share :math:`m_u / n_{\cdot\cdot}` and gain
:math:`(m_u / n_{\cdot\cdot}) \max(0, \alpha^\ast - \alpha_u)`; it has no test and no
interval (a handful of answers cannot support one), so its priority is 0 and items
rank below the systematic hotspots, ordered by gain.

References
----------
Dagan, I., & Engelson, S. P. (1995). Committee-based sampling for training
probabilistic classifiers. Proceedings of the 12th International Conference on
Machine Learning (ICML 1995), 150-157.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.hotspots.coincidences import Coincidences
from labelcheck.hotspots.ranking import Hotspot, make_hotspot
from labelcheck.table import ANNOTATOR_ID, TASK_ID

#: Items listed as hotspots by default (the rest stay in :func:`item_disagreement`).
MAX_ITEM_HOTSPOTS = 20


def item_disagreement(
    co: Coincidences, posterior: pd.DataFrame | npt.NDArray[np.float64] | None = None
) -> pd.DataFrame:
    """One row per pairable task with its disagreement measures (module docstring).

    Parameters
    ----------
    co : the field's decomposition (:func:`labelcheck.hotspots.coincidences.coincidences`).
    posterior : optional consensus posterior: an array ``(n_tasks, n_categories)``
        aligned with ``co.coded.task_ids`` and ``co.coded.categories``, or a frame
        indexed by task id with one column per category.

    Returns
    -------
    pandas.DataFrame
        Columns ``task_id``, ``n_answers``, ``observed_disagreement``, ``agreement``,
        ``vote_entropy``, ``vote_margin``, ``majority`` (None on a tie),
        ``n_labels`` (distinct labels given) and, with a posterior,
        ``posterior_uncertainty``; sorted by agreement (lowest first), then task id.
    """
    pat = co.patterns.astype(np.float64)
    m = co.m_pattern
    p = pat / m[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(pat > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)
    top2 = -np.sort(-pat, axis=1)[:, :2] if pat.shape[1] > 1 else np.c_[pat, np.zeros(len(pat))]
    margin = (top2[:, 0] - top2[:, 1]) / m
    winner = pat.argmax(axis=1)
    tie = top2[:, 0] == top2[:, 1]
    cats = np.asarray([co.category(c) for c in range(co.n_categories)], dtype=object)
    majority = np.where(tie, cast(Any, None), cats[winner])
    up = co.unit_pattern
    frame = pd.DataFrame({
        TASK_ID: np.asarray(co.coded.task_ids[co.unit_task], dtype=object).astype(str),
        "n_answers": m[up].astype(np.int64),
        "observed_disagreement": co.unit_disagreement,
        "agreement": 1.0 - co.unit_disagreement / co.expected,
        "vote_entropy": entropy[up],
        "vote_margin": margin[up],
        "majority": majority[up],
        "n_labels": (co.patterns > 0).sum(axis=1)[up].astype(np.int64),
    })
    if posterior is not None:
        post = _posterior(co, posterior)[co.unit_task]
        frame["posterior_uncertainty"] = 1.0 - post.max(axis=1)
    order = np.lexsort((frame[TASK_ID].to_numpy(), frame["agreement"].to_numpy()))
    ranked: pd.DataFrame = frame.iloc[order].reset_index(drop=True)
    return ranked


def _posterior(co: Coincidences, posterior: Any) -> npt.NDArray[np.float64]:
    if isinstance(posterior, pd.DataFrame):
        aligned = posterior.reindex(index=co.coded.task_ids.astype(str), columns=co.coded.categories)
        return np.asarray(aligned.to_numpy(dtype=float), dtype=np.float64)
    arr = np.asarray(posterior, dtype=np.float64)
    expected = (co.coded.n_tasks, co.n_categories)
    if arr.shape != expected:
        raise ValueError(f"posterior must have shape {expected} (tasks x categories); got {arr.shape}")
    return arr


def select_items(
    items: pd.DataFrame,
    co: Coincidences,
    *,
    label: Any = None,
    annotator: str | None = None,
    column: pd.Series | None = None,
    value: Any = None,
) -> pd.DataFrame:
    """Filter :func:`item_disagreement`'s rows: tasks where someone answered ``label``,
    tasks ``annotator`` answered, and tasks whose slicing ``column`` (a series indexed
    by task id, e.g. a task table column) equals ``value``."""
    keep = np.ones(len(items), dtype=bool)
    ids = items[TASK_ID].to_numpy()
    if label is not None:
        code = co.coded.categories.get_indexer(pd.Index([label]))[0]
        tasks = set() if code < 0 else set(co.unit_ids(np.unique(co.unit[co.label == code])))
        keep &= np.isin(ids, list(tasks))
    if annotator is not None:
        frame = co.coded.frame
        who = frame[ANNOTATOR_ID].to_numpy()[co.coded.rows[co.answer]].astype(str)
        keep &= np.isin(ids, co.unit_ids(np.unique(co.unit[who == str(annotator)])))
    if column is not None:
        lookup = column.copy()
        lookup.index = lookup.index.astype(str)
        keep &= (lookup.reindex(ids) == value).to_numpy()
    return items[keep].reset_index(drop=True)


def item_hotspots(co: Coincidences, target: float, limit: int = MAX_ITEM_HOTSPOTS) -> list[Hotspot]:
    """The ``limit`` tasks with the largest gain (share x gap) as hotspots, with their
    answers (label counts and who gave which label) as evidence."""
    if limit <= 0:
        return []
    agreement = 1.0 - co.unit_disagreement / co.expected
    gains = co.unit_m * np.maximum(0.0, target - agreement)
    order = np.lexsort((co.unit_task, -gains))[:limit]
    order = order[gains[order] > 0]
    chosen = np.zeros(co.n_units, dtype=bool)
    chosen[order] = True
    rows = np.flatnonzero(chosen[co.unit])
    who = co.coded.frame[ANNOTATOR_ID].to_numpy()[co.coded.rows[co.answer[rows]]]
    answers: dict[int, list[tuple[str, Any]]] = {}
    for u, a, c in zip(co.unit[rows], who, co.label[rows]):
        answers.setdefault(int(u), []).append((str(a), co.category(int(c))))
    out: list[Hotspot] = []
    for u in order:
        task_id = co.unit_ids(np.array([u]))[0]
        counts = {str(co.category(c)): int(n) for c, n in enumerate(co.patterns[co.unit_pattern[u]]) if n}
        out.append(make_hotspot(
            "item", task_id,
            share=co.unit_m[u] / co.n_values, agreement=float(agreement[u]), target=target,
            n_items=1, n_annotations=int(co.unit_m[u]),
            evidence={
                "counts": counts,
                "example_item_ids": [task_id],
                "answers": [{"annotator_id": a, "label": lab} for a, lab in answers[int(u)]],
                "observed_disagreement": float(co.unit_disagreement[u]),
            },
        ))
    return out


__all__ = ["MAX_ITEM_HOTSPOTS", "item_disagreement", "item_hotspots", "select_items"]
