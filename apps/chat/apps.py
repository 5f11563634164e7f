from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _web_warm_up() -> Any:
    """The chat's web warm-up; imported when it runs, so `manage.py` commands stay light."""
    from apps.chat.services import answering_warm_up

    return answering_warm_up()


class ChatConfig(AppConfig):
    name = "apps.chat"
    label = "chat"
    verbose_name = "Support chat"

    def ready(self) -> None:
        from django.conf import settings

        from apps.chat import signals  # noqa: F401  (connects the index signals)
        from apps.chat.demo_data import load_demo_knowledge_base
        from apps.chat.kb_index import kb_index_spec
        from apps.chat.scoring import unanswered_scoring_handler
        from apps.chat.training import intent_dataset, intent_decision_metrics
        from apps.core.demo import DemoContribution, demo_register
        from ml.registry.catalog import TrainingTaskSpec, training_task_register
        from ml.registry.indexes import index_register
        from ml.registry.plugins import (
            AppServingSpec,
            app_serving_register,
            batch_scoring_register,
        )
        from ml.training import TaskKind

        index_register(kb_index_spec())  # the knowledge base: phrasing id -> vector
        training_task_register(
            TrainingTaskSpec(
                name="chat.intent",
                task_type=TaskKind.CLASSIFICATION,
                description="Question -> knowledge-base entry, from phrasings and liked answers",
                build_dataset=intent_dataset,
                default_hyperparameters=settings.CHAT_INTENT_HYPERPARAMETERS,
                extra_metrics=intent_decision_metrics,
            )
        )
        # Web processes hold the intent model and (through the warm-up) the encoder, the
        # knowledge-base index and the hand-off phrases; /readyz waits for them.
        app_serving_register(
            AppServingSpec(app="chat", web_tasks=("chat.intent",), warm_up=_web_warm_up)
        )
        # After a chat.intent promotion, a gpu worker re-scores the open unanswered questions.
        batch_scoring_register(unanswered_scoring_handler())
        demo_register(
            DemoContribution(
                app="chat",
                load_data=load_demo_knowledge_base,
                training_tasks=("chat.intent",),
                # ~120 phrasings: a few more passes than the default (about 40 s on 2 CPU cores)
                hyperparameters={"chat.intent": {"epochs": 10}},
                urls=(
                    ("Chat widget demo", "chat:demo"),
                    ("Agent console", "chat:console"),
                    ("Chat analytics", "admin:chat_analytics"),
                ),
            )
        )
