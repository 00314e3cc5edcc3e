"""Question texts, options and feedback to safe HTML for the learner, whatever format they were written in."""
from __future__ import annotations

import html as htmllib
import re
import unicodedata

import markdown as md

from courses.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, clean_html   # one allow-list, lessons' and ours

__all__ = ["ALLOWED_TAGS", "ALLOWED_ATTRIBUTES", "sanitise_html", "moodle_to_html", "to_safe_html"]

_SPACE_BETWEEN_TAGS = re.compile(r">[ \t\n\r\x0b\f]+<")   # PHP's [[:space:]]
_RETURN_BEFORE_TAG = re.compile(r"\n<")
_RETURN_AFTER_TAG = re.compile(r">\n")


def sanitise_html(text: str) -> str:
    """HTML kept to the allow-list: no scripts, styles, event handlers or javascript: links; images only
    from this site or data:image (courses.markdown.clean_html)."""
    return clean_html(text)


def moodle_to_html(text: str) -> str:
    """Moodle's text_to_html() for FORMAT_MOODLE (its default "auto-format"): the HTML in the text is
    kept, white space between tags dropped, a line break next to a tag made a space, and every other
    line break made <br>. Moodle cleans the result next, as the caller must (sanitise_html)."""
    text = _SPACE_BETWEEN_TAGS.sub("><", text)
    text = _RETURN_BEFORE_TAG.sub(" <", text)
    text = _RETURN_AFTER_TAG.sub("> ", text)
    return text.replace("\n", "<br />")


def to_safe_html(text: str | None, text_format: str = "moodle") -> str:
    """Safe HTML of a text written in `text_format` ("html", "moodle", "plain" or "markdown"), NFC-normalised.

    As Moodle's format_text: html is sanitised; moodle keeps its HTML with line breaks as <br>, then is
    sanitised; plain (and any unknown format) is escaped with line breaks as <br>; markdown is rendered
    by Python-Markdown, then sanitised.
    """
    text = unicodedata.normalize("NFC", str(text or "")).replace("\r\n", "\n").replace("\r", "\n")
    if text_format == "html":
        return sanitise_html(text)
    if text_format == "moodle":
        return sanitise_html(moodle_to_html(text))
    if text_format == "markdown":
        rendered = md.markdown(text, extensions=["tables", "sane_lists", "fenced_code"], output_format="html")
        return sanitise_html(rendered.replace("<h1>", "<h2>").replace("</h1>", "</h2>"))
    return htmllib.escape(text, quote=True).replace("\n", "<br>\n")
