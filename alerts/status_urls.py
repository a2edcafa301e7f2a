from __future__ import annotations

from django.urls import path

from . import status_page_admin as pages

urlpatterns = [
    path("", pages.status_page_list, name="status-pages"),
    path("new/", pages.new_status_page, name="status-page-new"),
    path("<int:page_id>/", pages.status_page_settings, name="status-page"),
    path("<int:page_id>/delete/", pages.delete_status_page, name="status-page-delete"),
    path("<int:page_id>/components/", pages.add_component, name="status-component-new"),
    path("<int:page_id>/components/<int:component_id>/", pages.change_component, name="status-component"),
    path("<int:page_id>/components/<int:component_id>/remove/", pages.remove_component, name="status-component-remove"),
    path("<int:page_id>/incidents/", pages.publish, name="status-incident-new"),
    path("<int:page_id>/incidents/<int:incident_id>/", pages.incident, name="status-incident"),
    path("<int:page_id>/incidents/<int:incident_id>/delete/", pages.delete_incident, name="status-incident-delete"),
]
