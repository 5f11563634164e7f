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
        from apps.recommender.training import NEXT_ITEM_TASK

        demo_register(
            DemoContribution(
                app="recommender",
                load_data=load_demo_shop,
                training_tasks=(NEXT_ITEM_TASK,),  # the ranking model, on the demo's events
                urls=(
                    ("Demo shop", "recommender:shop"),
                    ("A/B experiments", "admin:recommender_experiment_changelist"),
                ),
            )
        )

        from apps.recommender.services.item_index import item_index_spec
        from ml.registry.indexes import index_register

        index_register(item_index_spec())

        from django.conf import settings

        from apps.recommender.training import NEXT_ITEM_TASK, next_item_dataset
        from ml.registry.catalog import TrainingTaskSpec, training_task_register
        from ml.registry.plugins import AppServingSpec, app_serving_register
        from ml.training import TaskKind

        # ranking model: learns what users did next from events; item vectors start from text
        training_task_register(
            TrainingTaskSpec(
                name=NEXT_ITEM_TASK,
                task_type=TaskKind.NEXT_ITEM,
                description="Recent items -> next item, from every client's events and item texts",
                build_dataset=next_item_dataset,
                default_hyperparameters=settings.RECOMMENDER_NEXT_ITEM_HYPERPARAMETERS,
            )
        )
        # Web processes keep the promoted ranking model loaded (one spec per app: other parts'
        # serving needs, e.g. a warm-up, join this call).
        app_serving_register(AppServingSpec(app="recommender", web_tasks=(NEXT_ITEM_TASK,)))
