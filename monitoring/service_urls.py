from __future__ import annotations

from django.urls import path

from . import service_pages as pages

urlpatterns = [
    path("services/", pages.services, name="services"),
    # The service's own page, /services/<id>/, composes the apps: resilience_site/urls.py.
    path("services/<int:service_id>/settings/", pages.settings_page, name="service-settings"),
    path("services/<int:service_id>/rename/", pages.rename, name="service-rename"),
    path("services/<int:service_id>/dependencies/", pages.dependencies, name="service-dependencies"),
    path("services/<int:service_id>/delete/", pages.delete, name="service-delete"),
    path("services/<int:service_id>/tokens/", pages.create_token, name="service-token-create"),
    path("services/<int:service_id>/tokens/<int:token_id>/rotate/", pages.rotate_token, name="service-token-rotate"),
    path("services/<int:service_id>/tokens/<int:token_id>/revoke/", pages.revoke_token, name="service-token-revoke"),
]
