"""Exam day in a browser: a learner waits in the lobby on a 360 px phone, without JavaScript, and is
moved into the attempt at the start; HR follows the sitting live. axe-core finds nothing serious."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.browser

PASSWORD = "Mat-khau-2025"


@pytest.fixture
def exam(make_user, org, monkeypatch):
    """Ward A's HR officer, two officials, and a sitting of a published quiz for the ward."""
    import quizzes.sittings as sittings
    from quizzes.sittings import schedule_sitting
    from tests.quizzes.helpers import make_quiz
    from training.extensions import db

    monkeypatch.setattr(sittings, "LOBBY_SPREAD_S", 0)  # the last reload lands at the start, not up to 10 s later
    hr = make_user("hr.ward@example.vn", "Phạm Thu Hà", roles=("hr",), unit=org["ward_a"])
    make_user("lan@example.vn", "Nguyễn Thị Hồng Nhung", unit=org["ward_a"], position=org["position"])
    make_user("duc@example.vn", "Lê Văn Đức", unit=org["dept_a"], position=org["position"])
    quiz = make_quiz(questions=6, draw=4)
    sitting = schedule_sitting(quiz=quiz, actor=hr, root=org["ward_a"],
                               starts_at=datetime.now(timezone.utc) + timedelta(minutes=30), join_window_s=900,
                               time_limit_s=1800, late_policy="remaining", target="unit", unit=org["ward_a"],
                               title="Ca sáng khối Văn phòng")
    db.session.commit()
    return sitting.id


def _start_in(sitting_id, seconds):
    from quizzes.models import Sitting
    from quizzes.sittings import ends_at
    from training.extensions import db

    sitting = db.session.get(Sitting, sitting_id)
    sitting.starts_at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    sitting.ends_at = ends_at(sitting.starts_at, sitting.join_window_s, sitting.time_limit_s, sitting.late_policy)
    db.session.commit()


def _login(page, base, email, next_url):
    page.goto(f"{base}/auth/login?next={next_url}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"**{next_url}")


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_the_lobby_moves_a_learner_without_javascript_into_the_attempt(live_server, browser, exam):
    from quizzes.models import Attempt
    from training.extensions import db

    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN", java_script_enabled=False)
    page = context.new_page()
    try:
        lobby = f"/quizzes/sittings/{exam}/lobby"
        _login(page, live_server, "lan@example.vn", "/")
        # The home plan links the lobby.
        page.get_by_role("link", name="Vào phòng chờ").first.click()
        page.wait_for_url(f"**{lobby}")
        assert "Còn 29 phút" in page.inner_text("main") or "Còn 30 phút" in page.inner_text("main")
        _start_in(exam, 4)
        page.goto(f"{live_server}{lobby}")
        assert "Phòng chờ" in page.inner_text("h1")
        # Nobody presses anything: the page reloads itself (HTTP Refresh) and lands in the attempt.
        page.wait_for_url("**/quizzes/attempts/*", timeout=20_000)
        assert page.locator("fieldset.question, .question").count() >= 1
        assert db.session.scalar(sa.select(Attempt.state).join(Attempt.user)
                                 .where(Attempt.user.has(email="lan@example.vn"))) == "in_progress"
    finally:
        context.close()


def test_lobby_and_live_view_on_a_phone_are_accessible(live_server, phone, exam, check_accessibility):
    lobby = f"/quizzes/sittings/{exam}/lobby"
    _login(phone, live_server, "duc@example.vn", lobby)
    assert "Ca sáng khối Văn phòng" in phone.inner_text("main")
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []
    phone.context.clear_cookies()

    _login(phone, live_server, "hr.ward@example.vn", f"/quizzes/sittings/{exam}")
    cards = phone.locator("ul.cards li").all_inner_texts()
    assert any("Đang ở phòng chờ" in card and card.strip().startswith("1") for card in cards), cards
    assert any("Có tên dự thi" in card and card.strip().startswith("3") for card in cards), cards
    assert "Lê Văn Đức" in phone.inner_text("table")
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []
    # The schedule form too.
    phone.goto(f"{live_server}/quizzes/sittings/new")
    assert _no_horizontal_scroll(phone)
    assert check_accessibility(phone) == []
