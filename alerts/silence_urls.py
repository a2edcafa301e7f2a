from __future__ import annotations

from django.urls import path

from . import silence_pages

urlpatterns = [
    path("", silence_pages.silence_list, name="silences"),
    path("new/", silence_pages.new_silence, name="silence-new"),
    path("preview/", silence_pages.preview, name="silence-preview"),
    path("<int:silence_id>/", silence_pages.silence_detail, name="silence"),
    path("<int:silence_id>/end/", silence_pages.end, name="silence-end"),
]
