from flask import Blueprint

bp = Blueprint("hr", __name__, url_prefix="/hr")

from training.hr import models, upkeep  # noqa: E402,F401  (the kept figures' tables, and what keeps them)

upkeep.install()

from training.hr import cli, export_views, views  # noqa: E402,F401
