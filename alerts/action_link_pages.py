"""The page an action link opens: no login; GET asks to confirm, the POST acts.

A link-preview bot (chat apps and mail scanners fetch links) only ever GETs, so it
changes nothing. A refused link (tampered, expired, used, alert resolved) answers a page
saying why, with a 4xx status.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from . import action_links, link_actions
from .action_links import ACTIONS, Claim, LinkRefused
from .models import Alert

DONE = {"acknowledge": "acknowledged", "suppress": "suppressed for 1 hour"}


def context(claim: Claim, alert: Alert) -> dict:
    # A notice is per incident: its link acts on the incident of the alert it names.
    incident = alert.incident
    return {
        "claim": claim,
        "alert": alert,
        "incident": incident,
        "label": ACTIONS[claim.action],
        "done": DONE[claim.action],
    }


def refused(request: HttpRequest, error: LinkRefused) -> HttpResponse:
    return render(request, "alerts/action_link.html", {"refused": error.message}, status=error.status)


@require_http_methods(["GET", "POST"])
def action_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        claim = action_links.read(token)
        if request.method == "POST":
            alert = link_actions.use(claim)
            return render(request, "alerts/action_link.html", {**context(claim, alert), "acted": True})
        alert = link_actions.check(claim)
    except LinkRefused as error:
        return refused(request, error)
    return render(request, "alerts/action_link.html", context(claim, alert))
