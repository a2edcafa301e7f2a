from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone

from .login import AdminLoginForm
from .models import Refusal, Service

# The admin's own login page limits wrong passwords like the site's.
admin.site.login_form = AdminLoginForm


class RefusalInline(admin.TabularInline):
    """Refused batches by day and reason: counted by ingest, read here."""

    model = Refusal
    fields = ["day", "reason", "count"]
    readonly_fields = fields
    ordering = ["-day", "reason"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return False


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "created", "refused_today"]
    search_fields = ["name"]
    inlines = [RefusalInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        today = Q(refusals__day=timezone.now().date())
        return super().get_queryset(request).annotate(refused=Sum("refusals__count", filter=today, default=0))

    @admin.display(description="batches refused today", ordering="refused")
    def refused_today(self, service: Service) -> int:
        return service.refused
