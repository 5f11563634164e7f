"""Client API: catalogue and event ingest, recommendations (all under /api/recommender/)."""

from __future__ import annotations

from django.urls import path

from apps.recommender.api import views

urlpatterns = [
    path("items/", views.ItemsUpsertApi.as_view(), name="api-items"),
    path("items/<str:external_id>/", views.ItemDeleteApi.as_view(), name="api-item"),
    path("items/<str:external_id>/similar/", views.ItemSimilarApi.as_view(), name="api-similar"),
    path("events/", views.EventsIngestApi.as_view(), name="api-events"),
    path(
        "users/<str:user_id>/recommendations/",
        views.UserRecommendationsApi.as_view(),
        name="api-recommendations",
    ),
    path("popular/", views.PopularApi.as_view(), name="api-popular"),
]
