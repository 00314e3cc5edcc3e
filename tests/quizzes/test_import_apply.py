"""What the import preview accepts, the import writes, on SQLite and PostgreSQL alike.

Every limit of the bank's columns (names, tags, ID numbers, category depth, NUL bytes) is found
while parsing, with its line, so the preview shows it and the import refuses it with that reason
instead of failing in the database. Run with TEST_DATABASE_URL=postgresql://... as well: SQLite
does not enforce lengths, PostgreSQL does.
"""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from quizzes.formats import MAX_CATEGORY_DEPTH
from quizzes.models import Question, QuestionCategory, Tag
from quizzes.transfer import ImportRefused, apply_import, parse_file
from tests.conftest import shared_dir
from training.extensions import db

FIXTURES = shared_dir() / "fixtures"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def tf(title: str, text: str = "Chữ ký số có giá trị pháp lý.", comment: str = "") -> str:
    return (comment + "\n" if comment else "") + f"::{title}::{text}{{T}}\n"


def gift(*blocks: str) -> bytes:
    return "\n".join(blocks).encode("utf-8")


def deep_path(levels: int, name: str = "Cấp") -> str:
    return "/".join(f"{name} {n}" for n in range(1, levels + 1))


# --------------------------------------------------------------------------- files the bank cannot hold
LONG_TAG = "thẻ-" + "a" * 120
REFUSED = {
    # name: (file, format, line of the error, words of the message)
    "empty text": (gift(tf("Tốt"), "::Không đề::{=Có ~Không}\n"), "gift", 3, "nội dung (đề bài)"),
    # a question's line is where its text starts, after its comment lines
    "tag over 100": (gift(tf("Tốt"), tf("Thẻ dài", comment=f"// [tag:{LONG_TAG}]")), "gift", 4, "tối đa 100"),
    "idnumber over 100": (gift(tf("Mã dài", comment="// [id:" + "M" * 101 + "]")), "gift", 2, "ID number"),
    "category name over 255": (gift("$CATEGORY: $course$/top/Gốc/" + "D" * 256 + "\n", tf("Câu")), "gift", 1,
                               "tối đa 255"),
    "categories too deep": (gift(f"$CATEGORY: {deep_path(124)}\n", tf("Câu")), "gift", 1,
                            f"tối đa {MAX_CATEGORY_DEPTH} cấp"),
    "NUL byte": (gift(tf("Tốt"), tf("Có NUL", text="Chữ\x00ký")), "gift", 3, "NUL"),
    "aiken NUL": ("Câu hỏi?\nA) Có\nB) Không\nANSWER: A\n\x00".encode(), "aiken", 5, "NUL"),
    "category idnumber over 100": (
        ('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n<question type="category">\n'
         '<category><text>$course$/top/Alpha</text></category>\n<idnumber>' + "x" * 101 + '</idnumber>\n'
         '</question>\n</quiz>\n').encode(), "moodlexml", 3, "mã danh mục"),
    "xml tag over 100": (
        ('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n<question type="truefalse">\n'
         '<name><text>Đ/S</text></name><questiontext format="html"><text>Đúng?</text></questiontext>\n'
         '<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer>\n'
         f'<tags><tag><text>{LONG_TAG}</text></tag></tags>\n</question>\n</quiz>\n').encode(), "moodlexml", 3,
        "tối đa 100"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_preview_shows_what_the_bank_would_refuse_and_apply_refuses_it(app, case):
    data, fmt, line, words = REFUSED[case]
    with app.app_context():
        result = parse_file(data, fmt)
        assert [issue.line for issue in result.errors] == [line], result.errors
        assert words in result.errors[0].message
        with pytest.raises(ImportRefused) as refused:
            apply_import(result, source="tep.txt")
        assert refused.value.issues[0].line == line
        db.session.rollback()
    assert count(app, Question) == 0 and count(app, QuestionCategory) == 0


def test_everything_at_the_limits_is_written_on_every_database(app):
    """What the preview lets through must be writable, on PostgreSQL too: the limits are not too loose."""
    long_name = "Đ" * 255                                   # 255 letters: a sort key of 511 characters
    digits = "9" * 255                                      # digits count twice in the sort key
    data = gift(
        f"$CATEGORY: $course$/top/{long_name}/{digits}\n",
        tf("T" * 300, comment="// [id:" + "I" * 100 + "] [tag:" + "t" * 100 + "]"),   # a title is cut, as Moodle does
        tf("Cùng thẻ", comment="// [tag:" + "T" * 100 + "]"),                           # same tag, other case
        f"$CATEGORY: {deep_path(MAX_CATEGORY_DEPTH, 'Mức')}\n",
        tf("Sâu nhất"),
    )
    with app.app_context():
        result = parse_file(data, "gift")
        assert result.errors == [] and len(result.questions) == 3
        summary = apply_import(result, source="gioi-han.gift")
        db.session.commit()
        assert summary.imported == 3
        names = {q.current_version.name for q in db.session.scalars(sa.select(Question))}
        assert "T" * 252 + "..." in names
        assert db.session.scalar(sa.select(sa.func.max(QuestionCategory.depth))) == MAX_CATEGORY_DEPTH - 1
        assert db.session.scalar(sa.select(QuestionCategory).where(QuestionCategory.name == long_name))
        assert db.session.scalars(sa.select(Tag.name)).all() == ["t" * 100]
        assert db.session.scalar(sa.select(Question.idnumber).where(Question.idnumber != "")) == "I" * 100


def test_a_base_category_that_makes_the_file_too_deep_is_refused_before_writing(app):
    result = parse_file(gift(f"$CATEGORY: {deep_path(15)}\n", tf("Câu")), "gift")
    assert result.errors == []
    with app.app_context():
        with pytest.raises(ImportRefused) as refused:
            apply_import(result, base_path=[f"Gốc {n}" for n in range(1, 7)])
        db.session.rollback()
    assert "lồng 21 cấp" in str(refused.value) and refused.value.issues[0].line == 1
    assert count(app, QuestionCategory) == 0
    with app.app_context():
        apply_import(result, base_path=[f"Gốc {n}" for n in range(1, 6)])
        db.session.commit()
    assert count(app, Question) == 1


# --------------------------------------------------------------------------- through the trainer's page
@pytest.fixture
def trainer(make_user, org, auth, app, tmp_path):
    app.config["QUIZ_UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    user = make_user("giangvien@example.vn", "Lê Thị Giảng", roles=("trainer",), unit=org["ward_a"])
    auth.login("giangvien@example.vn")
    return user


def upload(client, data: bytes, filename: str = "ngan-hang.gift.txt", fmt: str = "gift", category: str = ""):
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename), "format": fmt,
                                       "category": category, "competency_id": "0"})
    return client.post("/quizzes/manage/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def token_in(html: str) -> str | None:
    found = re.search(r'name="token"[^>]*value="([^"]+)"', html)
    return found.group(1) if found else None


@pytest.mark.parametrize("case", ["empty text", "tag over 100", "category name over 255", "categories too deep",
                                  "NUL byte", "category idnumber over 100"])
def test_import_page_shows_the_reason_with_its_line_and_offers_no_import(client, trainer, app, case):
    data, fmt, line, words = REFUSED[case]
    filename = "ngan-hang.xml" if fmt == "moodlexml" else "ngan-hang.gift.txt"
    response = upload(client, data, filename=filename, fmt=fmt)
    html = response.get_data(as_text=True)
    assert "sẽ không có câu hỏi nào được nhập" in html
    assert f"Dòng {line}:" in html and words in html
    assert token_in(html) is None and "Nhập vào ngân hàng" not in html
    assert count(app, Question) == 0


def test_import_page_preview_then_apply_at_the_limits(client, trainer, app):
    data = gift(f"$CATEGORY: {deep_path(MAX_CATEGORY_DEPTH - 1)}/{'Ư' * 255}\n",
                tf("Thẻ dài", comment="// [tag:" + "ư" * 100 + "]"))
    preview = upload(client, data)
    token = token_in(preview.get_data(as_text=True))
    assert preview.status_code == 200 and token
    applied = client.post("/quizzes/manage/import", data={"token": token})
    assert applied.status_code == 302, applied.get_data(as_text=True)
    assert count(app, Question) == 1 and count(app, QuestionCategory) == MAX_CATEGORY_DEPTH


def test_import_page_apply_gives_the_reason_when_the_chosen_category_makes_it_too_deep(client, trainer, app):
    preview = upload(client, gift(f"$CATEGORY: {deep_path(18)}\n", tf("Câu")), category="Gốc / Con / Cháu")
    token = token_in(preview.get_data(as_text=True))
    assert token
    applied = client.post("/quizzes/manage/import", data={"token": token})
    html = applied.get_data(as_text=True)
    assert applied.status_code == 400
    assert "không có câu hỏi nào được nhập" in html and "lồng 21 cấp" in html
    assert "Không nhập được tệp" not in html
    assert count(app, Question) == 0 and count(app, QuestionCategory) == 0


# --------------------------------------------------------------------------- a file of another format
XML = (FIXTURES / "moodlexml" / "truefalse.xml").read_bytes()
AIKEN = (FIXTURES / "aiken" / "questions.aiken.txt").read_bytes()
GIFT = (FIXTURES / "gift" / "questions.gift.txt").read_bytes()
WRONG = [
    # (data, filename, chosen format, words of the message)
    (XML, "ngan-hang.txt", "gift", "có vẻ là tệp Moodle XML, không phải GIFT"),
    (AIKEN, "ngan-hang.txt", "gift", "có vẻ là tệp Aiken, không phải GIFT"),
    (GIFT, "ngan-hang.txt", "aiken", "có vẻ là tệp GIFT, không phải Aiken"),
    (XML, "ngan-hang.txt", "aiken", "có vẻ là tệp Moodle XML, không phải Aiken"),
    (GIFT, "ngan-hang.xml", "moodlexml", "có vẻ là tệp GIFT, không phải Moodle XML"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)), "ngan-hang.txt", "gift", "tệp nén ZIP"),
    ("::Câu::Chữ ký số?{T}".encode("utf-16"), "ngan-hang.txt", "gift", "UTF-16"),
    ("Một đoạn văn bản thường.\n\nKhông có câu hỏi nào.".encode(), "ngan-hang.txt", "gift",
     "Không tìm thấy câu hỏi GIFT nào"),
]


@pytest.mark.parametrize("data, filename, fmt, words", WRONG, ids=[f"{w[2]}:{w[3][:24]}" for w in WRONG])
def test_import_page_refuses_a_file_of_another_format(client, trainer, app, data, filename, fmt, words):
    response = upload(client, data, filename=filename, fmt=fmt)
    html = response.get_data(as_text=True)
    assert "Tệp bị từ chối: sẽ không có câu hỏi nào được nhập." in html
    assert words in html
    assert token_in(html) is None
    assert count(app, Question) == 0


@pytest.mark.parametrize("data, filename, fmt, words", WRONG, ids=[f"{w[2]}:{w[3][:24]}" for w in WRONG])
def test_cli_import_of_another_format_exits_with_the_reason(runner, app, tmp_path, data, filename, fmt, words):
    path = tmp_path / filename
    path.write_bytes(data)
    result = runner.invoke(args=["quizzes", "import", str(path), "--format", fmt])
    assert result.exit_code != 0
    assert words in result.output
    assert count(app, Question) == 0


@pytest.mark.parametrize("data", [b"", b"  \n\n", "// chỉ có chú thích\n".encode()])
def test_cli_import_of_an_empty_file_exits_non_zero(runner, app, tmp_path, data):
    path = tmp_path / "rong.gift"
    path.write_bytes(data)
    result = runner.invoke(args=["quizzes", "import", str(path), "--format", "gift"])
    assert result.exit_code != 0 and "không có câu hỏi nào" in result.output.lower()


def test_cli_import_refuses_what_the_bank_cannot_hold_with_its_line(runner, app, tmp_path):
    path = tmp_path / "the-dai.gift"
    path.write_bytes(REFUSED["tag over 100"][0])
    result = runner.invoke(args=["quizzes", "import", str(path), "--format", "gift"])
    assert result.exit_code == 1
    assert "Dòng 4:" in result.output and "tối đa 100" in result.output
    assert count(app, Question) == 0


# --------------------------------------------------------------------------- Moodle's default format, on the page
def test_imported_gift_html_in_moodle_format_shows_as_moodle_shows_it(client, trainer, app):
    data = ("::Đậm::Chữ ký số <b>bảo đảm</b> điều gì?\\nChọn một. <img src=\"https://evil.example/x.png\">"
            "<img src=\"/static/so-do.png\" alt=\"Sơ đồ\">{\n=<i>Toàn vẹn</i> dữ liệu\n~Tốc độ\n}\n").encode()
    token = token_in(upload(client, data).get_data(as_text=True))
    assert client.post("/quizzes/manage/import", data={"token": token}).status_code == 302
    with app.app_context():
        question_id = db.session.scalar(sa.select(Question.id))
    html = client.get(f"/quizzes/bank/questions/{question_id}/preview").get_data(as_text=True)
    assert "Chữ ký số <b>bảo đảm</b> điều gì?<br>Chọn một." in html
    assert "<i>Toàn vẹn</i> dữ liệu" in html
    assert "&lt;b&gt;" not in html and "evil.example" not in html
    assert '<img src="/static/so-do.png" alt="Sơ đồ">' in html
