"""The "công chức số" qualification, signed PDF certificates, QR verification."""
from flask import Blueprint

bp = Blueprint("certificates", __name__, url_prefix="/certificates")
public_bp = Blueprint("verify", __name__)


def init_app(app) -> None:
    from certificates import cli, hr_sections, issuing, models, views  # noqa: F401  (tables and routes)

    app.register_blueprint(bp)
    app.register_blueprint(public_bp)
    cli.register(app)
    hr_sections.register(app)
    app.extensions.setdefault("competency_hooks", []).append(issuing.on_competency_recorded)
