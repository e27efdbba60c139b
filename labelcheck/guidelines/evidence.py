"""The evidence behind a guideline suggestion for one confused pair of labels.

Pure functions (computational core; no I/O): for labels ``A`` and ``B`` of one field,
:func:`pair_evidence` gathers what a lead needs to write "Decide between A and B
when ...": how often they are confused against chance and in which direction
(:mod:`labelcheck.hotspots.label_pairs`), who drives it (each annotator's rates of
answering ``B`` where the other answers' plurality is ``A`` and the reverse, against the
same rates of everyone else), where (the confusion rate per value of slicing columns)
and the most split tasks with every answer on them.  Text generation and the guideline
passages belong to later modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.errors import InvalidInput, name_list
from labelcheck.hotspots.coincidences import Coincidences, coincidences
from labelcheck.hotspots.label_pairs import label_pairs
from labelcheck.hotspots.ranking import plain
from labelcheck.hotspots.slices import task_values
from labelcheck.table import ANNOTATOR_ID, CodedRatings, Level, encode

EXAMPLES = 5


@dataclass(frozen=True)
class PairEvidence:
    """Evidence for one pair of labels (see :func:`pair_evidence`).

    ``counts``: the label-pair row of :func:`labelcheck.hotspots.label_pairs.label_pairs`
    (observed and expected coincidences, confusions, the test, pair alpha);
    ``direction``: ``[from, to]`` when the confusion is one-sided, else None;
    ``annotators``: one row per annotator with answers on either side;
    ``slices``: one row per (column, value); ``examples``: the most split tasks, each
    ``{"task_id", "answers": [{"annotator_id", "label"}]}``.
    """

    labels: tuple[Any, Any]
    counts: dict[str, Any]
    direction: list[Any] | None
    annotators: list[dict[str, Any]] = field(default_factory=list)
    slices: list[dict[str, Any]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def example_item_ids(self) -> list[str]:
        return [e["task_id"] for e in self.examples]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = plain({
            "labels": list(self.labels), "counts": self.counts, "direction": self.direction,
            "annotators": self.annotators, "slices": self.slices, "examples": self.examples,
            "example_item_ids": self.example_item_ids,
        })
        return out


def pair_evidence(
    data: pd.DataFrame | CodedRatings | Coincidences,
    label_a: Any,
    label_b: Any,
    *,
    tasks: pd.DataFrame | None = None,
    slices: Sequence[str] = (),
    field: str | None = None,
    level: Level = "nominal",
    limit: int = EXAMPLES,
    symmetry_level: float = 0.05,
) -> PairEvidence:
    r"""Counts, direction, drivers, places and examples of the confusion of two labels.

    For annotator :math:`j`, ``a_to_b`` counts their answers ``B`` where the other
    answers' plurality on the task is ``A`` (``n_a`` such answers in all, giving
    ``rate_a_to_b``), and ``peer_rate_a_to_b`` is the same rate over everyone else's
    answers; ``excess`` = :math:`(\text{a\_to\_b} + \text{b\_to\_a}) -
    (n_a r^{peer}_{a \to b} + n_b r^{peer}_{b \to a})`, the confusions the annotator
    adds beyond what peers would make on the same consensus, and ``lean`` the
    direction with the larger excess.  Annotators are sorted by ``excess``.  Per slice
    value, ``rate`` is the confusions over the answers whose consensus is ``A`` or
    ``B``.

    Parameters
    ----------
    data : canonical table, coded ratings of one field, or its decomposition.
    label_a, label_b : the two labels (categories of the field).
    tasks, slices : the task table and the columns to break the confusion down by.
    field, level : which field and its level, when ``data`` is a table.
    limit : how many example tasks.
    symmetry_level : p-value below which the confusion counts as one-sided.
    """
    co = _decomposition(data, field, level)
    codes = co.coded.categories.get_indexer(pd.Index([label_a, label_b]))
    if (codes < 0).any():
        missing = [lab for lab, c in zip((label_a, label_b), codes) if c < 0]
        raise InvalidInput(
            f'field "{co.coded.field}": no label {name_list(missing)}; '
            f"labels: {name_list(co.coded.categories)}"
        )
    a, b = int(min(codes)), int(max(codes))
    pairs = label_pairs(co)
    row = pairs[(pairs["code_a"] == a) & (pairs["code_b"] == b)]
    counts: dict[str, Any] = {} if row.empty else {
        str(k): v for k, v in row.drop(columns=["code_a", "code_b"]).iloc[0].items()}
    direction = None
    if counts and counts["symmetry_p"] < symmetry_level and counts["a_to_b"] != counts["b_to_a"]:
        direction = ([co.category(a), co.category(b)] if counts["a_to_b"] > counts["b_to_a"]
                     else [co.category(b), co.category(a)])
    return PairEvidence(
        labels=(co.category(a), co.category(b)), counts=counts, direction=direction,
        annotators=_annotators(co, a, b),
        slices=[r for col in slices for r in _slices(co, tasks, col, a, b)],
        examples=_examples(co, a, b, limit),
    )


def _decomposition(data: Any, field: str | None, level: Level) -> Coincidences:
    if isinstance(data, Coincidences):
        return data
    coded = data if isinstance(data, CodedRatings) else encode(data, field=field, level=level)
    return coincidences(coded, level)


def _annotators(co: Coincidences, a: int, b: int) -> list[dict[str, Any]]:
    n_ann = co.annotator_ids.size
    cons, lab, who = co.consensus, co.label, co.annotator

    def per(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        return np.bincount(who[mask], minlength=n_ann).astype(np.float64)

    n_a, n_b = per(cons == a), per(cons == b)
    ab, ba = per((cons == a) & (lab == b)), per((cons == b) & (lab == a))
    with np.errstate(divide="ignore", invalid="ignore"):
        peer_ab = (ab.sum() - ab) / (n_a.sum() - n_a)
        peer_ba = (ba.sum() - ba) / (n_b.sum() - n_b)
        ex_ab = ab - n_a * np.nan_to_num(peer_ab)
        ex_ba = ba - n_b * np.nan_to_num(peer_ba)
    rows = []
    for j in np.lexsort((np.arange(n_ann), -(ex_ab + ex_ba))):
        if n_a[j] + n_b[j] == 0:
            continue
        rows.append({
            "annotator_id": str(co.annotator_ids[j]),
            "n_a": int(n_a[j]), "a_to_b": int(ab[j]),
            "rate_a_to_b": ab[j] / n_a[j] if n_a[j] else None, "peer_rate_a_to_b": peer_ab[j],
            "n_b": int(n_b[j]), "b_to_a": int(ba[j]),
            "rate_b_to_a": ba[j] / n_b[j] if n_b[j] else None, "peer_rate_b_to_a": peer_ba[j],
            "excess": float(ex_ab[j] + ex_ba[j]),
            "lean": ([co.category(a), co.category(b)] if ex_ab[j] >= ex_ba[j]
                     else [co.category(b), co.category(a)]),
        })
    return rows


def _slices(co: Coincidences, tasks: pd.DataFrame | None, column: str, a: int, b: int) -> list[dict[str, Any]]:
    from labelcheck.table import TASK_ID

    tasks = pd.DataFrame({TASK_ID: pd.Series([], dtype=object)}) if tasks is None else tasks
    values, order = task_values(co, tasks, column)
    per_answer = values[co.unit_task[co.unit]]
    cons, lab = co.consensus, co.label
    on_pair = (cons == a) | (cons == b)
    confused = ((cons == a) & (lab == b)) | ((cons == b) & (lab == a))
    out = []
    for value in order:
        here = (per_answer == value) if value is not None else pd.isna(per_answer)
        n = int((here & on_pair).sum())
        x = int((here & confused).sum())
        out.append({"column": column, "value": value, "n_answers": n, "confusions": x,
                    "rate": x / n if n else None})
    return out


def _examples(co: Coincidences, a: int, b: int, limit: int) -> list[dict[str, Any]]:
    both = (co.patterns[:, a] > 0) & (co.patterns[:, b] > 0)
    units = np.flatnonzero(both[co.unit_pattern])
    score = (co.patterns[:, a] * co.patterns[:, b] / (co.m_pattern - 1.0))[co.unit_pattern]
    ids = co.most_split(units, limit, score)
    if not ids:
        return []
    chosen = np.isin(co.coded.task_ids[co.unit_task[co.unit]].astype(str), ids)
    rows = np.flatnonzero(chosen)
    who = co.coded.frame[ANNOTATOR_ID].to_numpy()[co.coded.rows[co.answer[rows]]]
    answers: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for r, person in zip(rows, who):
        task = str(co.coded.task_ids[co.unit_task[co.unit[r]]])
        answers[task].append({"annotator_id": str(person), "label": co.category(int(co.label[r]))})
    return [{"task_id": i, "answers": answers[i]} for i in ids]


__all__ = ["PairEvidence", "pair_evidence"]
