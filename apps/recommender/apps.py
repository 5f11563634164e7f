from __future__ import annotations

from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    """Text-aware recommendations for shop front-ends: catalogue, events, ranking, A/B tests."""

    name = "apps.recommender"
    label = "recommender"
    verbose_name = "Recommender"

    def ready(self) -> None:
        # Each part registers itself with the ML core (index, training task, serving) and the
        # demo from here, as apps/chat/apps.py does.
        pass
