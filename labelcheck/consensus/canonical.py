"""Canonical forms of the input: one spelling per value, one order of task ids, and
the snapshot hash that identifies a canonical annotation table.

Part of the core: the standard library, numpy and pandas only, no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import json.encoder
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.table import ANNOTATION_ID, ANNOTATOR_ID, CREATED_AT, FIELD, LABEL, TASK_ID

#: First line of the canonical serialisation hashed by :func:`snapshot_sha256`.
SNAPSHOT_SCHEME = "labelcheck-snapshot-v1"
SNAPSHOT_COLUMNS: tuple[str, ...] = (TASK_ID, ANNOTATION_ID, ANNOTATOR_ID, FIELD, LABEL, CREATED_AT)

IntArray = npt.NDArray[np.intp]
#: JSON string quoting without ASCII escapes (the C encoder json.dumps uses).
_encode_basestring: Callable[[str], str] = json.encoder.encode_basestring
#: Characters json.dumps escapes with ensure_ascii=False.
_ESCAPED = re.compile(r'["\\\x00-\x1f]')


# --- the snapshot hash -----------------------------------------------------------------
def snapshot_sha256(annotations: pd.DataFrame) -> str:
    """sha256 of the canonical annotation table in a canonical order.

    Rows are sorted by ``task_id``, ``annotation_id``, ``field`` (as strings, by code
    point), then by ``label``, ``created_at`` and ``annotator_id``, so the hash does not
    depend on the order in which a loader produced the rows.  The hashed text (UTF-8)
    is the line ``labelcheck-snapshot-v1``, then one line per column, in the order
    ``task_id, annotation_id, annotator_id, field, label, created_at``: the column name
    as a JSON string, ``:``, and the JSON array of its values in that row order, with
    no spaces (the lines together read as the members of one JSON object of columns).
    Ids and field are JSON strings, non-ASCII characters unescaped; ``label`` is
    :func:`canonical_json` (a number with an integral value is written as an integer,
    a multi-choice tuple as a list, a span or region as an object with sorted keys, a
    missing label as ``null``); ``created_at`` is an integer count of nanoseconds since
    1970-01-01 UTC, ``null`` when missing.  Every field counts; provenance (``source``,
    ``source_row``) and the other columns do not.

    Examples
    --------
    >>> from labelcheck.table import from_records
    >>> rows = [dict(task_id="2", annotation_id="9", annotator_id="a", label="x"),
    ...         dict(task_id="10", annotation_id="8", annotator_id="b", label=3.0)]
    >>> table = from_records(rows)
    >>> snapshot_sha256(table) == snapshot_sha256(table.iloc[::-1])
    True
    """
    n = len(annotations)
    # per column: distinct texts, the code of each row, whether each text still needs
    # its JSON quotes, and a rank of each row's value for sorting
    columns: list[tuple[npt.NDArray[np.object_], IntArray, bool]] = []
    ranks: list[IntArray] = []
    for col in SNAPSHOT_COLUMNS:
        if col == CREATED_AT:
            per_row, rank = _time_json(annotations, n)
            columns.append((per_row, np.arange(n, dtype=np.intp), False))
            ranks.append(rank)
        elif col == LABEL:
            values = annotations[col].to_numpy(dtype=object)
            raw_codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
            texts = object_array([canonical_json(u) for u in uniques] + ["null"])
            # labels of mixed types do not compare: rank their canonical texts
            text_rank = np.argsort(np.argsort(texts, kind="stable"), kind="stable")
            codes = np.where(raw_codes < 0, len(uniques), raw_codes).astype(np.intp)
            columns.append((texts, codes, False))
            ranks.append(text_rank[codes].astype(np.intp))
        else:
            # factorize first, then make the few distinct values strings (7 and "7" meet)
            first, uniques = pd.factorize(annotations[col].to_numpy(dtype=object), sort=False)
            as_text = np.asarray([str(u) for u in uniques], dtype=object)
            merged, distinct = pd.factorize(as_text, sort=False)
            row_codes = np.asarray(merged[first], dtype=np.intp)
            strings: npt.NDArray[np.object_] = np.asarray(distinct, dtype=object)
            plain = _needs_no_escape(strings)
            texts = strings if plain else object_array([json_str(u) for u in strings])
            columns.append((texts, row_codes, plain))
            ranks.append(_string_rank(strings)[row_codes])
    order = _row_order(ranks, n)
    digest = hashlib.sha256()
    digest.update(f"{SNAPSHOT_SCHEME}\n".encode())
    chunk = 200_000
    for col, (texts, codes, quote) in zip(SNAPSHOT_COLUMNS, columns):
        digest.update(f"{json_str(col)}:[".encode())
        for start in range(0, n, chunk):
            values_in_order = texts[codes[order[start:start + chunk]]].tolist()
            piece = '"' + '","'.join(values_in_order) + '"' if quote else ",".join(values_in_order)
            digest.update((("," if start else "") + piece).encode("utf-8", "surrogatepass"))
        digest.update(b"]\n")
    return digest.hexdigest()


def _row_order(ranks: list[IntArray], n: int) -> IntArray:
    """Rows sorted by task, annotation and field; by label, time and annotator only
    where those three repeat (``ranks`` in :data:`SNAPSHOT_COLUMNS` order)."""
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    task, annotation, annotator, field, label, created = ranks
    order: IntArray = np.lexsort((field, annotation, task)).astype(np.intp)  # last key first
    same = ((task[order][1:] == task[order][:-1]) & (annotation[order][1:] == annotation[order][:-1])
            & (field[order][1:] == field[order][:-1]))
    if same.any():
        order = np.lexsort((annotator, created, label, field, annotation, task)).astype(np.intp)
    return order


def _needs_no_escape(strings: npt.NDArray[np.object_]) -> bool:
    """Whether no string has a character JSON escapes (a quote, a backslash, a control
    character): then its JSON text is the string between quotes."""
    return _ESCAPED.search("".join(strings.tolist())) is None


def _string_rank(strings: npt.NDArray[np.object_]) -> IntArray:
    """The rank of each distinct string in code point order."""
    longest = max((len(x) for x in strings.tolist()), default=0)
    # a fixed-width unicode array sorts in C, several times faster than objects; both
    # compare by code point
    keys: npt.NDArray[Any] = strings.astype(str) if longest <= 256 else strings
    perm = np.argsort(keys, kind="stable")
    rank = np.empty(len(strings), dtype=np.intp)
    rank[perm] = np.arange(len(strings), dtype=np.intp)
    return rank


def _time_json(annotations: pd.DataFrame, n: int) -> tuple[npt.NDArray[np.object_], IntArray]:
    if CREATED_AT not in annotations.columns:
        return np.full(n, "null", dtype=object), np.zeros(n, dtype=np.intp)
    col = annotations[CREATED_AT]
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        col = pd.to_datetime(col, utc=True, errors="coerce", format="mixed")
    # one unit whatever the loader chose (pandas 2 allows s, ms, us and ns)
    col = col.dt.tz_convert("UTC").dt.as_unit("ns")
    ns = np.asarray(col.array.asi8, dtype=np.int64)
    missing = col.isna().to_numpy()
    encoded = ns.astype(str).astype(object)
    encoded[missing] = "null"
    # NaT (iNaT, the smallest int64) sorts first; the value itself is a rank
    rank: IntArray = np.where(missing, np.iinfo(np.int64).min, ns).astype(np.intp)
    return encoded, rank


def canonical_json(value: Any) -> str:
    """``value`` as compact JSON text with one spelling per value: integral numbers
    as integers, NaN/None/NA as ``null``, tuples as lists, dataclasses and dicts as
    objects with sorted keys, numpy scalars as Python ones."""
    if value is None:
        return "null"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        items = sorted((str(k), canonical_json(v)) for k, v in value.items())
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + v for k, v in items) + "}"
    if type(value) is str:  # the common case first
        return _encode_basestring(value)
    if isinstance(value, (tuple, list, np.ndarray)):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "null"
        return str(int(value)) if value.is_integer() else repr(value)
    if _blank_na(value):
        return "null"
    return json.dumps(str(value), ensure_ascii=False)


# --- task id order ---------------------------------------------------------------------
def task_order(task_ids: Sequence[str]) -> IntArray:
    """Positions of ``task_ids`` in export order: ids of ASCII digits first by integer
    value, then the others by code point; equal integers ("7", "007") by string."""
    ids = pd.Series(list(task_ids), dtype=object).astype(str)
    if ids.empty:
        return np.zeros(0, dtype=np.intp)
    numeric = ids.str.fullmatch(r"[0-9]+").fillna(False).to_numpy(dtype=bool)
    if (ids[numeric].str.len() > 18).any():  # beyond int64: the general (slower) path
        return np.asarray(sorted(range(len(ids)), key=lambda i: id_key(ids.iloc[i])),
                          dtype=np.intp)
    value = np.zeros(len(ids), dtype=np.int64)
    value[numeric] = ids[numeric].astype(np.int64).to_numpy()
    text_rank, _ = pd.factorize(ids.to_numpy(dtype=object), sort=True)
    order: IntArray = np.lexsort((text_rank, value, ~numeric)).astype(np.intp)
    return order


def json_str(text: str) -> str:
    """A string as JSON text, as ``json.dumps(text, ensure_ascii=False)`` writes it."""
    return _encode_basestring(text)


def id_key(task_id: str) -> tuple[int, int, str]:
    """Task id order: ids of ASCII digits by integer value, then the rest by code point."""
    if task_id.isascii() and task_id.isdigit():
        return (0, int(task_id), task_id)
    return (1, 0, task_id)


def object_array(values: Sequence[Any]) -> npt.NDArray[np.object_]:
    """A 1-d object array of ``values`` (``np.asarray`` would make tuples a 2-d array)."""
    out = np.empty(len(values), dtype=object)
    for k, v in enumerate(values):
        out[k] = v
    return out


def _blank_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
