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
        from apps.core.demo import DemoContribution, demo_register
        from apps.recommender.demo_data import load_demo_shop

        demo_register(
            DemoContribution(
                app="recommender",
                load_data=load_demo_shop,
                urls=(
                    ("Demo shop", "recommender:shop"),
                    ("A/B experiments", "admin:recommender_experiment_changelist"),
                ),
            )
        )

        from apps.recommender.services.item_index import item_index_spec
        from ml.registry.indexes import index_register

        index_register(item_index_spec())
