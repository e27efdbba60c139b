"""Publish a guideline to a Label Studio project's instructions (``expert_instruction``,
shown to annotators before labeling when ``show_instruction`` is on), then read it back.

Label Studio keeps ``<script>`` in instructions and rewrites the HTML on save, so the
HTML is sanitised here (the allow-list of :func:`labelcheck.rendering.sanitise_html`) and the read-back is
compared on its text, not byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from labelcheck.labelstudio.client import LabelStudioConnection, explain, make_client, no_retry, with_retries
from labelcheck.rendering import html_text, sanitise_html

__all__ = ["PublishResult", "html_text", "publish_instructions", "sanitise_html"]


@dataclass
class PublishResult:
    """What was written and whether the read-back matched."""

    published_at: datetime
    sent_html: str
    read_back_html: str
    confirmed: bool
    show_instruction: bool

    def to_dict(self) -> dict[str, Any]:
        return {"published_at": self.published_at.isoformat(), "confirmed": self.confirmed,
                "show_instruction": self.show_instruction, "sent_chars": len(self.sent_html),
                "read_back_chars": len(self.read_back_html)}


def publish_instructions(connection: LabelStudioConnection, html: str, *, client: Any = None) -> PublishResult:
    """Write sanitised ``html`` to the project's instructions, turn showing them on, and
    read them back.  ``confirmed`` is true when the read-back shows the same text and
    ``show_instruction`` is on.  Raises :class:`~labelcheck.labelstudio.client.ConnectionProblem`."""
    client = client or make_client(connection)
    clean = sanitise_html(html)
    pid = connection.project_id
    try:  # PATCH with the same body is idempotent: safe to retry
        with_retries(lambda: client.projects.update(pid, expert_instruction=clean, show_instruction=True,
                                                    request_options=no_retry()))
        project = with_retries(lambda: client.projects.get(pid, request_options=no_retry()))
    except Exception as err:
        raise explain(err, connection, f"publishing instructions to project {pid}") from err
    back = str(getattr(project, "expert_instruction", "") or "")
    shown = bool(getattr(project, "show_instruction", False))
    return PublishResult(published_at=datetime.now(timezone.utc), sent_html=clean, read_back_html=back,
                         confirmed=shown and html_text(back) == html_text(clean), show_instruction=shown)
