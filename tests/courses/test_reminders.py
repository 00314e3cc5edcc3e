"""Reminders (nhắc việc), in-app notifications and the e-mail outbox, against a real local SMTP server."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask import template_rendered

from courses.mail import send_outbox
from courses.models import Assignment, Course, CourseProgress, Lesson, Notification, OutboxEmail, ReminderLog
from courses.reminders import local_today, queue_reminders, reminder_kind
from training.extensions import db
from training.models.types import utcnow

DUE = date(2025, 9, 15)  # with REMINDER_DAYS_BEFORE = 3, "before" starts on 12/09
TITLE = "Chữ ký số cơ bản"


@pytest.fixture
def course(app):
    course = Course(slug="chu-ky-so", title=TITLE, status="published", summary="Ký số văn bản điện tử.",
                    lessons=[Lesson(slug="gioi-thieu", title="Giới thiệu", position=1, body_md="Xin chào"),
                             Lesson(slug="thuc-hanh", title="Thực hành", position=2, body_md="Ký thử")])
    db.session.add(course)
    db.session.commit()
    return course


@pytest.fixture
def assign(app, course):
    def make(due_on=DUE, **target):
        assignment = Assignment(course=target.pop("course", course), due_on=due_on, **target)
        db.session.add(assignment)
        db.session.commit()
        return assignment

    return make


@pytest.fixture
def officials(org, make_user):
    return {
        "an": make_user("an@example.vn", "Nguyễn Văn An", unit=org["ward_a"], position=org["position"]),
        "binh": make_user("binh@example.vn", "Trần Thị Bình", unit=org["dept_a"]),  # below ward A
        "cuong": make_user("cuong@example.vn", "Lê Văn Cường", unit=org["ward_b"]),  # another ward
    }


def send(runner, today: date | str):
    value = today.isoformat() if isinstance(today, date) else today
    return runner.invoke(args=["reminders", "send", "--today", value])


def kinds_logged() -> list[tuple[int, str]]:
    db.session.expire_all()
    return sorted(db.session.execute(sa.select(ReminderLog.user_id, ReminderLog.kind)).tuples())


def subjects(sink, email: str) -> list[str]:
    return [mail.subject for mail in sink.to(email)]


# --------------------------------------------------------------------------- when, and once only
def test_reminder_kind_by_date():
    assert reminder_kind(DUE, DUE - timedelta(days=4), 3) is None
    assert reminder_kind(DUE, DUE - timedelta(days=3), 3) == "before"
    assert reminder_kind(DUE, DUE - timedelta(days=1), 3) == "before"
    assert reminder_kind(DUE, DUE, 3) == "due"
    assert reminder_kind(DUE, DUE + timedelta(days=1), 3) == "overdue"
    assert reminder_kind(DUE, DUE - timedelta(days=1), 0) is None


def test_today_is_the_vietnam_date():
    # 18:00 UTC on the 14th is already 01:00 on the 15th in Hà Nội / TP.HCM.
    assert local_today(datetime(2025, 9, 14, 18, 0, tzinfo=timezone.utc)) == date(2025, 9, 15)


def test_before_due_and_overdue_each_sent_once(runner, smtp_sink, officials, assign, org):
    assign(unit=org["ward_a"])

    result = send(runner, DUE - timedelta(days=4))
    assert result.exit_code == 0, result.output
    assert "đã tạo 0 nhắc việc; đã gửi 0 email" in result.output
    assert smtp_sink.received == []

    result = send(runner, DUE - timedelta(days=3))
    assert result.exit_code == 0, result.output
    assert "đã tạo 2 nhắc việc; đã gửi 2 email; 0 lỗi, 0 đang chờ" in result.output
    assert subjects(smtp_sink, "an@example.vn") == [f"Sắp đến hạn: {TITLE}"]
    assert subjects(smtp_sink, "binh@example.vn") == [f"Sắp đến hạn: {TITLE}"]  # unit subtree
    assert smtp_sink.to("cuong@example.vn") == []  # another ward

    for day in (DUE - timedelta(days=3), DUE - timedelta(days=2), DUE - timedelta(days=1)):
        again = send(runner, day)
        assert "đã tạo 0 nhắc việc; đã gửi 0 email" in again.output
    assert len(smtp_sink.received) == 2

    send(runner, DUE)
    send(runner, DUE)
    send(runner, DUE + timedelta(days=1))
    send(runner, DUE + timedelta(days=30))
    assert subjects(smtp_sink, "an@example.vn") == [
        f"Sắp đến hạn: {TITLE}", f"Đến hạn hôm nay: {TITLE}", f"Quá hạn: {TITLE}"]
    assert len(smtp_sink.received) == 6
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 6
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.sent_at.is_(None))) == 0


def test_email_is_vietnamese_utf8_with_full_link(runner, smtp_sink, officials, assign, org):
    assign(user=officials["an"], note="Hoàn thành trước buổi giao ban.")
    result = send(runner, DUE)
    assert result.exit_code == 0, result.output
    [mail] = smtp_sink.received
    assert mail.rcpt_tos == ["an@example.vn"]
    assert mail.subject == "Đến hạn hôm nay: Chữ ký số cơ bản"
    assert mail.message["From"].addresses[0].display_name == "Công Chức Số"
    assert mail.message.get_content_charset() == "utf-8"
    text = mail.text
    assert "Kính gửi Nguyễn Văn An," in text
    assert "15/09/2025" in text
    assert "Ghi chú: Hoàn thành trước buổi giao ban." in text
    assert "https://ccs.example.vn/courses/chu-ky-so" in text
    assert "https://ccs.example.vn/courses/notifications" in text


def test_a_missed_day_is_not_sent_late(runner, smtp_sink, officials, assign):
    assign(user=officials["an"])
    send(runner, DUE + timedelta(days=2))  # cron did not run before or on the due date
    send(runner, DUE + timedelta(days=3))
    assert subjects(smtp_sink, "an@example.vn") == [f"Quá hạn: {TITLE}"]
    assert kinds_logged() == [(officials["an"].id, "overdue")]


def test_finished_officials_get_nothing(runner, smtp_sink, officials, assign, course, org):
    assign(unit=org["ward_a"])
    db.session.add(CourseProgress(user_id=officials["an"].id, course_id=course.id, completed_at=utcnow()))
    # Started but not finished still gets reminded.
    db.session.add(CourseProgress(user_id=officials["binh"].id, course_id=course.id))
    db.session.commit()
    send(runner, DUE)
    assert smtp_sink.to("an@example.vn") == []
    assert subjects(smtp_sink, "binh@example.vn") == [f"Đến hạn hôm nay: {TITLE}"]


def test_official_who_joins_later_is_reminded(runner, smtp_sink, officials, assign, org, make_user):
    assign(unit=org["ward_a"])
    send(runner, DUE - timedelta(days=3))
    assert len(smtp_sink.received) == 2
    newcomer = make_user("dung@example.vn", "Phạm Thị Dung", unit=org["ward_a"])
    result = send(runner, DUE - timedelta(days=2))
    assert "đã tạo 1 nhắc việc; đã gửi 1 email" in result.output
    assert subjects(smtp_sink, newcomer.email) == [f"Sắp đến hạn: {TITLE}"]
    assert len(smtp_sink.received) == 3


def test_cancelled_assignment_and_draft_course_send_nothing(runner, smtp_sink, officials, assign, org):
    assign(unit=org["ward_a"], cancelled_at=utcnow())
    draft = Course(slug="nhap", title="Bản nháp", status="draft")
    assign(course=draft, unit=org["ward_a"])
    result = send(runner, DUE)
    assert "đã tạo 0 nhắc việc" in result.output
    assert smtp_sink.received == []
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0


def test_targets_position_user_and_everyone(runner, smtp_sink, officials, assign, org, make_user):
    inactive = make_user("nghi@example.vn", "Võ Văn Nghỉ", unit=org["ward_a"], position=org["position"])
    inactive.active = False
    db.session.commit()
    assign(unit=org["city"], position=org["position"])  # only An holds the position (Nghỉ has left)
    send(runner, DUE)
    assert [mail.rcpt_tos for mail in smtp_sink.received] == [["an@example.vn"]]

    assign(due_on=DUE + timedelta(days=10))  # everyone
    send(runner, DUE + timedelta(days=10))
    due_today = [mail.rcpt_tos[0] for mail in smtp_sink.received[1:] if mail.subject.startswith("Đến hạn")]
    assert sorted(due_today) == ["an@example.vn", "binh@example.vn", "cuong@example.vn"]


def test_overlapping_assignments_remind_once(runner, smtp_sink, officials, assign, org):
    assign(unit=org["city"])
    assign(unit=org["ward_a"])
    send(runner, DUE)
    assert subjects(smtp_sink, "an@example.vn") == [f"Đến hạn hôm nay: {TITLE}"]
    send(runner, DUE)
    assert len(smtp_sink.to("an@example.vn")) == 1


def test_queue_twice_in_one_transaction_queues_once(app, officials, assign):
    assign(user=officials["an"])
    first = queue_reminders(DUE, app.config)
    second = queue_reminders(DUE, app.config)
    assert (first.created, first.emails, second.created) == (1, 1, 0)


# --------------------------------------------------------------------------- the outbox
def test_mail_server_down_loses_nothing_and_sends_once_later(app, runner, smtp_sink, closed_port, officials,
                                                             assign):
    assign(user=officials["an"])
    app.config["MAIL_PORT"] = closed_port

    result = send(runner, DUE)
    assert result.exit_code == 0, result.output
    assert "đã tạo 1 nhắc việc; đã gửi 0 email; 1 lỗi, 1 đang chờ" in result.output
    assert "Không gửi được 1 email" in result.output
    db.session.expire_all()
    email = db.session.scalar(sa.select(OutboxEmail))
    assert (email.attempts, email.sent_at) == (1, None)
    assert "Connection" in email.last_error or "refused" in email.last_error.lower()

    # Run again at once: the message waits for its retry time, nothing is counted twice.
    result = send(runner, DUE)
    assert "đã gửi 0 email; 0 lỗi, 1 đang chờ" in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(OutboxEmail.attempts)) == 1

    app.config["MAIL_PORT"] = smtp_sink.port
    later = utcnow() + timedelta(hours=1)
    assert send_outbox(app.config, now=later, after_each=db.session.commit) == (1, 0)
    assert send_outbox(app.config, now=later + timedelta(days=1)) == (0, 0)
    send(runner, DUE)
    assert subjects(smtp_sink, "an@example.vn") == [f"Đến hạn hôm nay: {TITLE}"]
    db.session.expire_all()
    email = db.session.scalar(sa.select(OutboxEmail))
    assert email.sent_at is not None and email.last_error == ""


def test_gives_up_after_max_attempts(app, runner, closed_port, officials, assign):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_MAX_ATTEMPTS=2, MAIL_TIMEOUT_S=5)
    assign(user=officials["an"])
    send(runner, DUE)
    assert send_outbox(app.config, now=utcnow() + timedelta(days=1)) == (0, 1)
    db.session.commit()
    assert send_outbox(app.config, now=utcnow() + timedelta(days=2)) == (0, 0)  # no third try
    result = send(runner, DUE)
    assert "0 đang chờ" in result.output
    assert "1 email đã ngừng thử lại sau 2 lần lỗi" in result.output
    db.session.expire_all()
    email = db.session.scalar(sa.select(OutboxEmail))
    assert email.attempts == 2 and email.sent_at is None and email.last_error


def test_refused_address_does_not_block_the_others(app, runner, smtp_sink, officials, assign, org):
    smtp_sink.refuse.add("an@example.vn")
    assign(unit=org["ward_a"])
    result = send(runner, DUE)
    assert "đã gửi 1 email; 1 lỗi, 0 đang chờ" in result.output
    assert [mail.rcpt_tos for mail in smtp_sink.received] == [["binh@example.vn"]]
    db.session.expire_all()
    refused = db.session.scalar(sa.select(OutboxEmail).where(OutboxEmail.to_email == "an@example.vn"))
    assert refused.attempts == app.config["MAIL_MAX_ATTEMPTS"]  # a 550 will not change by retrying
    assert "550" in refused.last_error


def test_each_sent_message_is_committed_on_its_own(app, smtp_sink, officials, assign, org):
    assign(unit=org["city"])
    queue_reminders(DUE, app.config)
    db.session.commit()
    commits = []
    assert send_outbox(app.config, after_each=lambda: commits.append(db.session.commit())) == (3, 0)
    # Issue 18: two commits per message, the claim before the SMTP conversation and the outcome after it.
    assert len(commits) == 6 and len(smtp_sink.received) == 3


def test_smtp_login(app, runner, smtp_sink_with_login, officials, assign):
    assign(user=officials["an"])
    app.config.update(MAIL_USERNAME="ccs", MAIL_PASSWORD="sai-mat-khau")
    result = send(runner, DUE)
    assert "đã gửi 0 email; 1 lỗi, 1 đang chờ" in result.output
    assert "535" in result.output  # the server's reason is shown
    app.config["MAIL_PASSWORD"] = "mật-khẩu"  # smtplib cannot send non-ASCII credentials: an error, no crash
    assert send_outbox(app.config, now=utcnow() + timedelta(hours=1)) == (0, 1)
    db.session.commit()
    app.config["MAIL_PASSWORD"] = "dung-mat-khau"
    assert send_outbox(app.config, now=utcnow() + timedelta(days=1)) == (1, 0)
    assert subjects(smtp_sink_with_login, "an@example.vn") == [f"Đến hạn hôm nay: {TITLE}"]


def test_without_mail_server_emails_wait(app, runner, officials, assign):
    app.config["MAIL_SERVER"] = None
    assign(user=officials["an"])
    result = send(runner, DUE)
    assert result.exit_code == 0
    assert "Chưa cấu hình máy chủ thư" in result.output
    assert "đã tạo 1 nhắc việc; đã gửi 0 email; 0 lỗi, 1 đang chờ" in result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(OutboxEmail.sent_at)) is None
    assert db.session.scalar(sa.select(OutboxEmail.attempts)) == 0


@pytest.mark.parametrize("value", ["15/09/2025", "2025-02-30", "hôm nay"])
def test_cli_rejects_a_bad_date(runner, officials, assign, value):
    assign(user=officials["an"])
    result = send(runner, value)
    assert result.exit_code == 2
    assert "ngày không hợp lệ" in result.output and "YYYY-MM-DD" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0


def test_cli_without_today_uses_the_current_date(runner, officials, assign):
    assign(user=officials["an"], due_on=local_today() + timedelta(days=30))
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    assert local_today().strftime("%d/%m/%Y") in result.output
    assert "đã tạo 0 nhắc việc" in result.output


# --------------------------------------------------------------------------- the notification page
@pytest.fixture
def reminded(app, runner, officials, assign, org):
    """An and Bình each have a "before" and a "due" notification."""
    app.config["MAIL_SERVER"] = None
    assign(unit=org["ward_a"])
    send(runner, DUE - timedelta(days=1))
    send(runner, DUE)
    db.session.expire_all()
    return officials


def _own(user):
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def test_notification_page_lists_mine_newest_first(client, auth, reminded):
    auth.login("an@example.vn")
    page = client.get("/courses/notifications").get_data(as_text=True)
    assert page.index(f"Đến hạn hôm nay: {TITLE}") < page.index(f"Sắp đến hạn: {TITLE}")
    assert "Hạn hoàn thành khóa học «Chữ ký số cơ bản» là ngày 15/09/2025 (còn 1 ngày)." in page
    assert 'href="/courses/chu-ky-so"' in page
    assert page.count("Chưa đọc") == 2
    assert "Bạn có 2 nhắc việc chưa đọc." in page


def test_unread_count_is_in_every_template(app, client, auth, reminded):
    auth.login("an@example.vn")
    seen = []

    def record(sender, template, context, **extra):
        seen.append(context.get("unread_notifications"))

    with template_rendered.connected_to(record, app):
        client.get("/")
    assert seen and seen[0] == 2


def test_mark_one_and_all_as_read(client, auth, reminded):
    auth.login("an@example.vn")
    first, second = _own(reminded["an"])
    response = client.post(f"/courses/notifications/{first.id}/read", data={"next": "/courses/notifications?page=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/courses/notifications?page=1"
    db.session.expire_all()
    assert db.session.get(Notification, first.id).read_at is not None
    assert db.session.get(Notification, second.id).read_at is None
    page = client.get("/courses/notifications").get_data(as_text=True)
    assert page.count("Chưa đọc") == 1 and "Đã đọc" in page

    response = client.post("/courses/notifications/read-all", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/courses/notifications"  # never off-site
    page = client.get("/courses/notifications", follow_redirects=True).get_data(as_text=True)
    assert "Chưa đọc" not in page
    db.session.expire_all()
    assert all(n.read_at is not None for n in _own(reminded["an"]))
    assert all(n.read_at is None for n in _own(reminded["binh"]))  # Bình's are untouched


def test_someone_elses_notification_is_404(client, auth, reminded):
    auth.login("an@example.vn")
    theirs = _own(reminded["binh"])[0]
    assert client.post(f"/courses/notifications/{theirs.id}/read").status_code == 404
    assert client.post("/courses/notifications/999999/read").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None
    assert "Trần Thị Bình" not in client.get("/courses/notifications").get_data(as_text=True)


def test_notification_page_needs_login_and_is_paginated(app, client, auth, officials):
    assert client.get("/courses/notifications").status_code == 302
    for i in range(app.config["PER_PAGE"] + 2):
        db.session.add(Notification(user_id=officials["cuong"].id, title=f"Thông báo {i:02d}", link=""))
    db.session.commit()
    auth.login("cuong@example.vn")
    first = client.get("/courses/notifications").get_data(as_text=True)
    assert "Trang 1 / 2" in first
    second = client.get("/courses/notifications?page=2").get_data(as_text=True)
    assert second.count("Chưa đọc") == 2
    empty = client.get("/courses/notifications?page=abc")
    assert empty.status_code == 200


def test_forms_carry_a_csrf_token(app, client, auth, reminded):
    auth.login("an@example.vn")
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/courses/notifications").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    first = _own(reminded["an"])[0]
    assert client.post(f"/courses/notifications/{first.id}/read").status_code == 400
    db.session.expire_all()
    assert db.session.get(Notification, first.id).read_at is None
