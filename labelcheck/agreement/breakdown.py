"""STUB: being written."""

from typing import Any


def by_class(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def by_annotator(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def by_slice(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def by_period(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError

