"""Named conventions for reading an agreement value.

These are conventions, not statistics: they are shown beside a value, named, so a
reader knows whose rule of thumb it is.

References
----------
Landis, J. R., & Koch, G. G. (1977). The measurement of observer agreement for
categorical data. Biometrics 33(1), 159-174, p. 165. https://doi.org/10.2307/2529310
Krippendorff, K. (2019). Content Analysis: An Introduction to Its Methodology, 4th ed.,
Sage, sec. 12.4 (rely on variables with alpha >= .800; consider .667 <= alpha < .800
only for tentative conclusions).
"""

from __future__ import annotations

import math
from typing import Literal

Band = Literal["landis_koch", "krippendorff"]

_LANDIS_KOCH: tuple[tuple[float, str], ...] = (
    (0.0, "poor"),
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.0, "almost perfect"),
)


def landis_koch(value: float) -> str:
    """Landis & Koch's (1977, p. 165) label for a kappa-type value.

    <0 poor, 0-.20 slight, .21-.40 fair, .41-.60 moderate, .61-.80 substantial,
    .81-1 almost perfect.

    >>> landis_koch(0.43)
    'moderate'
    """
    if math.isnan(value):
        return "undefined"
    if value < 0:
        return "poor"
    for upper, name in _LANDIS_KOCH[1:]:
        if value <= upper:
            return name
    return "almost perfect"


def krippendorff_band(value: float) -> str:
    """Krippendorff's (2019, sec. 12.4) reading of alpha.

    >= .800 reliable; .667-.800 tentative conclusions only; below .667 unreliable.

    >>> krippendorff_band(0.743)
    'tentative'
    """
    if math.isnan(value):
        return "undefined"
    if value >= 0.800:
        return "reliable"
    if value >= 0.667:
        return "tentative"
    return "unreliable"


def band(value: float, convention: Band) -> str:
    """The label of ``value`` under a named convention."""
    if convention == "landis_koch":
        return landis_koch(value)
    if convention == "krippendorff":
        return krippendorff_band(value)
    raise ValueError(f"convention must be 'landis_koch' or 'krippendorff'; got {convention!r}")
