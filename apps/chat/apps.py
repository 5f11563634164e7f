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
        from apps.chat.kb_index import kb_index_spec
        from apps.chat.training import intent_dataset
        from apps.core.demo import DemoContribution, demo_register
        from ml.registry.catalog import TrainingTaskSpec, training_task_register
        from ml.registry.indexes import index_register
        from ml.training import TaskKind

        index_register(kb_index_spec())  # the knowledge base: phrasing id -> vector
        training_task_register(
            TrainingTaskSpec(
                name="chat.intent",
                task_type=TaskKind.CLASSIFICATION,
                description="Question -> knowledge-base entry, from phrasings and liked answers",
                build_dataset=intent_dataset,
                default_hyperparameters=settings.CHAT_INTENT_HYPERPARAMETERS,
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
