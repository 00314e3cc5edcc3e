"""Small builders for course tests."""
from courses.markdown import render_markdown
from courses.models import Course, Lesson
from training.extensions import db


def make_course(slug="chu-ky-so-co-ban", title="Chữ ký số cơ bản", lessons=3, status="published", competency=None):
    course = Course(slug=slug, title=title, status=status, source="web", estimated_minutes=10 * lessons,
                    competency=competency, intro_md="Giới thiệu **khóa học**.")
    for n in range(1, lessons + 1):
        body = f"## Mục tiêu\n\nNội dung bài {n}."
        course.lessons.append(Lesson(slug=f"bai-{n}", title=f"Bài {n}", position=n, body_md=body,
                                     body_html=render_markdown(body), status="published"))
    db.session.add(course)
    db.session.commit()
    return course
