"""Minute buckets and error minutes past retention are rolled into hourly rows; old hours,
error types no row counts any more, batches and breaker flips are forgotten."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from . import outcomes
from .models import (
    BreakerFlip,
    CallBucket,
    CallHour,
    CumulativePoint,
    ErrorHour,
    ErrorMinute,
    ErrorType,
    IngestBatch,
    Refusal,
)

log = logging.getLogger(__name__)
CHUNK = 5000


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def raw_cutoff(now: datetime | None = None) -> datetime:
    return hour_of((now or timezone.now()) - timedelta(days=settings.MONITOR_RAW_RETENTION_DAYS))


def roll_up_call_chunk(cutoff: datetime) -> int:
    with transaction.atomic():
        buckets = list(CallBucket.objects.filter(minute__lt=cutoff).order_by("id")[:CHUNK])
        if not buckets:
            return 0
        hours: dict[tuple[int, datetime], CallHour] = {}
        for bucket in buckets:
            key = (bucket.function_id, hour_of(bucket.minute))
            existing = hours.get(key)
            if existing is None:
                existing = hours[key] = CallHour(function_id=key[0], hour=key[1])
            existing.add(bucket)
        stored = CallHour.objects.select_for_update().filter(
            function_id__in={key[0] for key in hours}, hour__in={key[1] for key in hours}
        )
        for row in stored:
            key = (row.function_id, row.hour)
            if key in hours:
                row.add(hours[key])
                hours[key] = row
        CallHour.objects.bulk_create(
            [hours[key] for key in sorted(hours)],
            update_conflicts=True,
            unique_fields=["function", "hour"],
            update_fields=[*CallHour.COUNTED, "latency_max_ms", "histogram"],
        )
        outcomes.carry_over((bucket.function_id, bucket.outcomes) for bucket in buckets)
        CallBucket.objects.filter(id__in=[bucket.id for bucket in buckets]).delete()
    return len(buckets)


def roll_up_error_chunk(cutoff: datetime) -> int:
    with transaction.atomic():
        minutes = list(ErrorMinute.objects.filter(minute__lt=cutoff).order_by("id")[:CHUNK])
        if not minutes:
            return 0
        hours: dict[tuple[int, datetime], ErrorHour] = {}
        for row in minutes:
            key = (row.error_type_id, hour_of(row.minute))
            hours.setdefault(key, ErrorHour(error_type_id=key[0], hour=key[1])).add(row)
        stored = ErrorHour.objects.select_for_update().filter(
            error_type_id__in={key[0] for key in hours}, hour__in={key[1] for key in hours}
        )
        for row in stored:
            key = (row.error_type_id, row.hour)
            if key in hours:
                row.add(hours[key])
                hours[key] = row
        ErrorHour.objects.bulk_create(
            [hours[key] for key in sorted(hours)],
            update_conflicts=True,
            unique_fields=["error_type", "hour"],
            update_fields=["count", "first_seen", "last_seen"],
        )
        ErrorMinute.objects.filter(id__in=[row.id for row in minutes]).delete()
    return len(minutes)


def roll_up(roll_chunk: Callable[[datetime], int], what: str, now: datetime | None = None) -> int:
    """Roll rows older than the raw retention into hours, a chunk per transaction."""
    cutoff = raw_cutoff(now)
    total = 0
    while rolled := roll_chunk(cutoff):
        total += rolled
        log.info("rolled %d %s older than %s into hours (%d so far)", rolled, what, cutoff, total)
    return total


def forget_in_chunks(rows: QuerySet, what: str) -> int:
    """Delete the rows a query selects, a chunk per statement, so no delete holds its locks for long."""
    total = 0
    while ids := list(rows.values_list("id", flat=True)[:CHUNK]):
        # The query again, not just the ids: a row that stopped matching meanwhile stays.
        _, per_model = rows.filter(id__in=ids).delete()
        deleted = per_model.get(rows.model._meta.label, 0)
        if not deleted:
            break  # all of them changed under us: the next run sees them afresh
        total += deleted
        log.info("forgot %d %s (%d so far)", deleted, what, total)
    return total


def roll_up_calls(now: datetime | None = None) -> int:
    """Minute buckets and error minutes past the raw retention, into hours; the buckets rolled."""
    roll_up(roll_up_error_chunk, "error minutes", now)
    return roll_up(roll_up_call_chunk, "minute buckets", now)


def forget_old_hours(now: datetime | None = None) -> int:
    """Hours of calls past the hourly retention (returned), and of errors; then the error types
    no row counts any more, so their room under MONITOR_MAX_ERROR_TYPES is free again."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MONITOR_HOURLY_RETENTION_DAYS)
    forget_in_chunks(ErrorHour.objects.filter(hour__lt=cutoff), "hours of errors")
    forget_unused_error_types(now)
    return forget_in_chunks(CallHour.objects.filter(hour__lt=cutoff), "hours of calls")


def forget_unused_error_types(now: datetime | None = None) -> int:
    """Error types no minute or hour counts any more. Only those created over an hour ago: a
    type and its first minute are written together, so none is taken from a batch under way."""
    unused = ErrorType.objects.filter(created__lt=(now or timezone.now()) - timedelta(hours=1)).exclude(
        Exists(ErrorMinute.objects.filter(error_type=OuterRef("pk")))
    )
    return forget_in_chunks(unused.exclude(Exists(ErrorHour.objects.filter(error_type=OuterRef("pk")))), "error types")


def forget_old_batches(now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.MONITOR_IDEMPOTENCY_HOURS)
    return forget_in_chunks(IngestBatch.objects.filter(created__lt=cutoff), "idempotency keys")


def forget_old_flips(now: datetime | None = None) -> int:
    """Breaker transitions past their retention; the breakers' current states stay."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.MONITOR_BREAKER_FLIP_RETENTION_DAYS)
    return forget_in_chunks(BreakerFlip.objects.filter(at__lt=cutoff), "breaker flips")


def forget_old_refusals(now: datetime | None = None) -> int:
    """Refusal counts are kept as long as minute buckets: they explain gaps in them."""
    cutoff = (now or timezone.now()).date() - timedelta(days=settings.MONITOR_RAW_RETENTION_DAYS)
    return forget_in_chunks(Refusal.objects.filter(day__lt=cutoff), "refusal counts")


def forget_quiet_streams(now: datetime | None = None) -> int:
    """Cumulative streams silent for a day: a total that old would crowd one minute with a day's
    calls, so such a stream starts again from a baseline (monitoring.cumulative)."""
    cutoff = (now or timezone.now()) - timedelta(days=1)
    return forget_in_chunks(CumulativePoint.objects.filter(seen__lt=cutoff), "cumulative streams")
