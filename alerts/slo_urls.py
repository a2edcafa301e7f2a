from __future__ import annotations

from django.urls import path

from . import slo_pages

urlpatterns = [
    path("", slo_pages.slo_list, name="slos"),
    path("new/", slo_pages.new_slo, name="slo-new"),
    path("<int:slo_id>/", slo_pages.slo_detail, name="slo"),
    path("<int:slo_id>/edit/", slo_pages.edit_slo, name="slo-edit"),
    path("<int:slo_id>/delete/", slo_pages.delete_slo, name="slo-delete"),
]
