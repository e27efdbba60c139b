"""``labelcheck hotspots FILE``: where annotators disagree, ranked by what to fix first.

An adapter around :func:`labelcheck.hotspots.find_hotspots`: it reads the file
(:func:`labelcheck.io.read_annotations`; item metadata from the task table, i.e. a long
CSV's extra columns or a Label Studio export's task data), runs the analysis on one
field and prints an aligned table or the JSON contract ``{"hotspots": [...]}``, ranked
by priority, each hotspot with ``kind``, ``key``, ``share``, ``agreement``, ``gap``,
``gain``, ``p_value``, ``q_value``, ``significant`` and ``evidence`` (plus ``priority``,
``ci``, ``reference``, ``chance_ratio``, ``test``, ``n_items``, ``n_annotations``).
Only click is imported at module level, so ``labelcheck --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import click

PERIOD_CHOICES: tuple[str, ...] = ("day", "week", "month")


def _target(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not -1.0 < value <= 1.0:
        raise click.BadParameter(f"the target is an alpha value in (-1, 1]; got {value}")
    return value


@click.command("hotspots")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--field", metavar="NAME",
              help="Field (Label Studio control tag) to analyse; required when the file has several.")
@click.option("--target", type=float, default=0.8, show_default=True, callback=_target,
              help="Target agreement (Krippendorff's alpha) every gap and gain is measured to.")
@click.option("--slice", "slices", multiple=True, metavar="COLUMN",
              help="Task metadata column to slice by; repeat for several. NAME:length slices "
                   "by the character length of text column NAME. Default: every task column "
                   "with 2-12 distinct values.")
@click.option("--period", type=click.Choice(PERIOD_CHOICES), default="week", show_default=True,
              help="Time windows of the period hotspots and the trend (skipped when the file "
                   "has no created_at).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output: an aligned table, or one JSON object.")
@click.option("--min-items", type=click.IntRange(min=1), default=30, show_default=True,
              help="Slices with fewer pairable tasks are not ranked (listed as skipped).")
@click.option("--items", "max_items", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many single items (the most costly disagreements) to list.")
@click.option("--top", type=click.IntRange(min=1), metavar="N",
              help="Print only the first N hotspots. Default: all.")
@click.option("--strict", is_flag=True, help="Refuse a file with any import problem.")
def hotspots(
    file: str,
    field: str | None,
    target: float,
    slices: tuple[str, ...],
    period: str,
    fmt: str,
    min_items: int,
    max_items: int,
    top: int | None,
    strict: bool,
) -> None:
    """Disagreement hotspots of one field of FILE (Label Studio export or long
    CSV/Parquet): label pairs, annotators, slices, time windows and items, ranked by
    priority (gain in overall alpha, discounted by its uncertainty)."""
    from labelcheck.cli import _load, _warn_problems
    from labelcheck.errors import LabelcheckError

    try:
        dataset = _load(file, strict)
        _warn_problems(dataset)
        report = _analyse(dataset, field, target, slices, period, min_items, max_items)
    except LabelcheckError as exc:
        raise click.ClickException(str(exc)) from None
    payload = report.to_dict()
    if top is not None:
        payload["hotspots"] = payload["hotspots"][:top]
    if fmt == "json":
        payload["file"] = file
        click.echo(json.dumps(payload, allow_nan=False))
        return
    click.echo(render_table(payload["hotspots"]))
    click.echo(_summary(file, payload), err=True)


def _analyse(
    dataset: Any, field: str | None, target: float, slices: Sequence[str], period: str,
    min_items: int, max_items: int,
) -> Any:
    from labelcheck.hotspots import find_hotspots
    from labelcheck.table import select_field

    annotations, field_name = select_field(dataset.annotations, field)
    spec = dataset.fields.get(field_name)
    level: Any = spec.level if spec is not None else "nominal"
    categories = spec.categories if spec is not None and spec.categories else None
    return find_hotspots(
        annotations, dataset.tasks, field=field_name, level=level, categories=categories,
        target=target, slices=list(slices) if slices else None, period=period,
        min_items=min_items, max_items=max_items,
    )


# --- table output ---------------------------------------------------------------------
def _num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _q(x: float | None) -> str:
    if x is None:
        return "-"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def render_key(kind: str, key: Any) -> str:
    """A hotspot's key as table text: ``A / B``, ``column=value``, or the id."""
    if kind == "label_pair":
        return " / ".join(str(k) for k in key)
    if kind == "slice":
        value = "(none)" if key["value"] is None else key["value"]
        return f"{key['column']}={value}"
    return str(key)


def render_table(rows: Sequence[dict[str, Any]]) -> str:
    """The ranked hotspots as an aligned table (one line each)."""
    head = ["rank", "kind", "key", "share", "agreement", "95% CI", "gap", "gain", "priority",
            "q", "significant"]
    body = []
    for i, h in enumerate(rows, 1):
        ci = "-" if h["ci"] is None else f"[{_num(h['ci'][0])}, {_num(h['ci'][1])}]"
        body.append([str(i), h["kind"], render_key(h["kind"], h["key"]), _num(h["share"]),
                     _num(h["agreement"]), ci, _num(h["gap"]), _num(h["gain"]),
                     _num(h["priority"]), _q(h["q_value"]), "yes" if h["significant"] else ""])
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    numeric = {0, 3, 4, 6, 7, 8, 9}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in body])


def _summary(file: str, payload: dict[str, Any]) -> str:
    ov = payload["overall"]
    text = (f"{file}: field \"{payload['field']}\"; alpha {_num(ov['agreement'])} on "
            f"{ov['n_items']} task(s), target {payload['target']}; "
            f"{sum(h['significant'] for h in payload['hotspots'])} significant hotspot(s) "
            f"(BH, FDR {payload['fdr']})")
    trend = payload.get("trend")
    if trend:
        text += (f"\ntrend per {trend['unit']}: {trend['slope_per_period']:+.4f} "
                 f"(p {_q(trend['p_value'])})")
        step = trend.get("step")
        if step:
            text += (f"; largest step at {step['at']}: {_num(step['before'])} -> "
                     f"{_num(step['after'])} (p {_q(step['p_value'])})")
    if payload["skipped"]:
        text += f"\nskipped: {len(payload['skipped'])} slice(s)/window(s) (too small or undefined)"
    return text
