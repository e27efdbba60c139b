"""The consensus rule of each answer type, shared by ``labelcheck consensus`` and the
exports: which method fits a field (``auto``), the input checks a rule needs, and the
rule itself.

Single choices (and ratings, by default) go to the models of :mod:`labelcheck.consensus`
(majority vote, Dawid-Skene, MACE); the other types to their own rule: ``label_vote``
(multi-label choices, :func:`~labelcheck.consensus.structured.multilabel_consensus`),
``span_vote`` (:func:`~labelcheck.consensus.spans.span_consensus`), ``box_fusion``
(:func:`~labelcheck.consensus.regions.region_consensus`), ``median`` (ratings and
numbers on request, :func:`~labelcheck.consensus.structured.rating_consensus`) and
``medoid`` (free text, :func:`~labelcheck.consensus.structured.text_consensus`).

Part of the core: no I/O.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from labelcheck.errors import InputProblem, InvalidInput

#: The answer types' own consensus rules (the names of ``labelcheck consensus --method``).
STRUCTURED_METHODS: tuple[str, ...] = ("label_vote", "span_vote", "box_fusion", "median", "medoid")
#: The rule of each value type (``auto`` takes it for every type but choices and ratings).
TYPE_METHODS: dict[str, str] = {"multichoice": "label_vote", "span": "span_vote",
                                "region": "box_fusion", "rating": "median", "number": "median",
                                "text": "medoid"}
#: Value types the choice models cannot read.
STRUCTURED_TYPES: tuple[str, ...] = ("multichoice", "span", "region", "text")
CHOICE_MODELS: tuple[str, ...] = ("majority_vote", "dawid_skene", "mace")
#: IoU from which an answer's region matches a consensus region (box fusion's own).
MATCH_IOU = 0.5


def resolve_method(method: str, value_type: str, field: str) -> str:
    """The method to run on a field of ``value_type``: ``auto`` as majority vote for
    choices and ratings and the type's rule otherwise; a choice model on a type it
    cannot read, or a type's rule on another type, raises :class:`InvalidInput`
    naming the method to use."""
    own = TYPE_METHODS.get(value_type)
    if method == "auto":
        return own if own is not None and value_type in STRUCTURED_TYPES else "majority_vote"
    if method in CHOICE_MODELS:
        if value_type in STRUCTURED_TYPES:
            raise InvalidInput(f'field "{field}" holds {value_type} answers; use --method {own} or auto')
        return method
    if method != own:
        fits = " and ".join(t for t, m in TYPE_METHODS.items() if m == method)
        use = own or "majority_vote"
        raise InvalidInput(f'method {method} is for {fits} answers; field "{field}" holds {value_type} '
                           f"answers; use --method {use} or auto")
    return method


def split_valid(frame: pd.DataFrame, field: str, value_type: str) -> tuple[pd.DataFrame, list[InputProblem]]:
    """The well-formed answers of a span or region field (malformed spans and regions
    taken out of their answers, with the problems); other types as they are."""
    if value_type == "span":
        from labelcheck.agreement.span_checks import split_valid_spans

        return split_valid_spans(frame, field=field)
    if value_type == "region":
        from labelcheck.agreement.region_checks import split_valid_regions

        return split_valid_regions(frame, field=field)
    return frame, []


def run_rule(valid: pd.DataFrame, field: str, method: str, declared: list[Any] | None = None) -> pd.DataFrame:
    """One row per task of ``field`` under the type rule ``method`` (``task_id``,
    ``label``, ``confidence``, ``n_answers``, ``reason``, and the rule's extras)."""
    from labelcheck.consensus.structured import multilabel_consensus, rating_consensus, text_consensus

    if method == "label_vote":
        return multilabel_consensus(valid, field=field, labels=declared)
    if method == "median":
        return rating_consensus(valid, field=field)
    if method == "medoid":
        return text_consensus(valid, field=field)
    if method == "span_vote":
        from labelcheck.consensus.spans import span_consensus

        return span_consensus(valid, field=field)
    from labelcheck.consensus.regions import region_consensus

    return region_consensus(valid, field=field, iou=MATCH_IOU)
