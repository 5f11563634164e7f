"""Celery tasks of the recommender, one module per part (thin: they call services)."""

from apps.recommender.tasks import catalog, ranking  # noqa: F401
