"""Question bank, quizzes, attempts, scoring, authoring, Moodle formats, item statistics."""
from flask import Blueprint

bp = Blueprint("quizzes", __name__, url_prefix="/quizzes")
api_bp = Blueprint("quizzes_api", __name__, url_prefix="/api/v1")


def init_app(app) -> None:
    """Register the blueprints, the CLI and the setup hooks."""
    from quizzes import cli, hot_path, hr_sections, legal_hooks, models, plan, views  # noqa: F401  (tables, routes)

    app.register_blueprint(bp)
    hot_path.init_app(app)
    app.register_blueprint(api_bp)
    cli.register(app)
    hr_sections.register(app)
    plan.register(app)
    legal_hooks.register(app)
    app.add_template_global(quizzes_for_course)


def quizzes_for_course(course_id: int):
    """Published quizzes that belong to a course (the course page links to them)."""
    import sqlalchemy as sa

    from quizzes.models import Quiz
    from training.extensions import db

    return db.session.scalars(sa.select(Quiz).where(Quiz.course_id == course_id, Quiz.status == "published")
                              .order_by(Quiz.title)).all()
