"""Push API and dashboard data endpoints."""

from __future__ import annotations

from django.urls import path

from apps.sentiment.ingest.api import ArticlesPushApi

urlpatterns: list = [
    path("articles/", ArticlesPushApi.as_view(), name="articles-push"),
]
