"""labelcheck: labeling-consistency checks for multi-annotator data.

Public API re-exports only, resolved lazily (PEP 562) so that ``labelcheck --help``
and ``--version`` do not pay for importing pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "InputProblem": "labelcheck.errors",
    "InvalidInput": "labelcheck.errors",
    "LabelcheckError": "labelcheck.errors",
    "CodedRatings": "labelcheck.table",
    "Dataset": "labelcheck.table",
    "FieldSpec": "labelcheck.table",
    "ImportReport": "labelcheck.table",
    "encode": "labelcheck.table",
}

__all__ = [
    "CodedRatings",
    "Dataset",
    "FieldSpec",
    "ImportReport",
    "InputProblem",
    "InvalidInput",
    "LabelcheckError",
    "__version__",
    "encode",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labelcheck' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
