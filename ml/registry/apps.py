from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "ml.registry"
    label = "registry"
    verbose_name = "Model registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process that loads Django, so the registry's
        # send-by-name finds the task here too (routing, eager mode) without importing it.
        from ml import tasks  # noqa: F401
