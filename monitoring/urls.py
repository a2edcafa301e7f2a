from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("functions/", views.functions, name="functions"),
    path("functions/<int:function_id>/", views.function, name="function"),
]
