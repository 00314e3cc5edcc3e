"""Ward staffing (issue 20): cover per duty, population, position fit reviews, lending between wards.

Pages under /hr/staffing for HR (ward HR: its ward; city HR: its wards) and admins; the API's
coverage endpoint lives in training/api/coverage_api.py.
"""
from flask import Blueprint

bp = Blueprint("staffing", __name__, url_prefix="/hr/staffing")

from training.staffing import models  # noqa: E402,F401  (the tables)
from training.staffing import cli, review_views, views  # noqa: E402,F401  (routes and commands)
