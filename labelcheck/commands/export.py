"""``labelcheck export FILE --out PATH``: a training-set file and its manifest.

An adapter around :func:`labelcheck.consensus.export.build_export` and
:func:`labelcheck.exporting.write_export`: it reads FILE (and an adjudication CSV),
builds the export under the rules given as options, writes the data file and its
manifest, and prints what was kept and dropped.  Only click is imported at module
level, so ``labelcheck --help`` stays fast.

``--out`` names the data file (the manifest is ``<file>.manifest.json``), or a
directory (an existing one, a path ending in ``/``, or a name without a suffix): then
the command writes ``export.<ext>`` and ``manifest.json`` into it.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from labelcheck.commands.consensus import METHOD_NAMES, STRUCTURED_METHODS, TIE_CHOICES

#: ``--method`` choices: the choice models, ``auto`` and the answer types' own rules
#: (``labelcheck.consensus.export.METHODS``; a test keeps the two in step).
EXPORT_METHODS: tuple[str, ...] = (*METHOD_NAMES, "auto", *STRUCTURED_METHODS)

#: The export formats (``labelcheck.exporting.FORMATS``; a test keeps the two in step).
FORMAT_NAMES: tuple[str, ...] = ("csv", "jsonl", "parquet", "labelstudio")
DIR_FILE_STEM = "export"
DIR_MANIFEST = "manifest.json"


def _parse_ids(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    ids = [x.strip() for item in value for x in item.split(",") if x.strip()]
    return tuple(dict.fromkeys(ids))


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", required=True, metavar="PATH|DIR",
              help="The export file (its manifest is written beside it as "
                   "<file>.manifest.json), or a directory that gets export.<ext> and "
                   "manifest.json.")
@click.option("--field", metavar="NAME",
              help="Field (Label Studio control tag) to export; required when the file has several.")
@click.option("--method", type=click.Choice(EXPORT_METHODS), default="majority_vote",
              show_default=True,
              help="Consensus model. auto: majority_vote for choices, ratings and numbers, the "
                   "type's rule otherwise: label_vote (multi-label), span_vote (spans), box_fusion "
                   "(regions), medoid (free text); median for ratings and numbers on request.")
@click.option("--tie", type=click.Choice(TIE_CHOICES), default="unresolved", show_default=True,
              help="Tie policy (reliability: majority_vote only).")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              metavar="X", help="Drop items whose model confidence is below X.")
@click.option("--min-agreement", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              metavar="X", help="Drop items where less than this share of the answers "
                                "equals the final label.")
@click.option("--exclude-annotator", "exclude", multiple=True, callback=_parse_ids, metavar="ID",
              help="Leave this annotator's answers out; repeat or comma-separate.")
@click.option("--adjudications", metavar="CSV",
              help="A lead's decisions (columns task_id, field, label, status "
                   "label|ambiguous|excluded, reason; optional decided_at); they override "
                   "the model.")
@click.option("--drop-unresolved/--keep-unresolved", default=True, show_default=True,
              help="Drop items the model leaves unresolved, or keep them with no label.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of mace's random restarts (recorded in the manifest for every method).")
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES),
              help="Output format. Default: from the --out suffix (.csv, .jsonl, .parquet, "
                   ".json = labelstudio), else csv.")
@click.option("--guideline-version", metavar="TEXT",
              help="The guideline version in force, recorded in the manifest.")
@click.option("--created-at", metavar="now|ISO",
              help="Record a creation time in the manifest (off by default, so that reruns "
                   "give identical bytes).")
@click.option("--completed-by", metavar="ID|EMAIL",
              help="labelstudio format: the Label Studio user credited with the annotations "
                   "(default: none; Label Studio credits the importing user).")
@click.option("--strict", is_flag=True, help="Refuse a file with any import problem.")
def export(
    file: str,
    out: str,
    field: str | None,
    method: str,
    tie: str,
    min_confidence: float,
    min_agreement: float,
    exclude: tuple[str, ...],
    adjudications: str | None,
    drop_unresolved: bool,
    seed: int,
    fmt: str | None,
    guideline_version: str | None,
    created_at: str | None,
    completed_by: str | None,
    strict: bool,
) -> None:
    """Export one field of FILE (Label Studio export or long CSV/Parquet) as a training
    set: consensus labels filtered by the rules, with a manifest."""
    if tie == "reliability" and method not in ("majority_vote", "auto"):
        raise click.UsageError(
            f"--tie reliability applies to --method majority_vote only; {method} already "
            "weighs answers by reliability (use unresolved or deterministic)"
        )
    stamp = _created_at(created_at)
    export_path, manifest_path, fmt = _targets(out, fmt)
    if completed_by is not None and fmt != "labelstudio":
        raise click.UsageError("--completed-by applies to --format labelstudio only")

    from labelcheck.cli import _load, _warn_problems
    from labelcheck.consensus.export import ExportRules, build_export
    from labelcheck.errors import LabelcheckError
    from labelcheck.exporting import ManifestInfo, write_export

    name = os.path.basename(file)
    try:
        dataset = _load(file, strict)
        _warn_problems(dataset)
        adj_frame = None if adjudications is None else _read_adjudications(adjudications)
        rules = ExportRules(
            method=method,  # type: ignore[arg-type]
            tie=tie,  # type: ignore[arg-type]
            min_confidence=min_confidence,
            min_agreement=min_agreement,
            exclude_annotators=exclude,
            adjudications=adj_frame,
            drop_unresolved=drop_unresolved,
            seed=seed,
            adjudications_source=os.path.basename(adjudications or "adjudications"),
        )
        try:
            table = build_export(dataset, field, rules)
        except LabelcheckError as exc:
            raise LabelcheckError(f"{name}: {exc}") from None
        info = ManifestInfo(source=file, guideline_version=guideline_version,
                            adjudications=adjudications, created_at=stamp)
        export_path.parent.mkdir(parents=True, exist_ok=True)
        manifest = write_export(table, export_path, fmt, info,  # type: ignore[arg-type]
                                manifest_path=manifest_path, completed_by=completed_by)
    except LabelcheckError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        where = exc.filename or export_path
        raise click.ClickException(f"cannot write {where}: {exc.strerror or exc}") from None
    _summary(table, manifest)


def _targets(out: str, fmt: str | None) -> tuple[Path, Path, str]:
    """The data file, the manifest and the format for ``--out`` and ``--format``."""
    from labelcheck.exporting import MANIFEST_SUFFIX, SUFFIXES, format_for

    path = Path(out)
    is_dir = path.is_dir() or out.endswith(("/", os.sep)) or (not path.suffix and not path.exists())
    if is_dir:
        chosen = fmt or "csv"
        data = path / f"{DIR_FILE_STEM}{SUFFIXES[chosen]}"
        return data, path / DIR_MANIFEST, chosen
    chosen = fmt or format_for(path) or "csv"
    return path, path.with_name(path.name + MANIFEST_SUFFIX), chosen


def _created_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    if value.strip().lower() == "now":
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not 'now' or an ISO 8601 time "
                                 "(e.g. 2025-05-01T12:00:00Z)", param_hint="--created-at") from None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=timezone.utc)


def _read_adjudications(path: str) -> Any:
    import pandas as pd

    from labelcheck.errors import InvalidInput

    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise InvalidInput(f"--adjudications {name}: no such file ({path})")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(f"--adjudications {name}: not a readable CSV file ({first})") from None
    return frame.astype(object).where(frame.notna(), None)


def _summary(table: Any, manifest: Any) -> None:
    by_source = table.kept_by_source()
    sources = ", ".join(f"{n} {s}" for s, n in by_source.items() if n)
    click.echo(f"wrote {manifest.export_path} and {manifest.path}")
    click.echo(f'field "{table.field}": kept {table.n_kept} of {table.n_items} item(s)'
               + (f" ({sources})" if sources else ""))
    reasons = ", ".join(f"{r} {n}" for r, n in table.dropped_by_reason().items() if n)
    click.echo(f"dropped {table.n_dropped}" + (f": {reasons}" if reasons else ""))
    if table.unmatched_adjudications:
        from labelcheck.errors import name_list

        click.echo(f"warning: adjudications for task(s) {name_list(table.unmatched_adjudications)} "
                   f'have no answer on field "{table.field}"; ignored', err=True)
