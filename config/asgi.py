"""ASGI entry point: HTTP through Django, websockets through Channels routers of the apps."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not settings.configured:  # a web server starting (not a test process importing this module)
    # Each HTTP request runs in a thread of its own, which never sees its persistent connection
    # again: they piled up until PostgreSQL refused more. A web process connects per request
    # (Django's advice under ASGI); HttpConcurrencyLimit bounds how many it holds at once.
    os.environ.setdefault("DB_CONN_MAX_AGE", "0")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.core.websocket import SettingsOriginValidator  # noqa: E402
from config.http_limit import HttpConcurrencyLimit  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from ml.serving.heap import freeze_long_lived  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": HttpConcurrencyLimit(
            django_asgi_app, limit=settings.DB_WEB_MAX_REQUESTS, wait_s=settings.DB_WEB_WAIT_S
        ),
        # Our own hosts, plus the sites that embed the chat widget (CHAT_WIDGET_ORIGINS).
        # The agent socket also needs a staff session, which a foreign page cannot send.
        "websocket": SettingsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything imported so far lives as long as the server: keep the garbage collector off it
# (a full collection of it stalled every request for ~200 ms; see ml/serving/heap.py).
freeze_long_lived("ASGI application startup")

if settings.ML_PRELOAD:
    # Each app's web warm-up (its declared models, encoders, indexes) loads in the background;
    # /readyz answers 503 until all are done, so a load balancer does not send the first
    # customers to a process still loading. The apps declare them (ml/registry/plugins.py).
    from ml.registry.serving import web_warm_ups_start

    web_warm_ups_start()
