from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "ml.registry"
    label = "registry"
    verbose_name = "Model registry"
    default_auto_field = "django.db.models.BigAutoField"
