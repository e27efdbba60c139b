"""The alpha that fits each answer type, as one function of a table of answers, and the
text lengths span statistics need.

One place for what the overview, the hotspots, the CLI and the exports' manifests all
compute: multi-label sets with the MASI distance (:mod:`~labelcheck.agreement.multilabel`),
spans per character (:mod:`~labelcheck.agreement.spans`), regions with 1 - IoU
(:mod:`~labelcheck.agreement.regions`), free text with the normalised edit distance
(:mod:`~labelcheck.agreement.text`), and every other type with Krippendorff's alpha at
its level.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from labelcheck.agreement.result import AgreementResult
from labelcheck.table import TASK_ID, Level

AlphaOfAnswers = Callable[[pd.DataFrame], AgreementResult]
#: The metric name of each type's alpha.
ALPHA_METRICS: dict[str, str] = {"multichoice": "multilabel_alpha", "span": "span_character_alpha",
                                 "region": "region_alpha", "text": "text_alpha"}


def alpha_for_type(value_type: str, *, field: str | None = None, level: Level = "nominal",
                   text_lengths: Mapping[str, int] | None = None, ci: Any = None) -> AlphaOfAnswers:
    """``alpha(answers)`` for a field of ``value_type`` (``text_lengths``: spans only;
    ``level``: the types without their own alpha)."""
    if value_type == "multichoice":
        from labelcheck.agreement.multilabel import multilabel_alpha

        return lambda frame: multilabel_alpha(frame, field=field, distance="masi", ci=ci)
    if value_type == "text":
        from labelcheck.agreement.text import text_alpha

        return lambda frame: text_alpha(frame, field=field, ci=ci)
    if value_type == "span":
        from labelcheck.agreement.spans import span_character_alpha

        return lambda frame: span_character_alpha(frame, field=field, text_lengths=text_lengths, ci=ci)
    if value_type == "region":
        from labelcheck.agreement.regions import region_alpha

        return lambda frame: region_alpha(frame, field=field, ci=ci)
    from labelcheck.agreement.krippendorff import krippendorff_alpha

    return lambda frame: krippendorff_alpha(frame, field=field, level=level, ci=ci)


def text_lengths(tasks: pd.DataFrame | None, to_name: str | None) -> dict[str, int] | None:
    """Length of each task's text in UTF-16 code units, the unit of Label Studio's span
    offsets (JavaScript string indices: a character outside the Basic Multilingual
    Plane, e.g. an emoji, counts 2), read from the data field named like the object tag
    (``<Text name="text" value="$text">``, the usual layout); None when there is none."""
    if tasks is None or not to_name or to_name not in tasks.columns or TASK_ID not in tasks.columns:
        return None
    out = {str(t): len(v.encode("utf-16-le")) // 2
           for t, v in zip(tasks[TASK_ID].to_numpy(), tasks[to_name].to_numpy()) if isinstance(v, str)}
    return out or None
