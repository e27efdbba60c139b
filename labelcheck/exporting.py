"""Write an :class:`~labelcheck.consensus.export.ExportTable` to a file, with its manifest.

An adapter: :func:`write_export` writes the kept items as CSV, JSON Lines, Parquet
(pyarrow) or a Label Studio import file, and a manifest (JSON) beside it that says how
the file was made: labelcheck's version, the input snapshot's hash, the source's name,
every rule and seed, the guideline version, counts per class before and after
filtering, every dropped item with its reason, the agreement summary and the export
file's sha256.  Nothing in either file depends on the clock or the machine unless the
caller asks for ``created_at``: the same table written twice gives the same bytes.

Floats of the export's own columns (``confidence``, ``agreement``, annotator
reliability) are rounded to :data:`FLOAT_DECIMALS` decimals, and the manifest's other
floats (model details, alpha) to 12 significant digits, so that a last-bit difference
between two builds of numpy is unlikely to change the bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from labelcheck.consensus.adjudication import adjudications_sha256
from labelcheck.consensus.canonical import SNAPSHOT_COLUMNS, SNAPSHOT_SCHEME
from labelcheck.consensus.export import (
    AGREEMENT,
    CONFIDENCE,
    FINAL_LABEL,
    LABEL_SOURCE,
    N_ANSWERS,
    ExportTable,
)
from labelcheck.errors import InvalidInput
from labelcheck.table import LABEL, TASK_ID

ExportFormat = Literal["csv", "jsonl", "parquet", "labelstudio"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)
#: File suffix of each format (what ``--out DIR`` names the file, and what
#: :func:`format_for` recognises).
SUFFIXES: dict[str, str] = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet",
                            "labelstudio": ".json"}
MANIFEST_SUFFIX = ".manifest.json"
FLOAT_DECIMALS = 6
#: Label Studio result type and value key per field value type.
LS_RESULT: dict[str, tuple[str, str]] = {
    "choice": ("choices", "choices"),
    "multichoice": ("choices", "choices"),
    "rating": ("rating", "rating"),
    "number": ("number", "number"),
    "text": ("textarea", "text"),
}
#: Label Studio result type of each region shape (its value key is the same word).
LS_REGION_RESULT: dict[str, str] = {"rectangle": "rectanglelabels", "polygon": "polygonlabels",
                                    "ellipse": "ellipselabels", "keypoint": "keypointlabels"}
#: Value types whose label is a list of spans or regions: one result per span/region.
LS_ITEM_TYPES: tuple[str, ...] = ("span", "region")
META_PREFIX = "meta."
DATA_PREFIX = "data."


@dataclass(frozen=True)
class ManifestInfo:
    """What the manifest records beyond the table itself.

    ``source`` and ``adjudications`` are reduced to a base name (a URL to its host and
    path, without credentials or query), so no directory, token or password reaches the
    manifest.  ``created_at`` (an aware datetime, or ISO text) is written only when given.
    """

    source: str | None = None
    guideline_version: str | None = None
    sync_run: str | None = None
    adjudications: str | None = None
    created_at: datetime | str | None = None


@dataclass(frozen=True)
class Manifest:
    """What :func:`write_export` wrote: the two paths, the export's sha256 and the
    manifest's content."""

    path: Path
    export_path: Path
    export_sha256: str
    content: Mapping[str, Any]


def format_for(path: str | os.PathLike[str]) -> ExportFormat | None:
    """The format a file name's suffix implies (``.json`` is Label Studio), or None."""
    suffix = Path(path).suffix.lower()
    found: dict[str, ExportFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                                      ".parquet": "parquet", ".pq": "parquet",
                                      ".json": "labelstudio"}
    return found.get(suffix)


def write_export(
    table: ExportTable,
    path: str | os.PathLike[str],
    format: ExportFormat = "csv",
    manifest_info: ManifestInfo | None = None,
    *,
    manifest_path: str | os.PathLike[str] | None = None,
    completed_by: str | int | None = None,
) -> Manifest:
    """Write ``table`` to ``path`` in ``format`` and its manifest beside it.

    Parameters
    ----------
    table : from :func:`~labelcheck.consensus.export.build_export`.
    path : the export file (replaced atomically if it exists).
    format : ``csv``, ``jsonl``, ``parquet`` or ``labelstudio``.
    manifest_info : source name, guideline version, sync run, adjudication file name,
        optional ``created_at``.
    manifest_path : default ``<path>.manifest.json``.
    completed_by : ``labelstudio`` only: the Label Studio user (an id, or an e-mail) to
        credit with the consensus annotations.  Default: none, and Label Studio credits
        the user who imports the file; :func:`labelcheck.io.read_annotations` then skips
        the annotations (it needs an annotator), so give one to read the file back.

    Returns
    -------
    Manifest
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
    if completed_by is not None and format != "labelstudio":
        raise ValueError("completed_by applies to the labelstudio format only")
    info = manifest_info or ManifestInfo()
    export_path = Path(path)
    target = Path(manifest_path) if manifest_path is not None else \
        export_path.with_name(export_path.name + MANIFEST_SUFFIX)
    writers: dict[str, Callable[[ExportTable], bytes]] = {
        "csv": _csv_bytes, "jsonl": _jsonl_bytes, "parquet": _parquet_bytes,
    }
    if format == "labelstudio":
        payload = _labelstudio_bytes(table, completed_by)
    else:
        payload = writers[format](table)
    digest = hashlib.sha256(payload).hexdigest()
    content = manifest_dict(table, format=format, export_name=export_path.name,
                            export_sha256=digest, info=info, completed_by=completed_by)
    text = json.dumps(content, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    _write_atomic(export_path, payload)
    _write_atomic(target, text.encode("utf-8"))
    return Manifest(path=target, export_path=export_path, export_sha256=digest, content=content)


def manifest_dict(
    table: ExportTable,
    *,
    format: str,
    export_name: str,
    export_sha256: str,
    info: ManifestInfo,
    completed_by: str | int | None = None,
) -> dict[str, Any]:
    """The manifest's content (see the module notes and the README)."""
    from labelcheck import __version__

    rules = table.rules.to_dict()
    if rules["adjudications"] is not None:
        adj = table.rules.adjudications
        rules["adjudications"] = {
            "source": public_name(info.adjudications or table.rules.adjudications_source),
            "n_rows": rules["adjudications"]["n_rows"],
            "sha256": None if adj is None else adjudications_sha256(adj, table.field),
            "unmatched_task_ids": list(table.unmatched_adjudications),
        }
    content: dict[str, Any] = {
        "labelcheck_version": __version__,
        "export": {"file": export_name, "format": format, "sha256": export_sha256,
                   "n_rows": table.n_kept, "columns": list(table.rows.columns)},
        "input": {
            "source": None if info.source is None else public_name(info.source),
            "sync_run": info.sync_run,
            "snapshot_sha256": table.snapshot_sha256,
            "snapshot_scheme": f"{SNAPSHOT_SCHEME}: sha256 of one JSON array per row of "
                               f"{', '.join(SNAPSHOT_COLUMNS)}, sorted by task_id, "
                               "annotation_id, field (see labelcheck.consensus.canonical."
                               "snapshot_sha256)",
            "n_annotations": table.n_snapshot_rows,
        },
        "field": table.field,
        "guideline_version": info.guideline_version,
        "rules": rules,
        "model": _jsonable(table.model),
        "counts": {
            "n_items": table.n_items,
            "n_kept": table.n_kept,
            "n_dropped": table.n_dropped,
            "kept_by_source": table.kept_by_source(),
            "dropped_by_reason": table.dropped_by_reason(),
        },
        "classes": [
            {"label": _plain(row[LABEL]), "before": int(row["before"]), "after": int(row["after"])}
            for _, row in table.class_counts.iterrows()
        ],
        "agreement": _jsonable(table.agreement.to_dict()),
        "annotators": [
            {"annotator_id": str(a), "n_answers": int(n), "reliability": _round(float(r))}
            for a, n, r in zip(table.annotators["annotator_id"], table.annotators[N_ANSWERS],
                               table.annotators["reliability"])
        ],
        "dropped": [
            {"task_id": t, "reason": r, "detail": d}
            for t, r, d in zip(table.dropped[TASK_ID], table.dropped["reason"],
                               table.dropped["detail"])
        ],
        "notes": list(table.notes),
    }
    if format == "labelstudio":
        content["export"]["labelstudio"] = {
            "from_name": table.field, "to_name": table.to_name,
            "completed_by_given": completed_by is not None,
        }
    if info.created_at is not None:
        stamp = info.created_at
        if isinstance(stamp, datetime):
            stamp = stamp.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        content["created_at"] = stamp
    return content


def public_name(name: str) -> str:
    """A source name safe to publish: a URL without credentials, query or fragment
    (``https://host/path``); a file path reduced to its base name."""
    parts = urlsplit(name)
    if parts.scheme in ("http", "https", "s3", "gs", "ftp") and parts.netloc:
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
    return os.path.basename(name.rstrip("/\\")) or name


# --- the formats -----------------------------------------------------------------------
def _frame(table: ExportTable) -> pd.DataFrame:
    """The rows with labels in their plain form and the export's floats rounded."""
    frame = table.rows.copy()
    frame[FINAL_LABEL] = frame[FINAL_LABEL].map(_plain).astype(object)
    for col in (CONFIDENCE, AGREEMENT):
        frame[col] = frame[col].astype(float).round(FLOAT_DECIMALS)
    return frame


def _csv_bytes(table: ExportTable) -> bytes:
    frame = _frame(table)
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(_csv_cell)
    text: str = frame.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _jsonl_bytes(table: ExportTable) -> bytes:
    frame = _frame(table)
    columns = list(frame.columns)
    lines = []
    for values in zip(*(frame[c].tolist() for c in columns)):
        record = {c: _json_value(v) for c, v in zip(columns, values)}
        lines.append(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
    return "".join(lines).encode("utf-8")


def _parquet_bytes(table: ExportTable) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _frame(table)
    arrays = []
    label_type = _arrow_label_type(table.value_type, pa)
    for col in frame.columns:
        values = frame[col]
        if col == FINAL_LABEL and label_type is not None:
            arrays.append(pa.array(values.tolist(), type=label_type))
        elif values.dtype == object:
            arrays.append(_arrow_object(values.tolist(), pa))
        else:
            arrays.append(pa.Array.from_pandas(values))
    metadata = {
        b"labelcheck": json.dumps(
            {"field": table.field, "method": _method(table),
             "snapshot_sha256": table.snapshot_sha256},
            sort_keys=True,
        ).encode("utf-8")
    }
    # no pandas metadata (it names the pandas version and index layout): only ours
    arrow = pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns], metadata=metadata)
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink, compression="zstd", version="2.6", write_statistics=True,
                   use_dictionary=True)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _method(table: ExportTable) -> str:
    """The method that ran: the rules' own, or what ``auto`` resolved to."""
    if table.rules.method == "auto":
        return str(table.model.get("method", "auto"))
    return str(table.rules.method)


def _arrow_label_type(value_type: str, pa: Any) -> Any:
    """The arrow type of ``final_label`` for the structured types (None: inferred)."""
    labels = pa.list_(pa.string())
    if value_type == "multichoice":
        return labels
    if value_type == "span":
        return pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()), ("labels", labels),
                                   ("text", pa.string())]))
    if value_type == "region":
        return pa.list_(pa.struct([
            ("shape", pa.string()), ("labels", labels), ("x", pa.float64()), ("y", pa.float64()),
            ("width", pa.float64()), ("height", pa.float64()), ("rotation", pa.float64()),
            ("points", pa.list_(pa.list_(pa.float64()))),
        ]))
    if value_type == "text":
        return pa.string()
    return None


def _arrow_object(values: list[Any], pa: Any) -> Any:
    """An arrow array for an object column: inferred when the values share a type,
    else each value as JSON text (so a column of mixed types still writes)."""
    cleaned = [_json_value(v) for v in values]
    try:
        return pa.array(cleaned)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in cleaned],
                        type=pa.string())


def _labelstudio_bytes(table: ExportTable, completed_by: str | int | None) -> bytes:
    """A Label Studio import file: one task per kept item, with its data, and the final
    label as one annotation (none for a kept unresolved item)."""
    if table.value_type not in LS_RESULT and table.value_type not in LS_ITEM_TYPES:
        raise InvalidInput(
            f'field "{table.field}" holds {table.value_type} answers; the Label Studio '
            f"export writes {', '.join([*LS_RESULT, *LS_ITEM_TYPES])} fields"
        )
    if not table.to_name:
        raise InvalidInput(
            f'field "{table.field}": the file does not say which object tag it labels '
            "(to_name); export a Label Studio file, or use another format"
        )
    frame = _frame(table)
    annotator = _completed_by(completed_by)
    tasks = []
    for n, row in enumerate(frame.to_dict("records"), 1):
        task_id = str(row[TASK_ID])
        data: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        for col in table.data_columns:
            value = _json_value(row[col])
            if col.startswith(META_PREFIX):
                meta[col[len(META_PREFIX):]] = value
            elif col.startswith(DATA_PREFIX):
                data[col[len(DATA_PREFIX):]] = value
            else:
                data[col] = value
        meta["labelcheck"] = {k: _json_value(row[k]) for k in (LABEL_SOURCE, CONFIDENCE,
                                                                N_ANSWERS, AGREEMENT)}
        task: dict[str, Any] = {
            "id": int(task_id) if task_id.isascii() and task_id.isdigit() else task_id,
            "data": data,
            "meta": meta,
            "annotations": [],
        }
        label = row[FINAL_LABEL]
        if label is not None:
            annotation: dict[str, Any] = {"id": n}
            if annotator is not None:
                annotation["completed_by"] = annotator
            annotation["result"] = _ls_results(table, label, n)
            annotation["ground_truth"] = False
            task["annotations"] = [annotation]
        tasks.append(json.dumps(task, ensure_ascii=False, allow_nan=False))
    text = "[\n" + ",\n".join(tasks) + "\n]\n" if tasks else "[]\n"
    return text.encode("utf-8")


def _ls_results(table: ExportTable, label: Any, n: int) -> list[dict[str, Any]]:
    """The results of one final label (already plain): one ``choices`` / ``rating`` /
    ``number`` / ``textarea`` result, or one ``labels`` result per span and one
    ``<shape>labels`` result per region (ids ``<annotation>-<k>``); none for an empty
    set, span list or region list."""
    head = {"from_name": table.field, "to_name": table.to_name}
    if table.value_type == "span":
        return [{"id": f"{n}-{k}", **head, "type": "labels", "value": _ls_span(span)}
                for k, span in enumerate(label, 1)]
    if table.value_type == "region":
        return [{"id": f"{n}-{k}", **head, "type": LS_REGION_RESULT[region["shape"]],
                 "value": _ls_region(region)} for k, region in enumerate(label, 1)]
    result_type, value_key = LS_RESULT[table.value_type]
    value = label if isinstance(label, list) else [label]
    if value_key in ("rating", "number"):
        value = label
    if table.value_type == "multichoice" and not value:
        return []
    return [{**head, "type": result_type, "value": {value_key: value}}]


def _ls_span(span: Mapping[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = {"start": span["start"], "end": span["end"]}
    if span.get("text") is not None:
        value["text"] = span["text"]
    value["labels"] = list(span["labels"])
    return value


def _ls_region(region: Mapping[str, Any]) -> dict[str, Any]:
    """A region's Label Studio value, in percent of the image: rectangles ``x, y,
    width, height, rotation``; ellipses the centre and ``radiusX, radiusY``;
    polygons ``points``; keypoints ``x, y`` (and ``width`` when known)."""
    shape = region["shape"]
    key = LS_REGION_RESULT[shape]
    if shape == "polygon":
        return {"points": region["points"], key: list(region["labels"])}
    value: dict[str, Any] = {"x": region["x"], "y": region["y"]}
    if shape == "rectangle":
        value.update(width=region["width"], height=region["height"], rotation=region["rotation"])
    elif shape == "ellipse":
        value.update(radiusX=region["width"], radiusY=region["height"], rotation=region["rotation"])
    elif region.get("width") is not None:
        value["width"] = region["width"]
    value[key] = list(region["labels"])
    return value


def _completed_by(value: str | int | None) -> Any:
    """Label Studio's ``completed_by``: a user id (int) or ``{"email": ...}``."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isascii() and text.isdigit():
        return int(text)
    return {"email": text}


# --- values ----------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A label as JSON-ready Python: tuples as lists, numpy scalars as Python ones, an
    integral float as an int (a rating read as 3.0 is written 3), NaN as None."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "__dataclass_fields__"):
        # a Span or Region: its fields in declaration order, values plain
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return str(value)


def _json_value(value: Any) -> Any:
    """A cell as a JSON value: NaN/NaT/NA as None, numpy scalars as Python ones."""
    if isinstance(value, (list, tuple, dict)):
        return _plain(value) if not isinstance(value, dict) else value
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return str(value)


def _round(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else round(x, FLOAT_DECIMALS)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        # 12 significant digits: a tolerance of 1e-9 survives, last-bit noise does not
        return None if not math.isfinite(obj) else float(f"{obj:.12g}")
    return obj


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write through a temporary file in the same directory, then rename: a failed
    export never leaves half a file beside an old manifest."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as open() would (mkstemp: 0o600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
