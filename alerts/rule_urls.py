from __future__ import annotations

from django.urls import path

from . import rule_pages

urlpatterns = [
    path("rules/", rule_pages.rules, name="rules"),
    path("rules/new/", rule_pages.new_rule, name="rule-new"),
    path("rules/preview/", rule_pages.preview_rule, name="rule-preview"),
    path("rules/<int:rule_id>/", rule_pages.edit_rule, name="rule"),
    path("rules/<int:rule_id>/enable/", rule_pages.enable_rule, name="rule-enable"),
    path("rules/<int:rule_id>/disable/", rule_pages.disable_rule, name="rule-disable"),
    path("rules/<int:rule_id>/delete/", rule_pages.delete_rule, name="rule-delete"),
]
