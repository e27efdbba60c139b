"""STUB: being written."""

from typing import Any


def percent_agreement(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def specific_agreement(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

