from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core import views as core_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/ml/", include("ml.registry.urls")),
    path("chat/", include("apps.chat.urls")),
    path("", include("apps.sentiment.urls")),
    path("", include("apps.recommender.urls")),
    path("", core_views.home, name="home"),
]

handler404 = "config.exceptions.handler404"
handler500 = "config.exceptions.handler500"
