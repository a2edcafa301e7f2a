from __future__ import annotations

from django.urls import path

from . import people_pages as pages

urlpatterns = [
    path("settings/people/", pages.people_list, name="people"),
    path("settings/people/<int:user_id>/", pages.person, name="person"),
    path("settings/people/<int:user_id>/details/", pages.person_update, name="person-update"),
    path("settings/people/<int:user_id>/active/", pages.person_active, name="person-active"),
    path("settings/people/<int:user_id>/invite/", pages.person_invite, name="person-invite"),
    path(
        "settings/people/<int:user_id>/tokens/<int:token_id>/revoke/",
        pages.person_token_revoke,
        name="person-token-revoke",
    ),
    path("settings/tokens/", pages.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", pages.token_revoke, name="token-revoke"),
    # The one-time link an invited person follows (Django's password-reset machinery).
    path("set-password/<uidb64>/<token>/", pages.SetPasswordView.as_view(), name="set-password"),
]
