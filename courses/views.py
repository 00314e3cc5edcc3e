"""Course views are split by audience; importing them registers the routes."""
from courses import assignment_views, authoring_views, learner_views, legal_views, notification_views  # noqa: F401
