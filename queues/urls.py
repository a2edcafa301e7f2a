from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("queues/", views.queues, name="queues"),
    path("queues/<int:queue_id>/", views.queue, name="queue"),
]
