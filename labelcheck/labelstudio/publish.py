"""Publish a guideline to a Label Studio project's instructions (``expert_instruction``,
shown to annotators before labeling when ``show_instruction`` is on), then read it back.

Label Studio keeps ``<script>`` in instructions and rewrites the HTML on save, so the
HTML is sanitised here (an allow-list, :func:`sanitise_html`) and the read-back is
compared on its text, not byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import nh3

from labelcheck.labelstudio.client import LabelStudioConnection, explain, make_client, with_retries

#: Tags a guideline may use: text, lists, tables, images by URL, links, code.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align"},
    "ol": {"start"}, "code": {"class"}, "span": {"class"}, "div": {"class"},
}


def sanitise_html(html: str) -> str:
    """``html`` with everything outside the allow-list removed (scripts, event handlers,
    ``javascript:`` URLs, styles), by nh3 (ammonia)."""
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def html_text(html: str) -> str:
    """The text of ``html``, whitespace collapsed: what a reader sees, to compare a
    read-back with what was sent."""
    text = nh3.clean(html, tags=set())
    text = re.sub(r"&nbsp;|\s+", " ", text)
    return text.strip()


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
        with_retries(lambda: client.projects.update(pid, expert_instruction=clean, show_instruction=True))
        project = with_retries(lambda: client.projects.get(pid))
    except Exception as err:
        raise explain(err, connection, f"publishing instructions to project {pid}") from err
    back = str(getattr(project, "expert_instruction", "") or "")
    shown = bool(getattr(project, "show_instruction", False))
    return PublishResult(published_at=datetime.now(timezone.utc), sent_html=clean, read_back_html=back,
                         confirmed=shown and html_text(back) == html_text(clean), show_instruction=shown)
