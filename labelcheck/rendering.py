"""Guideline text: markdown rendered to HTML (markdown-it-py, CommonMark with tables and
strikethrough), sanitised with an allow-list (nh3, the Python binding of ammonia), and
block diffs between two versions.

Everything a browser or Label Studio shows of a guideline goes through
:func:`render_markdown`, so a guideline can hold tables, images by URL, links and code,
never script, event handlers, styles or ``javascript:`` URLs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

from labelcheck.guidelines.suggestions import markdown_blocks

#: Tags a guideline may use: text, lists, tables, images by URL, links, code.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align", "style"}, "th": {"colspan", "rowspan", "align", "style"},
    "ol": {"start"}, "code": {"class"}, "span": {"class"}, "div": {"class"},
}
_URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"])


def sanitise_html(html: str) -> str:
    """``html`` with everything outside the allow-list removed."""
    return nh3.clean(html, tags=set(ALLOWED_TAGS),
                     attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(_URL_SCHEMES), link_rel="noopener noreferrer",
                     filter_style_properties={"text-align"})


def render_markdown(text: str) -> str:
    """Sanitised HTML of markdown ``text`` (raw HTML in it is allowed, then sanitised)."""
    return sanitise_html(_md.render(text or ""))


def html_text(html: str) -> str:
    """The text of ``html``, whitespace collapsed: what a reader sees."""
    text = nh3.clean(html, tags=set())
    return re.sub(r"&nbsp;|\s+", " ", text).strip()


@dataclass(frozen=True)
class DiffBlock:
    """One block of a rendered diff: ``kind`` is ``same``, ``added`` or ``removed``."""

    kind: str
    html: str


def diff_markdown(old: str, new: str) -> list[DiffBlock]:
    """The rendered diff from ``old`` to ``new``, a block (paragraph, list, table,
    heading) at a time: unchanged blocks, removed ones and added ones, in reading order
    (a changed block shows as its old version removed and its new version added)."""
    a, b = markdown_blocks(old), markdown_blocks(new)
    out: list[DiffBlock] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(DiffBlock("same", render_markdown(x)) for x in a[i1:i2])
            continue
        out.extend(DiffBlock("removed", render_markdown(x)) for x in a[i1:i2])
        out.extend(DiffBlock("added", render_markdown(x)) for x in b[j1:j2])
    return out


def diff_counts(blocks: list[DiffBlock]) -> dict[str, int]:
    return {kind: sum(1 for b in blocks if b.kind == kind) for kind in ("same", "added", "removed")}
