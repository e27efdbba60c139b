"""STUB: being written."""

from typing import Any


def cohen_kappa(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def cohen_kappa_matrix(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

