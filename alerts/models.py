from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from monitoring.models import default_project_id

from . import secrets
from .transports import KIND_CHOICES, TRANSPORTS, ConfigError, Transport, transport_for
from .transports.base import MASK


def kind_choices() -> list[tuple[str, str]]:
    # Callable choices: the transports registry is the one list of kinds.
    return KIND_CHOICES


class Severity(models.TextChoices):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Metric(models.TextChoices):
    ERROR_RATE = "error_rate"
    TIMEOUT_RATE = "timeout_rate"
    REJECTED_RATE = "rejected_rate"
    P50_MS = "p50_ms"
    P95_MS = "p95_ms"
    P99_MS = "p99_ms"
    AVAILABILITY = "availability"
    CALL_VOLUME = "call_volume"
    RETRIES_PER_CALL = "retries_per_call"
    BREAKER_OPEN_S = "breaker_open_s"
    BREAKER_HALF_OPEN_S = "breaker_half_open_s"
    BREAKER_FLIPS = "breaker_flips"
    CONCURRENCY_UTILISATION = "concurrency_utilisation"
    QUEUE_DEPTH = "queue_depth"
    DEAD_LETTER = "dead_letter"
    DEAD_LETTER_GROWTH = "dead_letter_growth"
    OLDEST_PENDING_AGE_S = "oldest_pending_age_s"
    REPORTER_SILENT_MINUTES = "reporter_silent_minutes"
    # Only the rule an SLO keeps for its burn-rate alerts (alerts/slo_changes.py) measures this.
    SLO_BURN_RATE = "slo_burn_rate"


class GroupBy(models.TextChoices):
    """Which open alerts of a rule share an incident: those on the same subject, or the same service."""

    SUBJECT = "subject"
    SERVICE = "service"


# Highest first: an incident's severity is the highest of its alerts'.
SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class Op(models.TextChoices):
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="


class Channel(models.Model):
    name = models.CharField(max_length=100)
    project = models.ForeignKey("monitoring.Project", models.PROTECT, related_name="+", default=default_project_id)
    kind = models.CharField(max_length=20, choices=kind_choices)
    # The config without its secrets (the transport's secret_keys), which live encrypted in
    # `sealed`: {key: Fernet token} (alerts/secrets.py). save() moves a secret found here there.
    config = models.JSONField(default=dict, blank=True)
    sealed = models.JSONField(default=dict, blank=True)
    # Where messages go, safe to show to anyone (the transport's target()).
    target = models.CharField(max_length=300, blank=True, default="")
    # None: the MONITOR_CHANNEL_RATE_PER_MINUTE default.
    rate_per_minute = models.IntegerField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    @property
    def secret_keys(self) -> tuple[str, ...]:
        cls = TRANSPORTS.get(self.kind)
        return cls.secret_keys if cls else ()

    def save(self, *args: object, **kwargs: object) -> None:
        self.seal()
        super().save(*args, **kwargs)

    def set_config(self, config: dict) -> None:
        """Take a whole cleaned config (secrets in plain text); they are encrypted on save."""
        self.config = dict(config)
        self.sealed = {}
        self.target = ""
        self.seal()

    def seal(self) -> None:
        """Encrypt any secret still in plain text in config, and name the target again."""
        plain = {k: v for k, v in self.config.items() if k in self.secret_keys}
        if not plain and self.target:
            return
        self.config = {k: v for k, v in self.config.items() if k not in self.secret_keys}
        self.sealed = {**self.sealed, **{k: secrets.encrypt(v) for k, v in plain.items() if v}}
        try:
            self.target = transport_for(self.kind, {**self.config, **plain, **self.revealed()}).target()[:300]
        except (ConfigError, KeyError, secrets.SecretUnreadable):
            pass

    def revealed(self) -> dict:
        """The secrets in plain text (raises SecretUnreadable when no key decrypts one)."""
        return {key: secrets.decrypt(token) for key, token in self.sealed.items()}

    def full_config(self) -> dict:
        return {**self.config, **self.revealed()}

    def masked_config(self) -> dict:
        """The config as shown: each secret that is set reads as MASK."""
        shown = {k: (MASK if k in self.secret_keys and v else v) for k, v in self.config.items()}
        return {**shown, **{key: MASK for key in self.sealed}}

    def reencrypt(self) -> int:
        """Encrypt every secret again with the first key; returns how many (saved here)."""
        with transaction.atomic():
            # Read under a lock: an edit saved meanwhile is not overwritten with the older secrets.
            sealed = Channel.objects.select_for_update().values_list("sealed", flat=True).get(id=self.id)
            self.sealed = {key: secrets.rotate(token) for key, token in sealed.items()}
            Channel.objects.filter(id=self.id).update(sealed=self.sealed)
        return len(self.sealed)

    def transport(self) -> Transport:
        try:
            config = self.full_config()
        except secrets.SecretUnreadable as error:
            raise ConfigError("config", str(error)) from None
        return transport_for(self.kind, config)

    def disable(self, reason: str) -> bool:
        changed = Channel.objects.filter(id=self.id, disabled_at__isnull=True).update(
            disabled_at=timezone.now(), disabled_reason=reason[:500]
        )
        return changed == 1


class RuleQuerySet(models.QuerySet):
    def configured(self) -> RuleQuerySet:
        """The rules people write (not the ones SLOs keep for their alerts)."""
        return self.exclude(metric=Metric.SLO_BURN_RATE)


class Rule(models.Model):
    name = models.CharField(max_length=200)
    project = models.ForeignKey("monitoring.Project", models.PROTECT, related_name="+", default=default_project_id)
    enabled = models.BooleanField(default=True)
    metric = models.CharField(max_length=40, choices=Metric.choices)
    op = models.CharField(max_length=2, choices=Op.choices, default=Op.GT)
    threshold = models.FloatField()
    # Hysteresis: once firing, the alert resolves only when the value no longer passes
    # this threshold. None: the firing threshold.
    resolve_threshold = models.FloatField(null=True, blank=True)
    window_minutes = models.IntegerField(default=5)
    min_calls = models.IntegerField(default=0)
    for_seconds = models.IntegerField(default=0)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    # Glob patterns (fnmatch): "*" means every service / every function or queue.
    service = models.CharField(max_length=200, default="*")
    subject = models.CharField(max_length=200, default="*")
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    cooldown_minutes = models.IntegerField(default=60)
    group_by = models.CharField(max_length=10, choices=GroupBy.choices, default=GroupBy.SUBJECT)
    # Who to page, step by step, while its incidents go unacknowledged (alerts/escalation.py).
    escalation_policy = models.ForeignKey(
        "EscalationPolicy", models.SET_NULL, null=True, blank=True, related_name="rules"
    )
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AlertState(models.TextChoices):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


OPEN_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)


class IncidentState(models.TextChoices):
    OPEN = "open"  # at least one of its alerts is firing and not acknowledged
    ACKNOWLEDGED = "acknowledged"  # every open alert of it is acknowledged
    RESOLVED = "resolved"  # all its alerts are resolved


OPEN_INCIDENT_STATES = (IncidentState.OPEN, IncidentState.ACKNOWLEDGED)


class Incident(models.Model):
    """Alerts open at the same time on one subject (or one service, by the rule's group_by):
    one page, one set of notifications. Its state follows its alerts (alerts.incidents.sync)."""

    # "subject:<service>/<subject>" or "service:<service>": alerts with the same key group here.
    key = models.CharField(max_length=320)
    service = models.CharField(max_length=100)
    subject = models.CharField(max_length=200, blank=True, default="")  # "" when grouped by service
    severity = models.CharField(max_length=10, choices=Severity.choices)
    state = models.CharField(max_length=15, choices=IncidentState.choices, default=IncidentState.OPEN)
    started_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The notice waiting to go ("firing", "updated", "resolved") and when it is due; the last
    # one sent (the group interval counts from it); the next reminder while nobody acknowledges.
    pending_event = models.CharField(max_length=10, blank=True, default="")
    notify_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    # Its escalation (alerts/escalation.py): the policy it follows (its first alert's rule's,
    # else its service's), the step last run (0-based; None: not started) and in which round,
    # when the next step is due, and why it ended ("" while it runs or before it starts).
    escalation_policy = models.ForeignKey(
        "EscalationPolicy", models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    escalation_step = models.IntegerField(null=True, blank=True)
    # Defaults in the database too: rows written by code that predates these (an older data
    # migration) still get them.
    escalation_round = models.IntegerField(default=0, db_default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    escalation_ended = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # At most one open incident per key: two evaluators cannot open two.
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(state__in=["open", "acknowledged"]),
                name="incident_one_open_per_key",
            ),
        ]
        indexes = [
            # Serves the incident list filtered by state, newest first.
            models.Index(fields=["state", "-started_at"], name="incident_state_started"),
            # Serves the sweep for notices that are due.
            models.Index(fields=["notify_at"], name="incident_notify_at"),
            # Serves the periodic check for escalation steps that are due.
            models.Index(fields=["next_escalation_at"], name="incident_next_escalation"),
        ]

    def __str__(self) -> str:
        return f"incident #{self.pk} on {self.name}"

    @property
    def name(self) -> str:
        return f"{self.service}/{self.subject}" if self.subject else self.service

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_INCIDENT_STATES


class Alert(models.Model):
    """One rule on one subject (its fingerprint), from firing to resolved."""

    # Null once the rule is deleted: the alert (resolved first) keeps its history.
    rule = models.ForeignKey(Rule, models.SET_NULL, null=True, blank=True, related_name="alerts")
    fingerprint = models.CharField(max_length=100)
    service = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    metric = models.CharField(max_length=40, choices=Metric.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    state = models.CharField(max_length=15, choices=AlertState.choices, default=AlertState.FIRING)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField()
    summary = models.CharField(max_length=500, blank=True, default="")
    started_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # "Remind me again if still firing after X": the acknowledgement lapses then.
    ack_expires_at = models.DateTimeField(null=True, blank=True)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    suppressed_until = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(Incident, models.SET_NULL, null=True, blank=True, related_name="alerts")
    # Flapping: how often the condition cleared and came back while the alert stayed open, and
    # since when it has been clear now (it resolves after MONITOR_RESOLVE_AFTER_S of that).
    flaps = models.IntegerField(default=0)
    clear_since = models.DateTimeField(null=True, blank=True)
    # The open alert that explains this one, so this one is not notified (alerts/inhibition.py):
    # a breaker open on the same function, or a critical alert on a service its service depends
    # on. Kept once resolved: it says why the alert was never notified.
    inhibited_by = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="inhibits")
    inhibited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # At most one open alert per rule and subject: two evaluators cannot both fire it.
            models.UniqueConstraint(
                fields=["rule", "fingerprint"],
                condition=models.Q(state__in=["firing", "acknowledged"]),
                name="alert_one_open_per_fingerprint",
            ),
        ]
        indexes = [
            # Serves the alert list filtered by state, newest first.
            models.Index(fields=["state", "-started_at"], name="alert_state_started"),
            # Serves a subject's alerts, newest first: the function page, the related alerts.
            models.Index(fields=["service", "subject", "-started_at"], name="alert_subject_started"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_name} on {self.service}/{self.subject}"

    @property
    def rule_name(self) -> str:
        return self.rule.name if self.rule else "a deleted rule"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def is_suppressed(self, now: datetime | None = None) -> bool:
        return self.suppressed_until is not None and self.suppressed_until > (now or timezone.now())


class Breach(models.Model):
    """A rule's condition holding on one subject, not yet for the rule's `for` duration."""

    rule = models.ForeignKey(Rule, models.CASCADE, related_name="breaches")
    fingerprint = models.CharField(max_length=100)
    since = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "fingerprint"], name="breach_rule_fingerprint")]


class Event(models.Model):
    """One line of a timeline: an alert's (or a rule's) history, with who and when."""

    alert = models.ForeignKey(Alert, models.CASCADE, null=True, blank=True, related_name="events")
    rule = models.ForeignKey(Rule, models.SET_NULL, null=True, blank=True, related_name="events")
    # An incident's own lines (opened, notified, acknowledged as a whole); its alerts' lines
    # join them on its timeline.
    incident = models.ForeignKey(Incident, models.CASCADE, null=True, blank=True, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    # Who acted without a login (an action link): the address the message went to, or
    # "via Slack link". Empty for a user (actor) or the system.
    actor_label = models.CharField(max_length=254, blank=True, default="")
    action = models.CharField(max_length=40)
    detail = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        # Serves an alert's timeline and a rule's history.
        indexes = [
            models.Index(fields=["alert", "at"], name="event_alert_at"),
            models.Index(fields=["rule", "at"], name="event_rule_at"),
            # Serves an incident's own lines on its timeline.
            models.Index(fields=["incident", "at"], name="event_incident_at"),
        ]

    @property
    def actor_name(self) -> str:
        if self.actor:
            return self.actor.get_username()
        return self.actor_label or "system"


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A window that started up to this long ago may still be open: how far back to look for one.
LONGEST_WINDOW = timedelta(days=7)


class Silence(models.Model):
    """Holds notifications back for matching alerts while one of its windows is open.

    Matchers: glob patterns (fnmatch) on the service, the subject (function or queue) and the
    severity; optionally one rule; optionally one alert fingerprint (a staff "suppress" on
    one alert). Once: open from starts_at to ends_at (a maintenance window starts in the
    future). Recurring (start_time set): open from start_time on each of `days`, wall-clock
    time in time_zone, for `minutes`, between starts_at and ends_at (none: for good).
    """

    service = models.CharField(max_length=200, default="*")
    project = models.ForeignKey("monitoring.Project", models.PROTECT, related_name="+", default=default_project_id)
    subject = models.CharField(max_length=200, default="*")
    severity = models.CharField(max_length=20, default="*")
    rule = models.ForeignKey(Rule, models.CASCADE, null=True, blank=True, related_name="silences")
    fingerprint = models.CharField(max_length=100, blank=True, default="")
    starts_at = models.DateTimeField(default=timezone.now)
    # None only for a recurring window that repeats for good.
    ends_at = models.DateTimeField(null=True, blank=True)
    # Recurring windows: weekdays (0 = Monday), the local start time, each window's length.
    days = models.JSONField(default=list, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    minutes = models.PositiveIntegerField(null=True, blank=True)
    # IANA name: what a recurring window's start_time means, and how pages show its times.
    time_zone = models.CharField(max_length=64, default="UTC")
    # Ends by itself once every alert it held is resolved (see alerts.silences.end_resolved).
    expire_on_resolve = models.BooleanField(default=False)
    matched_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-id"]
        # Serves the active silences lookup (ends_at > now or none), run every evaluation.
        indexes = [models.Index(fields=["ends_at"], name="silence_ends_at")]

    def __str__(self) -> str:
        return f"silence #{self.pk}" if self.pk else "silence"

    @property
    def is_recurring(self) -> bool:
        return self.start_time is not None

    def windows(self, since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The windows (start, end in UTC) that overlap since..until, in order, within
        starts_at..ends_at. A recurring start in the hour a clock change skips falls after
        it (02:30 becomes 03:30); in the hour repeated, the first of the two."""
        if not self.is_recurring:
            if self.ends_at is not None and self.starts_at < until and self.ends_at > since:
                yield self.starts_at, self.ends_at
            return
        zone = ZoneInfo(self.time_zone)
        length = timedelta(minutes=self.minutes or 0)
        day = (since - LONGEST_WINDOW).astimezone(zone).date()
        last = until.astimezone(zone).date()
        while day <= last:
            if day.weekday() in self.days:
                start = datetime.combine(day, self.start_time, tzinfo=zone).astimezone(UTC)
                start, end = max(start, self.starts_at), start + length
                if self.ends_at is not None:
                    end = min(end, self.ends_at)
                if start < end and start < until and end > since:
                    yield start, end
            day += timedelta(days=1)

    def window_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The window open at now (the one lasting longest, if two overlap), or None."""
        open_now = [w for w in self.windows(now, now + timedelta(microseconds=1)) if w[0] <= now]
        return max(open_now, key=lambda w: w[1]) if open_now else None

    def next_window(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The window open at now, else the next one; None when there is none to come."""
        current = self.window_at(now)
        if current is not None:
            return current
        since = max(now, self.starts_at)
        return next(self.windows(since, since + LONGEST_WINDOW + timedelta(days=1)), None)

    def state(self, now: datetime) -> str:
        """active (a window is open), scheduled (one is to come) or expired."""
        if self.window_at(now) is not None:
            return "active"
        return "scheduled" if self.next_window(now) is not None else "expired"


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class Delivery(models.Model):
    """One notification to one channel (outbox row), with its attempts. An incident's notice
    names its incident and, as `alert`, the incident's first alert (the one its payload leads with)."""

    alert = models.ForeignKey(Alert, models.CASCADE, null=True, blank=True, related_name="deliveries")
    incident = models.ForeignKey(Incident, models.CASCADE, null=True, blank=True, related_name="deliveries")
    channel = models.ForeignKey(Channel, models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    message = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=64, unique=True, default=uuid.uuid4)
    attempts = models.IntegerField(default=0)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # Serves the sweep (state, next_attempt_at) and the dead-letter list.
            models.Index(fields=["state", "next_attempt_at"], name="delivery_state_next"),
            # Serves the per-channel rate limit and the cooldown lookup.
            models.Index(fields=["channel", "sent_at"], name="delivery_channel_sent"),
        ]


class RecipientSend(models.Model):
    """One notification sent to one recipient (address or URL): feeds per-recipient rate limits."""

    recipient = models.CharField(max_length=500)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Serves the per-recipient rate limit count.
        indexes = [models.Index(fields=["recipient", "at"], name="recipientsend_recipient_at")]


class ActionLinkUse(models.Model):
    """A signed action link that was used (alerts/action_links.py): each works once."""

    link_id = models.CharField(max_length=32, unique=True)
    alert = models.ForeignKey(Alert, models.CASCADE, related_name="link_uses")
    action = models.CharField(max_length=20)
    recipient = models.CharField(max_length=260)
    used_at = models.DateTimeField(default=timezone.now)


# Status pages (alerts/status_pages.py writes them, alerts/status_read.py reads them): what a
# team shows its users, with public names only.


class StatusPage(models.Model):
    """A public page at /status/<slug>/: chosen services or functions, and published incidents."""

    slug = models.SlugField(max_length=50, unique=True)
    project = models.ForeignKey("monitoring.Project", models.PROTECT, related_name="+", default=default_project_id)
    title = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    # Off: the public URLs answer 404 (the admin pages still show it).
    enabled = models.BooleanField(default=True)
    # On: the public page also shows each component's 90-day uptime and current error rate.
    show_figures = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class StatusComponent(models.Model):
    """One line of a status page: a whole service, or one of its functions, under a public name."""

    page = models.ForeignKey(StatusPage, models.CASCADE, related_name="components")
    service = models.ForeignKey("monitoring.Service", models.CASCADE, related_name="+")
    function = models.ForeignKey("monitoring.Function", models.CASCADE, null=True, blank=True, related_name="+")
    public_name = models.CharField(max_length=100)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.public_name


class StatusIncidentState(models.TextChoices):
    """A public status-page incident's state (not an alert Incident's: IncidentState)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class StatusIncident(models.Model):
    """An incident published on a status page, from an alert or written by hand."""

    page = models.ForeignKey(StatusPage, models.CASCADE, related_name="incidents")
    # Null for one written by hand, or once the alert is forgotten by retention.
    alert = models.ForeignKey(Alert, models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    state = models.CharField(
        max_length=15, choices=StatusIncidentState.choices, default=StatusIncidentState.INVESTIGATING
    )
    started_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        # Serves the public page: its incidents open now or resolved in the last 14 days.
        indexes = [models.Index(fields=["page", "-started_at"], name="statusincident_page_started")]

    def __str__(self) -> str:
        return self.title


class StatusUpdate(models.Model):
    """A short note an admin writes on an incident, with the state it moved the incident to."""

    incident = models.ForeignKey(StatusIncident, models.CASCADE, related_name="updates")
    at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=15, choices=StatusIncidentState.choices)
    body = models.CharField(max_length=2000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.state}: {self.body[:50]}"


class Objective(models.TextChoices):
    SUCCESS = "success"  # calls that neither failed, timed out nor were rejected
    LATENCY = "latency"  # calls faster than latency_ms


def default_burn_alerts() -> list[dict]:
    """The multi-window, multi-burn-rate defaults (for a 30-day window: 2 %, 5 % and 10 % of
    the budget in 1 h, 6 h and 3 days), each checked against a short window too."""
    return [
        {"name": "fast", "long_minutes": 60, "short_minutes": 5, "burn_rate": 14.4, "severity": "critical"},
        {"name": "medium", "long_minutes": 360, "short_minutes": 30, "burn_rate": 6.0, "severity": "critical"},
        {"name": "slow", "long_minutes": 4320, "short_minutes": 360, "burn_rate": 1.0, "severity": "medium"},
    ]


class SLO(models.Model):
    """A service level objective: the share of one function's calls (or all of a service's)
    that must be good over a rolling window, and the burn-rate alerts that guard its budget."""

    name = models.CharField(max_length=200, unique=True)
    project = models.ForeignKey("monitoring.Project", models.PROTECT, related_name="+", default=default_project_id)
    # Exactly one of the two: a function, or every function of a service.
    function = models.ForeignKey("monitoring.Function", models.CASCADE, null=True, blank=True, related_name="slos")
    service = models.ForeignKey("monitoring.Service", models.CASCADE, null=True, blank=True, related_name="slos")
    objective = models.CharField(max_length=10, choices=Objective.choices, default=Objective.SUCCESS)
    target = models.FloatField()  # percent of good calls, e.g. 99.9
    latency_ms = models.FloatField(null=True, blank=True)  # the latency objective's threshold
    window_days = models.IntegerField(default=30)
    # [{name, long_minutes, short_minutes, burn_rate, severity}], see default_burn_alerts.
    burn_alerts = models.JSONField(default=default_burn_alerts)
    enabled = models.BooleanField(default=True)
    # The rule its alerts belong to, so they fire, notify, remind and are silenced like any
    # rule's (its channels and cooldown); hidden from the rule pages (Rule.objects.configured()).
    rule = models.OneToOneField(Rule, models.PROTECT, related_name="slo")
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(function__isnull=True) ^ models.Q(service__isnull=True), name="slo_one_scope"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


class EscalationPolicy(models.Model):
    """Who to notify, step by step, while an incident goes unacknowledged: each step notifies
    its channels and people, then waits; after the last step the policy starts again from the
    first, `repeat` more times (0: it runs once)."""

    name = models.CharField(max_length=200, unique=True)
    project = models.ForeignKey("monitoring.Project", models.PROTECT, related_name="+", default=default_project_id)
    description = models.CharField(max_length=1000, blank=True, default="")
    repeat = models.IntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    """One step of a policy: notify these channels and people, then wait `wait_minutes`."""

    policy = models.ForeignKey(EscalationPolicy, models.CASCADE, related_name="steps")
    position = models.IntegerField()  # 0-based, in order
    wait_minutes = models.IntegerField(default=10)
    channels = models.ManyToManyField(Channel, blank=True, related_name="escalation_steps")
    people = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="escalation_steps")

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_step_position"),
            models.CheckConstraint(condition=models.Q(wait_minutes__gte=1), name="escalation_step_waits"),
        ]

    def __str__(self) -> str:
        return f"step {self.position + 1} of {self.policy}"


class ServicePolicy(models.Model):
    """The escalation policy a service's incidents follow when their rule names none. Kept here:
    the monitoring app (services) may not know of alerts."""

    service = models.OneToOneField("monitoring.Service", models.CASCADE, related_name="+")
    policy = models.ForeignKey(EscalationPolicy, models.CASCADE, related_name="services")

    def __str__(self) -> str:
        return f"{self.service} follows {self.policy}"


class NotificationAddress(models.Model):
    """Where a person is reached when an escalation step names them: an e-mail address, or a
    channel (a Slack, webhook, ... channel that reaches them). An address is sent through an
    e-mail channel of its own (`mail_channel`, kept by alerts.escalation_changes), so it gets
    the deliveries' retries, rate limits and dead letters like any channel."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notification_address")
    email = models.EmailField(max_length=254, blank=True, default="")
    channel = models.ForeignKey(Channel, models.SET_NULL, null=True, blank=True, related_name="+")
    mail_channel = models.OneToOneField(Channel, models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return self.email or (self.channel.name if self.channel else "")
