"""``labelcheck consensus FILE --method NAME``: one consensus label per item.

An adapter around :mod:`labelcheck.consensus`: it reads the file
(:func:`labelcheck.io.read_annotations`), runs one model on one field and prints one
CSV row per item or the JSON contract
``{"items": [{"item_id", "label", "confidence", "tie", "posterior": {label: p}}],
"annotators": [...]}``.  Only click is imported at module level, so
``labelcheck --help`` stays fast.
"""

from __future__ import annotations

import json
from typing import Any

import click

#: The method names of the contract (``labelcheck.consensus.METHODS``; a test keeps
#: the two in step, so ``--help`` does not have to import the models).
METHOD_NAMES: tuple[str, ...] = ("majority_vote", "dawid_skene", "mace")
#: The answer types' own rules (``labelcheck.consensus.rules.STRUCTURED_METHODS``, spelled
#: here too for a fast ``--help``; a test keeps the two in step).
STRUCTURED_METHODS: tuple[str, ...] = ("label_vote", "span_vote", "box_fusion", "median", "medoid")
TIE_CHOICES: tuple[str, ...] = ("unresolved", "reliability", "deterministic")


def _parse_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [x.strip() for x in value.split(",") if x.strip()]
    if not names:
        raise click.BadParameter("give at least one name, e.g. A,B,C")
    return names


@click.command("consensus")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--method", type=click.Choice(("auto", *METHOD_NAMES, *STRUCTURED_METHODS)), default="auto",
              show_default=True,
              help="Consensus model. auto: majority_vote for choices and ratings, and for the other "
                   "answer types their rule: label_vote (multi-label: labels in more than half the "
                   "answers), span_vote (spans in more than half the answers), box_fusion (boxes "
                   "matched by IoU >= 0.5, median coordinates), medoid (free text); median for ratings "
                   "and numbers on request.")
@click.option("--field", metavar="NAME",
              help="Field (Label Studio control tag) to aggregate; required when the file has several.")
@click.option("--format", "fmt", type=click.Choice(("csv", "json")), default="csv",
              show_default=True,
              help="Output: CSV, one row per item, or one JSON object with items and annotators.")
@click.option("--tie", type=click.Choice(TIE_CHOICES), default="unresolved", show_default=True,
              help="Tie policy: leave the item unresolved, break by annotator reliability "
                   "(majority_vote only), or take the first tied category in category order.")
@click.option("--max-iter", type=click.IntRange(min=1), metavar="N",
              help="Most EM iterations (dawid_skene: 100, mace: 50 per restart).")
@click.option("--tol", type=click.FloatRange(min=0), metavar="X",
              help="Convergence tolerance (dawid_skene: 1e-5 on the log posterior per "
                   "annotation; mace: 1e-6 on the parameters).")
@click.option("--smoothing", type=click.FloatRange(min=0), metavar="X",
              help="dawid_skene: pseudo-count added to every confusion cell and class "
                   "count (default 0.01; 0 is the maximum-likelihood estimate).")
@click.option("--restarts", type=click.IntRange(min=1), metavar="N",
              help="mace: random restarts (default 10).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of mace's random restarts (the other methods are deterministic).")
@click.option("--categories", callback=_parse_list, metavar="A,B,C",
              help="The field's categories (unused ones still get a posterior). Default: as "
                   "the file declares them, else the labels found.")
@click.option("--strict", is_flag=True, help="Refuse a file with any import problem.")
def consensus(
    file: str,
    method: str,
    field: str | None,
    fmt: str,
    tie: str,
    max_iter: int | None,
    tol: float | None,
    smoothing: float | None,
    restarts: int | None,
    seed: int,
    categories: list[str] | None,
    strict: bool,
) -> None:
    """Consensus label, confidence and posterior of every item of FILE (Label Studio
    export or long CSV/Parquet), and each annotator's reliability."""
    from labelcheck.cli import _load, _warn_problems
    from labelcheck.errors import LabelcheckError

    try:
        dataset = _load(file, strict)
        _warn_problems(dataset)
        method = _resolve_method(dataset, method, field)
        if method in STRUCTURED_METHODS:
            payload = _run_structured(dataset, method, field)
            if fmt == "json":
                click.echo(json.dumps({"file": file, **payload}, allow_nan=False, ensure_ascii=False))
            else:
                _echo_structured_csv(payload)
            return
        options = _model_options(method, tie, max_iter, tol, smoothing, restarts, seed)
        result = _run(dataset, method, field, categories, options)
    except LabelcheckError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        payload = {"file": file, **result.to_dict()}
        click.echo(json.dumps(payload, allow_nan=False, ensure_ascii=False))
    else:
        click.echo(result.items().to_csv(index=False, lineterminator="\n"), nl=False)


def _model_options(
    method: str, tie: str, max_iter: int | None, tol: float | None,
    smoothing: float | None, restarts: int | None, seed: int,
) -> dict[str, Any]:
    """Keyword arguments of the model, refusing options that do not apply to it."""
    if tie == "reliability" and method != "majority_vote":
        raise click.UsageError(
            f"--tie reliability applies to --method majority_vote only; {method} already "
            "weighs answers by reliability (use unresolved or deterministic)"
        )
    not_for = {
        "--max-iter": (max_iter, ("dawid_skene", "mace")),
        "--tol": (tol, ("dawid_skene", "mace")),
        "--smoothing": (smoothing, ("dawid_skene",)),
        "--restarts": (restarts, ("mace",)),
    }
    for name, (value, methods) in not_for.items():
        if value is not None and method not in methods:
            raise click.UsageError(f"{name} applies to --method {' or '.join(methods)}, not {method}")
    options: dict[str, Any] = {"tie": tie}
    if max_iter is not None:
        options["n_iter"] = max_iter
    if tol is not None:
        options["tol"] = tol
    if smoothing is not None:
        options["smoothing"] = smoothing
    if restarts is not None:
        options["n_restarts"] = restarts
    if method == "mace":
        options["seed"] = seed
    return options


def _run(
    dataset: Any, method: str, field: str | None, categories: list[str] | None,
    options: dict[str, Any],
) -> Any:
    from labelcheck.cli import _typed_categories
    from labelcheck.consensus import METHODS
    from labelcheck.table import select_field

    annotations, field_name = select_field(dataset.annotations, field)
    spec = dataset.fields.get(field_name)
    cats: Any = None
    if categories is not None:
        cats = _typed_categories(categories, annotations)
    elif spec is not None and spec.categories:
        cats = spec.categories
    return METHODS[method](annotations, field=field_name, categories=cats, **options)


def _resolve_method(dataset: Any, method: str, field: str | None) -> str:
    """``auto`` as the field's method (:func:`labelcheck.consensus.rules.resolve_method`);
    a model or rule that cannot read the field's answers is a usage error naming the
    method to use."""
    from labelcheck.consensus.rules import resolve_method
    from labelcheck.errors import InvalidInput
    from labelcheck.table import select_field

    _, field_name = select_field(dataset.annotations, field)
    spec = dataset.fields.get(field_name)
    try:
        return resolve_method(method, spec.value_type if spec is not None else "choice", field_name)
    except InvalidInput as error:
        raise click.UsageError(str(error)) from None


def _run_structured(dataset: Any, method: str, field: str | None) -> dict[str, Any]:
    """The type's consensus as the JSON contract: items with ``label`` (a list of
    labels, spans or regions, a number or a text), ``confidence``, ``tie``,
    ``posterior`` (null: these rules have none) and ``reason``; annotators with their
    answer counts (these rules estimate no reliability)."""
    from labelcheck.table import ANNOTATOR_ID, select_field

    annotations, field_name = select_field(dataset.annotations, field)
    frame = _structured_frame(dataset, annotations, field_name, method)
    items = [{"item_id": str(row["task_id"]), "label": _label_json(row["label"]),
              "confidence": _number(row["confidence"]), "tie": bool(row.get("tie", False) or False),
              "posterior": None, "reason": row.get("reason"), "n_answers": int(row["n_answers"])}
             for row in frame.to_dict("records")]
    counts = annotations[ANNOTATOR_ID].astype(str).value_counts().sort_index()
    annotators = [{"annotator_id": a, "n_annotations": int(n), "reliability": None} for a, n in counts.items()]
    return {"method": method, "field": field_name, "items": items, "annotators": annotators, "model": {}}


def _structured_frame(dataset: Any, annotations: Any, field_name: str, method: str) -> Any:
    from labelcheck.consensus.rules import run_rule, split_valid

    spec = dataset.fields.get(field_name)
    value_type = spec.value_type if spec is not None else "choice"
    valid, problems = split_valid(annotations, field_name, value_type)
    for problem in problems[:20]:
        click.echo(f"warning: {problem}", err=True)
    declared = list(spec.categories) if spec is not None and spec.categories else None
    return run_rule(valid, field_name, method, declared if method == "label_vote" else None)


def _label_json(value: Any) -> Any:
    """A consensus label as JSON: spans and regions as objects, tuples as lists."""
    import dataclasses

    import numpy as np

    if value is None:
        return None
    if isinstance(value, tuple):
        return [_label_json(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _label_json(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _number(value: Any) -> float | None:
    value = float(value)
    return None if value != value else value


def _echo_structured_csv(payload: dict[str, Any]) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["item_id", "label", "confidence", "tie", "reason", "n_answers"])
    for item in payload["items"]:
        label = item["label"]
        shown = json.dumps(label, ensure_ascii=False) if isinstance(label, (list, dict)) else label
        writer.writerow([item["item_id"], shown, item["confidence"], item["tie"], item["reason"] or "",
                         item["n_answers"]])
    click.echo(out.getvalue(), nl=False)
