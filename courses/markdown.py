"""Lesson Markdown to safe HTML: Python-Markdown renders, nh3 keeps only harmless tags."""
from __future__ import annotations

import markdown as md
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s", "del", "ins", "mark",
    "sub", "sup", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "code", "pre", "kbd", "abbr",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "a", "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"scope", "colspan", "rowspan", "align"},
    "td": {"colspan", "rowspan", "align"},
    "ol": {"start"},
}


def render_markdown(text: str) -> str:
    """Render lesson Markdown to sanitised HTML (no scripts, styles, event handlers or data: URLs)."""
    html = md.markdown(text or "", extensions=["tables", "sane_lists", "fenced_code", "abbr", "def_list"],
                       output_format="html")
    # A lesson heading "# ..." would compete with the page title; lessons start at h2.
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
