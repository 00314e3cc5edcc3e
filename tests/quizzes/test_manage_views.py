"""Trainer pages: quiz settings and rules, bank import (preview, then all or nothing) and export, item statistics."""
import io
import os
import re
import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from quizzes.bank import create_question, ensure_category
from tests.conftest import shared_dir
from quizzes.models import Attempt, Question, QuestionCategory, Quiz, QuizRule
from training.extensions import db
from training.models import AuditEntry

from tests.conftest import TEST_PASSWORD
from tests.quizzes.helpers import make_quiz, single

SHARED = shared_dir()
WINDOWS_1252_GIFT = SHARED / "fixtures" / "gift" / "questions_encoding_windows-1252.gift.txt"

GIFT_VI = """// Ngân hàng thử nghiệm
$CATEGORY: $course$/top/Công chức số/Chữ ký số

::Mục đích chữ ký số::Chữ ký số dùng để làm gì?{
    =Xác thực người ký và bảo đảm văn bản không bị sửa
    ~Trang trí văn bản
    ~Nén tệp cho nhỏ
}

::Thời hạn chứng thư::Chứng thư số có thời hạn sử dụng.{T}

::Tên tổ chức cấp::Tổ chức cấp chứng thư số gọi là gì?{=Tổ chức chứng thực =CA}
""".encode("utf-8")


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path):
    folder = tmp_path / "uploads"
    app.config["QUIZ_UPLOAD_FOLDER"] = str(folder)
    return folder


@pytest.fixture
def trainer(make_user, org, auth):
    user = make_user("giangvien@example.vn", "Lê Thị Giảng", roles=("trainer",), unit=org["ward_a"])
    auth.login("giangvien@example.vn")
    return user


def switch_user(client, email: str) -> None:
    # One client, signed out then in: the app context the tests share caches the signed-in user.
    client.post("/auth/logout")
    assert client.post("/auth/login", data={"email": email, "password": TEST_PASSWORD}).status_code == 302


def page(response) -> str:
    return response.get_data(as_text=True)


def settings(**overrides) -> dict:
    values = {"title": "Kiểm tra an toàn thông tin", "description": "Bài kiểm tra cuối khóa.", "course_id": "0",
              "competency_id": "0", "status": "draft", "pass_percent": "80", "time_limit_min": "30",
              "opens_at": "2026-03-01T08:00", "closes_at": "2026-03-01T17:30", "max_attempts": "2",
              "attempt_delay_min": "60", "grading_method": "highest", "shuffle_questions": "y",
              "questions_per_page": "5", "review_correctness": "after_submit",
              "review_right_answers": "after_close", "review_feedback": "never"}
    values.update(overrides)
    return values


def bank_category(n: int = 3, name: str = "An toàn thông tin"):
    category = ensure_category(["Công chức số", name])
    questions = [create_question(category, single(i)) for i in range(1, n + 1)]
    db.session.commit()
    return category, questions


# --------------------------------------------------------------------------- settings
def test_create_quiz_converts_vietnam_time_to_utc(client, trainer):
    assert client.get("/quizzes/manage/new").status_code == 200
    response = client.post("/quizzes/manage/new", data=settings())
    quiz = db.session.scalar(sa.select(Quiz))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/quizzes/manage/{quiz.id}")
    assert quiz.title == "Kiểm tra an toàn thông tin" and quiz.pass_percent == 80.0
    # 08:00 and 17:30 in Hà Nội / TP.HCM (UTC+7) are 01:00 and 10:30 UTC.
    assert quiz.opens_at == datetime(2026, 3, 1, 1, 0, tzinfo=timezone.utc)
    assert quiz.closes_at == datetime(2026, 3, 1, 10, 30, tzinfo=timezone.utc)
    assert (quiz.time_limit_s, quiz.attempt_delay_s, quiz.max_attempts) == (1800, 3600, 2)
    assert quiz.shuffle_questions is True and quiz.shuffle_options is False  # an unticked box is off
    assert (quiz.review_correctness, quiz.review_right_answers, quiz.review_feedback) == \
        ("after_submit", "after_close", "never")
    html = page(client.get(f"/quizzes/manage/{quiz.id}"))
    assert 'value="2026-03-01T08:00"' in html and 'value="2026-03-01T17:30"' in html  # shown in local time
    assert "Ngay sau khi nộp bài" in html and "Sau khi bài kiểm tra đóng" in html
    listing = page(client.get("/quizzes/manage/"))
    assert "Kiểm tra an toàn thông tin" in listing and "Tạo bài kiểm tra" in listing
    assert f"/quizzes/manage/{quiz.id}/statistics" in listing


def test_empty_time_limit_and_dates_mean_none(client, trainer):
    client.post("/quizzes/manage/new", data=settings(time_limit_min="", opens_at="", closes_at=""))
    quiz = db.session.scalar(sa.select(Quiz))
    assert quiz.time_limit_s is None and quiz.opens_at is None and quiz.closes_at is None


@pytest.mark.parametrize("overrides, message", [
    ({"closes_at": "2026-03-01T07:00"}, "Thời điểm đóng phải sau thời điểm mở."),
    ({"pass_percent": "120"}, "Điểm đạt phải là số phần trăm từ 0 đến 100."),
    ({"questions_per_page": "0"}, "Từ 1 đến 50 câu."),
    ({"opens_at": "ngày mai"}, "Thời điểm không hợp lệ."),
    ({"review_feedback": "always"}, "Vui lòng chọn một giá trị trong danh sách."),
])
def test_bad_settings_save_nothing(client, trainer, overrides, message):
    response = client.post("/quizzes/manage/new", data=settings(**overrides))
    assert response.status_code == 400 and message in page(response)
    assert db.session.scalar(sa.select(sa.func.count(Quiz.id))) == 0

    quiz = make_quiz(title="Tên cũ")
    response = client.post(f"/quizzes/manage/{quiz.id}", data=settings(title="Tên mới", **overrides))
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Quiz, quiz.id).title == "Tên cũ"


def test_edit_settings(client, trainer):
    quiz = make_quiz()
    response = client.post(f"/quizzes/manage/{quiz.id}", data=settings(status="published", grading_method="last",
                                                                         max_attempts="0"))
    assert response.status_code == 302
    db.session.expire_all()
    quiz = db.session.get(Quiz, quiz.id)
    assert (quiz.status, quiz.grading_method, quiz.max_attempts) == ("published", "last", 0)
    assert len(quiz.rules) == 1  # the settings form leaves the rules alone
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "quiz.update")) is not None


# --------------------------------------------------------------------------- rules
def test_rules_add_and_remove(client, trainer):
    category, questions = bank_category(3)
    client.post("/quizzes/manage/new", data=settings())
    quiz = db.session.scalar(sa.select(Quiz))
    url = f"/quizzes/manage/{quiz.id}/rules"

    too_many = client.post(f"{url}/random", data={"random-category_id": category.id, "random-count": "5",
                                                  "random-include_subcategories": "y", "random-mark": "1"})
    assert too_many.status_code == 400
    assert "chỉ có 3 câu hỏi có chấm điểm đang hiển thị; không thể lấy 5 câu" in page(too_many)
    assert db.session.scalar(sa.select(sa.func.count(QuizRule.id))) == 0

    added = client.post(f"{url}/random", data={"random-category_id": category.id, "random-count": "2",
                                               "random-include_subcategories": "y", "random-mark": "2"})
    assert added.status_code == 302
    fixed = client.post(f"{url}/fixed", data={"fixed-question_id": questions[0].id, "fixed-mark": "abc"})
    assert fixed.status_code == 400 and "Phải là số." in page(fixed)
    fixed = client.post(f"{url}/fixed", data={"fixed-question_id": questions[0].id, "fixed-mark": "1,5"})
    assert fixed.status_code == 302  # a decimal comma, as Vietnamese write it
    again = client.post(f"{url}/fixed", data={"fixed-question_id": questions[0].id, "fixed-mark": "1"})
    assert again.status_code == 400 and f"Câu hỏi #{questions[0].id} đã có trong bài kiểm tra." in page(again)
    unknown = client.post(f"{url}/fixed", data={"fixed-question_id": "999999", "fixed-mark": "1"})
    assert unknown.status_code == 400 and "Không có câu hỏi #999999 trong ngân hàng." in page(unknown)
    huge = client.post(f"{url}/fixed", data={"fixed-question_id": "9" * 20, "fixed-mark": "1"})
    assert huge.status_code == 400 and "Mã số câu hỏi không hợp lệ." in page(huge)
    # Two questions may go to the first rule and one is fixed: nothing is left for two more.
    crowded = client.post(f"{url}/random", data={"random-category_id": category.id, "random-count": "2",
                                                 "random-include_subcategories": "y", "random-mark": "1"})
    assert crowded.status_code == 400 and "Các quy tắc khác của bài kiểm tra đã có thể dùng 3 câu" in page(crowded)

    rules = db.session.scalars(sa.select(QuizRule).order_by(QuizRule.position)).all()
    assert [(r.position, r.count, r.mark, r.question_id) for r in rules] == \
        [(1, 2, 2.0, None), (2, 1, 1.5, questions[0].id)]
    html = page(client.get(f"/quizzes/manage/{quiz.id}"))
    assert "2 câu ngẫu nhiên từ danh mục “An toàn thông tin” (gồm danh mục con)" in html
    assert f"Câu hỏi cố định #{questions[0].id}" in html and "Mỗi lần làm có 3 câu" in html

    removed = client.post(f"{url}/{rules[0].id}/delete")
    assert removed.status_code == 302
    db.session.expire_all()
    left = db.session.scalars(sa.select(QuizRule)).all()
    assert [(r.position, r.question_id) for r in left] == [(1, questions[0].id)]
    other = make_quiz(title="Bài khác")
    assert client.post(f"/quizzes/manage/{other.id}/rules/{left[0].id}/delete").status_code == 404


def test_random_rule_counts_only_graded_visible_questions(client, trainer):
    category, questions = bank_category(3)
    questions[0].hidden = True
    db.session.commit()
    quiz = make_quiz()
    response = client.post(f"/quizzes/manage/{quiz.id}/rules/random",
                           data={"random-category_id": category.id, "random-count": "3", "random-mark": "1"})
    assert response.status_code == 400
    assert "Danh mục “An toàn thông tin” (không gồm danh mục con) chỉ có 2 câu hỏi" in page(response)


# --------------------------------------------------------------------------- import
def upload(client, data: bytes, filename: str = "ngan-hang.gift.txt", fmt: str = "gift", category: str = ""):
    # Encoded in memory: the test client would otherwise spool a big body to a file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename), "format": fmt,
                                       "category": category, "competency_id": "0"})
    return client.post("/quizzes/manage/import", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def token_of(html: str) -> str:
    return re.search(r'name="token"[^>]*value="([^"]+)"', html).group(1)


def test_import_preview_then_apply(client, trainer, upload_folder):
    assert client.get("/quizzes/manage/import").status_code == 200
    preview = upload(client, GIFT_VI, category="Nhập thử")
    html = page(preview)
    assert preview.status_code == 200
    for text in ("Mục đích chữ ký số", "Thời hạn chứng thư", "Tên tổ chức cấp", "Câu một lựa chọn",
                 "Câu đúng/sai", "Câu trả lời ngắn", "Nhập thử / Công chức số / Chữ ký số", "Nhập vào ngân hàng"):
        assert text in html
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0  # a preview writes nothing
    token = token_of(html)
    assert (upload_folder / f"{token}.bin").read_bytes() == GIFT_VI

    applied = client.post("/quizzes/manage/import", data={"token": token, "apply": "Nhập vào ngân hàng"})
    assert applied.status_code == 302 and applied.headers["Location"].endswith("/quizzes/bank/")
    names = {q.current_version.name for q in db.session.scalars(sa.select(Question))}
    assert names == {"Mục đích chữ ký số", "Thời hạn chứng thư", "Tên tổ chức cấp"}
    category = db.session.scalar(sa.select(QuestionCategory).where(QuestionCategory.name == "Chữ ký số"))
    assert category.names() == ["Nhập thử", "Công chức số", "Chữ ký số"]
    assert list(upload_folder.iterdir()) == []  # the stored file is gone once applied
    assert "Đã nhập 3 câu hỏi chấm điểm vào: Nhập thử / Công chức số / Chữ ký số." in page(client.get("/quizzes/bank/"))

    replay = client.post("/quizzes/manage/import", data={"token": token})
    assert replay.status_code == 400 and "Không tìm thấy tệp đã xem trước" in page(replay)
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 3


def test_windows_1252_file_is_refused_and_nothing_imported(client, trainer, upload_folder):
    response = upload(client, WINDOWS_1252_GIFT.read_bytes(), filename=WINDOWS_1252_GIFT.name)
    html = page(response)
    assert "Tệp bị từ chối: sẽ không có câu hỏi nào được nhập." in html
    assert "UTF-8" in html and re.search(r"Dòng \d+", html)
    assert 'name="token"' not in html and "Nhập vào ngân hàng" not in html
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0
    assert not upload_folder.exists() or list(upload_folder.iterdir()) == []


@pytest.mark.parametrize("token", ["../../etc/passwd", "x" * 32, "", "A" * 200])
def test_tampered_or_unknown_token_is_refused(client, trainer, token):
    response = client.post("/quizzes/manage/import", data={"token": token})
    assert response.status_code == 400
    assert "Không tìm thấy tệp đã xem trước (mã không hợp lệ hoặc đã quá 1 giờ)" in page(response)
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0


def test_expired_or_foreign_upload_is_refused(client, trainer, upload_folder, make_user):
    token = token_of(page(upload(client, GIFT_VI)))
    two_hours_ago = time.time() - 7200
    os.utime(upload_folder / f"{token}.bin", (two_hours_ago, two_hours_ago))
    assert client.post("/quizzes/manage/import", data={"token": token}).status_code == 400
    assert not (upload_folder / f"{token}.bin").exists()

    token = token_of(page(upload(client, GIFT_VI)))
    make_user("khac@example.vn", roles=("trainer",))
    switch_user(client, "khac@example.vn")
    assert client.post("/quizzes/manage/import", data={"token": token}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == 0


def test_upload_size_and_extension(client, trainer):
    big = upload(client, b"::Q::A?{T}\n" + b"a" * (5 * 1024 * 1024))
    assert big.status_code == 400 and "Tệp quá lớn: tối đa 5 MB." in page(big)
    wrong = upload(client, GIFT_VI, filename="ngan-hang.docx")
    assert wrong.status_code == 400 and "Chỉ nhận tệp .txt, .gift (GIFT, Aiken) hoặc .xml (Moodle XML)." in page(wrong)
    mismatch = upload(client, GIFT_VI, filename="ngan-hang.xml", fmt="gift")
    assert mismatch.status_code == 400 and "không khớp với định dạng đã chọn" in page(mismatch)
    missing = client.post("/quizzes/manage/import", data={"format": "gift"})
    assert missing.status_code == 400 and "Vui lòng chọn tệp." in page(missing)


# --------------------------------------------------------------------------- export
def test_export_download(client, trainer):
    category, _questions = bank_category(2)
    other, _ = bank_category(1, name="Dịch vụ công")
    gift = client.get(f"/quizzes/manage/export?format=gift&category={category.id}")
    assert gift.status_code == 200
    assert gift.headers["Content-Disposition"].startswith("attachment;")
    assert gift.headers["Content-Type"] == "text/plain; charset=utf-8"
    text = gift.get_data().decode("utf-8")
    assert "::Câu 1::Câu hỏi số 1" in text and "=Đúng 2" in text and "An toàn thông tin" in text
    xml = client.get("/quizzes/manage/export?format=moodlexml&category=").get_data().decode("utf-8")
    assert "<quiz>" in xml and "Dịch vụ công" in xml and "An toàn thông tin" in xml
    bad = client.get("/quizzes/manage/export?format=pdf")
    assert bad.status_code == 400 and "Định dạng xuất không hỗ trợ" in page(bad)
    assert client.get("/quizzes/manage/export?format=gift&category=abc").status_code == 400
    assert client.get("/quizzes/manage/export?format=gift&category=" + "9" * 20).status_code == 400
    assert client.get(f"/quizzes/manage/export?format=gift&category={other.id + 1000}").status_code == 400


# --------------------------------------------------------------------------- statistics
LEARNER_ANSWERS = [  # per learner: (question 1, question 2, question 3) answered right?
    (True, True, False),
    (True, True, False),
    (True, False, False),
    (True, False, False),
]


def take_quizzes(learner, make_user, org, quiz):
    for n, answers in enumerate(LEARNER_ANSWERS, start=1):
        make_user(f"hocvien{n}@example.vn", f"Học Viên Số {n}", unit=org["ward_a"], position=org["position"])
        switch_user(learner, f"hocvien{n}@example.vn")
        payload = learner.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()
        for question in payload["questions"]:
            number = int(re.search(r"số (\d+)", question["text"]).group(1))
            wanted = "Đúng" if answers[number - 1] else "Sai A"
            option = next(o["id"] for o in question["options"] if o["text"].startswith(wanted))
            saved = learner.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/{question['slot']}",
                                json={"response": option})
            assert saved.status_code == 200
        assert learner.post(f"/api/v1/attempts/{payload['attempt_id']}/submit").status_code == 200


def question_row(html: str, question_id: int) -> str:
    return re.search(rf'<tr id="question-{question_id}">(.*?)</tr>', html, re.S).group(1)


def test_statistics_page_and_csv(client, trainer, make_user, org):
    quiz = make_quiz(questions=3, draw=3, shuffle_questions=False, max_attempts=0)
    empty = client.get(f"/quizzes/manage/{quiz.id}/statistics")
    assert empty.status_code == 200 and "Chưa có lượt làm bài nào đã nộp" in page(empty)
    take_quizzes(client, make_user, org, quiz)
    switch_user(client, trainer.email)
    assert {a.user.email for a in db.session.scalars(sa.select(Attempt))} == \
        {f"hocvien{n}@example.vn" for n in range(1, 5)}
    ids = {q.current_version.name: q.id for q in db.session.scalars(sa.select(Question))}

    html = page(client.get(f"/quizzes/manage/{quiz.id}/statistics"))
    assert "Số lượt làm được tính" in html and "Cronbach" in html
    first = question_row(html, ids["Câu 1"])
    assert "100 %" in first and "Ai cũng làm đúng" in first and "badge-expired" in first
    assert f"/quizzes/bank/questions/{ids['Câu 1']}/preview" in first
    assert "50 %" in question_row(html, ids["Câu 2"])
    third = question_row(html, ids["Câu 3"])
    assert "0 %" in third and "Không ai làm đúng" in third
    # Option frequencies name the options by their text; the right one is marked.
    assert "Đúng 1" in html and "Sai A3" in html and "Đáp án đúng" in html
    # Mean total: (2 + 2 + 1 + 1) / 4 = 1,5 marks of 3 = 50 %.
    assert "1,5 <span class=\"muted\">(50 %)</span>" in html

    csv = client.get(f"/quizzes/manage/{quiz.id}/statistics.csv")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert csv.headers["Content-Disposition"].startswith("attachment;")
    body = csv.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "Độ dễ (%)" in text and "Ai cũng làm đúng" in text
    row = next(line for line in text.splitlines() if ",Câu 1," in line)
    assert ",100.00," in row

    all_attempts = client.get(f"/quizzes/manage/{quiz.id}/statistics?attempts=all")
    assert all_attempts.status_code == 200 and "Tất cả các lần làm" in page(all_attempts)


def test_statistics_use_first_attempts_by_default(client, trainer, make_user, org):
    quiz = make_quiz(questions=2, draw=2, shuffle_questions=False, max_attempts=0)
    make_user("hocvien@example.vn", unit=org["ward_a"], position=org["position"])
    switch_user(client, "hocvien@example.vn")
    for _ in range(2):  # two attempts, both left blank
        attempt = client.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()["attempt_id"]
        client.post(f"/api/v1/attempts/{attempt}/submit")
    switch_user(client, trainer.email)
    first = page(client.get(f"/quizzes/manage/{quiz.id}/statistics"))
    assert re.search(r"Số lượt làm được tính</dt><dd>1<", first)
    assert "(Không trả lời)" in first
    every = page(client.get(f"/quizzes/manage/{quiz.id}/statistics?attempts=all"))
    assert re.search(r"Số lượt làm được tính</dt><dd>2<", every)


# --------------------------------------------------------------------------- access
@pytest.mark.parametrize("role", ["learner", "hr"])
def test_learners_and_hr_are_refused(client, make_user, org, auth, role):
    make_user(f"{role}@example.vn", roles=(role,), unit=org["ward_a"])
    auth.login(f"{role}@example.vn")
    quiz = make_quiz()
    for url in ("/quizzes/manage/", "/quizzes/manage/new", f"/quizzes/manage/{quiz.id}",
                f"/quizzes/manage/{quiz.id}/statistics", f"/quizzes/manage/{quiz.id}/statistics.csv",
                "/quizzes/manage/import", "/quizzes/manage/export?format=gift"):
        assert client.get(url).status_code == 403, url
    assert client.post("/quizzes/manage/new", data=settings()).status_code == 403
    assert client.post(f"/quizzes/manage/{quiz.id}/rules/{quiz.rules[0].id}/delete").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(QuizRule.id))) == 1
