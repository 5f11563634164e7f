from __future__ import annotations

import logging

from django.apps import AppConfig

logger = logging.getLogger("tessera")


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Tessera platform"

    def ready(self) -> None:
        from django.conf import settings

        from apps.core import metrics  # registers the scrape-time collectors

        metrics.register_collectors()
        if settings.TESSERA_MODE == "redis":
            logger.info(
                "tessera mode=redis broker=redis channel_layer=redis db=%s",
                settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            )
        else:
            logger.info(
                "tessera mode=embedded broker=filesystem(%s) channel_layer=in-memory db=%s "
                "(set REDIS_URL for multi-process channels and a Redis broker)",
                settings.BROKER_DIR,
                settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            )
