from flask import Blueprint

bp = Blueprint("hr", __name__, url_prefix="/hr")

from training.hr import export_views, views  # noqa: E402,F401
