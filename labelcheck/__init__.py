"""labelcheck: labeling-consistency checks for multi-annotator data.

Public API re-exports only; see the subpackages for the code.
"""

from labelcheck.errors import InputProblem, InvalidInput, LabelcheckError
from labelcheck.table import CodedRatings, Dataset, FieldSpec, ImportReport, encode

__version__ = "0.1.0"

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
