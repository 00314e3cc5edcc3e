"""Question texts, options and feedback to safe HTML for the learner, whatever format they were written in."""
from __future__ import annotations

import html as htmllib
import re
import unicodedata

import markdown as md
import nh3

from courses.markdown import ALLOWED_ATTRIBUTES as LESSON_ATTRIBUTES
from courses.markdown import ALLOWED_TAGS as LESSON_TAGS

# The lesson allow-list (courses.markdown, pure Python too) plus images: imported questions carry them.
ALLOWED_TAGS = set(LESSON_TAGS) | {"img"}
ALLOWED_ATTRIBUTES = {**LESSON_ATTRIBUTES, "img": {"src", "alt", "title", "width", "height"}}
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC = re.compile(r'\ssrc="([^"]*)"')


def _keep_image(match: re.Match) -> str:
    # After nh3 every attribute is double-quoted, so this reads the src reliably. Images from Moodle's
    # file area (@@PLUGINFILE@@) were not imported, and relative or data: sources are not allowed.
    src = _SRC.search(match.group(0))
    url = htmllib.unescape(src.group(1)) if src else ""
    if "@@PLUGINFILE@@" in url or not url.lower().startswith(("http://", "https://")):
        return ""
    return match.group(0)


def sanitise_html(text: str) -> str:
    """HTML kept to the allow-list: no scripts, styles, event handlers, javascript: or data: URLs."""
    clean = nh3.clean(text, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return _IMG.sub(_keep_image, clean)


def to_safe_html(text: str | None, text_format: str = "moodle") -> str:
    """Safe HTML of a text written in `text_format` ("html", "moodle", "plain" or "markdown"), NFC-normalised.

    html is sanitised; moodle and plain (and any unknown format) are escaped with newlines as <br>;
    markdown is rendered by Python-Markdown, then sanitised.
    """
    text = unicodedata.normalize("NFC", str(text or "")).replace("\r\n", "\n").replace("\r", "\n")
    if text_format == "html":
        return sanitise_html(text)
    if text_format == "markdown":
        rendered = md.markdown(text, extensions=["tables", "sane_lists", "fenced_code"], output_format="html")
        return sanitise_html(rendered.replace("<h1>", "<h2>").replace("</h1>", "</h2>"))
    return htmllib.escape(text, quote=True).replace("\n", "<br>\n")
