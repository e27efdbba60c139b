"""Turn what a caller passes (a canonical table or already-coded ratings) into codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelcheck.table import CodedRatings, Level, encode

RatingsInput = pd.DataFrame | CodedRatings
Weights = Literal["unweighted", "linear", "quadratic"]
WEIGHTS: tuple[str, ...] = ("unweighted", "linear", "quadratic")
WeightsBasis = Literal["ranks", "values"]
SingleAnswerItems = Literal["gwet", "ignore"]


def as_coded(
    data: RatingsInput,
    *,
    field: str | None = None,
    level: Level = "nominal",
    categories: Sequence[Any] | None = None,
) -> CodedRatings:
    """Encode ``data`` unless it is already a :class:`CodedRatings` (then it is reused,
    so several coefficients can share one encoding)."""
    if isinstance(data, CodedRatings):
        if field is not None and field != data.field:
            raise ValueError(f"coded ratings are for field {data.field!r}, not {field!r}")
        return data
    return encode(data, field=field, level=level, categories=categories)


def weight_matrix(
    weights: Weights, n_categories: int, values: npt.NDArray[np.float64] | None = None,
    basis: WeightsBasis = "ranks",
) -> npt.NDArray[np.float64]:
    """Agreement weights ``w[k, l]`` in [0, 1], 1 on the diagonal.

    linear: ``1 - |x_k - x_l| / (max - min)``; quadratic: ``1 - (x_k - x_l)^2 / (max - min)^2``
    (Cohen 1968; Gwet 2014 sec. 3.5), with ``x`` the category ranks 0..K-1 (the
    convention of R irr, SAS and scikit-learn) or, with ``basis="values"``, the
    categories' numeric values (irrCAC's convention for numeric categories)."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}; got {weights!r}")
    if weights == "unweighted" or n_categories < 2:
        return np.eye(n_categories)
    if basis == "values":
        if values is None:
            raise ValueError("weights over category values need numeric categories")
        x = np.asarray(values, dtype=float)
    elif basis == "ranks":
        x = np.arange(n_categories, dtype=float)
    else:
        raise ValueError(f"weights basis must be 'ranks' or 'values'; got {basis!r}")
    span = x.max() - x.min()
    diff = np.abs(x[:, None] - x[None, :]) / span
    agreement: npt.NDArray[np.float64] = 1.0 - (diff if weights == "linear" else diff**2)
    return agreement
