"""The recommender's URLs: the client API under /api/recommender/, the demo shop under /shop/."""

from __future__ import annotations

from django.urls import include, path

app_name = "recommender"

urlpatterns = [
    path("api/recommender/", include("apps.recommender.api_urls")),
    path("shop/", include("apps.recommender.page_urls")),
]
