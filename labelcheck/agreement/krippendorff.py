"""STUB: being written."""

from typing import Any


def krippendorff_alpha(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

