"""STUB: being written."""

from typing import Any


def conger_kappa(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

