"""Push API and dashboard data endpoints."""

from __future__ import annotations

from django.urls import path

from apps.sentiment.dashboard import api as dashboard_api
from apps.sentiment.ingest.api import ArticlesPushApi

urlpatterns: list = [
    path("articles/", ArticlesPushApi.as_view(), name="articles-push"),
    path("topics/", dashboard_api.TopicOverviewApi.as_view(), name="dashboard-api-overview"),
    path(
        "topics/<slug:slug>/timeline/",
        dashboard_api.TopicTimelineApi.as_view(),
        name="dashboard-api-timeline",
    ),
    path("labelling/queue/", dashboard_api.LabellingQueueApi.as_view(), name="labelling-api-queue"),
    path("labels/", dashboard_api.ArticleLabelCreateApi.as_view(), name="labelling-api-label"),
]
