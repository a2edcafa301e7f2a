"""The functions API: list, detail and series."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router

from .auth import user_auth
from .models import Function
from .read import FunctionFilters, find_functions, function_detail
from .schemas import Error, FunctionDetail, FunctionPage, Series
from .series import minute_series
from .services import ServiceOut, service_rows
from .shared import shared_answer

router = Router(tags=["monitoring"])


@router.get("/functions", auth=user_auth, response=FunctionPage)
def list_functions(request: HttpRequest, filters: Query[FunctionFilters]) -> dict:
    return shared_answer(request, filters.max_age, filters.newer_than, lambda: find_functions(filters), FunctionPage)


@router.get("/services", auth=user_auth, response=list[ServiceOut])
def list_services(request: HttpRequest) -> list[dict]:
    return service_rows()


@router.get("/functions/{function_id}", auth=user_auth, response={200: FunctionDetail, 404: Error})
def get_function(request: HttpRequest, function_id: int) -> dict:
    return function_detail(function_id)


@router.get("/functions/{function_id}/series", auth=user_auth, response={200: Series, 404: Error})
def function_series(request: HttpRequest, function_id: int, minutes: int = Query(60, ge=1, le=1440)) -> dict:
    function = get_object_or_404(Function, id=function_id)
    return {"minutes": minutes, "points": minute_series(function, minutes)}
