from __future__ import annotations

from django.db import models
from django.utils import timezone

from monitoring.models import Service


class Queue(models.Model):
    service = models.ForeignKey(Service, models.CASCADE, related_name="queues")
    name = models.CharField(max_length=200)
    created = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="queue_unique_name")]

    def __str__(self) -> str:
        return f"{self.service.name}/{self.name}"

    def latest(self) -> Snapshot | None:
        return self.snapshots.order_by("-at").first()


class Snapshot(models.Model):
    """What a queue looked like at one moment."""

    queue = models.ForeignKey(Queue, models.CASCADE, related_name="snapshots")
    at = models.DateTimeField()
    depth = models.IntegerField()
    in_flight = models.IntegerField(default=0)
    dead_letter = models.IntegerField(default=0)
    oldest_age_s = models.FloatField(null=True, blank=True)

    class Meta:
        # Serves a queue's series and its latest snapshot.
        indexes = [
            models.Index(fields=["queue", "-at"], name="snapshot_queue_at"),
            # Serves the retention roll-up.
            models.Index(fields=["at"], name="snapshot_at"),
        ]


class SnapshotHour(models.Model):
    """Snapshots past retention, rolled up by hour."""

    queue = models.ForeignKey(Queue, models.CASCADE, related_name="hours")
    hour = models.DateTimeField()
    samples = models.IntegerField(default=0)
    depth_sum = models.BigIntegerField(default=0)
    depth_max = models.IntegerField(default=0)
    in_flight_max = models.IntegerField(default=0)
    dead_letter_max = models.IntegerField(default=0)
    oldest_age_max_s = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "hour"], name="snapshothour_queue_hour")]
        # Serves the deletion of hours past retention.
        indexes = [models.Index(fields=["hour"], name="snapshothour_hour")]

    @property
    def depth_avg(self) -> float:
        return self.depth_sum / self.samples if self.samples else 0.0
