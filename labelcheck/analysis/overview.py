r"""The project overview: what the overview page shows, computed once per snapshot.

For every field (Label Studio control tag) of a :class:`~labelcheck.table.Dataset`:
counts, the agreement coefficients with their intervals and interpretation bands,
a per-class and a per-annotator table, agreement per week, and the coincidence
matrix behind the confusion heatmap.  The result is plain, strictly JSON-ready
Python (NaN becomes None) so the pipeline can store it and a page can render it
without recomputing anything.

Pure: no I/O, no storage or web imports (only the core).  The field is encoded once
and every statistic reuses that coding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.agreement import (
    AgreementResult,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    icc_oneway,
    krippendorff_alpha,
    percent_agreement,
)
from labelcheck.agreement.bands import krippendorff_band, landis_koch
from labelcheck.agreement.breakdown import by_annotator, by_class, by_period
from labelcheck.agreement.intervals import Interval, count_patterns
from labelcheck.agreement.krippendorff import _distance_matrix, _ordinal_scores
from labelcheck.errors import LabelcheckError
from labelcheck.table import (
    ANNOTATION_ID,
    ANNOTATOR_ID,
    CREATED_AT,
    FIELD,
    LABEL,
    LEAD_TIME,
    TASK_ID,
    CodedRatings,
    Dataset,
    FieldSpec,
    Level,
    Region,
    Span,
    count_matrix,
    created_at_keys,
    encode,
    fields_in,
    n_distinct,
)

Progress = Callable[[float, str], None]
FloatArray = npt.NDArray[np.float64]

#: Bumped when the payload's shape changes (pages can tell an old stored payload).
OVERVIEW_VERSION = 1
#: Value types whose agreement needs measures of their own
#: (:mod:`labelcheck.analysis.structured`).
NOT_YET_ANALYSED = ("multichoice", "span", "region", "text")
#: Task columns with more distinct values than this are not offered as slices
#: (the rule of :func:`labelcheck.storage.annotations.slice_columns`, copied: the
#: analysis may not import storage).
MAX_SLICE_VALUES = 100
#: Most categories for the per-class table, the coincidence matrix and the fast
#: per-annotator table; above it they are skipped (or, per annotator, computed by
#: :func:`~labelcheck.agreement.breakdown.by_annotator`).
MAX_TABLE_CATEGORIES = 50
#: Most categories for the count coefficients (Fleiss, Gwet, percent agreement): a
#: field with more distinct values is a number, read with alpha and the ICC.
MAX_COUNT_CATEGORIES = 100
#: Weekly windows; a longer project is shown per month.
MAX_WEEKS = 104

LABELS = {
    "krippendorff_alpha": "Krippendorff's α",
    "fleiss_kappa": "Fleiss' κ",
    "gwet_ac1": "Gwet's AC1",
    "gwet_ac2": "Gwet's AC2",
    "percent_agreement": "Percent agreement",
    "icc_oneway": "ICC(1)",
}
#: CSS colour class of each interpretation band (see :mod:`labelcheck.agreement.bands`).
BAND_CLASSES = {
    "reliable": "band-good", "tentative": "band-fair", "unreliable": "band-poor",
    "almost perfect": "band-good", "substantial": "band-good", "moderate": "band-fair",
    "fair": "band-fair", "slight": "band-poor", "poor": "band-poor",
}


def _noop(_fraction: float, _message: str) -> None:
    return None


def project_overview(
    dataset: Dataset,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    progress: Progress = _noop,
) -> dict[str, Any]:
    """The overview payload of ``dataset``: totals, slices, and one entry per field.

    Parameters
    ----------
    dataset : the canonical annotation table, task table and field specs.  A field
        present in the answers without a spec is read as a nominal choice.
    n_boot : bootstrap resamples for alpha's interval (overall and per week).
    confidence : confidence level of every interval.
    seed : seed of the bootstrap; the same seed gives the same payload.
    progress : called with ``(fraction done, message)``.

    Returns
    -------
    dict
        ``version``, ``settings``, ``totals`` (items, annotations, annotators,
        fields), ``slices`` (``column``, ``n_values``, ``values``) and ``fields``, a
        list in field order of dicts with ``name``, ``value_type``, ``level``,
        ``categories``, ``analysed`` and, when analysed, ``summary``,
        ``coefficients``, ``classes``, ``annotators``, ``over_time`` and
        ``confusion`` (see :func:`field_overview`).  NaN is None throughout.
    """
    annotations = dataset.annotations
    specs = dict(dataset.fields or {})
    present = fields_in(annotations) if len(annotations) else []
    names = [n for n in specs if n in present] + [n for n in present if n not in specs]
    names += [n for n in specs if n not in present]
    boot = Interval("bootstrap", confidence=confidence, n_boot=n_boot, seed=seed)
    slices = slice_summary(dataset.tasks)
    fields: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        progress(i / max(len(names), 1), f"field {name}")
        spec = specs.get(name)
        if name not in present:
            fields.append(_skipped(name, spec, "no answers in this field"))
            continue
        rows = annotations if len(present) == 1 else annotations[annotations[FIELD] == name]
        spec = spec or _spec_from_data(name, rows)
        if spec.value_type in NOT_YET_ANALYSED:
            from labelcheck.analysis.structured import structured_overview

            fields.append(structured_overview(rows, spec, dataset.tasks, [s["column"] for s in slices],
                                              _skipped(name, spec, None), ci=boot))
            continue
        fields.append(field_overview(rows, spec, boot))
    progress(1.0, "overview done")
    payload: dict[str, Any] = plain_json({
        "version": OVERVIEW_VERSION,
        "settings": {"n_boot": n_boot, "confidence": confidence, "seed": seed},
        "totals": _totals(annotations, fields, len(present)),
        "slices": slices,
        "fields": fields,
    })
    return payload


def _totals(
    annotations: pd.DataFrame, fields: list[dict[str, Any]], n_present: int
) -> dict[str, Any]:
    """Items, annotations and annotators of the whole project.  With one field, its
    summary already counts them (one row per annotation and field), and counting
    distinct string ids again costs seconds at 1M rows."""
    if n_present == 1:
        only = next((f for f in fields if f.get("summary")), None)
        if only is not None and only["summary"]["annotations"] == len(annotations):
            s = only["summary"]
            return {"items": s["items"], "annotations": s["annotations"],
                    "annotators": s["annotators"], "fields": len(fields)}
    empty = len(annotations) == 0
    return {
        "items": 0 if empty else int(annotations[TASK_ID].nunique()),
        "annotations": 0 if empty else int(annotations[ANNOTATION_ID].nunique()),
        "annotators": 0 if empty else int(annotations[ANNOTATOR_ID].nunique()),
        "fields": len(fields),
    }


def field_overview(rows: pd.DataFrame, spec: FieldSpec, boot: Interval) -> dict[str, Any]:
    """One field's part of the overview (``rows``: the field's answers).

    Keys: ``summary`` (``items``, ``annotations``, ``annotators``, ``items_multi``:
    items with two or more answers, ``categories_used``, ``categories``);
    ``coefficients`` (list of ``name``, ``label``, ``value``, ``ci_low``, ``ci_high``,
    ``ci_method``, ``n_items``, ``reason``, ``band``, ``band_convention``);
    ``classes``; ``annotators``; ``over_time``; ``confusion``.
    """
    if spec.value_type in NOT_YET_ANALYSED:
        return _skipped(spec.name, spec, f"{spec.value_type} answers: not analysed yet (issue 9)")
    try:
        coded = encode(rows, field=spec.name, level=spec.level, categories=spec.categories)
    except LabelcheckError as error:
        return _skipped(spec.name, spec, f"not analysed: {str(error).splitlines()[0]}")
    if coded.n_annotations == 0:
        return _skipped(spec.name, spec, "no answer in this field has a label")
    lean = _lean(coded)
    k = coded.n_categories
    m = np.bincount(coded.task, minlength=coded.n_tasks)
    summary = {
        "items": coded.n_tasks, "annotations": coded.n_annotations,
        "annotators": coded.n_annotators, "items_multi": int(np.sum(m >= 2)),
        "categories_used": n_distinct(coded.label, k), "categories": k,
    }
    out = _skipped(spec.name, spec, None) | {
        "analysed": True, "categories": [_plain(c) for c in coded.categories],
        "summary": summary,
    }
    out["coefficients"] = [_coefficient(r) for r in _coefficients(lean, spec.level, boot)]
    small = k <= MAX_TABLE_CATEGORIES
    many = f"{k} categories: more than {MAX_TABLE_CATEGORIES}, too many to tabulate"
    out["classes"] = _classes(lean, boot.confidence) if small else None
    out["classes_reason"] = None if small else many
    out["annotators"] = annotator_table(lean, spec.level)
    out["over_time"] = _over_time(lean, spec.level, boot)
    out["confusion"] = _confusion(lean) if small else None
    out["confusion_reason"] = None if small else many
    return out


# --- coefficients --------------------------------------------------------------------
def _coefficients(coded: CodedRatings, level: Level, boot: Interval) -> list[AgreementResult]:
    analytic = Interval("analytic", confidence=boot.confidence)
    results = [krippendorff_alpha(coded, level=level, ci=boot)]
    if coded.n_categories <= MAX_COUNT_CATEGORIES:
        results.append(fleiss_kappa(coded, ci=analytic))
        if level == "nominal":
            results.append(gwet_ac1(coded, ci=analytic))
        else:
            results.append(gwet_ac2(coded, level=level, ci=analytic))
        results.append(percent_agreement(coded, ci=analytic))
    if level != "nominal" and coded.values is not None:
        results.append(icc_oneway(coded, ci="F", confidence=boot.confidence))
    return results


def _coefficient(res: AgreementResult) -> dict[str, Any]:
    band, convention = None, None
    if res.metric == "krippendorff_alpha":
        band, convention = krippendorff_band(res.value), "Krippendorff (2019)"
    elif res.metric in ("fleiss_kappa", "gwet_ac1", "gwet_ac2"):
        band, convention = landis_koch(res.value), "Landis & Koch (1977)"
    low, high = res.ci if res.ci is not None else (None, None)
    return {
        "name": res.metric, "label": LABELS.get(res.metric, res.metric), "value": res.value,
        "ci_low": low, "ci_high": high, "ci_method": res.ci_method,
        "confidence": res.confidence, "n_items": res.n_items, "weights": res.weights,
        "reason": res.reason, "band": band, "band_convention": convention,
        "band_class": BAND_CLASSES.get(band) if band else None,
    }


def _classes(coded: CodedRatings, confidence: float) -> list[dict[str, Any]]:
    """Per category: share of answers, Fleiss' one-vs-rest kappa and specific agreement."""
    analytic = Interval("analytic", confidence=confidence)
    n_answers = np.bincount(coded.label, minlength=coded.n_categories)
    total = max(int(n_answers.sum()), 1)
    rows = []
    for k, res in enumerate(by_class(coded, "fleiss_kappa", ci=analytic)):
        low, high = res.ci if res.ci is not None else (None, None)
        sa_ci = res.details.get("specific_agreement_ci") or [None, None]
        rows.append({
            "class": _plain(coded.categories[k]), "n_answers": int(n_answers[k]),
            "share": n_answers[k] / total, "kappa": res.value, "ci_low": low, "ci_high": high,
            "specific_agreement": res.details.get("specific_agreement"),
            "sa_ci_low": sa_ci[0], "sa_ci_high": sa_ci[1], "reason": res.reason,
        })
    return rows


def _over_time(coded: CodedRatings, level: Level, boot: Interval) -> dict[str, Any]:
    """Alpha per week (per month past :data:`MAX_WEEKS`), with its bootstrap interval."""
    keys = created_at_keys(coded)
    timed = None if keys is None else keys[keys != np.iinfo(np.int64).min]  # NaT is min
    if timed is None or timed.size == 0:
        return {"freq": None, "points": [], "n_without_time": coded.n_annotations,
                "reason": "no answer has a created_at time: agreement over time needs "
                          "submission times"}
    weeks = (int(timed.max()) - int(timed.min())) / (7 * 86_400 * 10**9)
    freq = "week" if weeks <= MAX_WEEKS else "month"
    points, n_without = [], 0
    for res in by_period(coded, "krippendorff_alpha", freq, level=level, ci=boot):
        if res.details.get("period") is None:
            n_without = int(res.details.get("n_without_time", 0))
            continue
        low, high = res.ci if res.ci is not None else (None, None)
        points.append({"period": res.details["period"], "value": res.value, "ci_low": low,
                       "ci_high": high, "n_items": res.n_items,
                       "n_annotations": res.n_annotations, "reason": res.reason})
    return {"freq": freq, "points": points, "n_without_time": n_without, "reason": None}


# --- coincidences --------------------------------------------------------------------
def coincidence_matrix(counts: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    r"""Krippendorff's observed and expected coincidence matrices from task counts.

    .. math:: o_{ck} = \sum_u \frac{n_{uc}\,(n_{uk} - [c = k])}{m_u - 1}, \qquad
              e_{ck} = \frac{n_c\,(n_k - [c = k])}{n_{\cdot\cdot} - 1}

    :math:`n_{uc}` counts the answers putting unit (task) :math:`u` in category
    :math:`c`, :math:`m_u = \sum_c n_{uc}`; the sum runs over the pairable units
    (:math:`m_u \ge 2`).  :math:`n_c = \sum_k o_{ck}` are the pairable values of
    :math:`c` and :math:`n_{\cdot\cdot} = \sum_c n_c`.  :math:`o_{ck}` counts the
    ordered pairs of answers on one unit with values :math:`c, k`, each unit's pairs
    weighted :math:`1 / (m_u - 1)` so that it contributes :math:`m_u` pairable values;
    :math:`e_{ck}` is what the same values would give paired at random.

    Parameters
    ----------
    counts : ``(n_tasks, n_categories)`` answer counts
        (:func:`labelcheck.table.count_matrix`).

    Returns
    -------
    (observed, expected) : two ``(n_categories, n_categories)`` symmetric arrays;
        both are zero when no task has two answers.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
    School for Communication, University of Pennsylvania.
    https://repository.upenn.edu/asc_papers/43 (worked example, p. 6).

    Examples
    --------
    Krippendorff's (2011) example (4 observers, 12 units, values 1-5) has
    :math:`o_{11} = 7`, :math:`o_{12} = 4/3`, :math:`n_1 = 9`, :math:`n_{\cdot\cdot} = 40`:

    >>> units = [[3, 0, 0, 0, 0], [0, 3, 1, 0, 0], [0, 0, 4, 0, 0], [0, 0, 4, 0, 0],
    ...          [0, 4, 0, 0, 0], [1, 1, 1, 1, 0], [0, 0, 0, 4, 0], [3, 1, 0, 0, 0],
    ...          [0, 4, 0, 0, 0], [0, 0, 0, 0, 3], [2, 0, 0, 0, 0], [0, 0, 1, 0, 0]]
    >>> o, e = coincidence_matrix(units)
    >>> [round(float(x), 4) for x in (o[0, 0], o[0, 1], o[0].sum(), o.sum())]
    [7.0, 1.3333, 9.0, 40.0]
    >>> round(float(e[0, 1]), 4)  # 9 * 13 / 39
    3.0
    """
    n = np.asarray(counts, dtype=np.int64)
    k = n.shape[1]
    pairable = n.sum(axis=1) >= 2
    observed = np.zeros((k, k))
    if pairable.any():
        patterns, freq = count_patterns(n[pairable])
        p = patterns.astype(np.float64)
        w = freq / (p.sum(axis=1) - 1.0)
        observed = p.T @ (p * w[:, None]) - np.diag(w @ p)
    n_c = observed.sum(axis=1)
    total = float(n_c.sum())
    expected = np.zeros((k, k))
    if total > 1:
        expected = (np.outer(n_c, n_c) - np.diag(n_c)) / (total - 1.0)
    return observed, expected


def _confusion(coded: CodedRatings) -> dict[str, Any]:
    observed, expected = coincidence_matrix(count_matrix(coded))
    rows = observed.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = np.where(rows > 0, observed / np.where(rows > 0, rows, 1.0), np.nan)
        ratio = np.where(expected > 0, observed / np.where(expected > 0, expected, 1.0), np.nan)
    return {
        "categories": [_plain(c) for c in coded.categories],
        "observed": observed.tolist(), "expected": expected.tolist(),
        "row_normalised": normalised.tolist(), "ratio": ratio.tolist(),
        "n_pairable": float(observed.sum()),
    }


def alpha_from_coincidences(
    observed: FloatArray, level: Level, values: FloatArray | None = None
) -> float:
    r"""Krippendorff's alpha of a coincidence matrix (NaN when undefined).

    .. math:: \alpha = 1 - (n_{\cdot\cdot} - 1)
              \frac{\sum_{c,k} o_{ck}\,\delta_{ck}}{\sum_{c,k} n_c\,n_k\,\delta_{ck}}

    with :math:`\delta` the level's difference function (see
    :func:`labelcheck.agreement.krippendorff_alpha`; ordinal from the marginals
    :math:`n_c`, interval and ratio from the category ``values``)."""
    n_c = observed.sum(axis=1)
    total = float(n_c.sum())
    if total < 2:
        return math.nan
    if level == "ordinal":
        z = _ordinal_scores(n_c)
        delta = (z[:, None] - z[None, :]) ** 2
    elif level == "nominal" or values is None:
        delta = _distance_matrix("nominal", np.zeros(len(n_c)))
    else:
        delta = _distance_matrix(level, np.asarray(values, dtype=np.float64))
    expected = float(n_c @ delta @ n_c)
    if expected <= 1e-12 * total * total * max(float(delta.max()), 1e-300):
        return math.nan
    return 1.0 - (total - 1.0) * float(np.sum(observed * delta)) / expected


# --- per annotator -------------------------------------------------------------------
def annotator_table(coded: CodedRatings, level: Level) -> list[dict[str, Any]]:
    r"""Each annotator against the others: what :func:`~labelcheck.agreement.breakdown.by_annotator`
    reports for alpha, computed from coincidence matrices in one pass.

    For annotator :math:`a` with count row :math:`a_u` on task :math:`u` (full row
    :math:`n_u`), the coincidences without :math:`a` are
    :math:`o^{(-a)} = o - \sum_{u \ni a} o(n_u) + \sum_{u \ni a} o(n_u - a_u)`, with
    :math:`o(r) = (r r^\top - \mathrm{diag}\, r) / (m - 1)` for a row of
    :math:`m \ge 2` answers (else 0); ``alpha_without`` is the alpha of
    :math:`o^{(-a)}` and ``delta`` the overall alpha minus it.  The pair table of
    :math:`a`'s answers against everyone else's on the same task has coincidences
    :math:`N_a + N_a^\top`, :math:`N_a = \sum_u a_u (n_u - a_u)^\top`: its alpha is
    ``alpha_with_peers`` and :math:`\mathrm{tr}\,N_a / \sum N_a` the share of
    agreeing pairs, ``agreement_with_peers``.  Tasks are grouped by their
    (annotator, count row, own row) so the cost is one pass over the answers plus
    work on the distinct groups.

    Parameters
    ----------
    coded : one field's coded answers.
    level : the field's level of measurement (the difference function of alpha).

    Returns
    -------
    One dict per annotator (numeric ids in numeric order): ``annotator``,
    ``n_answers``, ``n_pairs`` (pairs of their answer with another annotator's on one
    task), ``agreement_with_peers``, ``alpha_with_peers``, ``alpha_without``,
    ``delta``, ``mean_lead_time`` (seconds, None without lead times) and ``reason``
    (why a value is NaN).

    Notes
    -----
    Fields with more than :data:`MAX_TABLE_CATEGORIES` categories use
    :func:`~labelcheck.agreement.breakdown.by_annotator` instead (same numbers,
    slower: one alpha per annotator on a subset).

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    https://repository.upenn.edu/asc_papers/43
    """
    own_total, own_same, counts_at = _answer_counts(coded)
    m_at = np.bincount(coded.task, minlength=coded.n_tasks)[coded.task]
    a = coded.annotator
    n_a = coded.n_annotators
    pairs = np.bincount(a, weights=m_at - own_total, minlength=n_a)
    agree = np.bincount(a, weights=counts_at - own_same, minlength=n_a)
    n_answers = np.bincount(a, minlength=n_a)
    lead_sum = lead_n = None
    if LEAD_TIME in coded.frame.columns:
        lead = coded.frame[LEAD_TIME].to_numpy(dtype=np.float64)[coded.rows]
        timed = ~np.isnan(lead)
        lead_sum = np.bincount(a[timed], weights=lead[timed], minlength=n_a)
        lead_n = np.bincount(a[timed], minlength=n_a)
    if coded.n_categories <= MAX_TABLE_CATEGORIES:
        stats = _annotator_coincidences(coded, level)
    else:
        stats = _annotator_breakdown(coded, level)
    rows = []
    for i, annotator_id in enumerate(coded.annotator_ids):
        mean_lead = None
        if lead_sum is not None and lead_n is not None and lead_n[i] > 0:
            mean_lead = float(lead_sum[i] / lead_n[i])
        row: dict[str, Any] = {"annotator": str(annotator_id), "n_answers": int(n_answers[i]),
               "n_pairs": int(pairs[i]),
               "agreement_with_peers": agree[i] / pairs[i] if pairs[i] > 0 else None,
               "mean_lead_time": mean_lead} | stats[i]
        if pairs[i] == 0:
            row["reason"] = f"annotator {annotator_id} shares no task with another annotator"
        elif row["reason"] is None and math.isnan(float(row["alpha_without"])):
            row["reason"] = ("alpha without this annotator is undefined: no task keeps two "
                             "answers, or a single label is left")
        rows.append(row)
    return sorted(rows, key=lambda r: _natural(r["annotator"]))


def _natural(annotator_id: str) -> tuple[int, int, str]:
    """Label Studio user ids are numbers: 2 before 13 (the order of ``by_annotator``)."""
    return (0, int(annotator_id), "") if annotator_id.isdigit() else (1, 0, annotator_id)


def _answer_counts(coded: CodedRatings) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per answer: its annotator's answers on its task, those with its label, and all
    answers on its task with its label."""
    k = coded.n_categories
    cell = coded.annotator.astype(np.int64) * coded.n_tasks + coded.task

    def per_answer(key: npt.NDArray[np.int64]) -> FloatArray:
        inverse = pd.factorize(key)[0]
        return np.bincount(inverse).astype(np.float64)[inverse]

    own_total = per_answer(cell)
    own_same = per_answer(cell * k + coded.label)
    counts_at = per_answer(coded.task.astype(np.int64) * k + coded.label)
    return own_total, own_same, counts_at


def _annotator_coincidences(coded: CodedRatings, level: Level) -> list[dict[str, Any]]:
    k, n_tasks = coded.n_categories, coded.n_tasks
    counts = count_matrix(coded)
    row_id, rows = _row_ids(counts)
    cell = coded.annotator.astype(np.int64) * n_tasks + coded.task
    order = np.argsort(cell, kind="stable")
    cell_sorted = cell[order]
    starts = np.flatnonzero(np.r_[True, cell_sorted[1:] != cell_sorted[:-1]])
    cells = cell_sorted[starts]
    per_cell = np.diff(np.r_[starts, cell.size])
    base = int(per_cell.max()) + 1
    if k * math.log2(base) >= 62:  # many repeated answers and many categories
        return _annotator_breakdown(coded, level)
    own_key = np.add.reduceat(base ** coded.label[order].astype(np.int64), starts)
    own_id, own_keys = pd.factorize(own_key)
    own_rows = (np.asarray(own_keys, dtype=np.int64)[:, None] // base ** np.arange(k)) % base
    cell_a, cell_t = cells // n_tasks, cells % n_tasks
    group = (cell_a * len(rows) + row_id[cell_t]) * len(own_rows) + own_id
    groups, freq = np.unique(group, return_counts=True)
    g_own = groups % len(own_rows)
    g_row = (groups // len(own_rows)) % len(rows)
    g_ann = groups // (len(own_rows) * len(rows))
    full = rows[g_row].astype(np.float64)
    own = own_rows[g_own].astype(np.float64)
    rest = full - own
    values = None if coded.values is None else np.asarray(coded.values, dtype=np.float64)
    observed, _ = coincidence_matrix(counts)
    overall = alpha_from_coincidences(observed, level, values)
    bounds = np.searchsorted(g_ann, np.arange(coded.n_annotators + 1))
    out = []
    for i in range(coded.n_annotators):
        sl = slice(bounds[i], bounds[i + 1])
        f = freq[sl].astype(np.float64)
        loo = observed - _sum_coincidences(full[sl], f) + _sum_coincidences(rest[sl], f)
        loo[np.abs(loo) < 1e-9 * max(float(observed.sum()), 1.0)] = 0.0  # cancellation dust
        pairs = (own[sl] * f[:, None]).T @ rest[sl]
        without = alpha_from_coincidences(loo, level, values)
        with_peers = alpha_from_coincidences(pairs + pairs.T, level, values)
        out.append({"alpha_without": without, "delta": overall - without,
                    "alpha_with_peers": with_peers, "reason": None})
    return out


def _sum_coincidences(rows: FloatArray, freq: FloatArray) -> FloatArray:
    """:math:`\\sum_r f_r (r r^T - diag\\, r) / (m_r - 1)` over rows with two answers."""
    m = rows.sum(axis=1)
    w = np.where(m >= 2, freq / np.where(m >= 2, m - 1.0, 1.0), 0.0)
    return np.asarray(rows.T @ (rows * w[:, None]) - np.diag(w @ rows), dtype=np.float64)


def _annotator_breakdown(coded: CodedRatings, level: Level) -> list[dict[str, Any]]:
    by_id = {r.details["annotator"]: r for r in
             by_annotator(coded, "krippendorff_alpha", level=level, ci=None)}
    out = []
    for annotator_id in coded.annotator_ids:
        res = by_id[str(annotator_id)]
        out.append({"alpha_without": res.details["leave_one_out"], "delta": res.details["delta"],
                    "alpha_with_peers": res.value, "reason": res.reason})
    return out


def _row_ids(counts: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """``(inverse, unique_rows)`` of a count matrix: a mixed-radix key per row when it
    fits in 63 bits, else ``np.unique(axis=0)``."""
    k = counts.shape[1]
    inverse: npt.NDArray[np.signedinteger[Any]]
    uniques: npt.NDArray[np.signedinteger[Any]]
    base = int(counts.max()) + 1 if counts.size else 1
    if k * math.log2(max(base, 2)) < 62:
        keys = counts.astype(np.int64) @ (base ** np.arange(k, dtype=np.int64))
        inverse, uniques = pd.factorize(keys)
        first = np.zeros(len(uniques), dtype=np.intp)
        first[inverse[::-1]] = np.arange(len(inverse))[::-1]
        return inverse.astype(np.intp), counts[first]
    uniques, inverse = np.unique(counts, axis=0, return_inverse=True)
    return inverse.ravel().astype(np.intp), uniques


# --- small pieces --------------------------------------------------------------------
def _lean(coded: CodedRatings) -> CodedRatings:
    """The coding with a compact ``frame``: annotator codes as integers and
    ``created_at`` as naive UTC datetime64 (with lead times), one row per answer.

    The breakdowns read only these columns from the frame; object ids and tz-aware
    times cost seconds per pass at 1M answers (factorising strings again for every
    part, building one Timestamp per row)."""
    keys = created_at_keys(coded)
    frame = {ANNOTATOR_ID: coded.annotator.astype(np.int64)}
    if keys is not None:
        frame[CREATED_AT] = keys.view("datetime64[ns]")
    if LEAD_TIME in coded.frame.columns:
        frame[LEAD_TIME] = coded.frame[LEAD_TIME].to_numpy(dtype=np.float64)[coded.rows]
    lean = CodedRatings(
        task=coded.task, label=coded.label, task_ids=coded.task_ids,
        categories=coded.categories, values=coded.values, level=coded.level,
        field=coded.field, rows=np.arange(coded.n_annotations, dtype=np.intp),
        frame=pd.DataFrame(frame),
    )
    # the annotator codes of the lean frame are 0..A-1 in the original order: keep the ids
    lean.__dict__["_annotator_codes"] = (coded.annotator, coded.annotator_ids)
    return lean


def slice_summary(tasks: pd.DataFrame) -> list[dict[str, Any]]:
    """Task columns usable as slices: scalar values, at most :data:`MAX_SLICE_VALUES`
    distinct ones; each with its sorted values.  (The rule of the storage's
    ``slice_columns``, checked on the distinct values rather than on every task.)"""
    out = []
    for name in tasks.columns:
        if name == TASK_ID:
            continue
        col = tasks[name].dropna()
        if col.empty:
            continue
        try:
            values = pd.unique(col)
        except TypeError:  # dicts or lists: not a slice
            continue
        if len(values) > MAX_SLICE_VALUES or not all(
            isinstance(v, (str, int, float, bool, np.generic)) for v in values
        ):
            continue
        shown = sorted((_plain(v) for v in values), key=_value_order)
        out.append({"column": str(name), "n_values": len(values), "values": shown})
    return out


def _value_order(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _spec_from_data(name: str, rows: pd.DataFrame) -> FieldSpec:
    """A nominal choice spec for a field without one, or the value type its labels show
    (multi-choice tuples, spans, regions) so they are reported, not mis-read."""
    sample = rows[LABEL].dropna().iloc[:1000]  # a field's labels share one kind
    tuples = [v for v in sample if isinstance(v, tuple)]
    if tuples:
        first = tuples[0]
        kind = "span" if any(isinstance(x, Span) for x in first) else (
            "region" if any(isinstance(x, Region) for x in first) else "multichoice")
        return FieldSpec(name=name, value_type=kind)  # type: ignore[arg-type]
    return FieldSpec(name=name)


def _skipped(name: str, spec: FieldSpec | None, reason: str | None) -> dict[str, Any]:
    return {
        "name": name, "value_type": spec.value_type if spec else "choice",
        "level": spec.level if spec else "nominal",
        "categories": [_plain(c) for c in spec.categories] if spec and spec.categories else None,
        "analysed": False, "reason": reason,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def plain_json(value: Any) -> Any:
    """``value`` with numpy scalars made Python and NaN/inf made None: the semantics of
    :func:`labelcheck.storage.results.plain_json` (copied: no storage import here)."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = [
    "alpha_from_coincidences",
    "annotator_table",
    "coincidence_matrix",
    "field_overview",
    "project_overview",
    "slice_summary",
]
