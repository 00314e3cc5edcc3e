"""Lesson media: a trainer uploads pictures, short video and sound to a lesson, with alt text, captions and
a live preview; files stay on this server, checked by content and size, served with the right headers."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from courses.authoring import create_course, create_lesson
from courses.markdown import render_markdown
from courses.media import LessonMedia, insert_snippet
from courses.models import Lesson
from training import create_app
from training.extensions import db
from training.models import AuditEntry

MANAGE = "/courses/manage"
# The first bytes are what the server reads; the rest only has to be there.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)
M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isom" + bytes(64)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(64)
VTT = "WEBVTT\n\n00:00.000 --> 00:02.000\nBấm nút Ký số.\n".encode()
MB = 1024 * 1024


@pytest.fixture
def media_folder(app, tmp_path):
    folder = tmp_path / "lesson_media"
    app.config["LESSON_MEDIA_FOLDER"] = str(folder)
    return folder


@pytest.fixture
def trainer(make_user, auth):
    user = make_user("trainer@example.vn", "Lê Thị Giảng", roles=("trainer",))
    auth.login("trainer@example.vn")
    return user


@pytest.fixture
def lesson(app) -> Lesson:
    course = create_course(None, title="Chữ ký số", slug="chu-ky-so", status="published")
    lesson = create_lesson(course, None, title="Ký số văn bản", slug="ky-so", body_md="Mở văn bản cần ký.",
                           status="published")
    db.session.commit()
    return lesson


def _url(lesson: Lesson) -> str:
    return f"{MANAGE}/{lesson.course_id}/lessons/{lesson.id}"


def _form(lesson: Lesson, button: str = "upload", file: tuple[bytes, str] | None = None,
          captions: tuple[bytes, str] | None = None, **fields) -> dict:
    data = {"title": lesson.title, "slug": lesson.slug, "estimated_minutes": "10", "body_md": lesson.body_md,
            "status": lesson.status, "media-alt_text": "", "media-caption": ""}
    if button == "upload":
        data["media-upload"] = "Tải lên và chèn vào bài"
    elif button == "save":
        data["submit"] = "Lưu"
    if file is not None:
        data["media-file"] = FileStorage(io.BytesIO(file[0]), file[1])
    if captions is not None:
        data["media-captions"] = FileStorage(io.BytesIO(captions[0]), captions[1])
    data.update(fields)
    return data


def _post(client, lesson, **kwargs):
    # The body is encoded here in memory: the test client would spool a large one to a temporary file
    # that nobody closes (a ResourceWarning, an error under filterwarnings=error).
    stream, length, boundary = stream_encode_multipart(MultiDict(_form(lesson, **kwargs)), use_tempfile=False)
    response = client.post(_url(lesson), input_stream=stream, content_length=length,
                           content_type=f'multipart/form-data; boundary="{boundary}"')
    html = response.get_data(as_text=True)
    response.close()
    return response, html


def _textarea(html: str) -> str:
    import html as htmllib

    raw = re.search(r'<textarea[^>]*name="body_md"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    return htmllib.unescape(raw.removeprefix("\r\n"))  # HTML drops a line break right after <textarea>


def _fetch(client, name: str, **kwargs):
    """GET a media file, read whole and closed (a file response holds the file open until then)."""
    response = client.get(f"/courses/media/{name}", **kwargs)
    response.get_data()
    response.close()
    return response


def _stored(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def _rows() -> list[LessonMedia]:
    return list(db.session.scalars(sa.select(LessonMedia).order_by(LessonMedia.id)))


# --------------------------------------------------------------------------- pictures
def test_image_is_uploaded_inserted_served_and_shown_to_learners(client, trainer, lesson, media_folder, auth,
                                                                 make_user):
    response, html = _post(client, lesson, file=(PNG, "nut-ky-so.png"),
                           **{"media-alt_text": "Nút Ký số [màu xanh] trên thanh công cụ"})
    assert response.status_code == 200
    assert "Đã tải lên “nut-ky-so.png” và chèn vào nội dung bài" in html
    (media,) = _rows()
    assert (media.kind, media.mime, media.size, media.alt_text) == ("image", "image/png", len(PNG),
                                                                   "Nút Ký số [màu xanh] trên thanh công cụ")
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}\.png", media.name) and "nut-ky-so" not in media.name  # random name
    assert _stored(media_folder) == [media.name]
    text = _textarea(html)
    assert text == (f"Mở văn bản cần ký.\n\n![Nút Ký số \\[màu xanh\\] trên thanh công cụ]"
                    f"(/courses/media/{media.name})\n")
    # The preview under the text shows the picture exactly as learners will see it.
    assert f'<img alt="Nút Ký số [màu xanh] trên thanh công cụ" src="/courses/media/{media.name}">' in html
    # Not saved until "Lưu".
    assert db.session.scalar(sa.select(Lesson.body_md).where(Lesson.id == lesson.id)) == "Mở văn bản cần ký."

    served = _fetch(client, media.name)
    assert served.status_code == 200 and served.data == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    cache = served.headers["Cache-Control"]
    assert "public" in cache and "max-age=31536000" in cache and "no-store" not in cache

    saved, _html = _post(client, lesson, button="save", body_md=text)
    assert saved.status_code == 302
    make_user("hoc.vien@example.vn", "Trần Văn Học")
    auth.login("hoc.vien@example.vn")
    page = client.get("/courses/chu-ky-so/ky-so").get_data(as_text=True)
    assert f'src="/courses/media/{media.name}"' in page
    assert _fetch(client, media.name).status_code == 200


def test_image_without_alt_text_is_refused(client, trainer, lesson, media_folder):
    response, html = _post(client, lesson, file=(PNG, "anh.png"), **{"media-alt_text": "   "})
    assert response.status_code == 400
    assert "Vui lòng nhập văn bản thay thế cho ảnh" in html
    assert _rows() == [] and _stored(media_folder) == []
    assert _textarea(html) == "Mở văn bản cần ký."  # the text being written is kept


def test_file_over_its_limit_is_refused_with_the_limit_named(client, trainer, lesson, media_folder):
    big_image = PNG + bytes(2 * MB - len(PNG) + 1)
    response, html = _post(client, lesson, file=(big_image, "chup-man-hinh.png"), **{"media-alt_text": "Màn hình"})
    assert response.status_code == 400
    assert "Tệp “chup-man-hinh.png” quá lớn (2 MB): hình ảnh tối đa 2 MB." in html
    big_sound = MP3 + bytes(10 * MB - len(MP3) + 1)
    response, html = _post(client, lesson, file=(big_sound, "bai-giang.mp3"))
    assert response.status_code == 400 and "âm thanh tối đa 10 MB" in html
    assert _rows() == [] and _stored(media_folder) == []
    # Just under the limit is fine.
    response, _html = _post(client, lesson, file=(PNG + bytes(2 * MB - len(PNG)), "vua-du.png"),
                            **{"media-alt_text": "Màn hình"})
    assert response.status_code == 200 and len(_rows()) == 1


def test_request_larger_than_any_file_gets_a_clear_message(client, trainer, lesson, media_folder):
    huge = MP4 + bytes(34 * MB)
    response, html = _post(client, lesson, file=(huge, "hop-giao-ban.mp4"))
    assert response.status_code == 413
    assert "Tệp gửi lên quá lớn" in html and "video 30 MB" in html
    assert _rows() == [] and _stored(media_folder) == []


@pytest.mark.parametrize("content, filename", [
    (b"<html><script>alert(1)</script></html>", "anh-dep.png"),
    (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64), "video.mp4"),
    (b"%PDF-1.7\n" + bytes(64), "bai-nghe.mp3"),
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "logo.gif"),
], ids=["html-as-png", "exe-as-mp4", "pdf-as-mp3", "svg-as-gif"])
def test_other_files_disguised_by_their_extension_are_refused(client, trainer, lesson, media_folder, content,
                                                              filename):
    response, html = _post(client, lesson, file=(content, filename), **{"media-alt_text": "Ảnh"})
    assert response.status_code == 400
    assert f"Tệp “{filename}” không phải hình ảnh (PNG, JPEG, WebP, GIF), video (MP4, WebM) hay âm thanh" in html
    assert _rows() == [] and _stored(media_folder) == []


def test_the_content_decides_the_type_not_the_name(client, trainer, lesson, media_folder):
    response, _html = _post(client, lesson, file=(JPEG, "anh.png"), **{"media-alt_text": "Ảnh chụp"})
    assert response.status_code == 200
    (media,) = _rows()
    assert media.name.endswith(".jpg") and media.mime == "image/jpeg"
    assert _fetch(client, media.name).headers["Content-Type"] == "image/jpeg"


# --------------------------------------------------------------------------- video and sound
def test_video_with_captions_and_caption_becomes_a_figure_with_a_track(client, trainer, lesson, media_folder):
    response, html = _post(client, lesson, file=(MP4, "huong-dan.mp4"), captions=(VTT, "huong-dan.vtt"),
                           **{"media-caption": "Hướng dẫn ký số <trong 2 phút>"})
    assert response.status_code == 200
    (media,) = _rows()
    assert (media.kind, media.mime) == ("video", "video/mp4") and media.captions_name.endswith(".vtt")
    text = _textarea(html)
    assert f'<video controls preload="metadata" src="/courses/media/{media.name}">' in text
    assert f'<track kind="captions" srclang="vi" label="Tiếng Việt" src="/courses/media/{media.captions_name}"' in text
    assert "<figcaption>Hướng dẫn ký số &lt;trong 2 phút&gt;</figcaption>" in text
    rendered = render_markdown(text)
    assert f'src="/courses/media/{media.name}"' in rendered and 'kind="captions"' in rendered
    assert "<figcaption>Hướng dẫn ký số &lt;trong 2 phút&gt;</figcaption>" in rendered
    assert "Video chưa có phụ đề" not in html

    captions = _fetch(client, media.captions_name)
    assert captions.headers["Content-Type"] == "text/vtt; charset=utf-8" and captions.data == VTT
    video = _fetch(client, media.name, headers={"Range": "bytes=0-7"})
    assert video.status_code == 206 and video.data == MP4[:8]  # players can seek
    assert video.headers["Content-Type"] == "video/mp4"


def test_video_without_captions_is_kept_with_a_warning(client, trainer, lesson, media_folder):
    response, html = _post(client, lesson, file=(MP4, "clip.mp4"))
    assert response.status_code == 200 and "Video chưa có phụ đề" in html


def test_bad_captions_file_is_refused_and_nothing_is_kept(client, trainer, lesson, media_folder):
    response, html = _post(client, lesson, file=(MP4, "clip.mp4"), captions=(b"1\n00:00:00,000 --> 00:00:01,000\nSRT",
                                                                           "clip.vtt"))
    assert response.status_code == 400 and "không phải phụ đề WebVTT" in html
    assert _rows() == [] and _stored(media_folder) == []


def test_sound_is_an_audio_player(client, trainer, lesson, media_folder):
    response, html = _post(client, lesson, file=(M4A, "loi-chao.m4a"), **{"media-caption": "Lời chào của phường"})
    assert response.status_code == 200
    (media,) = _rows()
    assert (media.kind, media.mime) == ("audio", "audio/mp4")
    assert f'<audio controls preload="metadata" src="/courses/media/{media.name}"></audio>' in _textarea(html)


def test_upload_goes_where_the_cursor_was(client, trainer, lesson, media_folder):
    body = "Đoạn một.\n\nĐoạn hai."
    response, html = _post(client, lesson, file=(PNG, "a.png"), body_md=body.replace("\n", "\r\n"),
                           insert_at=str(len("Đoạn một.")), **{"media-alt_text": "Hình"})
    (media,) = _rows()
    assert _textarea(html) == f"Đoạn một.\n\n![Hình](/courses/media/{media.name})\n\nĐoạn hai.\n"
    assert insert_snippet("abc", "X", at=99) == "abc\n\nX\n" and insert_snippet("", "X") == "X\n"


def test_upload_button_without_a_file_says_so(client, trainer, lesson, media_folder):
    response, html = _post(client, lesson)
    assert response.status_code == 400 and "Vui lòng chọn tệp để tải lên." in html


# --------------------------------------------------------------------------- removing
def test_removed_file_leaves_the_lesson_and_the_server(client, trainer, lesson, media_folder, auth, make_user):
    _response, html = _post(client, lesson, file=(PNG, "a.png"), **{"media-alt_text": "Hình minh họa"})
    text = _textarea(html)
    assert _post(client, lesson, button="save", body_md=text + "\nĐoạn cuối.")[0].status_code == 302
    (media,) = _rows()
    name, media_id = media.name, media.id
    db.session.refresh(lesson)
    assert name in lesson.body_html

    # The trainer has unsaved edits when removing the file: they stay, without the picture.
    response, html = _post(client, lesson, button=None, body_md="Sửa chưa lưu.\n\n" + lesson.body_md,
                           remove_media=str(media_id))
    assert response.status_code == 200
    assert "Đã xóa tệp “a.png” khỏi bài học" in html
    assert _textarea(html) == "Sửa chưa lưu.\n\nMở văn bản cần ký.\n\nĐoạn cuối.\n"
    assert _rows() == [] and _stored(media_folder) == []
    assert _fetch(client, name).status_code == 404
    db.session.expire_all()
    stored = db.session.get(Lesson, lesson.id)
    assert name not in stored.body_md and name not in stored.body_html
    assert "Đoạn cuối." in stored.body_md
    actions = list(db.session.scalars(sa.select(AuditEntry.action)))
    assert "lesson.media_add" in actions and "lesson.media_remove" in actions

    again, html = _post(client, lesson, button=None, remove_media=str(media_id))
    assert again.status_code == 400 and "Tệp này không còn trong bài học" in html


def test_file_of_another_lesson_cannot_be_removed_from_here(client, trainer, lesson, media_folder):
    other = create_lesson(lesson.course, None, title="Bài khác", slug="bai-khac", status="draft")
    db.session.commit()
    _post(client, other, file=(PNG, "b.png"), **{"media-alt_text": "Hình"})
    (media,) = _rows()
    response, html = _post(client, lesson, button=None, remove_media=str(media.id))
    assert response.status_code == 400 and len(_rows()) == 1 and _stored(media_folder) == [media.name]
    for bad in ("abc", "9" * 30, ""):
        assert _post(client, lesson, button=None, remove_media=bad)[0].status_code == 400


# --------------------------------------------------------------------------- preview
def test_live_preview_endpoint_renders_like_the_learner_page(client, trainer):
    text = ("## Tiêu đề\n\n<script>alert(1)</script>\n\n![x](https://evil.example/a.png)\n\n"
            '<figure><video autoplay onplay="x()" src="https://evil.example/v.mp4"></video></figure>\n\n'
            '<figure><video src="/courses/media/abcdefghijklmnop.mp4"></video></figure>')
    response = client.post(f"{MANAGE}/preview", data={"text": text})
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert html == render_markdown(text)
    assert "<h2>Tiêu đề</h2>" in html and "<script" not in html and "evil.example" not in html
    assert "autoplay" not in html and "onplay" not in html
    assert '<video controls preload="metadata" src="/courses/media/abcdefghijklmnop.mp4"></video>' in html
    assert client.post(f"{MANAGE}/preview", data={"text": "x" * 200_001}).status_code == 413


def test_preview_is_for_trainers(client, make_user, auth):
    make_user("hoc.vien@example.vn")
    auth.login("hoc.vien@example.vn")
    assert client.post(f"{MANAGE}/preview", data={"text": "a"}).status_code == 403


def test_sanitiser_keeps_only_site_local_players():
    rendered = render_markdown(
        '<figure>\n<video controls src="data:video/mp4;base64,AAAA"></video>\n<figcaption>a</figcaption>\n</figure>\n\n'
        '<audio src="//evil.example/a.mp3"></audio>\n\n'
        '<video src="/courses/media/abcdefghijklmnop.mp4"><track kind="chapters" src="https://evil.example/t.vtt">'
        '<track kind="captions" src="/courses/media/abcdefghijklmnop.vtt"></video>')
    assert "data:" not in rendered and "evil.example" not in rendered and "<audio" not in rendered
    assert rendered.count("<video") == 1 and 'kind="chapters"' not in rendered
    assert '<track kind="captions" src="/courses/media/abcdefghijklmnop.vtt">' in rendered
    assert "<figcaption>a</figcaption>" in rendered


# --------------------------------------------------------------------------- serving and access
def test_media_route_serves_only_stored_names(client, trainer, media_folder):
    media_folder.mkdir()
    (media_folder / "secret.txt").write_text("x")
    for name in ("abcdefghijklmnop.png", "secret.txt", "..%2Fsecret.txt", "abcdefghijklmnop.html"):
        assert _fetch(client, name).status_code == 404


def test_media_needs_a_signed_in_user_and_editing_needs_a_trainer(client, lesson, media_folder, make_user, auth):
    assert _fetch(client, "abcdefghijklmnop.png").status_code == 302
    make_user("hoc.vien@example.vn")
    auth.login("hoc.vien@example.vn")
    response, _html = _post(client, lesson, file=(PNG, "a.png"), **{"media-alt_text": "Hình"})
    assert response.status_code == 403 and _rows() == [] and _stored(media_folder) == []


def test_new_lesson_has_no_upload_until_saved(client, trainer, lesson):
    page = client.get(f"{MANAGE}/{lesson.course_id}/lessons/new").get_data(as_text=True)
    assert "Lưu bài học trước, rồi tải hình ảnh, video, âm thanh lên cho bài." in page
    assert 'name="media-file"' not in page


def test_upload_needs_the_form_token(database_url, make_user, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True,
                      "LESSON_MEDIA_FOLDER": str(tmp_path / "m")})
    with app.app_context():
        make_user("csrf-trainer@example.vn", roles=("trainer",))
        course = create_course(None, title="Chữ ký số", slug="chu-ky-so")
        lesson = create_lesson(course, None, title="Bài 1", slug="bai-1", body_md="Nội dung")
        db.session.commit()
        url, data = _url(lesson), _form(lesson, file=(PNG, "a.png"), **{"media-alt_text": "Hình"})
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/auth/login", data={"email": "csrf-trainer@example.vn", "password": "Mat-khau-2025",
                                     "csrf_token": token})
    refused = client.post(url, data=dict(data), content_type="multipart/form-data")
    assert refused.status_code == 400 and not (tmp_path / "m").exists()
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data["media-file"] = (io.BytesIO(PNG), "a.png")
    accepted = client.post(url, data={**data, "csrf_token": token}, content_type="multipart/form-data")
    assert accepted.status_code == 200 and len(list((tmp_path / "m").iterdir())) == 1
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_media_is_not_a_course_slug(client, trainer):
    response = client.post(f"{MANAGE}/new", data={"title": "Media", "slug": "media", "summary": "", "intro_md": "",
                                                  "competency_id": "0", "status": "draft", "submit": "Lưu"})
    assert response.status_code == 400
