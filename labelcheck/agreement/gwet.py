"""STUB: being written."""

from typing import Any


def gwet_ac1(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def gwet_ac2(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

