"""The functions API: list, detail and series."""

# No `from __future__ import annotations`: ninja resolves the annotations of a decorated
# view (@paginate, @shared) in the decorator's module, where these names are unknown.

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router
from ninja.pagination import paginate

from .auth import user_auth
from .models import Function
from .paging import Rows
from .read import FunctionFilters, find_functions, function_detail
from .schemas import FunctionDetail, FunctionOut, FunctionPage, Series, errors
from .series import minute_series
from .shared import SharedPagination, Sharing, shared

router = Router(tags=["monitoring"])


@router.get("/functions", auth=user_auth, response={200: list[FunctionOut], **errors(401, 422, 503)})
@shared(FunctionPage)
@paginate(SharedPagination)
def list_functions(request: HttpRequest, filters: Query[FunctionFilters], sharing: Query[Sharing]) -> Rows | list:
    return find_functions(filters)


@router.get("/functions/{function_id}", auth=user_auth, response={200: FunctionDetail, **errors(401, 404, 422, 503)})
def get_function(request: HttpRequest, function_id: int) -> dict:
    return function_detail(function_id)


@router.get("/functions/{function_id}/series", auth=user_auth, response={200: Series, **errors(401, 404, 422, 503)})
def function_series(request: HttpRequest, function_id: int, minutes: int = Query(60, ge=1, le=1440)) -> dict:
    function = get_object_or_404(Function, id=function_id)
    return {"minutes": minutes, "points": minute_series(function, minutes)}
