from __future__ import annotations

from django.urls import include, path

from . import action_link_pages, views

urlpatterns = [
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert, name="alert"),
    path("silences/", include("alerts.silence_urls")),
    path("", include("alerts.rule_urls")),
    path("channels/", include("alerts.channel_pages")),
    # Signed links in notifications: no login (the token is the permission).
    path("act/<str:token>/", action_link_pages.action_link, name="action-link"),
]
