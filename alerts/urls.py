from __future__ import annotations

from django.urls import include, path

from . import action_link_pages, status_public, views

urlpatterns = [
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert, name="alert"),
    path("silences/", include("alerts.silence_urls")),
    path("", include("alerts.rule_urls")),
    path("channels/", include("alerts.channel_pages")),
    path("incidents/", include("alerts.incident_pages")),
    # Signed links in notifications: no login (the token is the permission).
    path("act/<str:token>/", action_link_pages.action_link, name="action-link"),
    path("status-pages/", include("alerts.status_urls")),
    # The public status pages: no login (tests/test_every_page_needs_a_login.py lists them as open).
    path("status/<slug:slug>/", status_public.status_page, name="status-public"),
    path("status/<slug:slug>.json", status_public.status_json, name="status-json"),
    path("status/<slug:slug>/feed.atom", status_public.incident_feed, name="status-feed"),
    path("slos/", include("alerts.slo_urls")),
    path("escalation/", include("alerts.escalation_pages")),
]
