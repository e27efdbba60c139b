"""STUB: being written."""

from typing import Any


def brennan_prediger(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

