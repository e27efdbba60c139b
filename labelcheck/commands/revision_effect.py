"""``labelcheck revision-effect FILE --at ISO_TIME``: did a guideline revision work?

An adapter around :func:`labelcheck.guidelines.before_after.revision_effect`: it reads
the file, takes the field's level and categories from its spec, and prints a table
or the JSON contract ``{"overall": {...}, "targeted": {...}, "same_annotators": {...}}``.
Only click is imported at module level, so ``labelcheck --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import click

LEVEL_CHOICES = ("nominal", "ordinal", "interval", "ratio")
COMPARISONS = ("overall", "targeted", "same_annotators")


def _parse_at(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time; expected e.g. 2024-04-01T09:00:00Z "
            "(a time without zone is read as UTC)"
        ) from None
    return value.strip()


def _parse_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [x.strip() for x in value.split(",") if x.strip()]
    if not names:
        raise click.BadParameter("give at least one name, e.g. A,B")
    return names


@click.command("revision-effect")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--at", "at", required=True, callback=_parse_at, metavar="ISO_TIME",
              help="Time of the revision (ISO 8601; no zone means UTC). Answers created "
                   "before it are 'before', the others 'after'.")
@click.option("--field", metavar="NAME",
              help="Field (Label Studio control tag) to analyse; required when the file has several.")
@click.option("--labels", callback=_parse_list, metavar="A,B",
              help="Labels the revision targeted: adds the comparison on items where any "
                   "annotator chose one of them.")
@click.option("--level", type=click.Choice(LEVEL_CHOICES),
              help="Level of measurement. Default: as the file declares it, else nominal.")
@click.option("--categories", callback=_parse_list, metavar="A,B,C",
              help="The field's categories, in order (for ordinal string labels).")
@click.option("--n-boot", type=click.IntRange(min=2), default=2000, show_default=True,
              help="Bootstrap resamples for the interval of the difference.")
@click.option("--n-perm", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Permutations for the p-value.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap and the permutations.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True,
              help="Confidence level of the intervals; the test's level is 1 - confidence.")
@click.option("--min-items", type=click.IntRange(min=0), default=30, show_default=True,
              help="Fewest pairable items each side needs for a conclusive comparison.")
@click.option("--strict", is_flag=True, help="Refuse a file with any import problem.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output: a table with the verdicts, or one JSON object.")
def revision_effect(
    file: str,
    at: str,
    field: str | None,
    labels: list[str] | None,
    level: str | None,
    categories: list[str] | None,
    n_boot: int,
    n_perm: int,
    seed: int,
    confidence: float,
    min_items: int,
    strict: bool,
    fmt: str,
) -> None:
    """Agreement before and after a guideline revision at ISO_TIME, compared:
    overall, on the items of --labels, and among annotators of both periods."""
    from labelcheck.cli import _load, _typed_categories, _warn_problems
    from labelcheck.errors import LabelcheckError
    from labelcheck.guidelines.before_after import revision_effect as compute
    from labelcheck.table import select_field

    try:
        dataset = _load(file, strict)
        _warn_problems(dataset)
        annotations, field_name = select_field(dataset.annotations, field)
        spec = dataset.fields.get(field_name)
        cats: Any = None
        if categories is not None:
            cats = _typed_categories(categories, annotations)
        elif spec is not None and spec.categories:
            cats = spec.categories
        result = compute(
            annotations, at, field=field_name,
            level=level or (spec.level if spec is not None else "nominal"),  # type: ignore[arg-type]
            categories=cats, labels=labels, n_boot=n_boot, n_perm=n_perm,
            confidence=confidence, min_items=min_items, seed=seed,
        )
    except LabelcheckError as exc:
        raise click.ClickException(str(exc)) from None
    payload = result.to_dict()
    if result.n_annotations_without_time:
        click.echo(
            f"warning: {result.n_annotations_without_time} answer(s) without created_at "
            f"left out (annotations {', '.join(result.annotation_ids_without_time[:10])}"
            f"{' ...' if result.n_annotations_without_time > 10 else ''})",
            err=True,
        )
    if fmt == "json":
        payload["file"] = file
        click.echo(json.dumps(payload, allow_nan=False))
        return
    click.echo(_table(payload, confidence))
    click.echo(
        f"{file}: field \"{field_name}\", revision at {payload['at']}; "
        f"{payload['n_annotations_before']} answer(s) before, "
        f"{payload['n_annotations_after']} after, "
        f"{payload['n_annotations_without_time']} without time",
        err=True,
    )


def _table(payload: dict[str, Any], confidence: float) -> str:
    head = ["comparison", "before", "after", "difference", f"{confidence:.0%} CI", "p",
            "items before", "items after", "conclusive"]
    rows: list[list[str]] = []
    verdicts: list[str] = []
    for name in COMPARISONS:
        c = payload[name]
        if c is None:
            rows.append([name, "-", "-", "-", "-", "-", "-", "-", "(no --labels)"])
            continue
        ci = "-" if c["ci"] is None else f"[{_num(c['ci'][0], '+')}, {_num(c['ci'][1], '+')}]"
        rows.append([name, _num(c["before"]), _num(c["after"]), _num(c["difference"], "+"), ci,
                     _p_cell(c["p_value"]), str(c["n_items_before"]),
                     str(c["n_items_after"]), "yes" if c["conclusive"] else "no"])
        verdicts.append(f"{name}: {c['verdict']}")
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    right = {1, 2, 3, 5, 6, 7}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = ["-" * w for w in widths]
    return "\n".join([line(head), line(rule), *(line(r) for r in rows), "", *verdicts])


def _num(x: float | None, sign: str = "", digits: int = 3) -> str:
    if x is None or math.isnan(x):
        return "-"
    return f"{x:{sign}.{digits}f}"


def _p_cell(p: float | None) -> str:
    if p is None or math.isnan(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
