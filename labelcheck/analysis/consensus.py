r"""The consensus part of a project's analysis: per choice field, the Dawid-Skene label
and posterior of every item, each annotator's reliability, and how much each item
needs a lead's adjudication.  Pure; the pipeline stores the per-item columns in
``item_stat`` and the per-field payload as the ``consensus`` result.

*Adjudication need.*  For an item :math:`u` with :math:`m_u \ge 2` answers, Dawid-Skene
posterior :math:`\hat p_u` of its consensus label (Dawid & Skene 1979), and
:math:`s_u` the largest priority share of the field's top slice hotspots that contain
the item (:mod:`labelcheck.hotspots`: priority divided by the top slice's priority, so
in :math:`[0, 1]`; 0 when the item is in none):

.. math:: \mathrm{need}_u = (1 - \hat p_u)\,(1 + s_u) + [\text{majority vote tied}]

An item the model is unsure about comes first, more so in a slice where the field
agrees worst; an item majority vote leaves tied comes before any untied one (it is
unresolved under the default tie policy, so an export drops it unless a lead decides).
Items with one answer have no need (nothing disagrees); they can still be adjudicated.

References
----------
Dawid, A. P., & Skene, A. M. (1979). Maximum likelihood estimation of observer
error-rates using the EM algorithm. Journal of the Royal Statistical Society C,
28(1), 20-28. https://doi.org/10.2307/2346806
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.analysis.items import label_string
from labelcheck.table import FIELD, TASK_ID, Dataset

Progress = Callable[[float, str], None]

#: Value types the consensus models read (one category per answer).
CONSENSUS_TYPES = frozenset({"choice"})
#: A posterior below this counts as low confidence in the summary and the queue.
LOW_CONFIDENCE = 0.8
#: Slice hotspots (highest priority first) whose items get the impact boost.
TOP_SLICES = 5
#: Confusion matrices are kept for fields with at most this many categories.
MAX_CONFUSION_CATEGORIES = 15
#: Per-item columns, in the order ``item_stat`` stores them.
COLUMNS = ("task_id", "field", "consensus_label", "consensus_confidence", "need", "need_reason")


def project_consensus(dataset: Dataset, fields: list[dict[str, Any]],
                      hotspots: dict[str, dict[str, Any]] | None = None, *,
                      progress: Progress | None = None) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Consensus of every analysed choice field of ``dataset``.

    Parameters
    ----------
    dataset : the snapshot.
    fields : the overview's field list (``name``, ``value_type``, ``analysed``,
        ``categories``).
    hotspots : ``{field: report}`` from :func:`labelcheck.analysis.hotspots.project_hotspots`
        (its slice hotspots weigh the need); None for no weighting.

    Returns
    -------
    (items, payloads)
        ``items``: one row per (task, field) with :data:`COLUMNS`; ``payloads``:
        ``{field: {...}}`` with the model's summary and one entry per annotator
        (``annotator_id``, ``n_answers``, ``reliability``, ``agreement_with_majority``,
        ``confusion``) or ``{"skipped": reason}``.
    """
    from labelcheck.consensus import dawid_skene, majority_vote

    chosen = [f for f in fields if f.get("analysed") and f.get("value_type") in CONSENSUS_TYPES]
    frames: list[pd.DataFrame] = []
    payloads: dict[str, dict[str, Any]] = {}
    annotations = dataset.annotations
    for k, spec in enumerate(chosen):
        name = spec["name"]
        if progress:
            progress(k / max(len(chosen), 1), f"consensus of {name}")
        rows = annotations[(annotations[FIELD] == name).to_numpy()]
        categories = spec.get("categories") or None
        try:
            ds = dawid_skene(rows, field=name, categories=categories)
            mv = majority_vote(rows, field=name, categories=categories)
        except Exception as err:  # a field the models cannot read is reported, not fatal
            payloads[name] = {"skipped": f"{type(err).__name__}: {err}"}
            continue
        boost = _slice_boost(dataset.tasks, (hotspots or {}).get(name), ds.item_ids)
        frames.append(_item_rows(name, ds, mv, boost))
        payloads[name] = _payload(ds, mv)
    items = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    return items, payloads


def _item_rows(name: str, ds: Any, mv: Any,
               boost: tuple[npt.NDArray[np.float64], npt.NDArray[np.object_]]) -> pd.DataFrame:
    share, slice_name = boost
    mv_tie = mv.tie[mv.item_ids.get_indexer(ds.item_ids)]
    confidence = ds.confidence.astype(float)
    multi = ds.n_answers >= 2
    need = np.where(multi, (1.0 - confidence) * (1.0 + share) + mv_tie.astype(float), np.nan)
    labels = [None if c < 0 else label_string(ds.categories[c]) for c in ds.codes]
    reasons: list[str | None] = []
    for i in range(len(ds.item_ids)):
        if not multi[i]:
            reasons.append(None)
            continue
        parts = [f"posterior {confidence[i]:.2f}"]
        if mv_tie[i]:
            parts.append("majority vote tied")
        if ds.reasons[i]:
            parts.append(str(ds.reasons[i]))
        if slice_name[i]:
            parts.append(f"in slice {slice_name[i]}")
        reasons.append("; ".join(parts))
    return pd.DataFrame({
        TASK_ID: ds.item_ids.astype(str), FIELD: name, "consensus_label": labels,
        "consensus_confidence": confidence, "need": need, "need_reason": reasons,
    })


def _slice_boost(tasks: pd.DataFrame, report: dict[str, Any] | None,
                 item_ids: pd.Index) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.object_]]:
    """Per item, the largest relative priority of a top slice hotspot containing it,
    and that slice's name (``column=value``)."""
    share = np.zeros(len(item_ids))
    names = np.full(len(item_ids), None, dtype=object)
    if not report or "hotspots" not in report or tasks is None or tasks.empty:
        return share, names
    slices = [h for h in report["hotspots"] if h.get("kind") == "slice" and (h.get("priority") or 0) > 0]
    slices = sorted(slices, key=lambda h: -float(h["priority"]))[:TOP_SLICES]
    if not slices:
        return share, names
    top = float(slices[0]["priority"])
    frame = tasks.set_index(TASK_ID) if TASK_ID in tasks.columns else tasks
    frame = frame.reindex(item_ids.astype(str))
    for h in slices:
        column, value = h["key"].get("column"), h["key"].get("value")
        if column not in frame.columns:
            continue
        inside = (frame[column].astype(str) == str(value)).to_numpy()
        weight = float(h["priority"]) / top
        better = inside & (weight > share)
        share[better] = weight
        names[better] = f"{column}={value}"
    return share, names


def _payload(ds: Any, mv: Any) -> dict[str, Any]:
    resolved = ds.codes >= 0
    multi = ds.n_answers >= 2
    mv_agreement = _agreement_with_majority(mv)
    k = len(ds.categories)
    confusion = ds.annotator_details.get("confusion")
    annotators = []
    for j, annotator in enumerate(ds.annotator_ids):
        entry: dict[str, Any] = {
            "annotator_id": str(annotator), "n_answers": int(ds.annotator_answers[j]),
            "reliability": _num(ds.reliability[j]),
            "agreement_with_majority": _num(mv_agreement.get(str(annotator), np.nan)),
        }
        if confusion is not None and k <= MAX_CONFUSION_CATEGORIES:
            entry["confusion"] = [[round(float(x), 4) for x in row] for row in confusion[j]]
        annotators.append(entry)
    return {
        "method": ds.method, "reliability_name": ds.reliability_name,
        "categories": [label_string(c) for c in ds.categories],
        "n_items": int(len(ds.item_ids)), "n_items_multi": int(multi.sum()),
        "n_unresolved": int((~resolved & multi).sum()),
        "n_low_confidence": int((multi & (ds.confidence < LOW_CONFIDENCE)).sum()),
        "n_majority_tied": int(mv.tie[mv.n_answers >= 2].sum()),
        "low_confidence": LOW_CONFIDENCE,
        "converged": bool(ds.details.get("converged")), "iterations": ds.details.get("n_iter"),
        "annotators": annotators,
    }


def _agreement_with_majority(mv: Any) -> dict[str, float]:
    """``{annotator: share of their answers equal to the majority label}`` over items
    with a strict majority (from majority vote's default reliability)."""
    if mv.reliability_name and len(mv.reliability) == len(mv.annotator_ids):
        return {str(a): float(r) for a, r in zip(mv.annotator_ids, mv.reliability)}
    return {}


def _num(x: Any) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else round(x, 6)
