"""The monitor's URLs: the push API under /api/sentiment/, analyst pages under /sentiment/."""

from __future__ import annotations

from django.urls import include, path

app_name = "sentiment"

urlpatterns = [
    path("api/sentiment/", include("apps.sentiment.api_urls")),
    path("sentiment/", include("apps.sentiment.page_urls")),
]
