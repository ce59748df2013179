"""A safe subset of Markdown: markdown-it-py renders, nh3 cleans.

No raw HTML, no images, links only to http, https and mailto.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h3", "h4", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"])
    return md


def render_markdown(text: str | None) -> Markup:
    """Render member-written Markdown to HTML that is safe to embed in a page."""
    if not text:
        return Markup("")
    return _render(text)


# A comment is read far more often than it is written, and the same text always gives
# the same HTML: remembering the last few thousand renderings per process spares the
# parser and the cleaner on every view of an objective page (about a third of its
# template time). Keyed by the text itself, so an edited comment is simply a new entry.
@lru_cache(maxsize=2048)
def _render(text: str) -> Markup:
    html = _parser().render(text)
    # Headings written by members are demoted so that a page keeps one h1.
    for level in (1, 2):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    for level in (5, 6):
        html = html.replace(f"<h{level}>", "<h4>").replace(f"</h{level}>", "</h4>")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
    )
    # nh3 has just removed every tag, attribute and URL scheme outside the allowlist.
    return Markup(cleaned)  # noqa: S704  # nosec B704


def plain_text(text: str | None, limit: int = 200) -> str:
    """A one-line text preview of Markdown, for lists and exports."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
