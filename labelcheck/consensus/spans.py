r"""Consensus spans of a span field (NER) by voting: whole spans, or characters.

Works on the flat table of labelled spans of :mod:`labelcheck.agreement.span_table`
(one labelled span per label of a span; duplicates inside an annotation count once;
a missing label is no answer).  Malformed spans stop :func:`span_consensus` with one
:class:`~labelcheck.errors.InvalidInput`; use
:func:`~labelcheck.agreement.span_checks.split_valid_spans` first to drop them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement.span_table import OUTSIDE, SpanTable, character_segments, collect_spans
from labelcheck.agreement.structured_labels import LABEL_SEPARATOR
from labelcheck.table import Span

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

ConsensusMode = Literal["span", "character"]
CONSENSUS_MODES: tuple[str, ...] = get_args(ConsensusMode)
CONSENSUS_COLUMNS = ("task_id", "label", "confidence", "n_answers", "reason")


def span_consensus(
    data: pd.DataFrame,
    *,
    field: str | None = None,
    min_share: float = 0.5,
    mode: ConsensusMode = "span",
    text_lengths: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    r"""Consensus spans of each task by voting.

    * ``mode="span"``: a labelled span ``(start, end, label)`` is in the consensus
      when more than ``min_share`` of the task's :math:`m` annotations contain it
      exactly (:math:`c / m > \text{min\_share}`).  ``confidence`` is the mean, over
      the distinct labelled spans proposed on the task, of the share of annotations
      that agree with the decision taken on it (:math:`c/m` if kept,
      :math:`1 - c/m` if not); 1 when nobody proposed a span.
    * ``mode="character"``: each character takes the category (a label, joined
      labels for overlaps, or ``"O"``) given by more than ``min_share`` of the
      annotations, else ``"O"``; consecutive characters with the same label become
      one span (so two touching entities of one label merge into one).
      ``confidence`` is the mean share of annotations agreeing with each character's
      category, over the characters of ``[0, text length)`` when known, else
      ``[min start, max end]`` of the task's spans.

    Spans that share offsets in the consensus become one :class:`Span` with all
    their labels; ``text`` is copied from an input span with the same offsets.

    Parameters
    ----------
    data : canonical annotation table with a span field.
    field : the span field; may be omitted when the table has one field.
    min_share : a span (or character label) needs strictly more than this share of
        the task's annotations; in [0, 1).
    mode : ``"span"`` or ``"character"``.
    text_lengths : ``{task_id: characters}`` (character mode's confidence).

    Returns
    -------
    pandas.DataFrame
        One row per task: ``task_id``, ``label`` (sorted tuple of Span), ``confidence``,
        ``n_answers``, ``reason`` (None, or why the consensus is thin: one answer only,
        or spans that got exactly ``min_share`` and were left out).
    """
    if mode not in CONSENSUS_MODES:
        raise ValueError(f"mode must be one of {', '.join(CONSENSUS_MODES)}; got {mode!r}")
    if not 0.0 <= min_share < 1.0:
        raise ValueError(f"min_share must be in [0, 1); got {min_share!r}")
    s = collect_spans(data, field, text_lengths)
    m_task = s.answers_per_task()
    texts: dict[tuple[int, int, int], str] = {}
    for t, a, e, txt in zip(s.task.tolist(), s.start.tolist(), s.end.tolist(), s.text.tolist()):
        if txt is not None:
            texts.setdefault((t, a, e), txt)
    spans: list[list[tuple[int, int, str]]] = [[] for _ in range(s.n_tasks)]
    reasons: list[str | None] = [None] * s.n_tasks
    if mode == "span":
        confidence = _vote_spans(s, m_task, min_share, spans, reasons)
    else:
        confidence = _vote_characters(s, m_task, min_share, text_lengths, spans, reasons)
    for t in np.flatnonzero(m_task == 1):
        reasons[t] = "one answer: the consensus is that answer"
    labels = [_as_spans(t, spans[t], texts) for t in range(s.n_tasks)]
    return pd.DataFrame({
        "task_id": s.task_ids,
        "label": pd.Series(labels, dtype=object).to_numpy(),
        "confidence": confidence,
        "n_answers": m_task,
        "reason": np.asarray(reasons, dtype=object),
    }).loc[:, list(CONSENSUS_COLUMNS)]


def _as_spans(
    task: int, items: list[tuple[int, int, str]], texts: Mapping[tuple[int, int, int], str]
) -> tuple[Span, ...]:
    grouped: dict[tuple[int, int], list[str]] = {}
    for start, end, lab in items:
        grouped.setdefault((start, end), []).append(lab)
    return tuple(
        Span(start, end, tuple(sorted(set(labs))), texts.get((task, start, end)))
        for (start, end), labs in sorted(grouped.items())
    )


def _vote_spans(
    s: SpanTable, m_task: IntArray, min_share: float,
    spans: list[list[tuple[int, int, str]]], reasons: list[str | None],
) -> FloatArray:
    if s.ann.size == 0:
        return np.ones(s.n_tasks)
    c = pd.DataFrame({"t": s.task, "s": s.start, "e": s.end, "l": s.label}).groupby(
        ["t", "s", "e", "l"], sort=True).size()
    t = c.index.get_level_values("t").to_numpy().astype(np.int64)
    share = c.to_numpy() / m_task[t]
    kept = share > min_share + 1e-12
    tied = np.isclose(share, min_share, rtol=0.0, atol=1e-12)
    agree = np.where(kept, share, 1.0 - share)
    sums = np.bincount(t, weights=agree, minlength=s.n_tasks)
    n_prop = np.bincount(t, minlength=s.n_tasks)
    confidence = np.where(n_prop > 0, sums / np.maximum(n_prop, 1), 1.0)
    starts = c.index.get_level_values("s").to_numpy()
    ends = c.index.get_level_values("e").to_numpy()
    labs = c.index.get_level_values("l").to_numpy()
    for k in np.flatnonzero(kept):
        spans[t[k]].append((int(starts[k]), int(ends[k]), str(s.labels[labs[k]])))
    n_tied = np.bincount(t[tied], minlength=s.n_tasks)
    for task in np.flatnonzero(n_tied):
        reasons[task] = (f"{n_tied[task]} span(s) had exactly {min_share:g} of the answers "
                         "(a tie) and were left out")
    return np.asarray(confidence, dtype=np.float64)


def _vote_characters(
    s: SpanTable, m_task: IntArray, min_share: float, text_lengths: Mapping[str, int] | None,
    spans: list[list[tuple[int, int, str]]], reasons: list[str | None],
) -> FloatArray:
    seg = character_segments(s, text_lengths, min_answers=1)
    if seg.width.size == 0:
        return np.ones(s.n_tasks)
    n_seg = seg.width.size
    share = seg.cat_n / seg.m[seg.cat_seg]
    order = np.lexsort((seg.cat_code, -seg.cat_n, seg.cat_seg))
    top = order[np.concatenate([[True], seg.cat_seg[order][1:] != seg.cat_seg[order][:-1]])]
    win_seg, win_cat, win_share = seg.cat_seg[top], seg.cat_code[top], share[top]
    win = np.zeros(n_seg, dtype=np.int64)  # 0: outside
    ok = win_share > min_share + 1e-12
    win[win_seg[ok]] = win_cat[ok]
    tied = np.zeros(n_seg, dtype=bool)
    tied[win_seg[~ok]] = True
    # the share agreeing with each segment's chosen category
    chosen = seg.cat_code == win[seg.cat_seg]
    agree = np.bincount(seg.cat_seg[chosen], weights=share[chosen], minlength=n_seg)
    w = seg.width.astype(np.float64)
    num = np.bincount(seg.seg_task, weights=w * agree, minlength=s.n_tasks)
    den = np.bincount(seg.seg_task, weights=w, minlength=s.n_tasks)
    confidence = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    # runs of segments with one category (and touching) become spans
    names = [OUTSIDE] + seg.categories
    end = seg.seg_start + seg.width
    run_start = np.ones(n_seg, dtype=bool)
    run_start[1:] = (win[1:] != win[:-1]) | (seg.seg_task[1:] != seg.seg_task[:-1]) | (
        seg.seg_start[1:] != end[:-1])
    starts = np.flatnonzero(run_start)
    stops = np.append(starts[1:], n_seg) - 1
    for a, z in zip(starts, stops):
        if win[a] != 0:
            for lab in names[win[a]].split(LABEL_SEPARATOR) if win[a] > len(s.labels) else [names[win[a]]]:
                spans[seg.seg_task[a]].append((int(seg.seg_start[a]), int(end[z]), lab))
    n_tied = np.bincount(seg.seg_task[tied], weights=w[tied], minlength=s.n_tasks)
    for task in np.flatnonzero(n_tied):
        reasons[task] = (f"{int(n_tied[task])} character(s) had no category with more than "
                         f"{min_share:g} of the answers and became {OUTSIDE!r}")
    return np.asarray(confidence, dtype=np.float64)


__all__ = [
    "MICRO",
    "OUTSIDE",
    "check_spans",
    "disagreement_summary",
    "span_agreement",
    "span_character_alpha",
    "span_consensus",
    "span_disagreements",
    "split_valid_spans",
]


__all__ = ["span_consensus"]
