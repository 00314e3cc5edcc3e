"""Every registered route, walked with every role: who gets in, who is sent to log in, who is refused."""
import pytest
import sqlalchemy as sa

from training.access import PUBLIC, SIGNED_IN
from training.extensions import db
from training.models import Competency, OrgUnit, Position, User

ROLES = ("anonymous", "learner", "trainer", "hr", "admin")


@pytest.fixture
def people(org, make_user):
    from datetime import date

    from courses.models import Assignment, Notification
    from tests.courses.helpers import make_course

    users = {}
    for role in ROLES[1:]:
        users[role] = make_user(f"{role}@example.vn", roles=(role,), unit=org["ward_a"], position=org["position"])
        db.session.add(Notification(user_id=users[role].id, title="Nhắc việc", link="/courses/"))
    course = make_course()
    db.session.add(Assignment(course=course, unit=org["ward_a"], due_on=date(2099, 1, 1)))
    db.session.commit()
    from tests.quizzes.helpers import make_quiz

    make_quiz()
    return users


def _sample_args(rule, user):
    from courses.models import Assignment, Course, Lesson, Notification
    from quizzes.models import Attempt, Question, QuestionCategory, Quiz, QuizRule

    values = {
        "unit_id": lambda: db.session.scalar(sa.select(OrgUnit.id)),
        "position_id": lambda: db.session.scalar(sa.select(Position.id)),
        # Someone other than the walker, always the same one: an unordered pick could land on the walker
        # on PostgreSQL, and an admin route (deactivate, sign out everywhere) would end the walk's session.
        "user_id": lambda: db.session.scalar(sa.select(User.id).where(User.id != (user.id if user else -1))
                                             .order_by(User.id)),
        "competency_id": lambda: db.session.scalar(sa.select(Competency.id)),
        "course_id": lambda: db.session.scalar(sa.select(Course.id)),
        "lesson_id": lambda: db.session.scalar(sa.select(Lesson.id).order_by(Lesson.position)),
        "assignment_id": lambda: db.session.scalar(sa.select(Assignment.id)),
        "notification_id": lambda: db.session.scalar(
            sa.select(Notification.id).where(Notification.user_id == (user.id if user else -1)))
            or db.session.scalar(sa.select(Notification.id)),
        "slug": lambda: db.session.scalar(sa.select(Course.slug)),
        "lesson_slug": lambda: db.session.scalar(sa.select(Lesson.slug).order_by(Lesson.position)),
        "category_id": lambda: db.session.scalar(sa.select(QuestionCategory.id)),
        "question_id": lambda: db.session.scalar(sa.select(Question.id)),
        "quiz_id": lambda: db.session.scalar(sa.select(Quiz.id)),
        "attempt_id": lambda: db.session.scalar(sa.select(Attempt.id).where(Attempt.user_id == (user.id if user else -1)))
            or 10**6,
        "slot": lambda: 1,
        "rule_id": lambda: db.session.scalar(sa.select(QuizRule.id)),
        "serial": lambda: "CCS-2026-AAAA-BBBB-CCCC",
        "code": lambda: "vi",
        "unit_code": lambda: db.session.scalar(sa.select(OrgUnit.code).order_by(OrgUnit.id)),
    }
    args = {}
    for name in rule.arguments:
        args[name] = values.get(name, lambda: 1)()
    return args


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule


def test_every_view_declares_its_access(app):
    missing = [rule.endpoint for rule in _routes(app)
               if not hasattr(app.view_functions[rule.endpoint], "access")]
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
def test_role_route_walk(app, people, role):
    client = app.test_client()
    if role != "anonymous":
        client.post("/auth/login", data={"email": f"{role}@example.vn", "password": "Mat-khau-2025"})
    checked = 0
    urls = app.url_map.bind("localhost")
    for rule in _routes(app):
        view = app.view_functions[rule.endpoint]
        method = next(m for m in ("GET", "POST", "PUT", "DELETE") if m in rule.methods)
        url = urls.build(rule.endpoint, _sample_args(rule, people.get(role)))
        if rule.endpoint in ("auth.logout",):
            continue  # would end the session for the rest of the walk
        response = client.open(url, method=method)
        status = response.status_code
        response.close()  # as a server does, even for a download nobody reads
        is_api = url.startswith("/api/")
        checked += 1
        if view.access == PUBLIC:
            assert status not in (401, 403), (role, url, status)
            continue
        if role == "anonymous":
            if is_api:
                assert status == 401, (url, status)
            else:
                assert status == 302 and "/auth/login" in response.headers["Location"], (url, status)
            continue
        allowed = view.access == SIGNED_IN or role in view.access
        if allowed:
            # 404: a resource of someone else (an attempt, a certificate) or none at that id;
            # 201/409/422: API writes with an empty body or a state that refuses them.
            assert status in (200, 201, 302, 400, 404, 409, 422), (role, url, status)
        else:
            assert status == 403, (role, url, status)
    assert checked > 10


def test_forbidden_page_is_translated(app, people):
    client = app.test_client()
    client.post("/auth/login", data={"email": "learner@example.vn", "password": "Mat-khau-2025"})
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Bạn không có quyền truy cập trang này." in response.get_data(as_text=True)
    client.get("/lang/en")
    assert "You do not have permission" in client.get("/admin/users").get_data(as_text=True)
