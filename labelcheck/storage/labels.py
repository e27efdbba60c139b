"""Labels in and out of the three label columns (``label_text``, ``label_number``,
``label_json``), and timestamps as integer microseconds.

A label of the canonical table is a string, a number, a sorted tuple of strings
(multi-choice), or a tuple of :class:`~labelcheck.table.Span` /
:class:`~labelcheck.table.Region`.  Strings and numbers, by far the common case, go to
their own column so that loading a million of them parses no JSON.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.table import Region, Span

_KINDS = {"span": Span, "region": Region}


def _json_default(value: Any) -> Any:
    if isinstance(value, Span):
        return {"_kind": "span", **dataclasses.asdict(value)}
    if isinstance(value, Region):
        return {"_kind": "region", **dataclasses.asdict(value)}
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store a label of type {type(value).__name__}: {value!r}")


def _json_object(obj: dict[str, Any]) -> Any:
    kind = obj.pop("_kind", None)
    if kind is None:
        return obj
    if kind == "span":
        obj["labels"] = tuple(obj["labels"])
    else:
        obj["labels"] = tuple(obj["labels"])
        obj["points"] = tuple(tuple(p) for p in obj.get("points", ()))
    return _KINDS[kind](**obj)


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def split_labels(labels: pd.Series) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64], npt.NDArray[Any]]:
    """``(label_text, label_number, label_json)`` arrays for a label column; exactly one
    of the three holds each label (the others are ``None`` / NaN).  The work is done on
    the distinct labels, so a million rows cost one factorize."""
    codes, uniques = pd.factorize(labels.to_numpy(dtype=object), sort=False)
    uniques = np.asarray(uniques, dtype=object)
    n_unique = uniques.shape[0]
    text_u = np.full(n_unique + 1, None, dtype=object)
    number_u = np.full(n_unique + 1, np.nan)
    json_u = np.full(n_unique + 1, None, dtype=object)
    for k, value in enumerate(uniques):
        if type(value) is str:
            text_u[k] = value
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)
        ):
            number_u[k] = float(value)
        else:
            json_u[k] = json.dumps(value, default=_json_default, separators=(",", ":"), sort_keys=True)
    # code -1 (a missing label) picks the last slot: None / NaN / None
    return text_u[codes], number_u[codes], json_u[codes]


def join_labels(
    text: npt.NDArray[Any], number: npt.NDArray[np.float64], encoded: npt.NDArray[Any]
) -> npt.NDArray[Any]:
    """The inverse of :func:`split_labels`: one object array of canonical labels."""
    out = np.asarray(text, dtype=object).copy()
    has_number = ~np.isnan(number)
    if has_number.any():
        # numbers come back as float (2 and 2.0 are the same label to every statistic)
        out[has_number] = number[has_number].astype(object)
    encoded = np.asarray(encoded, dtype=object)
    for i in np.flatnonzero(pd.notna(encoded)):
        out[i] = _tupled(json.loads(encoded[i], object_hook=_json_object))
    return out


def timestamps_to_us(values: pd.Series) -> npt.NDArray[np.float64]:
    """UTC timestamps as microseconds since the epoch, NaN for NaT (float64 holds every
    microsecond up to the year 2255 exactly)."""
    stamps = pd.to_datetime(values, utc=True)
    ns = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)
    out = (ns // 1000).astype(np.float64)
    out[stamps.isna().to_numpy()] = np.nan
    return out


def timestamps_from_us(values: npt.NDArray[np.float64]) -> pd.DatetimeIndex:
    """The inverse of :func:`timestamps_to_us`."""
    arr = np.asarray(values, dtype=np.float64)
    missing = np.isnan(arr)
    ns = np.where(missing, 0, arr).astype(np.int64) * 1000
    stamps = ns.view("datetime64[ns]").copy()
    stamps[missing] = np.datetime64("NaT")
    return pd.DatetimeIndex(stamps).tz_localize("UTC")
