"""Adapters that read annotation files into the canonical table.

:func:`read_annotations` recognises the format from the file's content (and name) and
calls the matching reader: a Label Studio JSON export, JSON-MIN export or CSV export
(:mod:`labelcheck.io.labelstudio_export`), or a long CSV/TSV/Parquet table
(:mod:`labelcheck.io.long_csv`).  Every reader returns a
:class:`~labelcheck.table.Dataset` and collects problems in its report.
"""

from __future__ import annotations

import os
from typing import Any, Literal, get_args

import pandas as pd

from labelcheck.errors import InvalidInput, name_list
from labelcheck.io.labelstudio_export import (
    MIN_ANNOTATOR,
    MIN_TASK_ID,
    load_json,
    read_labelstudio_csv,
    read_labelstudio_json,
    read_labelstudio_json_min,
    source_name,
)
from labelcheck.io.long_csv import ITEM_ID, PARQUET_SUFFIXES, read_long_table
from labelcheck.table import ANNOTATION_ID, ANNOTATOR_ID, LABEL, TASK_ID, Dataset, FieldSpec

FileFormat = Literal["labelstudio-json", "labelstudio-json-min", "labelstudio-csv", "long-csv",
                     "parquet"]
FILE_FORMATS: tuple[str, ...] = get_args(FileFormat)

__all__ = [
    "FILE_FORMATS",
    "read_annotations",
    "read_labelstudio_csv",
    "read_labelstudio_json",
    "read_labelstudio_json_min",
    "read_long_table",
]

_EXPECTED = (
    "a Label Studio JSON export (a list of tasks with \"data\" and \"annotations\"), a "
    "JSON-MIN export (a list of records with \"annotator\" and \"annotation_id\"), a Label "
    "Studio CSV export (columns id, annotator, annotation_id, ...), or a long table "
    "(columns item_id or task_id, annotator_id, label) as CSV, TSV or Parquet"
)


def read_annotations(
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    fields: Any = None,
    file_format: FileFormat | None = None,
) -> Dataset:
    """Read any supported annotation file into a :class:`~labelcheck.table.Dataset`.

    Parameters
    ----------
    path : the file.
    strict : raise :class:`~labelcheck.errors.InvalidInput` on any problem instead of
        loading the good rows and listing the problems in ``report.problems``.
    fields : field specs (``{name: FieldSpec}`` or a list); for JSON-MIN and CSV exports
        they also say which columns are answers.  For a long table, one name or
        :class:`FieldSpec` (see :func:`read_long_table`).
    file_format : one of :data:`FILE_FORMATS`; default: recognised from the content.

    Raises
    ------
    InvalidInput : the file is missing, unreadable or of no recognised format (the
        message says what was expected and what was found), or has problems and
        ``strict`` is set, or nothing usable is left.
    """
    name = source_name(path, None)
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise InvalidInput(f"{name}: no such file ({text})")
    if file_format is not None and file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}; got {file_format!r}")
    fmt = file_format or _sniff(text, name)
    if fmt in ("long-csv", "parquet"):
        return read_long_table(text, strict=strict, field=_one_field(fields, name))
    if fmt == "labelstudio-csv":
        return read_labelstudio_csv(text, strict=strict, fields=fields)
    records = load_json(text, name)
    if file_format is None and isinstance(records, list):
        fmt = _json_kind(records, name)
    reader = read_labelstudio_json_min if fmt == "labelstudio-json-min" else read_labelstudio_json
    return reader(records, source=name, strict=strict, fields=fields)


def _sniff(path: str, name: str) -> str:
    lower = path.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{") or lower.endswith(".json"):
        return "labelstudio-json"  # JSON vs JSON-MIN is told from the records
    if not stripped:
        raise InvalidInput(f"{name}: the file is empty; expected {_EXPECTED}")
    sep = "\t" if lower.endswith(".tsv") else ","
    try:
        header = pd.read_csv(path, sep=sep, nrows=0, dtype=str).columns
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise InvalidInput(f"{name}: not JSON, Parquet or readable CSV ({err}); expected {_EXPECTED}") from err
    columns = set(header)
    if ANNOTATOR_ID in columns and LABEL in columns and columns & {TASK_ID, ITEM_ID}:
        return "long-csv"
    if {MIN_TASK_ID, MIN_ANNOTATOR, ANNOTATION_ID} <= columns:
        return "labelstudio-csv"
    raise InvalidInput(
        f"{name}: cannot tell the format from the columns ({name_list(map(str, header))}); "
        f"expected {_EXPECTED}"
    )


def _json_kind(records: list[Any], name: str) -> str:
    first = next((r for r in records if isinstance(r, dict)), None)
    if first is None:
        return "labelstudio-json"  # empty or malformed: the reader says what is wrong
    if {"annotations", "completions", "data"} & first.keys():
        return "labelstudio-json"
    if {MIN_ANNOTATOR, ANNOTATION_ID} & first.keys():
        return "labelstudio-json-min"
    raise InvalidInput(
        f"{name}: a JSON list of objects with keys {name_list(sorted(map(str, first)))}; "
        f"expected {_EXPECTED}"
    )


def _one_field(fields: Any, name: str) -> str | FieldSpec | None:
    if fields is None or isinstance(fields, (str, FieldSpec)):
        return fields
    specs = list(fields.values()) if isinstance(fields, dict) else list(fields)
    if len(specs) != 1:
        raise InvalidInput(f"{name}: a long table takes one field spec; got {len(specs)}")
    only: str | FieldSpec = specs[0]
    return only
