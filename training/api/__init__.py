from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from training.api import hr_api, openapi, views  # noqa: E402,F401
from training.api import coverage_api  # noqa: E402,F401  (issue 20: ward staffing)
