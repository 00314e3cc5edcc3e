"""Lesson Markdown to safe HTML: Python-Markdown renders, nh3 keeps only harmless tags."""
from __future__ import annotations

import re

import markdown as md
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s", "del", "ins", "mark",
    "sub", "sup", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "code", "pre", "kbd", "abbr",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "a", "span", "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"scope", "colspan", "rowspan", "align"},
    "td": {"colspan", "rowspan", "align"},
    "ol": {"start"},
    "img": {"src", "alt", "title", "width", "height"},
}
LINK_SCHEMES = {"http", "https", "mailto"}

# Images only from this site or inline (issue 14: the page never asks another host for anything, and
# the CSP says img-src 'self' data:): a path under this site's root, not "//host" nor "/\host" (which
# browsers read as another host), or a data: URL of a common picture type. SVG is left out: it is a
# document that can carry script and links.
_LOCAL_IMAGE = re.compile(r"/(?![/\\])[^\x00-\x20\\]*\Z"
                          r"|data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z", re.IGNORECASE)
# After nh3 every attribute is written name="value" with quotes inside as &quot;, so a tag is read whole.
_IMG_TAG = re.compile(r'<img(?:\s+[\w:-]+="[^"]*")*\s*/?>')
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20]")


def is_local_image(src: str) -> bool:
    """True for an image source this site may show: "/path" on this site or data:image/(png|jpeg|gif|webp)."""
    return bool(_LOCAL_IMAGE.match(src or ""))


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if is_local_image(value) else None
    if attribute == "href" and _CONTROL_OR_SPACE.sub("", value).lower().startswith("data:"):
        return None          # "data" is among nh3's schemes only for the images above
    return value


def clean_html(html: str, tags: set[str] | None = None, attributes: dict | None = None) -> str:
    """HTML kept to the allow-list: no scripts, styles, event handlers; links to http(s), mailto or this
    site; an <img> only when is_local_image(src), else dropped whole."""
    clean = nh3.clean(html or "", tags=tags or ALLOWED_TAGS, attributes=attributes or ALLOWED_ATTRIBUTES,
                      url_schemes=LINK_SCHEMES | {"data"}, attribute_filter=_attribute_filter,
                      link_rel="noopener noreferrer nofollow")
    return _IMG_TAG.sub(lambda m: m.group(0) if ' src="' in m.group(0) else "", clean)


def render_markdown(text: str) -> str:
    """Render lesson Markdown to sanitised HTML (no scripts, styles, event handlers; images, video and audio
    only from this site)."""
    html = md.markdown(text or "", extensions=["tables", "sane_lists", "fenced_code", "abbr", "def_list"],
                       output_format="html")
    # A lesson heading "# ..." would compete with the page title; lessons start at h2.
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return _clean_lesson(html)


# --------------------------------------------------------------------------- lesson media
# Lessons (not question texts, which keep ALLOWED_TAGS) may also carry the figures the lesson editor
# inserts for an uploaded file (courses/media.py):
#   <figure><video controls src="/courses/media/…"><track kind="captions" src="/courses/media/….vtt" …>
#   </video><figcaption>…</figcaption></figure>, and the same with <audio>.
# Every src must be a path on this site (the CSP says media-src 'self'); the players always get their
# controls and load only their metadata until played (slow connections), and nothing plays by itself
# (no autoplay, loop or muted).
MEDIA_TAGS = {"figure", "figcaption", "video", "audio", "source", "track"}
LESSON_TAGS = ALLOWED_TAGS | MEDIA_TAGS
LESSON_ATTRIBUTES = {
    **ALLOWED_ATTRIBUTES,
    "video": {"src", "width", "height"},
    "audio": {"src"},
    "source": {"src", "type"},
    "track": {"src", "srclang", "label", "default"},
}
_MEDIA_VALUES = {"track": {"kind": {"captions", "subtitles", "descriptions"}}}
# Every player is written back with its controls, loading only its metadata until played.
_PLAYER_TAG = re.compile(r'<(video|audio)((?:\s+[\w:-]+="[^"]*")*)\s*>')
_MEDIA_SRC_TAGS = {"video", "audio", "source", "track"}
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\x00-\x20\\]*\Z")
# A player left with no source of its own nor a <source src> (its src was not on this site) is dropped
# whole rather than shown as an empty box.
_EMPTY_PLAYER = re.compile(r'<(video|audio)((?:\s+[\w:-]+="[^"]*")*)\s*>(.*?)</\1>', re.DOTALL)


def is_local_media(src: str) -> bool:
    """True for a video, audio or subtitle source this site may play: a "/path" on this site, nothing else."""
    return bool(_LOCAL_PATH.match(src or ""))


def _lesson_attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag in _MEDIA_SRC_TAGS and attribute == "src":
        return value if is_local_media(value) else None
    return _attribute_filter(tag, attribute, value)


def _clean_lesson(html: str) -> str:
    clean = nh3.clean(html or "", tags=LESSON_TAGS, attributes=LESSON_ATTRIBUTES, url_schemes=LINK_SCHEMES | {"data"},
                      attribute_filter=_lesson_attribute_filter, tag_attribute_values=_MEDIA_VALUES,
                      link_rel="noopener noreferrer nofollow")
    clean = _PLAYER_TAG.sub(lambda m: f'<{m.group(1)} controls preload="metadata"{m.group(2)}>',
                            _drop_empty_players(clean))
    return _IMG_TAG.sub(lambda m: m.group(0) if ' src="' in m.group(0) else "", clean)


def _drop_empty_players(html: str) -> str:
    def keep(match: re.Match) -> str:
        has_source = ' src="' in match.group(2) or re.search(r'<source\b[^>]*\ssrc="', match.group(3))
        return match.group(0) if has_source else ""

    return _EMPTY_PLAYER.sub(keep, html)
