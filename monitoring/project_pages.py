"""The project pages: the switcher's choice, the owner's list of projects, a project's settings
(members, teams, services) and the owner's teams. Thin: every change is an action in
project_changes.py, the one the API calls too."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import projects


@require_POST
@login_required
def switch(request: HttpRequest) -> HttpResponse:
    """Make the chosen project the current one and go back where the switcher was."""
    projects.choose(request, request.POST.get("project", ""))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = "/"
    return redirect(back)
