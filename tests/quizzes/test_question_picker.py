"""The fixed-question picker on the quiz page: search the bank (accents ignored, by words, ID number or
#number, category and type), add a result with its own button, never type an internal number; hidden
and non-graded questions are not offered and refused if posted anyway."""
from __future__ import annotations

import html as htmllib
import re

import pytest
import sqlalchemy as sa

from quizzes.bank import create_category, create_question
from quizzes.models import Quiz, QuizRule
from quizzes.qdata import QuestionData
from training.extensions import db

PICKER = re.compile(r'<div id="picker-results">(.*?)</div>\s*</section>', re.S)


@pytest.fixture
def trainer(make_user, auth):
    user = make_user("giangvien@example.vn", "Lê Thị Giảng", roles=("trainer",))
    auth.login("giangvien@example.vn")
    return user


def _q(category, name, text, qtype="single", idnumber="", mark=1.0):
    data = {"options": [{"id": "o1", "text": "Đúng", "format": "markdown", "fraction": 1.0, "feedback": ""},
                        {"id": "o2", "text": "Sai", "format": "markdown", "fraction": 0.0, "feedback": ""}]}
    if qtype == "truefalse":
        data = {"correct": True}
    if qtype == "essay":
        data = {}
    return create_question(category, QuestionData(qtype=qtype, name=name, text=text, data=data, idnumber=idnumber,
                                                  default_mark=mark))


@pytest.fixture
def bank(app):
    signing = create_category("Chữ ký số")
    advanced = create_category("Nâng cao", signing)
    security = create_category("An toàn thông tin")
    questions = {
        "what": _q(signing, "Chữ ký số là gì", "Chọn **định nghĩa** đúng của chữ ký số.", idnumber="CKS-01"),
        "token": _q(advanced, "Thiết bị ký số", "USB token dùng để làm gì?", qtype="truefalse", mark=2.0),
        "password": _q(security, "Mật khẩu mạnh", "Mật khẩu nào mạnh nhất?"),
        "hidden": _q(signing, "Chữ ký số cũ", "Câu đã ẩn về chữ ký số."),
        "essay": _q(signing, "Tự luận chữ ký số", "Trình bày quy trình ký số văn bản.", qtype="essay"),
    }
    questions["hidden"].hidden = True
    quiz = Quiz(title="Kiểm tra chữ ký số", status="draft")
    db.session.add(quiz)
    db.session.commit()
    return {"quiz": quiz, "signing": signing, "advanced": advanced, **questions}


def _results(response) -> str:
    assert response.status_code in (200, 400)
    match = PICKER.search(response.get_data(as_text=True))
    return match.group(1) if match else ""


def _names(fragment: str) -> list[str]:
    return [htmllib.unescape(name) for name in re.findall(r"<p><strong>(.*?)</strong>", fragment)]


def _search(client, quiz, **args):
    return _results(client.get(f"/quizzes/manage/{quiz.id}", query_string={"pick": "1", **args}))


def test_quiz_page_has_a_search_not_an_id_box(client, trainer, bank):
    page = client.get(f"/quizzes/manage/{bank['quiz'].id}").get_data(as_text=True)
    assert 'role="search"' in page and 'name="q"' in page and "Tìm câu hỏi" in page
    # The old form asked for an internal number typed by hand.
    assert not re.search(r'<input[^>]*name="fixed-question_id"[^>]*type="text"', page)
    assert "Mã số câu hỏi hiển thị trong ngân hàng" not in page
    assert _names(_results(client.get(f"/quizzes/manage/{bank['quiz'].id}"))) == []  # no search yet


@pytest.mark.parametrize("query, expected", [
    ("chu ky so", ["Chữ ký số là gì"]),
    ("CHỮ KÝ", ["Chữ ký số là gì"]),
    ("dinh nghia ky so", ["Chữ ký số là gì"]),
    ("usb token", ["Thiết bị ký số"]),
    ("CKS-01", ["Chữ ký số là gì"]),
    ("mật khẩu", ["Mật khẩu mạnh"]),
    ("không có câu này", []),
    ("50%_", []),
])
def test_search_by_words_without_accents_or_id_number(client, trainer, bank, query, expected):
    assert _names(_search(client, bank["quiz"], q=query)) == expected


def test_search_by_bank_number(client, trainer, bank):
    assert _names(_search(client, bank["quiz"], q=f"#{bank['password'].id}")) == ["Mật khẩu mạnh"]


def test_hidden_and_non_graded_questions_are_not_offered(client, trainer, bank):
    listed = _names(_search(client, bank["quiz"], q=""))
    assert sorted(listed) == ["Chữ ký số là gì", "Mật khẩu mạnh", "Thiết bị ký số"]
    assert "Chữ ký số cũ" not in listed and "Tự luận chữ ký số" not in listed
    page = client.get(f"/quizzes/manage/{bank['quiz'].id}").get_data(as_text=True)
    assert 'value="essay"' not in page and 'value="description"' not in page  # no non-graded type to filter on


def test_filter_by_category_with_subcategories_and_by_type(client, trainer, bank):
    quiz = bank["quiz"]
    assert sorted(_names(_search(client, quiz, category=bank["signing"].id))) == ["Chữ ký số là gì", "Thiết bị ký số"]
    assert _names(_search(client, quiz, category=bank["advanced"].id)) == ["Thiết bị ký số"]
    assert _names(_search(client, quiz, type="truefalse")) == ["Thiết bị ký số"]
    assert _names(_search(client, quiz, q="ky so", type="single")) == ["Chữ ký số là gì"]
    # Nonsense in the filters is ignored, never a 500.
    assert len(_names(_search(client, quiz, category="abc", type="essay", page="-3"))) == 3


def test_results_are_paginated_by_twenty(client, trainer, bank):
    many = create_category("Nhiều câu")
    for n in range(1, 26):
        _q(many, f"Câu số {n:02d}", f"Nội dung câu {n}")
    db.session.commit()
    first = _search(client, bank["quiz"], category=many.id)
    assert len(_names(first)) == 20 and "Tìm thấy 25 câu hỏi có thể thêm." in first
    assert "Trang 1 / 2" in first and 'rel="next"' in first
    second = _search(client, bank["quiz"], category=many.id, page="2")
    assert len(_names(second)) == 5 and set(_names(first)).isdisjoint(_names(second))


def test_add_with_the_result_button_and_come_back_to_the_same_results(client, trainer, bank):
    quiz = bank["quiz"]
    results = _search(client, quiz, q="chu ky")
    form = re.search(r'<form method="post" class="picker-add" novalidate\s+action="([^"]+)">(.*?)</form>', results,
                     re.S)
    action, inner = htmllib.unescape(form.group(1)), form.group(2)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', inner))
    assert fields["fixed-question_id"] == str(bank["what"].id) and fields["fixed-mark"] == "1"
    assert re.search(r'<button type="submit" class="button secondary">Thêm<span class="sr-only">: Chữ ký số là gì',
                     inner)

    added = client.post(action, data={"fixed-question_id": fields["fixed-question_id"], "fixed-mark": "1,5"})
    assert added.status_code == 302
    assert "q=chu+ky" in added.headers["Location"] and added.headers["Location"].endswith("#add-fixed")
    rule = db.session.scalar(sa.select(QuizRule))
    assert (rule.quiz_id, rule.question_id, rule.mark) == (quiz.id, bank["what"].id, 1.5)

    back = client.get(added.headers["Location"].split("#")[0])
    html = back.get_data(as_text=True)
    assert "Đã thêm câu hỏi cố định" in html and f"Câu hỏi cố định #{bank['what'].id}" in html
    again = _results(back)
    assert "Đã có trong bài kiểm tra" in again
    assert f'name="fixed-question_id" value="{bank["what"].id}"' not in again  # no second button for it


def test_question_default_mark_is_offered(client, trainer, bank):
    results = _search(client, bank["quiz"], type="truefalse")
    assert re.search(rf'id="pick-mark-{bank["token"].id}" name="fixed-mark" value="2"', results)


@pytest.mark.parametrize("key, message", [
    ("hidden", "đang bị ẩn trong ngân hàng"),
    ("essay", "không chấm điểm được"),
])
def test_hidden_or_non_graded_question_posted_anyway_is_refused(client, trainer, bank, key, message):
    quiz = bank["quiz"]
    response = client.post(f"/quizzes/manage/{quiz.id}/rules/fixed?pick=1&q=chu+ky",
                           data={"fixed-question_id": bank[key].id, "fixed-mark": "1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Chưa thêm câu hỏi:" in html
    assert _names(_results(response)) == ["Chữ ký số là gì"]  # the search is still there to pick another
    assert db.session.scalar(sa.select(sa.func.count(QuizRule.id))) == 0


def test_posting_without_choosing_a_question_says_how(client, trainer, bank):
    response = client.post(f"/quizzes/manage/{bank['quiz'].id}/rules/fixed", data={"fixed-mark": "1"})
    assert response.status_code == 400
    assert "Hãy tìm câu hỏi rồi bấm “Thêm” ở câu muốn thêm." in response.get_data(as_text=True)


def test_results_fragment_for_live_search(client, trainer, bank):
    response = client.get(f"/quizzes/manage/{bank['quiz'].id}/rules/fixed/search", query_string={"q": "mat khau"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and _names(fragment) == ["Mật khẩu mạnh"]
    assert "Tìm thấy 1 câu hỏi có thể thêm." in fragment
    assert client.get("/quizzes/manage/999999/rules/fixed/search").status_code == 404


def test_picker_is_for_trainers(client, bank, make_user, auth):
    make_user("hoc.vien@example.vn")
    auth.login("hoc.vien@example.vn")
    assert client.get(f"/quizzes/manage/{bank['quiz'].id}/rules/fixed/search", query_string={"q": "a"}).status_code \
        == 403
