from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "apps.chat"
    label = "chat"
    verbose_name = "Support chat"

    def ready(self) -> None:
        from django.conf import settings

        from apps.chat import signals  # noqa: F401  (connects the index signals)
        from apps.chat.demo_data import load_demo_knowledge_base
        from apps.chat.training import intent_dataset, intent_decision_metrics
        from apps.core.demo import DemoContribution, demo_register
        from ml.registry.catalog import TrainingTaskSpec, training_task_register

        training_task_register(
            TrainingTaskSpec(
                name="chat.intent",
                task_type="classification",
                description="Question -> knowledge-base entry, from phrasings and liked answers",
                build_dataset=intent_dataset,
                default_hyperparameters=settings.CHAT_INTENT_HYPERPARAMETERS,
                extra_metrics=intent_decision_metrics,
            )
        )
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
