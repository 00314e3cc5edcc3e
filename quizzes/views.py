"""Quiz views are split by audience; importing them registers the routes."""
from quizzes import api, bank_views, learner_views, manage_views, sitting_views  # noqa: F401
