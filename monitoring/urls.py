from __future__ import annotations

from django.urls import include, path

from . import views

urlpatterns = [
    path("functions/", views.functions, name="functions"),
    path("", include("monitoring.service_urls")),
]
