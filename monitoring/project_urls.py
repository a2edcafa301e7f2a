from __future__ import annotations

from django.urls import path

from . import project_pages as pages

urlpatterns = [
    path("projects/", pages.project_list, name="projects"),
    path("projects/switch/", pages.switch, name="project-switch"),
    path("projects/<slug:slug>/settings/", pages.project_settings, name="project-settings"),
    path("projects/<slug:slug>/rename/", pages.rename, name="project-rename"),
    path("projects/<slug:slug>/delete/", pages.delete, name="project-delete"),
    path("projects/<slug:slug>/members/", pages.member, name="project-member"),
    path("projects/<slug:slug>/members/<str:username>/remove/", pages.remove_member, name="project-member-remove"),
    path("projects/<slug:slug>/teams/", pages.team_grant, name="project-team"),
    path("projects/<slug:slug>/teams/<int:team_id>/remove/", pages.remove_grant, name="project-team-remove"),
    path("teams/", pages.team_list, name="teams"),
    path("teams/<int:team_id>/members/", pages.team_member, name="team-member"),
    path("teams/<int:team_id>/members/<str:username>/remove/", pages.remove_team_member, name="team-member-remove"),
    path("teams/<int:team_id>/delete/", pages.delete_team, name="team-delete"),
]
