"""STUB: being written."""

from typing import Any


def icc_oneway(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def icc_agreement(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def icc_consistency(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

