"""A quiz on a phone with a bad connection (issues 15 and 16): nothing is lost, nobody is thrown out.

Pressing a navigation button while offline keeps the learner on the page with a message and moves on
once the answers are on the server; a busy server (503 + Retry-After) gets the answers later, in
order, one request at a time; refused answers say why. Chromium at 360 px, axe-core in every state.
"""
from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.browser

HOLD_OFFLINE = ("Mất kết nối: các câu trả lời đang được giữ trên máy và sẽ gửi khi có mạng; "
                "bạn sẽ được chuyển trang khi gửi xong.")
WAIT_NETWORK = "Chưa gửi được — đang chờ mạng"
PHONE = {"viewport": {"width": 360, "height": 740}, "locale": "vi-VN"}


@pytest.fixture
def quiz(make_user, org):
    from tests.quizzes.helpers import make_quiz

    make_user("lan@example.vn", "Trần Thị Lan", unit=org["dept_a"], position=org["position"])
    # Options in authoring order, so the n-th radio button is the bank's "o<n>".
    return make_quiz(questions=4, draw=4, questions_per_page=2, shuffle_options=False)


def start_attempt(page, live_server, quiz) -> str:
    page.goto(f"{live_server}/auth/login?next=/quizzes/{quiz.id}")
    page.get_by_label("Email").fill("lan@example.vn")
    page.get_by_label("Mật khẩu").fill("Mat-khau-2025")
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("button", name="Bắt đầu làm bài").click()
    page.wait_for_url("**/quizzes/attempts/*")
    return page.url


def saved_slots() -> dict[int, tuple]:
    """slot -> (response, saved_at) as the database holds them now."""
    from quizzes.models import AttemptSlot
    from training.extensions import db

    db.session.expire_all()
    rows = db.session.execute(sa.select(AttemptSlot.slot, AttemptSlot.response, AttemptSlot.saved_at))
    return {slot: (response, saved_at) for slot, response, saved_at in rows}


def radio(page, slot: int, n: int):
    return page.locator(f"#slot-{slot} input[type=radio]").nth(n - 1)


def state(page, slot: int):
    return page.locator(f"#slot-{slot}-state")


def queued_in_browser(page) -> list:
    return page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('ccs-attempt-'))")


def test_navigation_offline_keeps_the_learner_on_the_page_and_moves_on_when_back(
        live_server, browser, quiz, check_accessibility):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    attempt_url = start_attempt(page, live_server, quiz)
    assert check_accessibility(page) == []

    # Page 1: the connection drops, the learner answers both questions and presses "next".
    context.set_offline(True)
    radio(page, 1, 1).check()
    radio(page, 2, 2).check()
    for slot in (1, 2):
        state(page, slot).filter(has_text=WAIT_NETWORK).wait_for()
    assert "Mất kết nối" in page.locator("#connection").inner_text()
    page.get_by_role("button", name="Lưu và sang trang sau").click()
    page.locator("#nav-status").filter(has_text=HOLD_OFFLINE).wait_for()
    page.wait_for_timeout(1500)  # time enough for a navigation to start, were one attempted
    assert page.url == attempt_url  # not the browser's "No internet" page
    assert page.locator("h1").inner_text() == "Kiểm tra chữ ký số"
    assert radio(page, 2, 2).is_checked()
    assert saved_slots()[1] == (None, None) and saved_slots()[2] == (None, None)
    assert len(queued_in_browser(page)) == 1  # the answers wait in localStorage
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert check_accessibility(page) == []

    # Back online: the answers reach the server, then the page moves on by itself.
    context.set_offline(False)
    page.wait_for_url("**page=2", timeout=20000)
    slots = saved_slots()
    assert slots[1][0] == "o1" and slots[1][1] is not None
    assert slots[2][0] == "o2" and slots[2][1] is not None
    assert queued_in_browser(page) == []

    # Page 2: going back to page 1 with the page list waits the same way.
    context.set_offline(True)
    radio(page, 3, 3).check()
    state(page, 3).filter(has_text=WAIT_NETWORK).wait_for()
    page.get_by_label("Chuyển đến trang").select_option(label="Trang 1: câu 1–2")
    page.get_by_role("button", name="Lưu và đến trang").click()
    page.locator("#nav-status").filter(has_text=HOLD_OFFLINE).wait_for()
    assert page.url.endswith("page=2")
    context.set_offline(False)
    page.wait_for_url("**page=1", timeout=20000)
    assert saved_slots()[3][0] == "o3"

    # Nothing waits now, but the network is down: "review before submitting" waits for it all the same.
    context.set_offline(True)
    page.get_by_role("button", name="Lưu và xem lại trước khi nộp").click()
    page.locator("#nav-status").filter(has_text=HOLD_OFFLINE).wait_for()
    assert page.url.endswith("page=1")
    context.set_offline(False)
    page.wait_for_url("**/summary", timeout=20000)
    assert check_accessibility(page) == []

    # Submitting offline waits too, and submits once the connection is back.
    context.set_offline(True)
    page.get_by_role("button", name="Nộp bài").click()
    page.locator("#nav-status").filter(has_text="bài sẽ được nộp khi gửi xong").wait_for()
    assert page.url.endswith("/summary")
    assert check_accessibility(page) == []
    context.set_offline(False)
    page.wait_for_url("**/review", timeout=20000)
    assert "1 / 4" in page.content().replace(".0", "")  # only question 1 was answered right
    context.close()


def test_busy_server_gets_every_answer_later_in_order(live_server, browser, quiz, check_accessibility):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    start_attempt(page, live_server, quiz)
    refused, passed, in_flight = [], [], {"now": 0, "max": 0}

    def busy_then_fine(route):
        request = route.request
        if request.method != "PUT":
            route.continue_()
            return
        body = json.loads(request.post_data)
        slot = int(request.url.rsplit("/", 1)[1])
        if len(refused) < 3:
            refused.append((time.monotonic(), slot))
            route.fulfill(status=503, headers={"Retry-After": "2"}, content_type="application/json",
                          body=json.dumps({"error": {"code": "busy", "message": "Máy chủ đang quá tải."}}))
        else:
            passed.append((time.monotonic(), slot, body["response"]))
            route.continue_()

    def started(request):
        if request.method == "PUT":
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])

    def ended(request):
        if request.method == "PUT":
            in_flight["now"] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    page.route("**/api/v1/attempts/*/answers/*", busy_then_fine)

    # Question 1, then question 2, then a change of mind on question 1.
    first_choice = radio(page, 1, 1).get_attribute("value")
    final_choice = radio(page, 1, 3).get_attribute("value")
    radio(page, 1, 1).check()
    radio(page, 2, 2).check()
    radio(page, 1, 3).check()
    state(page, 1).filter(has_text="máy chủ đang bận").wait_for()
    assert "Máy chủ đang bận" in page.locator("#connection").inner_text()
    assert check_accessibility(page) == []

    for slot in (1, 2):
        state(page, slot).filter(has_text="Đã lưu lúc").wait_for(timeout=40000)
    assert len(refused) == 3
    # Retry-After is honoured: nothing is sent again sooner than two seconds after a 503.
    sent_at = sorted([t for t, _ in refused[1:]] + [t for t, _, _ in passed])
    for refused_at, _ in refused:
        following = [t for t in sent_at if t > refused_at]
        assert following and following[0] - refused_at >= 1.9
    # In order, last answer wins: the first choice never reaches the server after the final one.
    to_slot_1 = [response for _, slot, response in passed if slot == 1]
    assert to_slot_1 and to_slot_1[-1] == final_choice and first_choice not in to_slot_1[to_slot_1.index(final_choice):]
    assert in_flight["max"] == 1
    slots = saved_slots()
    assert slots[1][0] == "o3" and slots[2][0] == "o2"
    assert queued_in_browser(page) == []

    # Everything is acknowledged: "next" simply moves on.
    page.get_by_role("button", name="Lưu và sang trang sau").click()
    page.wait_for_url("**page=2")
    context.close()


def test_refused_answers_say_why(live_server, browser, quiz, check_accessibility):
    from datetime import datetime, timedelta, timezone

    from quizzes.models import Attempt
    from training.extensions import db

    context = browser.new_context(**PHONE)
    page = context.new_page()
    attempt_url = start_attempt(page, live_server, quiz)

    # 422: an answer the question does not have. The server's own words show on that question.
    page.evaluate("document.querySelector('#slot-1 input[type=radio]').value = 'khong-co-phuong-an-nay'")
    radio(page, 1, 1).check()
    state(page, 1).filter(has_text="Không lưu được:").wait_for()
    assert "Hãy chọn một phương án" in state(page, 1).inner_text()
    assert "Câu 1 không lưu được" in page.locator("#connection").inner_text()
    assert saved_slots()[1] == (None, None)
    assert check_accessibility(page) == []

    # 409: the time ran out on the server. The queue stops and the learner is told plainly.
    attempt = db.session.scalar(sa.select(Attempt))
    attempt.deadline = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()
    radio(page, 2, 1).check()
    state(page, 2).filter(has_text="đã hết giờ làm bài hoặc bài đã nộp").wait_for()
    assert "Đã hết giờ làm bài" in page.locator("#connection").inner_text()
    assert queued_in_browser(page) == []
    assert check_accessibility(page) == []
    # Nothing more is sent; pressing "next" opens the (closed) attempt's result.
    radio(page, 2, 2).check()
    assert "đã hết giờ" in state(page, 2).inner_text()
    page.get_by_role("button", name="Lưu và sang trang sau").click()
    page.wait_for_url("**/review")
    assert page.url != attempt_url
    context.close()


def test_go_to_page_without_javascript(live_server, browser, quiz):
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    start_attempt(page, live_server, quiz)
    radio(page, 1, 2).check()
    page.get_by_label("Chuyển đến trang").select_option(label="Trang 2: câu 3–4")
    page.get_by_role("button", name="Lưu và đến trang").click()
    page.wait_for_url("**page=2")
    assert page.locator("#slot-3").is_visible()
    assert saved_slots()[1][0] == "o2"  # the plain form POST saved page 1 on the way
    context.close()
