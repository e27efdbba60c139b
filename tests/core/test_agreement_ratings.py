"""Ratings (Label Studio ``Rating`` / ``Number``, floats in the canonical table) need no
new coefficient: interval alpha and the intraclass correlations apply as they are."""

from __future__ import annotations

import pandas as pd
import pytest

from labelcheck.agreement import icc_agreement, icc_consistency, icc_oneway, krippendorff_alpha
from labelcheck.table import from_records

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.  Published (Table 4):
# ICC(1,1) = .17, ICC(2,1) = .29, ICC(3,1) = .71.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def rating_table() -> pd.DataFrame:
    """As the Label Studio adapter writes Rating answers: float labels, one row each."""
    return from_records([
        {"task_id": str(100 + t), "annotation_id": str(1000 + 10 * t + j),
         "annotator_id": f"judge{j + 1}", "field": "quality", "label": float(v),
         "created_at": "2024-05-01T10:00:00Z", "source": "export.json", "source_row": t + 1}
        for t, row in enumerate(SHROUT_FLEISS) for j, v in enumerate(row)
    ])


def test_icc_on_rating_answers() -> None:
    table = rating_table()
    assert icc_oneway(table, field="quality").value == pytest.approx(0.17, abs=5e-3)
    assert icc_agreement(table, field="quality").value == pytest.approx(0.29, abs=5e-3)
    assert icc_consistency(table, field="quality").value == pytest.approx(0.71, abs=5e-3)


def test_interval_alpha_on_rating_answers() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    table = rating_table()
    mine = krippendorff_alpha(table, field="quality", level="interval", ci=None)
    reference = krippendorff.alpha(
        reliability_data=[list(col) for col in zip(*SHROUT_FLEISS)],
        level_of_measurement="interval",
    )
    assert mine.value == pytest.approx(reference, abs=1e-9)
    assert (mine.n_items, mine.n_annotations) == (6, 24)
