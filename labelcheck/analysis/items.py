r"""Per item and field disagreement figures, the table the item browser sorts and
filters on (stored per snapshot in ``item_stat``).

For task :math:`u` and field :math:`f` with :math:`m_u` answers :math:`a_1, \dots,
a_{m_u}`, :math:`n_{uc}` of them with label :math:`c` and shares
:math:`p_{uc} = n_{uc} / m_u`:

.. math:: D_u = \frac{1}{m_u (m_u - 1)} \sum_{i \ne j} \delta(a_i, a_j), \qquad
          H_u = -\sum_c p_{uc} \log_2 p_{uc}

:math:`D_u` is the item's observed disagreement: the mean distance :math:`\delta`
between its ordered pairs of answers, the task's term of Krippendorff's :math:`D_o`
with that distance.  :math:`\delta` follows the field's value type
(:attr:`~labelcheck.table.FieldSpec.value_type`):

* ``choice``, ``rating``, ``number`` (and fields without a spec): the nominal
  difference, 0 for equal labels and 1 otherwise, so that
  :math:`D_u = 1 - \sum_c n_{uc}(n_{uc} - 1) / (m_u (m_u - 1))`, the share of pairs
  that differ and one minus Fleiss' per-subject agreement :math:`P_i`.  Ratings 2
  and 3 disagree as much as "Positive" and "Negative" here (:mod:`labelcheck.hotspots.items`
  has the level-aware version used to rank hotspots);
* ``multichoice``: the MASI distance :math:`1 - J(A, B)\,M(A, B)` (Passonneau 2006);
* ``text``: the normalised edit distance :math:`\mathrm{lev}(a, b) / \max(|a|, |b|)`
  after Unicode/case/whitespace normalisation (Levenshtein 1966);
* ``span``: :math:`1 - F_1`, :math:`F_1 = 2\,TP / (|A| + |B|)` over labelled spans
  matched exactly (same start, end, label; Hripcsak & Rothschild 2005), 0 for two
  answers without spans;
* ``region``: :math:`1 - F_1` with regions of the same label matched one-to-one
  (Hungarian assignment on IoU, Kuhn 1955) and counted at IoU :math:`\ge 0.5`
  (Everingham et al. 2010).

The last four are computed by :mod:`labelcheck.analysis.item_distances` (which has
the details: malformed spans and regions left out, keypoints ignored, ...).  Every
:math:`\delta` lies in [0, 1] and is 0 for equal answers, so :math:`D_u \in [0, 1]` and
:math:`D_u = 0` when all answers agree.

:math:`H_u` is the vote entropy in bits (Dagan & Engelson 1995): 0 when all agree,
:math:`\log_2 m_u` when every answer differs.  The entropy, ``n_labels`` and the
majority treat every distinct label as a category of its own, whatever the value type: a
multi-choice tuple, a span list or a free text is one category per distinct value.
This table covers every answered item, so that the browser can list items with a
single answer too.

This module is part of the computational core: pure functions, no I/O.

References
----------
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
Psychological Bulletin, 76(5), 378-382. https://doi.org/10.1037/h0031619

Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School
for Communication, University of Pennsylvania. https://repository.upenn.edu/asc_papers/43

Dagan, I., & Engelson, S. P. (1995). Committee-based sampling for training
probabilistic classifiers. Proceedings of the 12th International Conference on
Machine Learning (ICML 1995), 150-157.

Passonneau, R. (2006). Measuring agreement on set-valued items (MASI) for semantic and
pragmatic annotation. Proceedings of LREC 2006, 831-836.
http://www.lrec-conf.org/proceedings/lrec2006/pdf/636_pdf.pdf

Levenshtein, V. I. (1966). Binary codes capable of correcting deletions, insertions,
and reversals. Soviet Physics Doklady 10(8), 707-710.

Hripcsak, G., & Rothschild, A. S. (2005). Agreement, the F-measure, and reliability in
information retrieval. JAMIA 12(3), 296-298. https://doi.org/10.1197/jamia.M1733

Kuhn, H. W. (1955). The Hungarian method for the assignment problem. Naval Research
Logistics Quarterly 2, 83-97. https://doi.org/10.1002/nav.3800020109

Everingham, M., Van Gool, L., Williams, C. K. I., Winn, J., & Zisserman, A. (2010). The
PASCAL Visual Object Classes (VOC) Challenge. IJCV 88, 303-338.
https://doi.org/10.1007/s11263-009-0275-4
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.analysis.item_distances import DISTANCE_TYPES, DistanceType, item_disagreement
from labelcheck.agreement.by_type import text_lengths
from labelcheck.errors import InvalidInput
from labelcheck.table import (
    FIELD,
    TASK_ID,
    CodedRatings,
    Dataset,
    FieldSpec,
    Region,
    Span,
    encode,
    fields_in,
)

#: Columns of :func:`item_statistics` (the ``item_stat`` table's, in order).
COLUMNS = ("task_id", "field", "n_answers", "n_labels", "disagreement", "entropy",
           "majority_label", "majority_share")


def item_statistics(dataset: Dataset) -> pd.DataFrame:
    r"""Disagreement figures of every answered (task, field) of ``dataset``.

    .. math:: D_u = \frac{1}{m_u (m_u - 1)} \sum_{i \ne j} \delta(a_i, a_j), \qquad
              H_u = -\sum_c \frac{n_{uc}}{m_u} \log_2 \frac{n_{uc}}{m_u}

    :math:`m_u` is the number of answers on task :math:`u` for the field,
    :math:`a_i` the :math:`i`-th of them, :math:`n_{uc}` how many are label :math:`c`
    and :math:`\delta` the field type's distance (module docstring): the nominal
    difference for choices, ratings and numbers, so that there
    :math:`D_u = 1 - \sum_c n_{uc}(n_{uc} - 1) / (m_u (m_u - 1))`; MASI for
    multi-choice, normalised edit distance for text, :math:`1 - F_1` for spans
    (exact match) and regions (IoU :math:`\ge 0.5`).

    Parameters
    ----------
    dataset : a loaded :class:`~labelcheck.table.Dataset`; ``dataset.fields`` gives
        the field order and, for choice fields, the declared category order.

    Returns
    -------
    pandas.DataFrame
        One row per (task, field) with at least one answer, columns :data:`COLUMNS`:
        ``n_answers`` (:math:`m_u`), ``n_labels`` (distinct labels given),
        ``disagreement`` (:math:`D_u`), ``entropy`` (:math:`H_u`, bits),
        ``majority_label`` (the most frequent label as text, see
        :func:`label_string`) and ``majority_share`` (its count over :math:`m_u`).
        Rows are ordered by field (declared order), then task (first appearance).

    Notes
    -----
    - :math:`D_u` is undefined for a single answer (no pair); it is reported as 0
      (nothing observed to disagree) so that the column is never NaN and a
      disagreement-descending sort puts such items last, with ``n_answers = 1``
      telling them apart from unanimous items.
    - Ties for the majority are broken by category order: the field's declared
      categories when every label is among them, else the natural order of the
      labels (numbers, then strings, then other values).  The label is therefore
      never missing; ``majority_share`` shows how slim the majority is.
    - Missing labels are missing judgements and not counted.
    - Multi-choice, text, span and region fields: :math:`D_u` is over the answers
      that can be compared (:func:`~labelcheck.analysis.item_distances.item_disagreement`:
      malformed spans and regions are left out, an answer left with none is not
      compared); ``n_answers`` still counts every answer, and an item with fewer than
      two comparable answers has :math:`D_u = 0`.  Span ends are checked against the
      task's text when the task table has a column named like the field's
      ``to_name``.
    - Cost: one ``encode`` per field and one ``numpy.unique`` over its
      (task, label) codes; no loop over tasks.  Typed fields add their pairwise
      distances (see :mod:`labelcheck.analysis.item_distances`).

    References
    ----------
    Fleiss (1971), eq. 2 (:math:`P_i`); Krippendorff (2011), p. 5 (the
    coincidences and :math:`D_o`); Dagan & Engelson (1995), eq. 4 (vote entropy);
    Passonneau (2006) (MASI); Hripcsak & Rothschild (2005) (pairwise F1).
    Full entries in the module docstring.

    Examples
    --------
    >>> import pandas as pd
    >>> from labelcheck.table import Dataset, ImportReport, from_records
    >>> rows = [("t1", "a", "x"), ("t1", "b", "x"), ("t1", "c", "y"), ("t2", "a", "y")]
    >>> table = from_records(pd.DataFrame(rows, columns=["task_id", "annotator_id", "label"]))
    >>> stats = item_statistics(Dataset(table, pd.DataFrame(), {}, ImportReport("doc")))
    >>> stats[["task_id", "n_answers", "disagreement", "majority_label"]].round(4).values.tolist()
    [['t1', 3, 0.6667, 'x'], ['t2', 1, 0.0, 'y']]
    """
    annotations = dataset.annotations
    if annotations.empty:
        return _empty()
    present = fields_in(annotations)
    declared = [f for f in dataset.fields if f in present]
    frames = []
    for name in declared + [f for f in present if f not in declared]:
        frame = _field_statistics(_encode(annotations, name, dataset), name)
        spec = dataset.fields.get(name)
        if len(frame) and spec is not None and spec.value_type in DISTANCE_TYPES:
            frame["disagreement"] = _typed_disagreement(
                annotations, spec, name, dataset.tasks, frame)
        if len(frame):
            frames.append(frame)
    if not frames:
        return _empty()
    out = pd.concat(frames, ignore_index=True)
    return out.loc[:, list(COLUMNS)]


def _encode(annotations: pd.DataFrame, name: str, dataset: Dataset) -> CodedRatings:
    spec = dataset.fields.get(name)
    categories = spec.categories if spec is not None else None
    if categories:
        try:
            return encode(annotations, field=name, level="nominal", categories=categories)
        except (InvalidInput, TypeError, ValueError):
            pass  # labels outside the declared list: fall back to the labels' own order
    return encode(annotations, field=name, level="nominal")


def _typed_disagreement(annotations: pd.DataFrame, spec: FieldSpec, name: str,
                        tasks: pd.DataFrame, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """:math:`D_u` of a multi-choice, text, span or region field, in the order of
    ``frame``'s tasks; 0 for a task without two comparable answers."""
    value_type = cast(DistanceType, spec.value_type)  # one of DISTANCE_TYPES: the caller checked
    lengths = text_lengths(tasks, spec.to_name) if value_type == "span" else None
    d = item_disagreement(annotations, value_type, field=name, text_lengths=lengths)
    per_task = d.reindex(frame[TASK_ID].to_numpy()).fillna(0.0)
    out: npt.NDArray[np.float64] = per_task.to_numpy(np.float64)
    return out


def _field_statistics(coded: CodedRatings, name: str) -> pd.DataFrame:
    n_tasks, k = coded.n_tasks, max(coded.n_categories, 1)
    if coded.n_annotations == 0:
        return _empty()
    # (task, label) pairs with their counts, sorted by task then category code
    key = coded.task.astype(np.int64) * k + coded.label.astype(np.int64)
    pairs, n = np.unique(key, return_counts=True)
    task = pairs // k
    label = pairs - task * k
    m = np.bincount(coded.task, minlength=n_tasks).astype(np.float64)
    nf = n.astype(np.float64)
    same = np.bincount(task, weights=nf * (nf - 1.0), minlength=n_tasks)
    pairs_per_task = m * (m - 1.0)
    disagreement = np.zeros(n_tasks)
    ok = pairs_per_task > 0
    disagreement[ok] = 1.0 - same[ok] / pairs_per_task[ok]
    p = nf / m[task]
    entropy = np.bincount(task, weights=-p * np.log2(p), minlength=n_tasks)
    entropy = np.maximum(entropy, 0.0)  # -0.0 and rounding below zero on unanimous items
    n_labels = np.bincount(task, minlength=n_tasks)
    # the first pair (lowest category code) reaching the task's top count
    top = np.zeros(n_tasks, dtype=np.int64)
    _group_max(task, n, top)
    is_top = n == top[task]
    first = np.flatnonzero(is_top)
    first = first[np.r_[True, task[first][1:] != task[first][:-1]]]
    majority_code = np.empty(n_tasks, dtype=np.int64)
    majority_code[task[first]] = label[first]
    texts = np.asarray([label_string(c) for c in coded.categories], dtype=object)
    answered = m > 0
    return pd.DataFrame({
        TASK_ID: np.asarray(coded.task_ids, dtype=object).astype(str)[answered],
        FIELD: name,
        "n_answers": m[answered].astype(np.int64),
        "n_labels": n_labels[answered].astype(np.int64),
        "disagreement": disagreement[answered],
        "entropy": entropy[answered],
        "majority_label": texts[majority_code[answered]],
        "majority_share": (top / np.where(m > 0, m, 1.0))[answered],
    })


def _group_max(group: npt.NDArray[np.int64], values: npt.NDArray[np.int64],
               out: npt.NDArray[np.int64]) -> None:
    """``out[g] = max(values[group == g])`` for ``group`` sorted ascending, by one
    ``reduceat`` over the runs of equal groups."""
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    out[group[starts]] = np.maximum.reduceat(values, starts)


def label_string(value: Any) -> str:
    """A label as the text the item browser shows and stores as ``majority_label``.

    Strings as they are; numbers without a trailing ``.0`` (``2.0`` and ``2`` are one
    rating); multi-choice tuples joined by ``", "``; spans as ``labels [start-end]``;
    regions as ``labels (shape)``; anything else ``str(value)``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, Span):
        return f"{'/'.join(value.labels)} [{value.start}-{value.end}]"
    if isinstance(value, Region):
        return f"{'/'.join(value.labels)} ({value.shape})"
    if isinstance(value, (tuple, list)):
        sep = "; " if any(isinstance(v, (Span, Region)) for v in value) else ", "
        return sep.join(label_string(v) for v in value)
    return str(value)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        TASK_ID: pd.Series([], dtype=object), FIELD: pd.Series([], dtype=object),
        "n_answers": pd.Series([], dtype=np.int64), "n_labels": pd.Series([], dtype=np.int64),
        "disagreement": pd.Series([], dtype=float), "entropy": pd.Series([], dtype=float),
        "majority_label": pd.Series([], dtype=object), "majority_share": pd.Series([], dtype=float),
    })


__all__ = ["COLUMNS", "item_statistics", "label_string"]
