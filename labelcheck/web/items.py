"""Item browser and item page.

The browser lists one field's items of the project's current snapshot from
``item_stat`` (computed by the analysis job), filtered in SQL: by slice (``item_meta``),
by annotator and by label (``annotation``: small filters as a candidate list of task
ids, large ones as ``EXISTS`` probes on indexed columns, see :func:`plan_query`) and by
disagreement; sorted by disagreement (default), entropy, answers or task id; paged
with "previous / next" (``ITEMS_PER_PAGE`` rows read with ``LIMIT n + 1``: no count
over a filtered set).

Query parameters of ``items.browse``: ``field``, ``slice`` (``key:value``),
``annotator``, ``label``, ``disagreement`` (``any``, ``some`` = above 0, ``high`` =
:data:`HIGH_DISAGREEMENT` or more), ``min_disagreement`` (a number, used when
``disagreement`` is absent or ``min``), ``sort`` (:data:`SORTS`) and ``page``
(1-based).  The item page takes the same parameters to link to its neighbours in that
order.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import Connection, and_, exists, func, inspect, literal, or_, select, text
from sqlalchemy.sql import ColumnElement

from labelcheck.analysis.items import label_string
from labelcheck.storage.labels import join_labels
from labelcheck.storage.models import Annotation, Annotator, Field, Item, ItemMeta, ItemStat
from labelcheck.storage.results import load_result
from labelcheck.web.access import STAFF, roles_required
from labelcheck.web.projects import _db, get_project

blueprint = Blueprint("items", __name__)

#: ``disagreement`` of a "high" item: a 3-2 split of five answers (0.6), 2-1 of three (0.67).
HIGH_DISAGREEMENT = 0.5
#: Sort name -> (label, column, descending).  Ties: item_stat row id (stable, index order).
SORTS: dict[str, tuple[str, str, bool]] = {
    "disagreement": ("disagreement", "disagreement", True),
    "entropy": ("entropy", "entropy", True),
    "answers": ("answers", "n_answers", True),
    "task": ("task id", "task_id", False),
}
SNIPPET_CHARS = 140
#: Data strings up to this long (one line) are shown inline on the item page.
SHORT_CHARS = 40
#: Most distinct labels / slice values offered in a filter dropdown.
MAX_OPTIONS = 200
#: A filter with at most this many index rows is a candidate list (:func:`plan_query`).
CANDIDATE_CAP = 5000
_item_counts: dict[tuple[str, int, int, str], int] = {}
_sort_indexes: dict[str, set[str]] = {}

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_stat = ItemStat.__table__
_ann = Annotation.__table__
_meta = ItemMeta.__table__


@dataclass(frozen=True)
class Filters:
    """The browser's filters and order, read from the query string."""

    field: str
    slice_key: str | None
    slice_value: str | None
    annotator: str | None
    label: str | None
    disagreement: str
    min_disagreement: float | None
    sort: str
    page: int

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments of these filters with ``changes`` applied, empty ones left out."""
        values: dict[str, Any] = {
            "field": self.field,
            "slice": f"{self.slice_key}:{self.slice_value}" if self.slice_key is not None else None,
            "annotator": self.annotator, "label": self.label,
            "disagreement": None if self.disagreement in ("any", "min") else self.disagreement,
            "min_disagreement": self.min_disagreement,
            "sort": None if self.sort == "disagreement" else self.sort,
            "page": self.page,
        }
        values.update(changes)
        if values["page"] is not None and values["page"] <= 1:
            values["page"] = None
        return {k: v for k, v in values.items() if v not in (None, "")}

    @property
    def threshold(self) -> tuple[str, float] | None:
        if self.min_disagreement is not None:
            return (">=", self.min_disagreement)
        if self.disagreement == "some":
            return (">", 0.0)
        if self.disagreement == "high":
            return (">=", HIGH_DISAGREEMENT)
        return None


def read_filters(fields: list[str]) -> Filters:
    args = request.args
    field = args.get("field") or (fields[0] if fields else "")
    if fields and field not in fields:
        abort(404)
    slice_key = slice_value = None
    if args.get("slice") and ":" in args["slice"]:
        slice_key, slice_value = args["slice"].split(":", 1)
    level = args.get("disagreement") or "min"
    minimum: float | None = None
    if args.get("min_disagreement") and level == "min":
        try:
            minimum = float(args["min_disagreement"])
        except ValueError:
            abort(400, "min_disagreement must be a number between 0 and 1")
        if not math.isfinite(minimum):
            abort(400, "min_disagreement must be a number between 0 and 1")
    sort = args.get("sort", "disagreement")
    page = args.get("page", "1")
    return Filters(
        field=field, slice_key=slice_key, slice_value=slice_value,
        annotator=args.get("annotator") or None, label=args.get("label") or None,
        disagreement=("min" if minimum is not None
                      else level if level in ("some", "high") else "any"),
        min_disagreement=minimum, sort=sort if sort in SORTS else "disagreement",
        page=max(1, int(page)) if page.isdigit() else 1,
    )


def _cannot_match(conn: Connection, project_id: int, f: Filters, labels: list[str],
                  used: set[str] | None) -> bool:
    """Whether the annotator or label filter names something no one in the project gave
    (then no probe need run: a probe that never matches reads every item)."""
    if f.annotator is not None:
        known = select(Annotator.id).where(Annotator.project_id == project_id,
                                           Annotator.annotator_id == f.annotator)
        if conn.execute(known).first() is None:
            return True
    if f.label is not None:
        for names in (labels, used):
            if names and f.label not in names:
                number = _as_number(f.label)
                if number is None or number not in {_as_number(label) for label in names}:
                    return True
    return False


def _slice_tasks(conn: Connection, project_id: int, f: Filters) -> set[str] | None:
    """The task ids of the slice filter when it has at most ``CANDIDATE_CAP`` items
    (counted on ``ix_item_meta_lookup``), else ``None``: a large slice, or none."""
    if f.slice_key is None:
        return None
    m = _meta.c
    query = select(m.task_id).where(m.project_id == project_id, m.key == f.slice_key,
                                    m.value == f.slice_value)
    capped = query.limit(CANDIDATE_CAP + 1).subquery()
    if conn.execute(select(func.count()).select_from(capped)).scalar_one() > CANDIDATE_CAP:
        return None
    return set(conn.execute(query).scalars().all())


def _conditions(project_id: int, snapshot: int, f: Filters, probe_slice: bool,
                by_task: bool = False) -> list[ColumnElement[bool]]:
    """``item_stat`` conditions: the field, the disagreement threshold and ``EXISTS``
    probes for the annotator and label filters (on ``ix_annotation_task``: project,
    task, annotator) and, with ``probe_slice``, the slice (``ix_item_meta_lookup``).
    ``by_task`` hides the field from the index choice (``field || ''``), so that the
    database looks items up by task id (the candidate plan) instead of walking the
    disagreement index."""
    s = _stat.c
    field = (s.field + literal("")) == f.field if by_task else s.field == f.field
    where: list[ColumnElement[bool]] = [s.project_id == project_id, s.snapshot == snapshot, field]
    if f.threshold is not None:
        op, value = f.threshold
        where.append(s.disagreement >= value if op == ">=" else s.disagreement > value)
    if f.annotator is not None:
        a = _ann.alias("who")
        where.append(exists().where(a.c.project_id == project_id, a.c.task_id == s.task_id,
                                    a.c.annotator_id == f.annotator, a.c.field == f.field))
    if f.label is not None:
        a = _ann.alias("chose")
        # a probe reads one item's few rows, so the text-or-number test costs nothing
        number = _as_number(f.label)
        label_match = (a.c.label_text == f.label if number is None
                       else or_(a.c.label_text == f.label, a.c.label_number == number))
        where.append(exists().where(a.c.project_id == project_id, a.c.task_id == s.task_id,
                                    a.c.field == f.field, label_match))
    if probe_slice and f.slice_key is not None:
        m = _meta.alias("sl")
        where.append(exists().where(m.c.project_id == project_id, m.c.key == f.slice_key,
                                    m.c.value == f.slice_value, m.c.task_id == s.task_id))
    return where


@dataclass(frozen=True)
class Plan:
    """How to read the browser's rows: ``item_stat`` conditions, and whether they look
    items up by task id (a small candidate set) rather than walk the sort order."""

    where: list[ColumnElement[bool]]
    by_task: bool


def plan_query(conn: Connection, project_id: int, snapshot: int, f: Filters,
               rows_needed: int) -> Plan | None:
    """The ``item_stat`` conditions for ``f``, chosen for speed; ``None`` when nothing
    can match.

    Two plans: walk the sort order and probe each row (cheap when matches are dense:
    about ``rows_needed * n_items / n_matches`` rows read), or look up a small slice's
    items by task id and sort them (about ``n_candidates`` lookups).  The cheaper one
    by that estimate wins; sorts without an index (:func:`sort_indexed`) take the
    second whenever there are candidates.  (Annotator and label filters are always
    probes: ``annotation`` has one index, by task, to keep bulk imports fast.)"""
    candidates = _slice_tasks(conn, project_id, f)
    if candidates is None:
        where = _conditions(project_id, snapshot, f, probe_slice=True)
        return Plan(where, by_task=False)
    if not candidates:
        return None
    n_items = _item_count(conn, project_id, snapshot, f.field)
    walk = rows_needed * n_items / len(candidates)
    by_task = not sort_indexed(conn, f.sort) or walk > 3 * len(candidates)
    where = _conditions(project_id, snapshot, f, probe_slice=False, by_task=by_task)
    where.append(_stat.c.task_id.in_(sorted(candidates)))
    return Plan(where, by_task=by_task)


def sort_indexed(conn: Connection, sort: str) -> bool:
    """Whether an ``item_stat`` index yields the order of ``sort`` for one field (else
    the database sorts all the field's items: ~0.3-0.6 s at 250,000 items)."""
    key = str(conn.engine.url)
    if key not in _sort_indexes:
        found: set[str] = set()
        for index in inspect(conn).get_indexes("item_stat"):
            columns = [str(c) for c in index["column_names"]]
            if columns[:2] == ["project_id", "snapshot"] and len(columns) > 2:
                # (project, snapshot, field, X) orders a field by X; (project, snapshot, X) too
                by_field = columns[2] == "field" and len(columns) > 3
                found.add(columns[3] if by_field else columns[2])
        _sort_indexes[key] = found
    return SORTS[sort][1] in _sort_indexes[key]


def _item_count(conn: Connection, project_id: int, snapshot: int, field: str) -> int:
    """Items of a field in a snapshot (cached: a snapshot's statistics do not change)."""
    key = (str(conn.engine.url), project_id, snapshot, field)
    if key not in _item_counts:
        if len(_item_counts) > 256:
            _item_counts.clear()
        count = select(func.count()).select_from(_stat).where(
            _stat.c.project_id == project_id, _stat.c.snapshot == snapshot, _stat.c.field == field)
        _item_counts[key] = int(conn.execute(count).scalar_one())
    return _item_counts[key]


def _order(sort: str) -> list[Any]:
    _, column, descending = SORTS[sort]
    col = _stat.c[column]
    # the row id breaks ties: it is the last column of every SQLite index, so the
    # disagreement index yields this order without a sort
    return [col.desc(), _stat.c.id.desc()] if descending else [col.asc(), _stat.c.id.asc()]


def _as_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# --- lookups for the page ------------------------------------------------------------
def _fields(conn: Connection, project_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(Field.name, Field.value_type, Field.categories, Field.to_name)
                        .where(Field.project_id == project_id)
                        .order_by(Field.position, Field.id)).all()
    return [{"name": n, "value_type": v, "categories": c, "to_name": t} for n, v, c, t in rows]


def _spec(specs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    default = {"name": name, "categories": None, "to_name": None}
    return next((s for s in specs if s["name"] == name), default)


def _has_stats(conn: Connection, project_id: int, snapshot: int) -> bool:
    query = select(_stat.c.id).where(_stat.c.project_id == project_id,
                                     _stat.c.snapshot == snapshot).limit(1)
    return conn.execute(query).first() is not None


def _distinct(conn: Connection, column: str, table: str, where: str,
              params: dict[str, Any]) -> list[Any]:
    """Distinct values of an indexed column by a loose index scan (one index seek per
    value, a recursive CTE both SQLite and PostgreSQL run), capped at MAX_OPTIONS."""
    sql = text(
        f"WITH RECURSIVE v(x) AS ("
        f" SELECT (SELECT MIN({column}) FROM {table} WHERE {where})"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {where} AND {column} > v.x)"
        f" FROM v WHERE v.x IS NOT NULL)"
        f" SELECT x FROM v WHERE x IS NOT NULL LIMIT {MAX_OPTIONS}")
    return [row[0] for row in conn.execute(sql, params)]


def _label_options(spec: dict[str, Any],
                   overview: dict[str, Any] | None) -> tuple[list[str], set[str] | None]:
    """The field's labels for the label filter (its declared categories, else the ones
    the analysis found), and the labels anyone gave (from the stored overview's
    per-class counts; ``None`` when unknown)."""
    stored: dict[str, Any] = {}
    if overview:
        stored = next((f for f in overview.get("fields", []) if f.get("name") == spec["name"]), {})
    categories = spec.get("categories") or stored.get("categories") or []
    classes = stored.get("classes")
    used = ({label_string(c["class"]) for c in classes if c.get("n_answers")}
            if isinstance(classes, list) else None)
    return [label_string(c) for c in list(categories)[:MAX_OPTIONS]], used


def _slice_options(conn: Connection, project_id: int) -> dict[str, list[str]]:
    keys = _distinct(conn, "key", "item_meta", "project_id = :p", {"p": project_id})
    where = "project_id = :p AND key = :k"
    return {key: [str(v) for v in _distinct(conn, "value", "item_meta", where,
                                            {"p": project_id, "k": key})] for key in keys}


def _snippet(data: dict[str, Any], to_name: str | None) -> str:
    """The text an item is about: its ``to_name`` data field when that is a string,
    else its longest string value; truncated."""
    value = data.get(to_name) if to_name else None
    if not isinstance(value, str):
        strings = [v for v in data.values() if isinstance(v, str)]
        value = max(strings, key=len) if strings else ""
    value = " ".join(value.split())
    return value if len(value) <= SNIPPET_CHARS else value[: SNIPPET_CHARS - 1] + "…"


def _item_data(conn: Connection, project_id: int,
               task_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not task_ids:
        return {}
    rows = conn.execute(select(Item.task_id, Item.data).where(Item.project_id == project_id,
                                                              Item.task_id.in_(task_ids))).all()
    return {t: (json.loads(d) if isinstance(d, str) else dict(d or {})) for t, d in rows}


# --- views ---------------------------------------------------------------------------
@blueprint.route("/projects/<int:project_id>/items")
@roles_required(*STAFF)
def browse(project_id: int) -> Any:
    project = get_project(project_id)
    with _db().engine.connect() as conn:
        specs = _fields(conn, project_id)
        if not project.snapshot or not _has_stats(conn, project_id, project.snapshot):
            return render_template("items/browse.html", project=project, ready=False)
        names = [s["name"] for s in specs] or [r[0] for r in conn.execute(
            select(_stat.c.field).where(_stat.c.project_id == project_id).distinct())]
        f = read_filters(names)
        size = max(1, int(current_app.config.get("ITEMS_PER_PAGE", 50)))
        spec = _spec(specs, f.field)
        overview = load_result(_db(), project_id, project.snapshot, "overview")
        labels, used = _label_options(spec, overview)
        offset = (f.page - 1) * size
        plan = (None if _cannot_match(conn, project_id, f, labels, used)
                else plan_query(conn, project_id, project.snapshot, f, offset + size + 1))
        rows: list[dict[str, Any]] = []
        if plan is not None:
            c = _stat.c
            query = (select(c.task_id, c.n_answers, c.n_labels, c.disagreement, c.entropy,
                            c.majority_label, c.majority_share)
                     .where(and_(*plan.where)).order_by(*_order(f.sort))
                     .offset(offset).limit(size + 1))
            rows = [dict(r._mapping) for r in conn.execute(query)]
        has_next = len(rows) > size
        rows = rows[:size]
        unfiltered = f.threshold is None and not (f.annotator or f.label or f.slice_key)
        total = _item_count(conn, project_id, project.snapshot, f.field) if unfiltered else None
        data = _item_data(conn, project_id, [r["task_id"] for r in rows])
        for r in rows:
            r["snippet"] = _snippet(data.get(r["task_id"], {}), spec.get("to_name"))
        annotators = list(conn.execute(select(Annotator.annotator_id).where(
            Annotator.project_id == project_id).order_by(Annotator.annotator_id)).scalars())
        slices = _slice_options(conn, project_id)
    first = (f.page - 1) * size + 1
    return render_template(
        "items/browse.html", project=project, ready=True, filters=f, fields=names, rows=rows,
        labels=labels, annotators=annotators, slices=slices, sorts=SORTS, high=HIGH_DISAGREEMENT,
        first=first, last=first + len(rows) - 1, has_next=has_next, total=total)


@blueprint.route("/projects/<int:project_id>/items/<path:task_id>")
@roles_required(*STAFF)
def item(project_id: int, task_id: str) -> Any:
    project = get_project(project_id)
    with _db().engine.connect() as conn:
        specs = _fields(conn, project_id)
        found = conn.execute(select(Item.data).where(Item.project_id == project_id,
                                                     Item.task_id == task_id)).first()
        answers = conn.execute(
            select(_ann.c.annotation_id, _ann.c.annotator_id, _ann.c.field, _ann.c.label_text,
                   _ann.c.label_number, _ann.c.label_json, _ann.c.created_at_us, _ann.c.lead_time)
            .where(_ann.c.project_id == project_id, _ann.c.task_id == task_id)
            .order_by(_ann.c.created_at_us, _ann.c.annotator_id, _ann.c.annotation_id)).all()
        if found is None and not answers:
            abort(404)
        stats = {r.field: dict(r._mapping) for r in conn.execute(select(_stat).where(
            _stat.c.project_id == project_id, _stat.c.snapshot == project.snapshot,
            _stat.c.task_id == task_id))}
        names = [s["name"] for s in specs]
        names += sorted({a.field for a in answers} - set(names))
        neighbours = (_neighbours(conn, project_id, project.snapshot, task_id, names)
                      if stats else {})
    data = found[0] if found is not None else {}
    data = json.loads(data) if isinstance(data, str) else dict(data or {})
    texts: Any = join_labels(np.asarray([a.label_text for a in answers], dtype=object),
                             np.asarray([a.label_number for a in answers], dtype=float),
                             np.asarray([a.label_json for a in answers], dtype=object))
    columns: dict[str, dict[str, Any]] = {}
    cells: dict[tuple[str, str], str] = {}
    for a, label in zip(answers, texts):
        columns.setdefault(a.annotation_id, {
            "annotation_id": a.annotation_id, "annotator_id": a.annotator_id,
            "created_at": _from_us(a.created_at_us), "lead_time": a.lead_time})
        cells[(a.field, a.annotation_id)] = label_string(label)
    fields_shown = [n for n in names if any((n, c) in cells for c in columns)]
    off_top, tied = _plurality(cells)
    objects = {s["to_name"] for s in specs if s.get("to_name")}
    from labelcheck.web.adjudication import item_panel

    adjudication = item_panel(project_id, project.snapshot, task_id, fields_shown, stats)
    from labelcheck.web.item_markup import markup

    drawn = markup(specs, data, [(a.field, a.annotation_id, a.annotator_id, label)
                                 for a, label in zip(answers, texts)])
    return render_template(
        "items/item.html", project=project, task_id=task_id,
        data=[_data_entry(k, v, objects) for k, v in data.items()],
        columns=list(columns.values()), fields=fields_shown, cells=cells, stats=stats,
        ready=bool(stats), neighbours=neighbours, back=request.args.to_dict(),
        off_top=off_top, tied=tied, adjudication=adjudication, here=request.full_path, drawn=drawn)


def _from_us(microseconds: int | None) -> datetime | None:
    """A stored ``created_at_us`` (microseconds since the epoch) as a UTC datetime."""
    if microseconds is None:
        return None
    return EPOCH + timedelta(microseconds=int(microseconds))


def _plurality(cells: dict[tuple[str, str], str]) -> tuple[dict[str, set[str]], set[str]]:
    """Per field, the labels given less often than the most frequent one, and the
    fields whose most frequent label is tied."""
    counts: dict[str, dict[str, int]] = {}
    for (field, _), label in cells.items():
        counts.setdefault(field, {}).setdefault(label, 0)
        counts[field][label] += 1
    off_top: dict[str, set[str]] = {}
    tied: set[str] = set()
    for field, per_label in counts.items():
        top = max(per_label.values())
        off_top[field] = {label for label, n in per_label.items() if n < top}
        if sum(n == top for n in per_label.values()) > 1:
            tied.add(field)
    return off_top, tied


def _neighbours(conn: Connection, project_id: int, snapshot: int, task_id: str,
                names: list[str]) -> dict[str, str | None]:
    """The previous and next item in the browse order given by the query string:
    keyset queries on the browser's conditions, first among equal sort values (by row
    id), then beyond them.  Skipped (empty) for the sorts without an index when no
    filter narrows the items down (see :func:`sort_indexed`)."""
    if not names:
        return {}
    f = read_filters(names)
    _, column, descending = SORTS[f.sort]
    col, rid = _stat.c[column], _stat.c.id
    here = conn.execute(select(rid, col).where(
        _stat.c.project_id == project_id, _stat.c.snapshot == snapshot, _stat.c.field == f.field,
        _stat.c.task_id == task_id)).first()
    if here is None:
        return {}
    row_id, value = here
    plan = plan_query(conn, project_id, snapshot, f, 1)
    if plan is None or not (plan.by_task or sort_indexed(conn, f.sort)):
        return {}
    where = plan.where
    out: dict[str, str | None] = {}
    for name, forward in (("next", True), ("previous", False)):
        up = forward != descending  # towards larger values of the sort column
        ties = [col == value, rid > row_id if up else rid < row_id]
        beyond = [col > value if up else col < value]
        order = [col.asc(), rid.asc()] if up else [col.desc(), rid.desc()]
        found = None
        for step in (ties, beyond):
            found = conn.execute(select(_stat.c.task_id).where(and_(*where, *step))
                                 .order_by(*order).limit(1)).scalar_one_or_none()
            if found is not None:
                break
        out[name] = found
    return out


def _data_entry(key: str, value: Any, objects: set[str]) -> dict[str, Any]:
    """One data field for the item page: ``kind`` is ``image`` (an http(s) or
    ``data:image/`` URL under an image-like key or with an image extension), ``link``
    (another http(s) URL), ``short`` (a number or a short one-line string that no field
    labels: shown inline, like slice values), ``text`` or ``json``."""
    short = isinstance(value, str) and key not in objects and len(value) <= SHORT_CHARS and (
        "\n" not in value and not value.startswith(("http://", "https://", "data:")))
    if isinstance(value, (int, float)) or short:
        return {"key": key, "kind": "short", "value": value}
    if isinstance(value, str):
        scheme = urlsplit(value.strip()).scheme.lower() if len(value) < 100_000 else ""
        lowered = value.lower().split("?")[0]
        imageish = any(w in key.lower() for w in ("image", "img", "photo", "picture")) or (
            lowered.endswith((".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp")))
        if value.startswith("data:image/") or (scheme in ("http", "https") and imageish):
            return {"key": key, "kind": "image", "value": value}
        if scheme in ("http", "https"):
            return {"key": key, "kind": "link", "value": value}
        return {"key": key, "kind": "text", "value": value}
    shown = json.dumps(value, indent=1, ensure_ascii=False, default=str)
    return {"key": key, "kind": "json", "value": shown}


__all__ = ["blueprint"]
