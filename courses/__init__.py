"""Course modules: content loader, lessons, progress, assignments, reminders."""
from flask import Blueprint

bp = Blueprint("courses", __name__, url_prefix="/courses")


def init_app(app) -> None:
    """Register the blueprint, its CLI and its setup hooks."""
    from courses import cli, hr_sections, models, plan, views  # noqa: F401  (tables and routes)

    app.register_blueprint(bp)
    cli.register(app)
    hr_sections.register(app)
    plan.register(app)
