"""Errors raised by labelcheck, and the row-precise problem records they carry.

Every input problem says *what* is wrong and *where*: the source (file name or URL),
the 1-based record in it, the task id, the annotation id and the field, whenever
those are known.  Loaders collect every problem first and report them together
(lazy validation, as pandera does); they raise only when nothing usable is left
or the caller asked for strict mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: How many problems a message lists before it says "and N more".
MAX_LISTED = 10


@dataclass(frozen=True)
class InputProblem:
    """One problem in one place of an input.

    ``source_row`` is 1-based: the n-th task of a JSON export, the n-th data row
    of a CSV file (the header not counted).
    """

    message: str
    source: str | None = None
    source_row: int | None = None
    task_id: str | None = None
    annotation_id: str | None = None
    field: str | None = None

    def location(self) -> str:
        """Where the problem is, as ``file, row 12: task 4, annotation 9, field "x"``."""
        parts: list[str] = []
        head = self.source or ""
        if self.source_row is not None:
            head = f"{head}, row {self.source_row}" if head else f"row {self.source_row}"
        where: list[str] = []
        if self.task_id is not None:
            where.append(f"task {self.task_id}")
        if self.annotation_id is not None:
            where.append(f"annotation {self.annotation_id}")
        if self.field is not None:
            where.append(f'field "{self.field}"')
        if head:
            parts.append(head)
        if where:
            parts.append(", ".join(where))
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "source": self.source,
            "source_row": self.source_row,
            "task_id": self.task_id,
            "annotation_id": self.annotation_id,
            "field": self.field,
        }


class LabelcheckError(Exception):
    """Base class of every error labelcheck raises on purpose."""


class InvalidInput(LabelcheckError):
    """The input cannot be used; ``problems`` lists every reason, row by row."""

    def __init__(self, summary: str, problems: Sequence[InputProblem] = ()) -> None:
        self.summary = summary
        self.problems: tuple[InputProblem, ...] = tuple(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.problems:
            return self.summary
        lines = [self.summary]
        lines += [f"  {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - MAX_LISTED} more")
        return "\n".join(lines)


def name_list(items: Iterable[object], limit: int = MAX_LISTED) -> str:
    """``a, b, c`` or ``a, b, c and 7 more``: name things, do not just count them."""
    names = [str(x) for x in items]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"
