from __future__ import annotations

from django.urls import path

from . import project_pages as pages

urlpatterns = [
    path("projects/switch/", pages.switch, name="project-switch"),
]
