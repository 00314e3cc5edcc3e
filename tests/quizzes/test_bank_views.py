"""The question bank for trainers: browse and search, categories, write every type, validate, preview, hide."""
import re

import pytest
import sqlalchemy as sa

from quizzes.bank import create_category, create_question, question_data, version_data
from quizzes.models import AttemptSlot, Question, QuestionCategory
from quizzes.qdata import QuestionData
from quizzes.qtypes import get_type
from training.extensions import db
from training.models import AuditEntry, Competency
from training.services.competencies import seed_core_competencies

from tests.quizzes.helpers import make_quiz


@pytest.fixture
def trainer(make_user, org, auth):
    user = make_user("thuy@example.vn", "Lê Thị Thủy", roles=("trainer",), unit=org["ward_a"])
    auth.login("thuy@example.vn")
    return user


@pytest.fixture
def category(app):
    category = create_category("Chữ ký số")
    db.session.commit()
    return category


def html(response) -> str:
    return response.get_data(as_text=True)


def count_questions() -> int:
    return db.session.scalar(sa.select(sa.func.count(Question.id)))


def form(category, text="Nội dung câu hỏi?", **fields) -> dict:
    data = {"category_id": str(category.id), "name": "", "text": text, "default_mark": "1",
            "general_feedback": "", "tags": "", "idnumber": "", "submit": "Lưu"}
    data.update({k: str(v) for k, v in fields.items()})
    return data


def post_new(client, qtype, data):
    return client.post(f"/quizzes/bank/questions/new?type={qtype}", data=data)


def only_question() -> Question:
    questions = db.session.scalars(sa.select(Question)).all()
    assert len(questions) == 1
    return questions[0]


def grade(q: QuestionData, response) -> float:
    return get_type(q.qtype).grade(q, response).fraction


# --------------------------------------------------------------------------- creating each type
def test_single_choice_from_the_form_grades_as_written(client, trainer, category):
    data = form(category, text="Chữ ký số **có giá trị** như chữ ký tay?", tags="chữ ký số, Cơ bản",
                general_feedback="Theo Luật Giao dịch điện tử 2023.", idnumber="CKS-01",
                **{"options-0-text": "Có", "options-0-percent": "100", "options-0-feedback": "Chính xác",
                   "options-1-text": "Không", "options-1-percent": "", "options-1-feedback": "Chưa đúng",
                   "options-3-text": "Tùy cơ quan", "options-3-percent": "0", "shuffle": "y"})
    response = post_new(client, "single", data)
    assert response.status_code == 302
    question = only_question()
    q = question_data(question)
    assert q.qtype == "single" and q.text_format == "markdown" and q.idnumber == "CKS-01"
    assert q.name == "Chữ ký số có giá trị như chữ ký tay?"  # a blank name comes from the text
    assert [o["text"] for o in q.data["options"]] == ["Có", "Không", "Tùy cơ quan"]  # blank rows ignored
    assert [o["id"] for o in q.data["options"]] == ["o1", "o2", "o3"]
    assert q.data["shuffle"] is True and sorted(q.tags) == ["chữ ký số", "cơ bản"]
    assert grade(q, "o1") == 1.0 and grade(q, "o2") == 0.0
    assert get_type("single").grade(q, "o1").feedback == ["<p>Chính xác</p>"]
    assert question.current_version.version == 1
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "question.create")) is not None
    page = client.get(response.headers["Location"])
    assert "Đã thêm câu hỏi" in html(page)


def test_multiple_choice_percent_weights(client, trainer, category):
    data = form(category, **{"options-0-text": "Mật khẩu mạnh", "options-0-percent": "50",
                             "options-1-text": "Xác thực hai lớp", "options-1-percent": "50,0",
                             "options-2-text": "Chia sẻ mật khẩu", "options-2-percent": "-100"})
    assert post_new(client, "multi", data).status_code == 302
    q = question_data(only_question())
    assert [o["fraction"] for o in q.data["options"]] == [0.5, 0.5, -1.0]
    assert grade(q, ["o1", "o2"]) == 1.0
    assert grade(q, ["o1"]) == 0.5
    assert grade(q, ["o1", "o2", "o3"]) == 0.0


def test_multiple_choice_thirds(client, trainer, category):
    fields = {f"options-{n}-text": f"Đúng {n}" for n in range(3)}
    fields.update({f"options-{n}-percent": "33,33333" for n in range(3)})
    fields.update({"options-3-text": "Sai", "options-3-percent": "-100"})
    assert post_new(client, "multi", form(category, **fields)).status_code == 302
    q = question_data(only_question())
    assert grade(q, ["o1", "o2", "o3"]) == 1.0


def test_true_false(client, trainer, category):
    data = form(category, text="Có thể dùng chung chứng thư số?", correct="false",
                feedback_true="Không được chia sẻ.", feedback_false="Đúng vậy.")
    assert post_new(client, "truefalse", data).status_code == 302
    q = question_data(only_question())
    assert q.data["correct"] is False
    assert grade(q, "false") == 1.0 and grade(q, "true") == 0.0


def test_true_false_needs_an_answer(client, trainer, category):
    response = post_new(client, "truefalse", form(category))
    assert response.status_code == 400
    assert "Hãy chọn đáp án đúng" in html(response)
    assert count_questions() == 0


def test_short_answer_ignoring_diacritics(client, trainer, category):
    data = form(category, text="Thủ đô của Việt Nam?", ignore_diacritics="y",
                **{"answers-0-text": "Hà Nội", "answers-0-percent": "100",
                   "answers-1-text": "Ha*", "answers-1-percent": "50", "answers-1-feedback": "Gần đúng"})
    assert post_new(client, "shortanswer", data).status_code == 302
    q = question_data(only_question())
    assert q.data["ignore_diacritics"] is True and q.data["case_sensitive"] is False
    assert grade(q, "ha noi") == 1.0
    assert grade(q, "Hải Phòng") == 0.5
    assert grade(q, "Huế") == 0.0


def test_numerical_with_comma_and_any_answer(client, trainer, category):
    data = form(category, text="Lệ phí (nghìn đồng)?", unit="nghìn",
                **{"answers-0-value": "3,5", "answers-0-tolerance": "0,1", "answers-0-percent": "100",
                   "answers-1-value": "*", "answers-1-percent": "0", "answers-1-feedback": "Xem lại biểu phí"})
    assert post_new(client, "numerical", data).status_code == 302
    q = question_data(only_question())
    assert q.data["answers"][0] == {"value": 3.5, "tolerance": 0.1, "fraction": 1.0, "feedback": ""}
    assert q.data["answers"][1]["value"] is None and q.data["unit"] == "nghìn"
    assert grade(q, "3,6") == 1.0 and grade(q, "3.45 nghìn") == 1.0
    result = get_type("numerical").grade(q, "7")
    assert result.fraction == 0.0 and "Xem lại biểu phí" in result.feedback[0]


def test_matching_with_distractors(client, trainer, category):
    data = form(category, text="Ghép dịch vụ với cổng:", distractors="Zalo\n\n",
                **{"pairs-0-text": "Cấp CCCD", "pairs-0-answer": "Bộ Công an",
                   "pairs-1-text": "Đăng ký khai sinh", "pairs-1-answer": "Cổng DVC quốc gia",
                   "pairs-2-text": "", "pairs-2-answer": "Email"})
    assert post_new(client, "matching", data).status_code == 302
    q = question_data(only_question())
    assert q.data["distractors"] == ["Zalo"] and len(q.data["pairs"]) == 3
    right = get_type("matching").right_answer_view(q)["pairs"]
    assert grade(q, {p["item_id"]: p["option_id"] for p in right}) == 1.0
    assert grade(q, {right[0]["item_id"]: right[0]["option_id"]}) == 0.5


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("qtype, fields, message", [
    ("single", {"options-0-text": "A", "options-0-percent": "0", "options-1-text": "B"},
     "Câu một lựa chọn cần một phương án đúng (100% điểm)."),
    ("multi", {"options-0-text": "A", "options-0-percent": "50", "options-1-text": "B", "options-1-percent": "30"},
     "Tổng điểm các phương án đúng phải bằng 100% (hiện là 80%)."),
    ("numerical", {"answers-0-value": "5", "answers-0-tolerance": "abc", "answers-0-percent": "100"},
     "Giá trị này không phải là số"),
    ("numerical", {"answers-0-value": "5", "answers-0-tolerance": "-1", "answers-0-percent": "100"},
     "Sai số phải là một số không âm."),
    ("single", {"options-0-text": "A", "options-0-percent": "150", "options-1-text": "B"},
     "Điểm phải từ -100% đến 100%."),
    ("single", {"options-0-text": "A", "options-0-percent": "100", "options-1-percent": "0"},
     "Hãy nhập nội dung phương án, hoặc để trống cả dòng."),
    ("shortanswer", {"answers-0-text": "x", "answers-0-percent": "50"}, "Cần ít nhất một đáp án được 100% điểm."),
    ("matching", {"pairs-0-text": "a", "pairs-0-answer": "1", "pairs-1-text": "b"},
     "Hãy nhập câu trả lời ghép với mục này."),
    ("matching", {"pairs-0-text": "a", "pairs-0-answer": "1", "pairs-1-text": "b", "pairs-1-answer": "2"},
     "Câu ghép đôi cần ít nhất hai câu hỏi và ba câu trả lời."),
])
def test_invalid_questions_are_refused_with_a_message(client, trainer, category, qtype, fields, message):
    response = post_new(client, qtype, form(category, **fields))
    assert response.status_code == 400
    assert message in html(response)
    assert count_questions() == 0


def test_missing_text_and_bad_mark(client, trainer, category):
    data = form(category, text="", default_mark="một", **{"options-0-text": "A", "options-0-percent": "100",
                                                          "options-1-text": "B"})
    response = post_new(client, "single", data)
    assert response.status_code == 400
    page = html(response)
    assert "Vui lòng nhập nội dung câu hỏi." in page and "không phải là số" in page
    assert count_questions() == 0


@pytest.mark.parametrize("fields, message", [
    ({"category_id": "abc"}, "Vui lòng chọn một giá trị trong danh sách."),
    ({"category_id": "999999"}, "Vui lòng chọn một giá trị trong danh sách."),
    ({"options-1-percent": "nan"}, "không phải là số"),
    ({"options-1-percent": "1e400"}, "không phải là số"),
    ({"default_mark": "5000"}, "Điểm mặc định phải từ 0 đến 1000."),
    ({"tags": "a, " + "x" * 101}, "Mỗi thẻ dài tối đa 100 ký tự."),
])
def test_tampered_or_odd_values_are_refused(client, trainer, category, fields, message):
    data = form(category, **{"options-0-text": "A", "options-0-percent": "100", "options-1-text": "B"})
    data.update(fields)
    response = post_new(client, "single", data)
    assert response.status_code == 400 and message in html(response)
    assert count_questions() == 0


def test_typed_values_survive_an_error(client, trainer, category):
    response = post_new(client, "single", form(category, **{"options-0-text": "Phương án giữ lại",
                                                            "options-0-percent": "12,5"}))
    assert response.status_code == 400
    assert "Phương án giữ lại" in html(response) and 'value="12,5"' in html(response)


def test_more_rows_button_saves_nothing(client, trainer, category):
    data = form(category, **{"options-0-text": "A"})
    data.pop("submit")
    data["more"] = "Thêm dòng trống"
    response = post_new(client, "single", data)
    assert response.status_code == 200
    assert 'name="options-7-text"' in html(response)
    assert count_questions() == 0


def test_type_chooser_and_unknown_type(client, trainer, category):
    page = client.get("/quizzes/bank/questions/new")
    assert page.status_code == 200
    for label in ("Câu một lựa chọn", "Câu nhiều lựa chọn", "Câu đúng/sai", "Câu trả lời ngắn", "Câu trả lời số",
                  "Câu ghép đôi"):
        assert label in html(page)
    assert client.get("/quizzes/bank/questions/new?type=essay").status_code == 400
    for qtype in ("single", "multi", "truefalse", "shortanswer", "numerical", "matching"):
        page = client.get(f"/quizzes/bank/questions/new?type={qtype}&category={category.id}")
        assert page.status_code == 200 and 'name="preview"' in html(page)
    assert client.get("/quizzes/bank/?lang=en").status_code == 200
    assert client.get("/quizzes/bank/questions/new?type=numerical&lang=en").status_code == 200


def test_no_category_yet_leads_to_creating_one(client, trainer):
    response = client.get("/quizzes/bank/questions/new?type=single")
    assert response.status_code == 302 and response.headers["Location"].endswith("/quizzes/bank/categories/new")


# --------------------------------------------------------------------------- editing and versions
def single_form(category, **overrides) -> dict:
    fields = {"options-0-text": "Đúng", "options-0-percent": "100", "options-1-text": "Sai 1",
              "options-2-text": "Sai 2"}
    fields.update(overrides)
    return form(category, text="Câu hỏi gốc?", name="Câu gốc", **fields)


def test_edit_form_is_filled_from_the_stored_question(client, trainer, category):
    post_new(client, "single", single_form(category, **{"options-1-percent": "-50", "options-1-feedback": "Sai rồi"}))
    question = only_question()
    page = html(client.get(f"/quizzes/bank/questions/{question.id}"))
    assert "Câu hỏi gốc?" in page and 'value="Câu gốc"' in page
    assert 'value="100"' in page and 'value="-50"' in page and "Sai rồi" in page
    assert 'name="options-4-text"' in page  # blank rows to add options


def test_editing_an_unanswered_question_keeps_version_1(client, trainer, category):
    post_new(client, "single", single_form(category))
    question = only_question()
    response = client.post(f"/quizzes/bank/questions/{question.id}",
                           data=single_form(category, **{"options-2-text": "Sai 2 (sửa)"}), follow_redirects=True)
    assert "Đã lưu câu hỏi" in html(response)
    db.session.expire_all()
    assert [v.version for v in question.versions] == [1]
    assert question_data(question).data["options"][2]["text"] == "Sai 2 (sửa)"


def test_saving_without_changes_creates_nothing(client, trainer, category):
    post_new(client, "single", single_form(category))
    question = only_question()
    response = client.post(f"/quizzes/bank/questions/{question.id}", data=single_form(category),
                           follow_redirects=True)
    assert "Không có thay đổi nào cần lưu." in html(response)


def test_editing_an_answered_question_creates_version_2(app, client, trainer, make_user, org):
    quiz = make_quiz(questions=1, draw=1)
    learner = app.test_client()
    make_user("lan@example.vn", "Trần Thị Lan", unit=org["ward_a"], position=org["position"])
    learner.post("/auth/login", data={"email": "lan@example.vn", "password": "Mat-khau-2025"})
    payload = learner.post(f"/api/v1/quizzes/{quiz.id}/attempts").get_json()
    right = next(o["id"] for o in payload["questions"][0]["options"] if o["text"].startswith("Đúng"))
    assert learner.put(f"/api/v1/attempts/{payload['attempt_id']}/answers/1",
                       json={"response": right}).status_code == 200

    question = only_question()
    data = {"category_id": str(question.category_id), "name": "Câu 1", "text": "Câu hỏi số 1 (đã sửa)?",
            "default_mark": "1", "general_feedback": "GIAI-THICH-1", "submit": "Lưu",
            "options-0-text": "Đúng 1", "options-0-percent": "100", "options-1-text": "Sai A1",
            "options-2-text": "Sai B1"}
    response = client.post(f"/quizzes/bank/questions/{question.id}", data=data, follow_redirects=True)
    assert "Đã lưu thành phiên bản mới 2; các bài làm cũ vẫn chấm theo phiên bản cũ." in html(response)
    db.session.expire_all()
    assert question.current_version.version == 2
    assert question.current_version.text == "Câu hỏi số 1 (đã sửa)?"
    slot = db.session.scalar(sa.select(AttemptSlot))
    assert slot.question_version.version == 1 and slot.question_version.text == "Câu hỏi số 1: chọn phương án đúng?"
    assert slot.response != right  # stored under the bank's id, not the one the learner saw
    assert grade(version_data(slot.question_version), slot.response) == 1.0  # still graded on version 1
    assert "Phiên bản 1" in html(client.get(f"/quizzes/bank/questions/{question.id}"))

    # Moving it to another category changes no content: no version 3.
    other = create_category("Danh mục khác")
    db.session.commit()
    data["category_id"] = str(other.id)
    response = client.post(f"/quizzes/bank/questions/{question.id}", data=data, follow_redirects=True)
    assert "Đã chuyển câu hỏi sang danh mục “Danh mục khác”." in html(response)
    db.session.expire_all()
    assert question.category_id == other.id and [v.version for v in question.versions] == [1, 2]


def test_imported_essay_is_read_only(client, trainer, category):
    question = create_question(category, QuestionData(qtype="essay", name="Tự luận", text="Trình bày quy trình?"))
    db.session.commit()
    page = client.get(f"/quizzes/bank/questions/{question.id}")
    assert page.status_code == 200
    assert "chỉ xem được, không sửa được" in html(page) and "Trình bày quy trình?" in html(page)
    refused = client.post(f"/quizzes/bank/questions/{question.id}", data={"text": "x"})
    assert refused.status_code == 400
    db.session.expire_all()
    assert question.current_version.text == "Trình bày quy trình?"


# --------------------------------------------------------------------------- preview
def learner_part(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    end = page.find("<section", start)
    return page[start:end if end != -1 else len(page)]


def test_preview_button_shows_the_learner_view_and_saves_nothing(client, trainer, category):
    data = single_form(category, **{"options-0-feedback": "KHEN-NGOI", "options-1-percent": "-50"})
    data.pop("submit")
    data["preview"] = "Xem trước"
    response = post_new(client, "single", data)
    assert response.status_code == 200
    part = learner_part(html(response), "preview-heading")
    assert "Câu hỏi gốc?" in part
    for option in ("Đúng", "Sai 1", "Sai 2"):
        assert f"<span><p>{option}</p></span>" in part
    assert 'type="radio"' in part
    for secret in ("KHEN-NGOI", "100", "-50", "fraction"):
        assert secret not in part
    assert count_questions() == 0


def test_preview_of_an_invalid_question_lists_its_problems(client, trainer, category):
    data = form(category, preview="Xem trước", **{"options-0-text": "A", "options-1-text": "B"})
    data.pop("submit")
    response = post_new(client, "single", data)
    assert response.status_code == 200
    assert "cần một phương án đúng" in html(response) and 'id="preview-heading"' in html(response)
    assert count_questions() == 0


def test_preview_page_separates_learner_view_and_answer_key(client, trainer, category):
    post_new(client, "single", single_form(category, general_feedback="GIAI-THICH",
                                           **{"options-0-feedback": "KHEN-NGOI"}))
    question = only_question()
    page = html(client.get(f"/quizzes/bank/questions/{question.id}/preview"))
    learner = learner_part(page, "learner-heading")
    assert "Câu hỏi gốc?" in learner and "Sai 2" in learner
    for secret in ("KHEN-NGOI", "GIAI-THICH", "100%"):
        assert secret not in learner
    key = page[page.index('id="key-heading"'):]
    assert "KHEN-NGOI" in key and "GIAI-THICH" in key and "100%" in key and "<p>Đúng</p>" in key


@pytest.mark.parametrize("qtype, data", [
    ("truefalse", {"correct": True, "feedback_true": "", "feedback_false": ""}),
    ("shortanswer", {"answers": [{"text": "Hà Nội", "fraction": 1.0, "feedback": ""}]}),
    ("numerical", {"answers": [{"value": 2.0, "tolerance": 0.5, "fraction": 1.0, "feedback": ""}], "unit": ""}),
    ("matching", {"pairs": [{"id": "i1", "text": "A", "answer": "1"}, {"id": "i2", "text": "B", "answer": "2"}],
                  "distractors": ["3"], "shuffle": False}),
    ("cloze", {}),
])
def test_preview_page_for_every_type(client, trainer, category, qtype, data):
    question = create_question(category, QuestionData(qtype=qtype, name=f"Câu {qtype}", text="Nội dung?", data=data))
    db.session.commit()
    response = client.get(f"/quizzes/bank/questions/{question.id}/preview")
    assert response.status_code == 200 and "Nội dung?" in html(response)
    if qtype != "cloze":
        assert client.get(f"/quizzes/bank/questions/{question.id}").status_code == 200


def test_script_in_question_text_is_sanitised(client, trainer, category):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>Chữ **đậm**'
    data = single_form(category, **{"options-0-text": "<script>alert(2)</script>Đúng"})
    data.update(text=evil, name='<script>alert("n")</script>')
    assert post_new(client, "single", data).status_code == 302
    question = only_question()
    preview = html(client.get(f"/quizzes/bank/questions/{question.id}/preview"))
    assert "<script>alert" not in preview and "onerror" not in preview
    assert "<strong>đậm</strong>" in preview
    browser = html(client.get("/quizzes/bank/"))
    assert "<script>alert" not in browser and "&lt;script&gt;alert" in browser
    data.pop("submit")
    data["preview"] = "Xem trước"
    form_preview = html(client.post(f"/quizzes/bank/questions/{question.id}", data=data))
    assert "<script>alert" not in form_preview


# --------------------------------------------------------------------------- browser, search, filters
def _q(category, name, text, qtype="single", tags=()):
    data = {"options": [{"id": "o1", "text": "A", "format": "markdown", "fraction": 1.0, "feedback": ""},
                        {"id": "o2", "text": "B", "format": "markdown", "fraction": 0.0, "feedback": ""}]}
    if qtype == "truefalse":
        data = {"correct": True}
    return create_question(category, QuestionData(qtype=qtype, name=name, text=text, tags=list(tags), data=data))


def names_listed(page: str) -> list[str]:
    return re.findall(r'<td><a href="/quizzes/bank/questions/\d+">([^<]*)</a>', page)


def test_search_with_and_without_diacritics(client, trainer, category):
    _q(category, "Chữ ký số là gì", "Chọn định nghĩa đúng của chữ ký số.")
    _q(category, "Dịch vụ công", "Cổng dịch vụ công quốc gia dùng để làm gì?")
    db.session.commit()
    for query in ("chu ky so", "chữ ký", "CHỮ KÝ SỐ", "ky so dinh nghia"):
        assert names_listed(html(client.get("/quizzes/bank/", query_string={"q": query}))) == ["Chữ ký số là gì"]
    assert names_listed(html(client.get("/quizzes/bank/", query_string={"q": "cong quoc gia"}))) == ["Dịch vụ công"]
    assert names_listed(html(client.get("/quizzes/bank/", query_string={"q": "50%_"}))) == []
    assert len(names_listed(html(client.get("/quizzes/bank/")))) == 2


def test_filters_category_type_tag_hidden(client, trainer, category):
    child = create_category("Nâng cao", category)
    other = create_category("An toàn thông tin")
    _q(category, "Câu gốc", "a", tags=["cơ bản"])
    _q(child, "Câu con", "b", qtype="truefalse")
    hidden = _q(other, "Câu khác", "c", tags=["cơ bản"])
    hidden.hidden = True
    db.session.commit()

    def listed(**args):
        return sorted(names_listed(html(client.get("/quizzes/bank/", query_string=args))))

    assert listed(category=category.id) == ["Câu gốc"]
    assert listed(category=category.id, sub=1) == ["Câu con", "Câu gốc"]
    assert listed(type="truefalse") == ["Câu con"]
    assert listed(tag="cơ bản") == ["Câu gốc", "Câu khác"]
    assert listed(hidden="1") == ["Câu khác"]
    assert listed(hidden="0") == ["Câu con", "Câu gốc"]
    page = html(client.get("/quizzes/bank/"))
    assert "Câu đúng/sai" in page and "Đã ẩn" in page


def test_browser_paginates_by_25(client, trainer, category):
    for n in range(30):
        _q(category, f"Câu {n:02d}", "x")
    db.session.commit()
    assert len(names_listed(html(client.get("/quizzes/bank/")))) == 25
    second = html(client.get("/quizzes/bank/?page=2"))
    assert len(names_listed(second)) == 5 and "Trang 2 / 2" in second


def test_hide_toggles_and_hidden_questions_are_not_drawn(client, trainer, category):
    question = _q(category, "Câu ẩn", "x")
    db.session.commit()
    response = client.post(f"/quizzes/bank/questions/{question.id}/hide", data={"next": "/quizzes/bank/?hidden=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/quizzes/bank/?hidden=1"
    db.session.expire_all()
    assert question.hidden is True
    client.post(f"/quizzes/bank/questions/{question.id}/hide", data={"next": "https://evil.example/"})
    db.session.expire_all()
    assert question.hidden is False
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.not_like("auth.%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["question.hide", "question.show"]


# --------------------------------------------------------------------------- categories
def test_category_tree_create_and_show(client, trainer):
    seed_core_competencies()
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "digital_signature"))
    response = client.post("/quizzes/bank/categories/new", data={
        "name": "Công chức số", "parent_id": "0", "competency_id": str(competency.id), "description": "Gốc"})
    assert response.status_code == 302
    parent = db.session.scalar(sa.select(QuestionCategory).where(QuestionCategory.name == "Công chức số"))
    response = client.post("/quizzes/bank/categories/new", data={
        "name": "Chữ ký số", "parent_id": str(parent.id), "competency_id": "0"})
    assert response.status_code == 302
    child = db.session.scalar(sa.select(QuestionCategory).where(QuestionCategory.name == "Chữ ký số"))
    assert child.parent_id == parent.id and child.path == f"/{parent.id}/{child.id}/" and child.depth == 1
    _q(child, "Câu 1", "x")
    db.session.commit()
    page = html(client.get("/quizzes/bank/"))
    assert "Công chức số" in page and "Chữ ký số" in page
    assert competency.name_vi in page and "kế thừa" in page
    assert "1 câu" in page
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.not_like("auth.%"))).all()
    assert actions.count("question_category.create") == 2


def test_category_cannot_move_under_itself_or_its_subtree(client, trainer):
    top = create_category("Gốc")
    middle = create_category("Giữa", top)
    leaf = create_category("Lá", middle)
    db.session.commit()
    page = html(client.get(f"/quizzes/bank/categories/{top.id}"))
    parents = page[page.index('id="parent_id"'):page.index("</select>", page.index('id="parent_id"'))]
    assert f'<option value="{leaf.id}"' not in parents and f'<option value="{top.id}"' not in parents
    for target in (top.id, middle.id, leaf.id):
        response = client.post(f"/quizzes/bank/categories/{top.id}",
                               data={"name": "Gốc", "parent_id": str(target), "competency_id": "0"})
        assert response.status_code == 400
        assert "Không thể chọn chính danh mục này hoặc một danh mục con của nó" in html(response)
    db.session.expire_all()
    assert top.parent_id is None and top.path == f"/{top.id}/"


def test_moving_a_category_updates_its_subtree(client, trainer):
    first = create_category("Một")
    second = create_category("Hai")
    middle = create_category("Giữa", first)
    leaf = create_category("Lá", middle)
    db.session.commit()
    response = client.post(f"/quizzes/bank/categories/{middle.id}",
                           data={"name": "Giữa (đổi tên)", "parent_id": str(second.id), "competency_id": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert middle.name == "Giữa (đổi tên)" and middle.parent_id == second.id
    assert leaf.path == f"/{second.id}/{middle.id}/{leaf.id}/" and leaf.depth == 2
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action.not_like("auth.%"))) \
        == "question_category.update"


def test_duplicate_sibling_name_is_refused(client, trainer, category):
    response = client.post("/quizzes/bank/categories/new", data={"name": "Chữ ký số", "parent_id": "0",
                                                                 "competency_id": "0"})
    assert response.status_code == 400 and "Đã có danh mục “Chữ ký số” ở cùng cấp này." in html(response)
    response = client.post("/quizzes/bank/categories/new", data={"name": "", "parent_id": "0",
                                                                 "competency_id": "0"})
    assert response.status_code == 400 and "Vui lòng nhập tên danh mục." in html(response)
    assert db.session.scalar(sa.select(sa.func.count(QuestionCategory.id))) == 1


# --------------------------------------------------------------------------- access
@pytest.mark.parametrize("role", ["learner", "hr"])
def test_learners_and_hr_are_refused(client, make_user, org, auth, category, role):
    make_user(f"{role}@example.vn", roles=(role,), unit=org["ward_a"])
    auth.login(f"{role}@example.vn")
    question = _q(category, "Câu", "x")
    db.session.commit()
    for method, url in [("get", "/quizzes/bank/"), ("get", "/quizzes/bank/categories/new"),
                        ("get", f"/quizzes/bank/categories/{category.id}"),
                        ("get", "/quizzes/bank/questions/new?type=single"),
                        ("get", f"/quizzes/bank/questions/{question.id}"),
                        ("get", f"/quizzes/bank/questions/{question.id}/preview"),
                        ("post", f"/quizzes/bank/questions/{question.id}/hide"),
                        ("post", "/quizzes/bank/categories/new")]:
        assert getattr(client, method)(url).status_code == 403, url
    db.session.expire_all()
    assert question.hidden is False


def test_admin_gets_in(client, make_user, org, auth, category):
    make_user("admin@example.vn", roles=("admin",), unit=org["city"])
    auth.login("admin@example.vn")
    assert client.get("/quizzes/bank/").status_code == 200
    assert client.get(f"/quizzes/bank/categories/{category.id}").status_code == 200
