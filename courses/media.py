"""Lesson media: pictures, short videos and sound a trainer uploads to a lesson, kept on this server.

Files live in the instance folder (`LESSON_MEDIA_FOLDER`, default `<instance>/lesson_media`) under random
names; nothing is ever fetched from another host. A file's type is read from its first bytes, never
from its name alone, and each kind has its size limit. A row per file (`lesson_media`) says which
lesson it belongs to, its alt text or caption and its WebVTT captions, so the editor can list, insert
and remove it. Functions flush; the caller commits, then deletes the files of removed rows
(`delete_files`), so a rolled-back removal never loses a file.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Lesson
from training.extensions import db
from training.models import User
from training.models.types import UTCDateTime, utcnow
from training.services import audit
from training.vntext import nfc

MB = 1024 * 1024
KINDS = ("image", "video", "audio")
# Short clips for officials on phones and slow connections, not lectures.
SIZE_LIMITS = {"image": 2 * MB, "audio": 10 * MB, "video": 30 * MB, "captions": 512 * 1024}
# The largest request the lesson editor accepts: the biggest file, its captions and the lesson text.
MAX_REQUEST_BYTES = SIZE_LIMITS["video"] + SIZE_LIMITS["captions"] + 2 * MB
ALT_MAX = 300
CAPTION_MAX = 500
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(png|jpg|gif|webp|mp4|webm|mp3|m4a|ogg|vtt)\Z")


@dataclass(frozen=True)
class MediaType:
    kind: str        # "image", "video", "audio" or "captions"
    mime: str
    ext: str         # the stored file's extension, chosen by us from the content


TYPES = {t.ext: t for t in (
    MediaType("image", "image/png", "png"),
    MediaType("image", "image/jpeg", "jpg"),
    MediaType("image", "image/gif", "gif"),
    MediaType("image", "image/webp", "webp"),
    MediaType("video", "video/mp4", "mp4"),
    MediaType("video", "video/webm", "webm"),
    MediaType("audio", "audio/mpeg", "mp3"),
    MediaType("audio", "audio/mp4", "m4a"),
    MediaType("audio", "audio/ogg", "ogg"),
    MediaType("captions", "text/vtt", "vtt"),
)}
ACCEPT = ".png,.jpg,.jpeg,.gif,.webp,.mp4,.webm,.mp3,.m4a,.ogg,.oga"
ACCEPT_CAPTIONS = ".vtt"
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}


class LessonMedia(db.Model):
    """One uploaded file of a lesson (and, for a video, its captions file)."""

    __tablename__ = "lesson_media"
    __table_args__ = (sa.CheckConstraint("kind IN ('image', 'video', 'audio')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)   # random, with the extension of its type
    kind: Mapped[str] = mapped_column(sa.String(10))
    mime: Mapped[str] = mapped_column(sa.String(50))
    size: Mapped[int] = mapped_column()
    original_name: Mapped[str] = mapped_column(sa.String(255), default="")
    alt_text: Mapped[str] = mapped_column(sa.String(ALT_MAX), default="")
    caption: Mapped[str] = mapped_column(sa.String(CAPTION_MAX), default="")
    captions_name: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lesson: Mapped[Lesson] = relationship()

    @property
    def url(self) -> str:
        return media_url(self.name)

    @property
    def snippet(self) -> str:
        return snippet(self)


class MediaError(ValueError):
    """An upload that cannot be kept; `field` names the form field at fault."""

    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.field = field


@dataclass
class Upload:
    """A file as the form received it: its bytes (a seekable stream) and the name it had on the trainer's disk."""

    stream: BinaryIO
    filename: str = ""


# --------------------------------------------------------------------------- types
def sniff(head: bytes, filename: str = "") -> MediaType | None:
    """The type of a file from its first bytes (64 are enough), or None for anything we do not keep.

    The name only decides between two readings of the same container: an MP4 whose brand does not
    say "audio" is a video unless the trainer named it .m4a.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return TYPES["jpg"]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return TYPES["gif"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return TYPES["webp"]
    if head[4:8] == b"ftyp":
        named_audio = filename.lower().endswith(".m4a")
        return TYPES["m4a"] if head[8:12] in _AUDIO_BRANDS or named_audio else TYPES["mp4"]
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return TYPES["webm"]
    if head.startswith(b"OggS"):
        return TYPES["ogg"]
    if head.startswith(b"ID3") or _mpeg_audio_frame(head):
        return TYPES["mp3"]
    return None


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a known version and layer, a usable bitrate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer, bitrate = (head[1] >> 3) & 3, (head[1] >> 1) & 3, head[2] >> 4
    return version != 1 and layer != 0 and bitrate not in (0, 15)


def is_webvtt(data: bytes) -> bool:
    """A WebVTT file: UTF-8 text whose first line is "WEBVTT", alone or followed by a space or tab."""
    text = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not text.startswith(b"WEBVTT") or (len(text) > 6 and text[6:7] not in (b" ", b"\t", b"\n", b"\r")):
        return False
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in text


def size_label(size: int) -> str:
    """A size as Vietnamese readers write it: "2 MB", "1,5 MB", "300 KB"."""
    if size >= MB:
        return f"{format_decimal(round(size / MB, 1), format='#,##0.#')} MB"
    return f"{format_decimal(max(1, round(size / 1024)), format='#,##0')} KB"


def _stream_size(stream: BinaryIO) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _too_large(kind: str, name: str, size: int) -> MediaError:
    limit = size_label(SIZE_LIMITS[kind])
    messages = {
        "image": _("Tệp “%(name)s” quá lớn (%(size)s): hình ảnh tối đa %(limit)s. Hãy thu nhỏ hoặc nén ảnh "
                   "rồi tải lên lại.", name=name, size=size_label(size), limit=limit),
        "audio": _("Tệp “%(name)s” quá lớn (%(size)s): âm thanh tối đa %(limit)s. Hãy cắt ngắn hoặc nén tệp "
                   "rồi tải lên lại.", name=name, size=size_label(size), limit=limit),
        "video": _("Tệp “%(name)s” quá lớn (%(size)s): video tối đa %(limit)s. Hãy cắt ngắn, giảm độ phân "
                   "giải hoặc nén video rồi tải lên lại.", name=name, size=size_label(size), limit=limit),
        "captions": _("Tệp phụ đề “%(name)s” quá lớn (%(size)s): tối đa %(limit)s.", name=name,
                      size=size_label(size), limit=limit),
    }
    return MediaError(messages[kind], "captions" if kind == "captions" else "file")


def check_upload(upload: Upload) -> tuple[MediaType, int]:
    """The type and size of an uploaded picture, video or sound; MediaError with the reason otherwise."""
    name = _display_name(upload.filename)
    size = _stream_size(upload.stream)
    if size == 0:
        raise MediaError(_("Tệp “%(name)s” rỗng.", name=name))
    media_type = sniff(upload.stream.read(64), upload.filename)
    upload.stream.seek(0)
    if media_type is None or media_type.kind == "captions":
        raise MediaError(_("Tệp “%(name)s” không phải hình ảnh (PNG, JPEG, WebP, GIF), video (MP4, WebM) hay âm "
                           "thanh (MP3, M4A, OGG): nội dung tệp không khớp với loại nào, dù tên tệp có đuôi gì.",
                           name=name))
    if size > SIZE_LIMITS[media_type.kind]:
        raise _too_large(media_type.kind, name, size)
    return media_type, size


def check_captions(upload: Upload) -> bytes:
    """The bytes of an uploaded WebVTT file; MediaError (field "captions") when it is not one."""
    name = _display_name(upload.filename)
    size = _stream_size(upload.stream)
    if size > SIZE_LIMITS["captions"]:
        raise _too_large("captions", name, size)
    data = upload.stream.read()
    if not is_webvtt(data):
        raise MediaError(_("Tệp “%(name)s” không phải phụ đề WebVTT: tệp phải là văn bản UTF-8 bắt đầu bằng dòng "
                           "“WEBVTT”.", name=name), "captions")
    return data


def _display_name(filename: str) -> str:
    name = nfc(os.path.basename((filename or "").replace("\\", "/"))).strip()
    return name[:120] or _("(không tên)")


# --------------------------------------------------------------------------- storage
def media_folder() -> Path:
    """Where lesson files are kept: LESSON_MEDIA_FOLDER, or lesson_media/ in the instance folder."""
    return Path(current_app.config.get("LESSON_MEDIA_FOLDER") or Path(current_app.instance_path) / "lesson_media")


def _write(folder: Path, ext: str, source: BinaryIO | bytes) -> str:
    """Write a file under a fresh random name, whole or not at all; returns the name."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(18)}.{ext}"
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(source, bytes):
                out.write(source)
            else:
                shutil.copyfileobj(source, out, 1024 * 1024)
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return name


def delete_files(names: list[str]) -> None:
    """Remove stored files (after the removal of their rows was committed); a missing file is no error."""
    folder = media_folder()
    for name in names:
        if name and NAME_PATTERN.match(name):
            (folder / name).unlink(missing_ok=True)


def stored_file(name: str) -> tuple[Path, str] | None:
    """The path and Content-Type of a stored file by its public name, or None."""
    match = NAME_PATTERN.match(name or "")
    if not match:
        return None
    path = media_folder() / name
    return (path, TYPES[match.group(1)].mime) if path.is_file() else None


def media_url(name: str) -> str:
    return url_for("courses.media_file", name=name)


# --------------------------------------------------------------------------- services
def lesson_media(lesson: Lesson) -> list[LessonMedia]:
    """A lesson's files, oldest first."""
    if lesson is None or lesson.id is None:
        return []
    return list(db.session.scalars(sa.select(LessonMedia).where(LessonMedia.lesson_id == lesson.id)
                                    .order_by(LessonMedia.id)))


def _one_line(text: str, limit: int) -> str:
    return " ".join(nfc(text or "").split())[:limit]


def add_media(lesson: Lesson, actor: User | None, upload: Upload, *, alt_text: str = "", caption: str = "",
              captions: Upload | None = None) -> LessonMedia:
    """Keep an uploaded picture, video or sound for a lesson.

    Pictures need their alt text; captions (WebVTT) go with a video only. The files are written before
    the row is flushed; if anything fails they are removed again and the error is raised.
    """
    media_type, size = check_upload(upload)
    alt_text, caption = _one_line(alt_text, ALT_MAX), _one_line(caption, CAPTION_MAX)
    if media_type.kind == "image" and not alt_text:
        raise MediaError(_("Vui lòng nhập văn bản thay thế cho ảnh: người dùng trình đọc màn hình và người mạng "
                           "chậm sẽ đọc dòng này thay cho ảnh."), "alt_text")
    captions_data = None
    if captions is not None:
        if media_type.kind != "video":
            raise MediaError(_("Chỉ video mới có tệp phụ đề. Với âm thanh, hãy ghi lời thoại vào nội dung bài."),
                             "captions")
        captions_data = check_captions(captions)
    folder = media_folder()
    written: list[str] = []
    try:
        written.append(_write(folder, media_type.ext, upload.stream))
        if captions_data is not None:
            written.append(_write(folder, "vtt", captions_data))
        media = LessonMedia(lesson_id=lesson.id, name=written[0], kind=media_type.kind, mime=media_type.mime,
                            size=size, original_name=_display_name(upload.filename)[:255],
                            alt_text=alt_text if media_type.kind == "image" else "", caption=caption,
                            captions_name=written[1] if len(written) > 1 else None,
                            created_by_id=actor.id if actor is not None else None)
        db.session.add(media)
        db.session.flush()
    except BaseException:
        delete_files(written)
        raise
    audit.record(actor, "lesson.media_add", lesson.course.slug, lesson=lesson.slug, file=media.name,
                 kind=media.kind, size=size, captions=bool(media.captions_name))
    return media


def remove_media(media: LessonMedia, actor: User | None) -> list[str]:
    """Forget a lesson's file; returns the file names to delete once the caller has committed."""
    names = [media.name] + ([media.captions_name] if media.captions_name else [])
    audit.record(actor, "lesson.media_remove", media.lesson.course.slug, lesson=media.lesson.slug, file=media.name)
    db.session.delete(media)
    db.session.flush()
    return names


# --------------------------------------------------------------------------- snippets
def _markdown_alt(text: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", text)


def snippet(media: LessonMedia) -> str:
    """What the editor inserts into the lesson for a file: Markdown for a picture, a <figure> for a
    player (with its captions track and caption), exactly the HTML the lesson sanitiser keeps."""
    url = media_url(media.name)
    if media.kind == "image" and not media.caption:
        return f"![{_markdown_alt(media.alt_text)}]({url})"
    caption = f"<figcaption>{escape(media.caption, quote=False)}</figcaption>" if media.caption else ""
    if media.kind == "image":
        return f'<figure>\n<img src="{url}" alt="{escape(media.alt_text)}">\n{caption}\n</figure>'
    track = ""
    if media.captions_name:
        track = (f'\n<track kind="captions" srclang="vi" label="Tiếng Việt" src="{media_url(media.captions_name)}"'
                 " default>\n")
    lines = ["<figure>", f'<{media.kind} controls preload="metadata" src="{url}">{track}</{media.kind}>']
    if caption:
        lines.append(caption)
    lines.append("</figure>")
    return "\n".join(lines)


def insert_snippet(text: str, piece: str, at: int | None = None) -> str:
    """`text` with `piece` inserted as a block of its own at character `at` (at the end when None)."""
    text = (text or "").replace("\r\n", "\n")
    at = len(text) if at is None else max(0, min(at, len(text)))
    before, after = text[:at].rstrip(), text[at:].lstrip("\n")
    return "\n\n".join(part for part in (before, piece, after) if part.strip()) + "\n"


def strip_snippets(text: str, media: LessonMedia) -> str:
    """`text` without the Markdown image or the <figure> that show `media` (what `snippet` inserts, even
    if the trainer edited its alt text or caption since)."""
    name = re.escape(media.name)
    figure = re.compile(r"<figure\b(?:(?!</figure>).)*?" + name + r"(?:(?!</figure>).)*?</figure>[ \t]*",
                        re.DOTALL | re.IGNORECASE)
    image = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\(\s*<?[^)\s>]*" + name + r">?(?:\s+\"[^\"]*\")?\s*\)[ \t]*")
    text = image.sub("", figure.sub("", (text or "").replace("\r\n", "\n")))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + ("\n" if text.strip() else "")


def uses_media(text: str, media: LessonMedia) -> bool:
    """True when the lesson text still refers to the file."""
    return media.name in (text or "")
