"""Issue 19: the legal-basis register. Citations found in lessons and questions, flags when a cited
text changes after an item was checked (or a lesson's review-by day comes), the quiz draw that leaves
flagged questions out, the register loaded from YAML, and the pages trainers, admins and HR use."""
from __future__ import annotations

import random
import textwrap
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from courses import legal
from courses.assignments import today_in_vietnam
from courses.models import Course, LegalText, LegalTextChange, Lesson, LessonCitation, QuestionCheck
from training.extensions import db
from training.models import AuditEntry
from training.services.competencies import seed_core_competencies

MANAGE = "/courses/manage/legal"


# --------------------------------------------------------------------------- finding citations
@pytest.mark.parametrize("text, number", [
    ("Luật An ninh mạng số 116/2025/QH15 có hiệu lực", "116/2025/QH15"),
    ("theo Nghị định số 118/2025/NĐ-CP ngày 09/06/2025", "118/2025/NĐ-CP"),
    ("Nghị quyết số 66.22/2026/NQ-CP về công dân số", "66.22/2026/NQ-CP"),
    ("Quyết định 757/QĐ-BKHCN ngày 29/04/2025", "757/QĐ-BKHCN"),
    ("Thông tư 15/2025/TT-BKHCN", "15/2025/TT-BKHCN"),
    ("Công văn 557/BKHCN-CĐSQG ngày 31/3/2025", "557/BKHCN-CĐSQG"),
    ("Công văn số 557/BKHCN-CĐSQG", "557/BKHCN-CĐSQG"),
    ("Kế hoạch số 01-KH/BCĐTW của Ban Chỉ đạo", "01-KH/BCĐTW"),
    ("Nghị định 23/2025 thay thế nghị định cũ", "23/2025/NĐ-CP"),
    ("Luật Bảo vệ dữ liệu cá nhân số 91/2025 có hiệu lực", "91/2025/QH15"),
    ("nghị định số 30/2020/nđ-cp", "30/2020/NĐ-CP"),
    ("Quyết định 06/QĐ-TTG", "06/QĐ-TTg"),
    ("<p>Theo <strong>Nghị định số 309/2026/NĐ-CP</strong></p>", "309/2026/NĐ-CP"),
])
def test_citation_is_found_and_normalised(text, number):
    assert list(legal.find_citations(text).values()) == [number]


def test_a_list_of_numbers_after_one_kind_word_is_found_whole():
    found = legal.find_citations("sửa đổi bởi Nghị định số 367/2025/NĐ-CP và 309/2026/NĐ-CP; xem Luật số 20/2023/QH15.")
    assert set(found.values()) == {"367/2025/NĐ-CP", "309/2026/NĐ-CP", "20/2023/QH15"}


@pytest.mark.parametrize("text", [
    "Luật có hiệu lực từ ngày 01/7/2024 và hết hiệu lực ngày 28/02/2027.",
    "Ví dụ trong Phụ lục I: \"Số: 15/QĐ-BNV\", \"Số\\: 05/BNV-VP\"",
    "công văn mẫu có ký hiệu 12/UBND-VX",   # an agency's own number: names no kind of legal text
    "Tỷ lệ 15/2025 và phân số 3/4.",
])
def test_dates_examples_and_fractions_are_not_citations(text):
    assert legal.find_citations(text) == {}


def test_two_spellings_of_one_number_share_a_key():
    assert legal.citation_key("01/2011/QH13") == legal.citation_key("1/2011/qh13")
    assert legal.citation_key("118/2025/ND-CP") == legal.citation_key("118/2025/NĐ-CP")


# --------------------------------------------------------------------------- helpers
REGISTER = """
framework_groups:
  - {{code: CBCCVC, name: "Cán bộ, công chức, viên chức", basis: summary}}
texts:
  - number: 118/2025/NĐ-CP
    kind: Nghị định
    title: "Nghị định về cơ chế một cửa"
    issued_on: 2025-06-09
    effective_from: 2025-07-01
    changes:
      - {{kind: amended, by: 367/2025/NĐ-CP, date: 2025-12-31}}
  - number: 66.22/2026/NQ-CP
    kind: Nghị quyết
    title: "Nghị quyết về phát triển công dân số"
    effective_from: 2026-08-15
    ends_on: {ends_on}
  - number: 13/2023/NĐ-CP
    kind: Nghị định
    title: "Nghị định về bảo vệ dữ liệu cá nhân"
    changes:
      - {{kind: repealed, by: 356/2025/NĐ-CP, date: 2026-01-01}}
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def content_dir(root, checked_on: date | None, review_by: date | None = None, ends_on: str = "2027-02-28"):
    """A course folder with one lesson citing Decree 118/2025, and the register."""
    write(root / "legal_texts.yaml", REGISTER.format(ends_on=ends_on))
    write(root / "mot-cua" / "course.md", f"""
        ---
        slug: mot-cua
        title: "Một cửa ở phường"
        competency: online_services
        version: 1
        estimated_minutes: 20
        framework: ["CBCCVC"]
        {f"checked_on: {checked_on.isoformat()}" if checked_on else ""}
        ---
        Giới thiệu.
        """)
    write(root / "mot-cua" / "01-quay.md", f"""
        ---
        slug: quay-mot-cua
        title: "Quầy một cửa"
        order: 1
        estimated_minutes: 10
        framework: ["CBCCVC"]
        {f"checked_on: {checked_on.isoformat()}" if checked_on else ""}
        {f"review_by: {review_by.isoformat()}" if review_by else ""}
        ---
        ## Mục tiêu

        Văn bản hiện hành là Nghị định số 118/2025/NĐ-CP. Nghị định năm 2023 về dữ liệu cá nhân (Nghị định
        13/2023/NĐ-CP) đã hết hiệu lực.
        """)
    return root


def sync(runner, root):
    result = runner.invoke(args=["courses", "sync", "--path", str(root)])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def competencies(app):
    seed_core_competencies()
    db.session.commit()


def the_lesson() -> Lesson:
    return db.session.scalar(sa.select(Lesson).where(Lesson.slug == "quay-mot-cua"))


def the_text(number: str) -> LegalText:
    return db.session.scalar(sa.select(LegalText).where(LegalText.key == legal.citation_key(number)))


def flagged(today: date) -> list[str]:
    return [lesson.slug for lesson in legal.flagged_lessons(today)]


# --------------------------------------------------------------------------- the register from YAML
def test_register_loads_from_yaml_idempotently(runner, competencies, tmp_path):
    root = content_dir(tmp_path / "content", date(2026, 9, 1))
    first = sync(runner, root)
    assert "Sổ văn bản pháp luật: 3 mới" in first.output
    counts = (db.session.scalar(sa.select(sa.func.count(LegalText.id))),
              db.session.scalar(sa.select(sa.func.count(LegalTextChange.id))))
    assert counts == (3, 2)
    again = sync(runner, root)
    assert "0 mới, 0 cập nhật, 3 không đổi" in again.output
    db.session.expire_all()
    assert (db.session.scalar(sa.select(sa.func.count(LegalText.id))),
            db.session.scalar(sa.select(sa.func.count(LegalTextChange.id)))) == counts
    # The lesson knows what it cites, from its text.
    keys = set(db.session.scalars(sa.select(LessonCitation.key).where(LessonCitation.lesson_id == the_lesson().id)))
    assert keys == {legal.citation_key("118/2025/NĐ-CP"), legal.citation_key("13/2023/NĐ-CP")}


def test_a_text_edited_on_the_web_is_not_overwritten_by_the_file(runner, competencies, tmp_path, make_user):
    root = content_dir(tmp_path / "content", date(2026, 9, 1))
    sync(runner, root)
    admin = make_user("admin@example.vn", roles=("admin",))
    text = the_text("118/2025/NĐ-CP")
    legal.update_text(text, admin, **{**{k: getattr(text, k) for k in legal.TEXT_FIELDS}, "title": "Tên đã sửa"})
    db.session.commit()
    result = sync(runner, root)
    assert "1 giữ bản sửa trên web" in result.output
    db.session.expire_all()
    assert the_text("118/2025/NĐ-CP").title == "Tên đã sửa"


def test_a_malformed_register_loads_nothing(runner, competencies, tmp_path):
    root = content_dir(tmp_path / "content", date(2026, 9, 1))
    write(root / "legal_texts.yaml", """
        texts:
          - number: "không phải số hiệu"
            kind: Nghị định
            title: "X"
          - number: 118/2025/NĐ-CP
            kind: Sắc lệnh
            title: "Y"
            changes:
              - {kind: amended, date: 2026-01-01}
        """)
    result = runner.invoke(args=["courses", "sync", "--path", str(root)])
    assert result.exit_code == 1
    assert "không phải là số hiệu văn bản" in result.output
    assert "loại 'Sắc lệnh'" in result.output
    assert "cần 'by'" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(LegalText.id))) == 0


def test_front_matter_dates_must_be_dates(runner, competencies, tmp_path):
    root = content_dir(tmp_path / "content", date(2026, 9, 1))
    lesson = root / "mot-cua" / "01-quay.md"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("checked_on: 2026-09-01", "checked_on: hôm qua"),
                      encoding="utf-8")
    result = runner.invoke(args=["courses", "sync", "--path", str(root)])
    assert result.exit_code == 1
    assert "01-quay.md: trường 'checked_on' phải là ngày" in result.output


# --------------------------------------------------------------------------- flagging rules
def test_a_text_amended_after_the_check_flags_the_lesson(runner, competencies, tmp_path):
    sync(runner, content_dir(tmp_path / "content", date(2026, 9, 1)))
    today = date(2026, 12, 5)
    assert flagged(today) == []   # 118/2025 was amended on 31/12/2025, before the check
    text = the_text("118/2025/NĐ-CP")
    text.changes.append(LegalTextChange(kind="amended", by_number="309/2026/NĐ-CP", changed_on=date(2026, 10, 1)))
    db.session.commit()
    assert flagged(today) == ["quay-mot-cua"]
    assert flagged(date(2026, 9, 30)) == []     # not yet in effect that day
    reasons = legal.lesson_reasons([the_lesson()], today)[the_lesson().id]
    assert [(r.kind, r.number, r.by, r.on) for r in reasons] == [
        ("amended", "118/2025/NĐ-CP", "309/2026/NĐ-CP", date(2026, 10, 1))]
    # Checking it today clears the flag; the check is audited.
    legal.mark_lesson_checked(the_lesson(), None, today)
    db.session.commit()
    assert flagged(today) == []
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "legal.lesson.checked"))


def test_review_by_passed_flags_the_lesson_until_it_is_checked(runner, competencies, tmp_path):
    sync(runner, content_dir(tmp_path / "content", date(2026, 9, 1), review_by=date(2026, 11, 30)))
    assert flagged(date(2026, 11, 29)) == []
    assert flagged(date(2026, 11, 30)) == ["quay-mot-cua"]
    assert [r.kind for r in legal.lesson_reasons([the_lesson()], date(2026, 12, 5))[the_lesson().id]] == ["review"]
    legal.mark_lesson_checked(the_lesson(), None, date(2026, 12, 1))
    db.session.commit()
    assert flagged(date(2026, 12, 5)) == []


def test_a_time_limited_text_flags_what_cites_it_after_its_last_day(runner, competencies, tmp_path):
    root = content_dir(tmp_path / "content", date(2026, 12, 5))
    lesson = root / "mot-cua" / "01-quay.md"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nPhí được giảm theo Nghị quyết số 66.22/2026/NQ-CP.\n",
                      encoding="utf-8")
    sync(runner, root)
    assert flagged(date(2027, 2, 28)) == []
    assert flagged(date(2027, 3, 1)) == ["quay-mot-cua"]
    assert legal.text_status(the_text("66.22/2026/NQ-CP"), date(2027, 3, 1)).code == "expired"
    assert legal.text_status(the_text("66.22/2026/NQ-CP"), date(2027, 2, 28)).code == "in_force"


def test_a_lesson_without_checked_on_counts_as_checked_when_synced(runner, competencies, tmp_path):
    sync(runner, content_dir(tmp_path / "content", None))
    assert the_lesson().checked_on == today_in_vietnam()
    # Decree 13/2023 was repealed long before: a lesson that mentions it as history is not flagged.
    assert flagged(today_in_vietnam()) == []


def test_a_later_file_date_moves_the_check_on_never_back(runner, competencies, tmp_path):
    root = content_dir(tmp_path / "content", date(2026, 9, 1))
    sync(runner, root)
    legal.mark_lesson_checked(the_lesson(), None, date(2026, 10, 1))
    db.session.commit()
    sync(runner, root)
    db.session.expire_all()
    assert the_lesson().checked_on == date(2026, 10, 1)


def test_the_shipped_content_is_flagged_nowhere_today(runner, app):
    """Done when (issue 19): `courses sync` loads the courses and the register flags nothing."""
    from quizzes.cli import load_demo_quizzes

    seed_core_competencies()
    db.session.commit()
    result = runner.invoke(args=["courses", "sync"])
    assert result.exit_code == 0, result.output
    load_demo_quizzes()
    db.session.commit()
    today = today_in_vietnam()
    assert legal.flagged_lessons(today) == []
    assert legal.flagged_question_ids(today) == []
    assert db.session.scalar(sa.select(sa.func.count(LegalText.id))) > 40
    # What the shipped content cites, the register holds.
    assert legal.unknown_cited_numbers() == [], legal.unknown_cited_numbers()


def test_a_lesson_written_in_the_browser_knows_what_it_cites(app, competencies):
    from courses.authoring import create_course, create_lesson, set_lesson_body

    course = create_course(None, title="Văn bản điện tử", slug="vbdt")
    lesson = create_lesson(course, None, title="Gửi văn bản", body_md="Theo Nghị định số 30/2020/NĐ-CP.",
                           status="published")
    db.session.commit()
    assert lesson.checked_on == today_in_vietnam()
    assert [c.number for c in legal.lesson_citations(lesson)] == ["30/2020/NĐ-CP"]
    set_lesson_body(lesson, None, "Theo Quyết định 28/2018/QĐ-TTg, gửi trong ngày.")
    db.session.commit()
    assert [c.number for c in legal.lesson_citations(lesson)] == ["28/2018/QĐ-TTg"]


# --------------------------------------------------------------------------- the quiz draw
@pytest.fixture
def bank(app, competencies):
    """A category of three questions, one citing Decree 118/2025 and checked before it was amended."""
    from quizzes.bank import create_category, create_question
    from quizzes.qdata import QuestionData

    category = create_category("Một cửa")
    questions = []
    for n, text in enumerate(("Theo Nghị định số 118/2025/NĐ-CP, hồ sơ được nộp ở đâu?",
                              "Câu hỏi về quầy tiếp nhận", "Câu hỏi về phí"), start=1):
        data = QuestionData(qtype="truefalse", name=f"Câu {n}", text=text, data={"correct": True})
        questions.append(create_question(category, data))
    db.session.commit()
    today = today_in_vietnam()
    db.session.execute(sa.update(QuestionCheck).values(checked_on=today - timedelta(days=60)))
    db.session.add(LegalText(number="118/2025/NĐ-CP", key=legal.citation_key("118/2025/NĐ-CP"), kind="Nghị định",
                             title="Một cửa", changes=[LegalTextChange(kind="amended", by_number="309/2026/NĐ-CP",
                                                                       changed_on=today - timedelta(days=30))]))
    db.session.commit()
    return category, questions


def _quiz(category, count: int, skip: bool):
    from quizzes.models import Quiz, QuizRule

    quiz = Quiz(title="Kiểm tra", status="published", skip_flagged_questions=skip)
    quiz.rules.append(QuizRule(position=1, category=category, count=count))
    db.session.add(quiz)
    db.session.commit()
    return quiz


def test_the_draw_leaves_flagged_questions_out_when_the_quiz_says_so(bank):
    from quizzes.attempts import AttemptError, draw_questions

    category, questions = bank
    flagged_question = questions[0]
    assert legal.flagged_question_ids() == [flagged_question.id]
    skipping = _quiz(category, 2, skip=True)
    for seed in range(20):
        drawn = {version.question_id for version, _mark in draw_questions(skipping, random.Random(seed))}
        assert drawn == {questions[1].id, questions[2].id}
    everything = _quiz(category, 3, skip=False)
    assert flagged_question.id in {v.question_id for v, _m in draw_questions(everything, random.Random(1))}
    with pytest.raises(AttemptError):
        draw_questions(_quiz(category, 3, skip=True), random.Random(1))


def test_the_draw_with_flags_is_still_one_query_per_rule(bank, app):
    from quizzes.attempts import draw_questions

    category, _questions = bank
    quiz = _quiz(category, 2, skip=True)
    _ = [rule.category for rule in quiz.rules]   # loaded before counting
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        draw_questions(quiz, random.Random(3))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    # The pool with its flags in one query, then the two drawn versions in one more (not one per question).
    assert len(statements) == 2, statements
    assert "question_versions.data" in statements[1] and "FROM question_versions" in statements[1]


def test_a_new_version_or_the_trainer_check_clears_a_question_flag(bank, make_user):
    from quizzes.bank import question_data, update_question

    _category, questions = bank
    trainer = make_user("gv@example.vn", roles=("trainer",))
    legal.mark_question_checked(questions[0].id, trainer)
    db.session.commit()
    assert legal.flagged_question_ids() == []
    db.session.execute(sa.update(QuestionCheck).values(checked_on=today_in_vietnam() - timedelta(days=60)))
    db.session.commit()
    assert legal.flagged_question_ids() == [questions[0].id]
    data = question_data(questions[0])
    data.text = "Theo Nghị định số 118/2025/NĐ-CP (đã sửa đổi bởi Nghị định số 309/2026/NĐ-CP), hồ sơ nộp ở đâu?"
    update_question(questions[0], data, trainer)
    db.session.commit()
    assert legal.flagged_question_ids() == []
    cited = {c.number for c in legal.question_citations(questions[0].id)}
    assert cited == {"118/2025/NĐ-CP", "309/2026/NĐ-CP"}


# --------------------------------------------------------------------------- pages
@pytest.fixture
def synced(runner, competencies, tmp_path):
    """The course synced with its lesson checked 60 days ago."""
    sync(runner, content_dir(tmp_path / "content", today_in_vietnam() - timedelta(days=60)))
    return the_lesson()


def test_admin_records_a_change_and_the_trainer_sees_the_flag(client, auth, make_user, synced):
    make_user("admin@example.vn", roles=("admin",))
    make_user("gv@example.vn", roles=("trainer",))
    text = the_text("118/2025/NĐ-CP")
    changed_on = (today_in_vietnam() - timedelta(days=30)).isoformat()

    auth.login("admin@example.vn")
    bad = client.post(f"{MANAGE}/texts/{text.id}/changes",
                      data={"kind": "amended", "by_number": "không rõ", "changed_on": changed_on})
    assert bad.status_code == 400
    assert "không đúng dạng" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(LegalTextChange.id)).where(
        LegalTextChange.text_id == text.id)) == 1
    response = client.post(f"{MANAGE}/texts/{text.id}/changes",
                           data={"kind": "amended", "by_number": "309/2026/NĐ-CP", "changed_on": changed_on},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Còn hiệu lực, đã được sửa đổi, bổ sung" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "legal.text.change"))
    auth.logout()

    auth.login("gv@example.vn")
    flags = client.get(f"{MANAGE}/flags").get_data(as_text=True)
    assert "Quầy một cửa" in flags and "309/2026/NĐ-CP" in flags
    course_page = client.get(f"/courses/manage/{synced.course_id}").get_data(as_text=True)
    assert "Số bài cần rà soát theo văn bản pháp luật mới: 1" in course_page
    lesson_page = client.get(f"{MANAGE}/lessons/{synced.id}").get_data(as_text=True)
    assert "Cần rà soát" in lesson_page
    # Trainers read the register but do not edit it.
    assert client.post(f"{MANAGE}/texts/{text.id}", data={"title": "x"}).status_code == 403
    assert client.post(f"{MANAGE}/texts/{text.id}/changes", data={}).status_code == 403

    checked = client.post(f"{MANAGE}/lessons/{synced.id}/checked", follow_redirects=True)
    assert "Không có cờ" in checked.get_data(as_text=True)
    assert "Không có mục nào cần rà soát" in client.get(f"{MANAGE}/flags").get_data(as_text=True)


def test_trainer_corrects_a_citation_and_finding_again_keeps_it(client, auth, make_user, synced, runner, tmp_path):
    make_user("gv@example.vn", roles=("trainer",))
    auth.login("gv@example.vn")
    response = client.post(f"{MANAGE}/lessons/{synced.id}/citations", data={"action": "add", "number": "sai số"})
    assert response.status_code == 400 and "không phải là số hiệu văn bản" in response.get_data(as_text=True)
    client.post(f"{MANAGE}/lessons/{synced.id}/citations", data={"action": "add", "number": "309/2026/NĐ-CP"})
    client.post(f"{MANAGE}/lessons/{synced.id}/citations", data={"action": "remove", "number": "13/2023/NĐ-CP"})
    legal.refind_all()
    db.session.commit()
    rows = dict(db.session.execute(sa.select(LessonCitation.number, LessonCitation.origin)
                                   .where(LessonCitation.lesson_id == synced.id)).all())
    assert rows == {"118/2025/NĐ-CP": "found", "13/2023/NĐ-CP": "removed", "309/2026/NĐ-CP": "added"}
    page = client.get(f"{MANAGE}/lessons/{synced.id}").get_data(as_text=True)
    assert "Giảng viên đã bỏ" in page and "Giảng viên thêm" in page


def test_learner_sees_when_the_course_was_checked_and_its_framework_groups(client, auth, make_user, synced):
    make_user("hv@example.vn", roles=("learner",))
    auth.login("hv@example.vn")
    page = client.get("/courses/mot-cua").get_data(as_text=True)
    day = synced.checked_on.strftime("%d/%m/%Y")
    assert f"Nội dung được rà soát theo văn bản pháp luật hiện hành ngày {day}." in page
    assert "Cán bộ, công chức, viên chức" in page
    assert "chưa đối chiếu bảng chi tiết" in page
    assert client.get(f"{MANAGE}/flags").status_code == 403


def test_trainer_turns_the_quiz_setting_off_and_it_is_audited(client, auth, make_user, bank):
    category, _questions = bank
    quiz = _quiz(category, 2, skip=True)
    make_user("gv@example.vn", roles=("trainer",))
    auth.login("gv@example.vn")
    page = client.get(f"{MANAGE}/quizzes").get_data(as_text=True)
    assert "Kiểm tra" in page and "1 câu bị gắn cờ" in page
    client.post(f"{MANAGE}/quizzes", data={"quiz_id": quiz.id, "skip": "0"})
    db.session.expire_all()
    from quizzes.models import Quiz

    assert db.session.get(Quiz, quiz.id).skip_flagged_questions is False
    assert client.post(f"{MANAGE}/quizzes", data={"quiz_id": quiz.id, "skip": "x"}).status_code == 400


def test_question_page_shows_the_flag_and_the_trainer_checks_it(client, auth, make_user, bank):
    _category, questions = bank
    make_user("gv@example.vn", roles=("trainer",))
    auth.login("gv@example.vn")
    bank_page = client.get(f"/quizzes/bank/questions/{questions[0].id}").get_data(as_text=True)
    assert "Cần rà soát theo văn bản pháp luật mới" in bank_page
    page = client.get(f"{MANAGE}/questions/{questions[0].id}").get_data(as_text=True)
    assert "309/2026/NĐ-CP" in page
    client.post(f"{MANAGE}/questions/{questions[0].id}/checked")
    assert legal.flagged_question_ids() == []
    assert client.get(f"{MANAGE}/questions/999999").status_code == 404


def test_hr_sees_framework_groups_per_official_and_per_unit(client, auth, make_user, synced, org):
    from training.models import Competency, CompetencyRecord
    from training.services.competencies import seed_core_competencies as seed

    seed()
    competency = db.session.scalar(sa.select(Competency).where(Competency.code == "online_services"))
    official = make_user("cc@example.vn", "Trần Văn Bình", unit=org["ward_a"], position=org["position"])
    make_user("cc2@example.vn", "Lê Thị Cúc", unit=org["ward_a"], position=org["position"])
    now = datetime.now(timezone.utc)
    db.session.add(CompetencyRecord(user_id=official.id, competency_id=competency.id,
                                    achieved_at=now - timedelta(days=1), expires_at=now + timedelta(days=300),
                                    score=90, source="quiz"))
    db.session.commit()
    make_user("hr@example.vn", roles=("hr",), unit=org["city"])
    auth.login("hr@example.vn")
    page = client.get(f"/hr/officials/{official.id}").get_data(as_text=True)
    assert "Khung kỹ năng số cơ bản (Quyết định 757/QĐ-BKHCN)" in page
    assert "Cán bộ, công chức, viên chức" in page
    unit = client.get(f"{MANAGE}/framework/units/{org['ward_a'].code}").get_data(as_text=True)
    assert "Cán bộ, công chức đang hoạt động: 2" in unit
    assert "50%" in unit
    # A ward's HR does not see another ward.
    auth.logout()
    make_user("hr.bt@example.vn", roles=("hr",), unit=org["ward_b"])
    auth.login("hr.bt@example.vn")
    assert client.get(f"{MANAGE}/framework/units/{org['ward_a'].code}").status_code == 404
    assert client.get(f"{MANAGE}/framework/units/{org['ward_b'].code}").status_code == 200
