"""Analyst pages: dashboard, labelling queue, alert acknowledgement, demo mailbox."""

from __future__ import annotations

from django.urls import path

from apps.sentiment.alerts import views as alert_views
from apps.sentiment.dashboard import views as dashboard_views

urlpatterns: list = [
    path(
        "alerts/acknowledge/<str:token>/",
        alert_views.alert_acknowledge_page,
        name="alert_acknowledge",
    ),
    path("mailbox/", alert_views.mailbox_list, name="mailbox"),
    path("mailbox/<str:key>/", alert_views.mailbox_detail, name="mailbox_message"),
    path("mailbox/<str:key>/html/", alert_views.mailbox_html, name="mailbox_message_html"),
    path("", dashboard_views.overview, name="dashboard"),
    path("topics/<slug:slug>/", dashboard_views.topic_detail, name="dashboard-topic"),
    path("labelling/", dashboard_views.labelling_queue, name="labelling"),
]
