from __future__ import annotations

from django.urls import path

from ml.registry import api

app_name = "registry"

urlpatterns = [
    path("models/", api.ModelVersionListApi.as_view(), name="model-list"),
    path("models/<int:version_id>/", api.ModelVersionDetailApi.as_view(), name="model-detail"),
    path(
        "models/<int:version_id>/promote/",
        api.ModelVersionPromoteApi.as_view(),
        name="model-promote",
    ),
    path("tasks/<str:task>/rollback/", api.TaskRollbackApi.as_view(), name="task-rollback"),
    path("tasks/<str:task>/predict/", api.TaskPredictApi.as_view(), name="task-predict"),
]
