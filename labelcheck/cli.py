"""The ``labelcheck`` command line: an adapter around the core, holding no statistics.

``labelcheck agreement FILE`` reads a Label Studio export or a long CSV/Parquet file
(:func:`labelcheck.io.read_annotations`), runs agreement coefficients on one field,
optionally broken down (:mod:`labelcheck.agreement.breakdown`), and prints a table or
one JSON object.  Library errors (:class:`labelcheck.errors.LabelcheckError`) become a
message on stderr and exit code 1; usage errors exit 2 (click's convention).

Heavy modules (pandas, scipy, the coefficients, the loaders) are imported inside the
command, so ``labelcheck --version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from labelcheck.agreement.result import AgreementResult
    from labelcheck.table import Dataset

#: The metric names of the contract (``labelcheck.agreement.METRICS``; a test keeps
#: the two in step, so ``--help`` does not have to import the coefficients).
METRIC_NAMES: tuple[str, ...] = (
    "krippendorff_alpha",
    "fleiss_kappa",
    "cohen_kappa",
    "conger_kappa",
    "scott_pi",
    "gwet_ac1",
    "gwet_ac2",
    "brennan_prediger",
    "percent_agreement",
    "icc_oneway",
    "icc_agreement",
    "icc_consistency",
)
DEFAULT_METRICS: tuple[str, ...] = (
    "krippendorff_alpha",
    "fleiss_kappa",
    "gwet_ac1",
    "percent_agreement",
)
LEVEL_CHOICES = ("nominal", "ordinal", "interval", "ratio")
WEIGHT_CHOICES = ("unweighted", "linear", "quadratic")
FREQ_CHOICES = ("day", "week", "month", "D", "W", "MS")
#: Keys a breakdown adds to each JSON result (copied from ``details``).
BREAKDOWN_KEYS = ("class", "annotator", "slice", "period")
#: Import problems listed in JSON / warned about on stderr.
MAX_JSON_PROBLEMS = 50
MAX_WARNINGS = 20


def _version() -> str:
    from labelcheck import __version__

    return __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="labelcheck")
def main() -> None:
    """labelcheck: labeling-consistency checks for multi-annotator data."""


# --- option parsing -------------------------------------------------------------------
def _parse_metrics(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> tuple[str, ...]:
    names: list[str] = []
    for item in value:
        for name in item.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in METRIC_NAMES:
                raise click.BadParameter(
                    f"unknown metric {name!r}; choose from {', '.join(METRIC_NAMES)}"
                )
            if name not in names:
                names.append(name)
    return tuple(names) or DEFAULT_METRICS


def _parse_by(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, str | None] | None:
    if value is None:
        return None
    kind, _, arg = value.partition(":")
    if kind in ("annotator", "class") and not arg:
        return kind, None
    if kind == "slice" and arg:
        return kind, arg
    if kind == "time" and arg in FREQ_CHOICES:
        return kind, arg
    raise click.BadParameter(
        f"{value!r} is not one of annotator, class, slice:COLUMN, "
        f"time:FREQ (FREQ: {', '.join(FREQ_CHOICES)})"
    )


def _parse_categories(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    cats = [c.strip() for c in value.split(",") if c.strip()]
    if not cats:
        raise click.BadParameter("give at least one name, e.g. A,B,C")
    return cats


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--field", metavar="NAME", help="Field (Label Studio control tag) to analyse; required when the file has several.")
@click.option("--metric", "metrics", multiple=True, callback=_parse_metrics, metavar="NAME",
              help="Coefficient to compute; repeat or comma-separate. Default: " + ", ".join(DEFAULT_METRICS) + ".")
@click.option("--level", type=click.Choice(LEVEL_CHOICES),
              help="Level of measurement of the field. Default: as the file declares it (Label Studio Choices: nominal, Rating: ordinal), else nominal.")
@click.option("--weights", type=click.Choice(WEIGHT_CHOICES),
              help="Agreement weights for kappa-type coefficients. Default: each coefficient's own.")
@click.option("--categories", callback=_parse_categories, metavar="A,B,C",
              help="The field's categories, in order (ordinal order; unused ones still count).")
@click.option("--annotators", callback=_parse_categories, metavar="A,B",
              help="Annotators to compare: the pair for cohen_kappa, the complete design for "
                   "icc_agreement / icc_consistency.")
@click.option("--by", "by", callback=_parse_by, metavar="annotator|class|slice:COLUMN|time:FREQ",
              help="Break the coefficients down per annotator, per class, per value of a task "
                   "column, or per time window (FREQ: day, week, month).")
@click.option("--ci", type=click.Choice(("analytic", "bootstrap")), default="analytic", show_default=True,
              help="Confidence interval: analytic (standard error) or bootstrap over tasks.")
@click.option("--n-boot", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Bootstrap resamples (200 is plenty for --by annotator).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the intervals.")
@click.option("--bootstrap-method", type=click.Choice(("percentile", "bca")), default="percentile",
              show_default=True, help="Bootstrap interval: percentile or BCa.")
@click.option("--quantile", type=click.Choice(("t", "normal")), default="t", show_default=True,
              help="Quantile of analytic intervals: Student t (n_items - 1 df) or normal.")
@click.option("--strict", is_flag=True, help="Refuse a file with any import problem.")
@click.option("--min-items", type=click.IntRange(min=0), default=30, show_default=True,
              help="With --by slice: slices with fewer tasks get a caution.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True,
              help="Output: an aligned table, or one JSON object.")
def agreement(
    file: str,
    field: str | None,
    metrics: tuple[str, ...],
    level: str | None,
    weights: str | None,
    categories: list[str] | None,
    annotators: list[str] | None,
    by: tuple[str, str | None] | None,
    ci: str,
    n_boot: int,
    seed: int,
    confidence: float,
    bootstrap_method: str,
    quantile: str,
    strict: bool,
    min_items: int,
    fmt: str,
) -> None:
    """Agreement coefficients of one field of FILE (Label Studio export or long CSV/Parquet)."""
    from labelcheck.errors import LabelcheckError

    try:
        dataset = _load(file, strict)
        _warn_problems(dataset)
        interval_opts = {"method": ci, "confidence": confidence, "quantile": quantile,
                         "n_boot": n_boot, "bootstrap": bootstrap_method, "seed": seed}
        field_name, results = _compute(dataset, field, metrics, level, weights, categories,
                                       annotators, by, interval_opts, min_items)
    except LabelcheckError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(_json_payload(file, field_name, dataset, results), allow_nan=False))
    else:
        click.echo(_table(results, by, confidence))
        _summary(file, field_name, dataset)


def _load(path: str, strict: bool) -> Dataset:
    from labelcheck.errors import LabelcheckError
    from labelcheck.io import read_annotations

    try:
        return read_annotations(path, strict=strict)
    except LabelcheckError:
        raise
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # malformed JSON/CSV the loader did not wrap
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise click.ClickException(f"cannot read {path}: {first}") from None


def _warn_problems(dataset: Dataset) -> None:
    problems = dataset.report.problems
    for p in problems[:MAX_WARNINGS]:
        click.echo(f"warning: {p}", err=True)
    if len(problems) > MAX_WARNINGS:
        click.echo(f"warning: ... and {len(problems) - MAX_WARNINGS} more problem(s)", err=True)


def _compute(
    dataset: Dataset,
    field: str | None,
    metrics: Sequence[str],
    level: str | None,
    weights: str | None,
    categories: list[str] | None,
    annotators: list[str] | None,
    by: tuple[str, str | None] | None,
    interval_opts: dict[str, Any],
    min_items: int,
) -> tuple[str, list[AgreementResult]]:
    from labelcheck.agreement import breakdown
    from labelcheck.agreement.intervals import Interval
    from labelcheck.agreement.result import undefined
    from labelcheck.errors import LabelcheckError
    from labelcheck.table import select_field

    annotations, field_name = select_field(dataset.annotations, field)
    spec = dataset.fields.get(field_name)
    if spec is not None and spec.value_type in STRUCTURED_TYPES:
        boot = Interval(**{**interval_opts, "method": "bootstrap"}) if interval_opts["method"] == "bootstrap" else None
        return field_name, _structured(annotations, dataset, spec, metrics, by, boot)
    if level is None and spec is not None:
        level = spec.level
    cats: Sequence[Any] | None = None
    if categories is not None:
        cats = _typed_categories(categories, annotations)
    elif spec is not None and spec.categories:
        cats = spec.categories
    interval = Interval(**interval_opts)
    results: list[AgreementResult] = []
    codings: dict[str, Any] = {}
    failures: list[LabelcheckError] = []
    for name in metrics:
        enc_level = breakdown.encoding_level(name, level)  # type: ignore[arg-type]
        try:
            if enc_level not in codings:
                codings[enc_level] = breakdown.encode_for(
                    annotations, name, field=field_name, level=level, categories=cats  # type: ignore[arg-type]
                )
            coded = codings[enc_level]
            opts: dict[str, Any] = {"weights": weights, "ci": interval,
                                    "annotators": None if annotators is None else tuple(annotators)}
            if level is not None and not name.startswith("icc"):
                opts["level"] = level
            results.extend(_run_one(breakdown, name, coded, dataset, by, opts, min_items))
        except LabelcheckError as exc:
            failures.append(exc)
            results.append(undefined(name, str(exc).splitlines()[0]))
    if len(failures) == len(metrics):
        # nothing could run (a bad slice column, labels no coefficient can read): an error
        raise failures[0]
    return field_name, results


#: Answer types measured by their own coefficients (labelcheck.analysis.structured).
STRUCTURED_TYPES = ("multichoice", "span", "region", "text")


def _structured(annotations: Any, dataset: Dataset, spec: Any, metrics: Sequence[str],
                by: tuple[str, str | None] | None, boot: Any = None) -> list[AgreementResult]:
    """The measures of a multi-label, span, region or free-text field (the overview's:
    :func:`labelcheck.analysis.structured.structured_overview`).  The single-label
    coefficients and breakdowns do not apply: asking for them is an error that says
    what is computed instead."""
    from labelcheck.agreement.by_type import text_lengths
    from labelcheck.analysis.structured import field_measures, valid_rows
    from labelcheck.errors import InvalidInput

    what = {"multichoice": "multi-label", "span": "span", "region": "region", "text": "free-text"}[spec.value_type]
    if tuple(metrics) != DEFAULT_METRICS:
        raise InvalidInput(f'field "{spec.name}" holds {what} answers: --metric applies to single-label '
                           "fields; its own measures are printed without --metric")
    if by is not None:
        raise InvalidInput(f'field "{spec.name}" holds {what} answers: --by applies to single-label fields; '
                           "per label, per annotator and per slice tables of this field are on the app's "
                           "overview page")
    rows, problems = valid_rows(annotations, spec, dataset.tasks)
    for p in problems[:MAX_WARNINGS]:
        click.echo(f"warning: {p}", err=True)
    _, results, _ = field_measures(rows, spec, text_lengths(dataset.tasks, spec.to_name), boot)
    return results


def _run_one(
    breakdown: Any,
    name: str,
    coded: Any,
    dataset: Dataset,
    by: tuple[str, str | None] | None,
    opts: dict[str, Any],
    min_items: int,
) -> list[AgreementResult]:
    if by is None:
        return [breakdown.call_metric(name, coded, **opts)]
    kind, arg = by
    if kind == "class":
        return list(breakdown.by_class(coded, name, **opts))
    if kind == "annotator":
        return list(breakdown.by_annotator(coded, name, **opts))
    if kind == "slice":
        return list(breakdown.by_slice(coded, dataset.tasks, name, arg, min_items=min_items, **opts))
    return list(breakdown.by_period(coded, name, arg, **opts))


def _typed_categories(cats: list[str], annotations: Any) -> list[Any]:
    """``--categories 1,2,3`` on a field with numeric labels means the numbers."""
    import pandas as pd

    from labelcheck.table import LABEL

    labels = annotations[LABEL].dropna()
    numeric_labels = len(labels) > 0 and bool(
        labels.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).all()
    )
    if not numeric_labels:
        return list(cats)
    as_numbers = pd.to_numeric(pd.Series(cats), errors="coerce")
    if as_numbers.isna().any():
        return list(cats)
    return [int(x) if float(x).is_integer() else float(x) for x in as_numbers]


# --- output ---------------------------------------------------------------------------
def result_dict(result: AgreementResult) -> dict[str, Any]:
    """One JSON result: :meth:`AgreementResult.to_dict` plus the breakdown key."""
    out = result.to_dict()
    for key in BREAKDOWN_KEYS:
        if key in result.details:
            out[key] = out["details"][key]
    return out


def _json_payload(file: str, field: str, dataset: Dataset, results: Sequence[AgreementResult]) -> dict[str, Any]:
    report = dataset.report
    return {
        "results": [result_dict(r) for r in results],
        "file": file,
        "field": field,
        "import": {
            "n_rows": report.n_rows,
            "n_cancelled": report.n_cancelled,
            "n_problems": len(report.problems),
            "problems": [p.to_dict() for p in report.problems[:MAX_JSON_PROBLEMS]],
        },
    }


def _num(x: float, digits: int = 3) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def _table(results: Sequence[AgreementResult], by: tuple[str, str | None] | None, confidence: float) -> str:
    key = None if by is None else {"time": "period"}.get(by[0], by[0])
    head = ["metric"]
    if by is not None and key is not None:
        head.append(by[1] or key if key == "slice" else key)
    head += ["value", f"{confidence:.0%} CI", "se"]
    loo = key == "annotator"  # the annotator's pull on the overall value, in the table too
    if loo:
        head += ["without", "delta"]
    head += ["n_items", "n_annotations", "reason"]
    rows: list[list[str]] = []
    for r in results:
        row = [r.metric]
        if key:
            cell = r.details.get(key)
            if isinstance(cell, dict):
                cell = cell.get("value")
            row.append("(none)" if cell is None else str(cell))
        ci = "-" if r.ci is None else f"[{_num(r.ci[0])}, {_num(r.ci[1])}]"
        row += [_num(r.value), ci, _num(r.se)]
        if loo:
            row += [_num(_float(r.details.get("leave_one_out"))), _num(_float(r.details.get("delta")))]
        row += [str(r.n_items), str(r.n_annotations), r.reason or ""]
        rows.append(row)
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    numeric = {i for i, h in enumerate(head)
               if h in ("value", "se", "without", "delta", "n_items", "n_annotations")}

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in numeric else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    rule = ["-" * w for w in widths[:-1]] + ["-" * len(head[-1])]
    return "\n".join([line(head), line(rule)] + [line(r) for r in rows])


def _float(x: object) -> float:
    return math.nan if x is None else float(x)  # type: ignore[arg-type]


def _summary(file: str, field: str, dataset: Dataset) -> None:
    report = dataset.report
    click.echo(
        f"{file}: field \"{field}\"; {report.n_rows} row(s) read, "
        f"{report.n_cancelled} cancelled annotation(s) left out, "
        f"{len(report.problems)} problem(s)",
        err=True,
    )


# --- commands defined in their own modules -----------------------------------------
# Imported last: they reuse the helpers above.  Each module imports only click at the
# top, so `labelcheck --help` stays fast.
from labelcheck.commands.app import COMMANDS as _APP_COMMANDS  # noqa: E402
from labelcheck.commands.consensus import consensus  # noqa: E402
from labelcheck.commands.export import export  # noqa: E402
from labelcheck.commands.hotspots import hotspots  # noqa: E402
from labelcheck.commands.revision_effect import revision_effect  # noqa: E402

for _command in (*_APP_COMMANDS, consensus, export, hotspots, revision_effect):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
