"""Admin for the recommender, one module per area."""

from apps.recommender.admin import catalog, experiments  # noqa: F401
