from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from monitoring.login import LoginView

from . import metrics_export, otlp_api, service_page, views
from .api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("metrics", metrics_export.metrics, name="metrics"),
    path("otlp/v1/metrics", otlp_api.export_metrics, name="otlp-metrics"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.overview, name="overview"),
    path("functions/<int:function_id>/", views.function, name="function"),
    path("services/<int:service_id>/", service_page.service, name="service"),
    path("services/named/<path:name>/", service_page.service_named, name="service-named"),
    path("", include("monitoring.urls")),
    path("", include("queues.urls")),
    path("", include("alerts.urls")),
    path("", include("monitoring.audit_pages")),
    path("", include("monitoring.people_urls")),
    path("", include("monitoring.project_urls")),
    # What live pages ask for when the websocket says something changed: one template each.
    path("fragments/", include("resilience_site.fragments")),
    path("fragments/", include("resilience_site.trend_fragments")),
    path("fragments/", include("monitoring.fragments")),
    path("fragments/", include("queues.fragments")),
    path("fragments/", include("alerts.fragments")),
]
