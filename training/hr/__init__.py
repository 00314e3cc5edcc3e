from flask import Blueprint

bp = Blueprint("hr", __name__, url_prefix="/hr")

from training.hr import views  # noqa: E402,F401
