"""Seeded synthetic annotation data for ``scripts/bench.py``.

The generator is vectorised with numpy (no Python loop per row or per item):

* ``n_items`` tasks, each answered by 3-5 distinct annotators out of 20, drawn
  without replacement with unequal activity (some annotators do more work), by
  weighted sampling with exponential keys (Efraimidis & Spirakis 2006);
* a true class per task from a skewed prior over 5 classes;
* each annotator has a confusion matrix: mostly correct (accuracy 0.75-0.95), two
  pairs of classes confused with each other, and two noisy annotators (accuracy
  about 0.4, errors spread over all classes);
* each task has a difficulty ``d ~ Beta(1, 4)``: with probability ``d`` an answer
  comes from a "hard task" row (the true class, its confusable partner, or any class)
  instead of the annotator's own confusion row;
* string ids (``task-0001234``, ``ann-07``), labels as class-name strings, and the
  rows shuffled.  ``task_id`` and ``annotation_id`` hold one ``str`` object per row
  in row order (what ``pandas.read_csv`` gives for values that repeat far apart);
  ``annotator_id`` and ``label`` share one object per distinct value (what its
  per-chunk string de-duplication gives for values that repeat often).

The row count is exact: tasks are generated until the answers reach ``n_rows`` and
the last task's answers are trimmed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

CLASSES: tuple[str, ...] = ("person", "location", "organization", "event", "other")
N_ANNOTATORS = 20
MIN_ANSWERS, MAX_ANSWERS = 3, 5
#: Pairs of classes that annotators mix up.
CONFUSED_PAIRS: tuple[tuple[int, int], ...] = ((0, 2), (3, 4))
NOISY_ANNOTATORS: tuple[int, ...] = (5, 13)
CLASS_PRIOR = np.array([0.34, 0.26, 0.2, 0.12, 0.08])

_ITEM_CHUNK = 250_000


def fixed_width_ids(prefix: str, numbers: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.object_]:
    """``prefix`` + zero-padded numbers as an object array of ``str``, built with
    fixed-width unicode arrays (C loops) instead of one f-string per element."""
    n = len(numbers)
    digits = (np.asarray(numbers, dtype=np.int64) + 10**width).astype(f"U{width + 1}")
    chars = digits.view("U1").reshape(n, width + 1)[:, 1:]
    out = np.empty((n, len(prefix) + width), dtype="U1")
    out[:, : len(prefix)] = np.array(list(prefix), dtype="U1")
    out[:, len(prefix) :] = chars
    return np.ascontiguousarray(out).view(f"U{len(prefix) + width}").ravel().astype(object)


def confusion_matrices(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Per-annotator confusion matrices ``C[a, true, given]`` (rows sum to 1)."""
    k = len(CLASSES)
    acc = rng.uniform(0.75, 0.95, N_ANNOTATORS)
    acc[list(NOISY_ANNOTATORS)] = rng.uniform(0.35, 0.45, len(NOISY_ANNOTATORS))
    conf = np.empty((N_ANNOTATORS, k, k))
    for a in range(N_ANNOTATORS):  # 20 annotators: a loop over the matrices, not rows
        err = 1.0 - acc[a]
        off = np.full((k, k), 1.0)
        np.fill_diagonal(off, 0.0)
        if a not in NOISY_ANNOTATORS:
            # most of a careful annotator's errors go to the confusable partner
            share = rng.uniform(2.0, 6.0)
            for i, j in CONFUSED_PAIRS:
                off[i, j] = off[j, i] = share * 3
        off /= off.sum(axis=1, keepdims=True)
        conf[a] = off * err
        conf[a][np.diag_indices(k)] = acc[a]
    return conf


def hard_rows() -> npt.NDArray[np.float64]:
    """What an answer on a hard task looks like, by true class: the truth 40%, its
    confusable partner (if any) 40%, and the rest spread evenly."""
    k = len(CLASSES)
    rows = np.full((k, k), 0.0)
    for t in range(k):
        partner = [j for i, j in CONFUSED_PAIRS if i == t] + [i for i, j in CONFUSED_PAIRS if j == t]
        rows[t, t] = 0.4
        if partner:
            rows[t, partner[0]] += 0.4
            rest = 0.2
        else:
            rest = 0.6
        others = [c for c in range(k) if c != t and (not partner or c != partner[0])]
        rows[t, others] += rest / len(others)
    return rows


def generate_codes(n_rows: int, seed: int = 0) -> dict[str, npt.NDArray[np.int64] | int]:
    """Integer codes of a synthetic data set with exactly ``n_rows`` answers.

    Returns ``task`` (0..n_items-1), ``annotator`` (0..19), ``label`` (0..4) and
    ``truth`` (per task), rows already shuffled, plus ``n_items``."""
    rng = np.random.default_rng(seed)
    k = len(CLASSES)
    mean = (MIN_ANSWERS + MAX_ANSWERS) / 2
    n_items = int(np.ceil(n_rows / mean * 1.05)) + 10
    per_item = rng.integers(MIN_ANSWERS, MAX_ANSWERS + 1, n_items)
    ends = np.cumsum(per_item)
    n_items = int(np.searchsorted(ends, n_rows) + 1)
    per_item = per_item[:n_items]
    per_item[-1] -= int(ends[n_items - 1] - n_rows)  # exact row count

    activity = rng.uniform(0.5, 2.0, N_ANNOTATORS)
    # Efraimidis-Spirakis: key = log(u) / w; the k largest keys are a weighted sample
    # without replacement.  Done in chunks of items to bound memory.
    chosen = np.empty((n_items, MAX_ANSWERS), dtype=np.int8)
    for lo in range(0, n_items, _ITEM_CHUNK):
        hi = min(lo + _ITEM_CHUNK, n_items)
        keys = np.log(rng.random((hi - lo, N_ANNOTATORS))) / activity
        top = np.argpartition(-keys, MAX_ANSWERS - 1, axis=1)[:, :MAX_ANSWERS]
        order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
        chosen[lo:hi] = np.take_along_axis(top, order, axis=1)
    keep = np.arange(MAX_ANSWERS)[None, :] < per_item[:, None]
    task = np.broadcast_to(np.arange(n_items)[:, None], keep.shape)[keep].astype(np.int64)
    annotator = chosen[keep].astype(np.int64)

    truth = rng.choice(k, size=n_items, p=CLASS_PRIOR)
    difficulty = rng.beta(1.0, 4.0, n_items)
    conf = confusion_matrices(rng)
    hard = hard_rows()
    t = truth[task]
    is_hard = rng.random(n_rows) < difficulty[task]
    cum_own = np.cumsum(conf, axis=2)  # (A, K, K)
    cum_hard = np.cumsum(hard, axis=1)  # (K, K)
    u = rng.random(n_rows)
    label = np.empty(n_rows, dtype=np.int64)
    for lo in range(0, n_rows, 4 * _ITEM_CHUNK):
        sl = slice(lo, min(lo + 4 * _ITEM_CHUNK, n_rows))
        cum = np.where(is_hard[sl, None], cum_hard[t[sl]], cum_own[annotator[sl], t[sl]])
        label[sl] = np.minimum((u[sl, None] > cum).sum(axis=1), k - 1)

    perm = rng.permutation(n_rows)
    return {
        "task": task[perm],
        "annotator": annotator[perm],
        "label": label[perm],
        "truth": truth,
        "n_items": n_items,
    }


def string_columns(codes: dict[str, npt.NDArray[np.int64] | int]) -> dict[str, npt.NDArray[np.object_]]:
    """The string columns (object arrays of ``str``) for coded data."""
    task = np.asarray(codes["task"])
    n_items = int(codes["n_items"])
    width = max(6, len(str(n_items - 1)))
    ann_names = fixed_width_ids("ann-", np.arange(N_ANNOTATORS), 2)
    class_names = np.array(CLASSES, dtype=object)
    n = len(task)
    return {
        # one str object per row, allocated in row order, as pandas.read_csv or a JSON
        # parser produces; indexing a table of n_items shared objects instead puts
        # every row's string at a random address and makes any pass over the column
        # (factorize, isna) up to 10x slower through cache misses
        "task_id": fixed_width_ids("task-", task, width),
        "annotation_id": fixed_width_ids("a", np.arange(1, n + 1), len(str(n))),
        "annotator_id": ann_names[np.asarray(codes["annotator"])],
        "label": class_names[np.asarray(codes["label"])],
    }


def raw_frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """The five canonical required columns as plain object/string columns, the way
    a user's own DataFrame looks before :func:`labelcheck.table.from_records`."""
    cols = string_columns(generate_codes(n_rows, seed))
    return pd.DataFrame(
        {
            "task_id": cols["task_id"],
            "annotation_id": cols["annotation_id"],
            "annotator_id": cols["annotator_id"],
            "field": "label",
            "label": cols["label"],
        }
    )


def canonical_direct(raw: pd.DataFrame) -> pd.DataFrame:
    """A canonical table built directly with the canonical columns and dtypes
    (no per-column checks), from :func:`raw_frame`'s output."""
    from labelcheck import table as T

    n = len(raw)
    return pd.DataFrame(
        {
            T.TASK_ID: raw["task_id"].to_numpy(),
            T.ANNOTATION_ID: raw["annotation_id"].to_numpy(),
            T.ANNOTATOR_ID: raw["annotator_id"].to_numpy(),
            T.FIELD: pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), pd.Index(["label"])),
            T.LABEL: raw["label"].to_numpy(),
            T.CREATED_AT: pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"),
            T.UPDATED_AT: pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"),
            T.LEAD_TIME: np.full(n, np.nan),
            T.GROUND_TRUTH: np.zeros(n, dtype=bool),
            T.SOURCE: pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), pd.Index([], dtype=str)),
            T.SOURCE_ROW: pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)),
        }
    )
