"""Pages that compose the apps: the overview, and a function with its alerts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from alerts.models import Alert
from monitoring.models import Function
from monitoring.read import function_detail
from monitoring.views import first_steps, page

from .overview import overview_figures


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    figures = overview_figures()
    return page(request, "monitoring/overview.html", "overview", figures=figures, **first_steps())


@login_required
def function(request: HttpRequest, function_id: int) -> HttpResponse:
    detail = function_detail(function_id)
    service_id = Function.objects.filter(id=function_id).values_list("service_id", flat=True).get()
    context = {"function": detail, "service_id": service_id, "alerts": alerts_on(detail)}
    return page(request, "monitoring/function.html", "functions", **context)


def alerts_on(function: dict) -> list[Alert]:
    """The alerts whose subject is this function, newest first."""
    alerts = Alert.objects.select_related("rule").filter(service=function["service"], subject=function["name"])
    return list(alerts.order_by("-started_at")[:50])
