"""The alerts' page fragments: the alerts table's body, and one alert's state, acknowledge form
and history."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from monitoring.auth import fragment_view
from monitoring.shared import shared_fragment

from . import read
from .views import REMIND_CHOICES, alert_listing, can_act_on


@fragment_view
def alert_table(request: HttpRequest) -> HttpResponse:
    """The alerts for the page's state and service filters, with the pager's count."""
    return shared_fragment(request, "alerts/_alerts_table.html", lambda: alert_listing(request))


@fragment_view
def alert_state(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert's state, how long it has been open, its value now and when it fired."""
    alert = read.get_alert(alert_id, request.user)
    context = {"alert": read.state_of(alert, timezone.now()), "can_act": can_act_on(request, alert)}
    return render(request, "alerts/_alert_state.html", context)


@fragment_view
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    """The acknowledge form (a reason, when to remind again) while the alert fires; else nothing."""
    alert = read.get_alert(alert_id, request.user)
    context = {"alert": alert, "can_act": can_act_on(request, alert)}
    return render(request, "alerts/_alert_acknowledge.html", context | {"remind_choices": REMIND_CHOICES})


@fragment_view
def alert_history(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert's timeline (who did what, when) and its notifications."""
    return render(request, "alerts/_alert_history.html", {"alert": read.alert_detail(alert_id, request.user)})


urlpatterns = [
    path("alerts/table", alert_table, name="fragment-alerts"),
    path("alerts/<int:alert_id>/state", alert_state, name="fragment-alert-state"),
    path("alerts/<int:alert_id>/history", alert_history, name="fragment-alert-history"),
    path("alerts/<int:alert_id>/acknowledge", alert_acknowledge, name="fragment-alert-acknowledge"),
]
