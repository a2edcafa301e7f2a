from __future__ import annotations

from django.urls import include, path

from . import views

urlpatterns = [
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert, name="alert"),
    path("silences/", include("alerts.silence_urls")),
    path("", include("alerts.rule_urls")),
    path("channels/", include("alerts.channel_pages")),
    path("slos/", include("alerts.slo_urls")),
]
