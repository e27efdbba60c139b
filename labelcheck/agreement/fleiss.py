"""STUB: being written."""

from typing import Any


def fleiss_kappa(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def scott_pi(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

