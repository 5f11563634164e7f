from __future__ import annotations

from django.urls import path

from apps.chat import views

app_name = "chat"

urlpatterns = [
    path("demo/", views.demo, name="demo"),
    path("console/", views.console, name="console"),
]
