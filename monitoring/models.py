from __future__ import annotations

import hashlib
import logging
import secrets
import time
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from . import histogram, outages

log = logging.getLogger(__name__)


class ProjectRole(models.TextChoices):
    # In rising order: each may do what the one before may (docs/projects.md).
    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"


class ProjectManager(models.Manager):
    def default(self) -> Project:
        """The project every installation starts with (made on demand: a flushed test database has none)."""
        return self.get_or_create(slug="default", defaults={"name": "Default"})[0]


class Project(models.Model):
    """Owns services (and through them functions and queues); people see a project's
    objects through a membership, or a team granted a role on it (monitoring/projects.py)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    created = models.DateTimeField(default=timezone.now)

    objects = ProjectManager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=ProjectRole.choices, default=ProjectRole.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="one_membership_per_project")]
        ordering = ["project__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class Team(models.Model):
    """A named group of people, granted a role on projects (TeamGrant)."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamGrant(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="grants")
    project = models.ForeignKey(Project, models.CASCADE, related_name="grants")
    role = models.CharField(max_length=10, choices=ProjectRole.choices, default=ProjectRole.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "project"], name="one_grant_per_team_and_project")]
        ordering = ["project__name", "team__name"]

    def __str__(self) -> str:
        return f"{self.team} on {self.project} ({self.role})"


def default_project_id() -> int:
    """A service created without a project goes to the default one."""
    return Project.objects.default().id


class Service(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created = models.DateTimeField(default=timezone.now)
    project = models.ForeignKey(Project, models.PROTECT, related_name="services", default=default_project_id)
    # The services it needs: while one has an open critical alert, the alerts on this one's
    # functions and queues are not notified (alerts/inhibition.py). Never a cycle (service_changes).
    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="dependents")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def digest(raw: str) -> str:
    # Tokens carry 240 random bits, so a plain SHA-256 is enough to store them safely.
    return hashlib.sha256(raw.encode()).hexdigest()


class Token(models.Model):
    """A bearer token: shown once, stored as a digest, found again by its visible prefix."""

    KIND_PREFIX = ""
    PREFIX_LENGTH = 12

    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def issue(cls, **owner: object) -> tuple[Token, str]:
        raw = cls.KIND_PREFIX + secrets.token_urlsafe(30)
        token = cls.objects.create(prefix=raw[: cls.PREFIX_LENGTH], digest=digest(raw), **owner)
        return token, raw

    @classmethod
    def working(cls) -> models.Q:
        """The tokens that open the door now."""
        return models.Q(revoked__isnull=True)

    @classmethod
    def find(cls, raw: str) -> Token | None:
        if not raw.startswith(cls.KIND_PREFIX):
            return None
        return cls.objects.filter(cls.working(), digest=digest(raw)).select_related(*cls.OWNER).first()

    def touch(self) -> None:
        # At most one write a minute per token, however busy it is; none at all (not even a
        # round trip) while the row as read is fresh.
        now = timezone.now()
        if self.last_used is not None and self.last_used >= now - timedelta(minutes=1):
            return
        stale = models.Q(last_used__isnull=True) | models.Q(last_used__lt=now - timedelta(minutes=1))
        type(self).objects.filter(stale, id=self.id).update(last_used=now)
        self.last_used = now  # a cached token is not written again for a minute

    def revoke(self) -> None:
        type(self).objects.filter(id=self.id, revoked__isnull=True).update(revoked=timezone.now())


class IngestToken(Token):
    KIND_PREFIX = "rmi_"
    OWNER = ("service",)
    service = models.ForeignKey(Service, models.CASCADE, related_name="tokens")
    # Set when the token is rotated: it keeps working until then (the grace period), so the
    # reporters can move to its replacement one by one.
    expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.service.name} {self.prefix}…"

    @classmethod
    def working(cls) -> models.Q:
        return super().working() & (models.Q(expires__isnull=True) | models.Q(expires__gt=timezone.now()))

    @property
    def state(self) -> str:
        """active, expiring (rotated, in its grace period), expired or revoked."""
        if self.revoked is not None:
            return "revoked"
        if self.expires is None:
            return "active"
        return "expiring" if self.expires > timezone.now() else "expired"

    def rate_limit(self) -> int:
        return settings.MONITOR_MAX_REQUESTS_PER_MINUTE

    def revoke(self) -> None:
        super().revoke()
        WorkingTokens.changed()


class WorkingTokens:
    """The working ingest tokens this process has looked up, by digest, each trusted for
    MONITOR_TOKEN_CACHE_S seconds (default 0.5) after its lookup and then looked up again.

    So a steady reporter costs one token query per process every half second instead of one
    a batch, and a revoked token, or one whose grace period a rotation cut short, is refused
    by every process within that time. The end of a grace period known when the token was
    read holds to the instant. A change made by this process (revoke, rotate, delete)
    forgets them all at once. Unknown tokens are never kept: each one is looked up (and
    counted as a failure).
    """

    found: dict[str, tuple[float, IngestToken]] = {}
    LIMIT = 10_000  # distinct tokens kept; past it the lot is dropped and read again

    @classmethod
    def find(cls, raw: str) -> IngestToken | None:
        key = digest(raw)
        entry = cls.found.get(key)
        if entry is not None and time.monotonic() - entry[0] < settings.MONITOR_TOKEN_CACHE_S:
            token = entry[1]
            if token.expires is None or token.expires > timezone.now():
                return token
        read_at = time.monotonic()
        token = IngestToken.find(raw)
        if token is None:
            cls.found.pop(key, None)
            return None
        if len(cls.found) >= cls.LIMIT:
            cls.found.clear()
        cls.found[key] = (read_at, token)
        return token

    @classmethod
    def forget(cls) -> None:
        cls.found.clear()

    @classmethod
    def changed(cls) -> None:
        """Call where a token or its service changes: forgotten now, and again once committed
        (a lookup between the two could have read the row as it was)."""
        cls.forget()
        transaction.on_commit(cls.forget)


class TokenScope(models.TextChoices):
    API = "api", "the API, with your role"
    METRICS_READ = "metrics:read", "metrics:read (GET /metrics only)"


class UserToken(Token):
    """A person's API token for scripts: it acts as the person, with the person's role.

    A metrics:read token opens GET /metrics and nothing else (the API refuses it with 403).
    An api token may be narrowed: to one project (it sees and acts in that one only, with
    the person's role there, so never more than the person), and to reading (read_only: any
    write is refused with 403). monitoring/auth.py applies both.
    """

    KIND_PREFIX = "rmu_"
    OWNER = ("user",)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    # What the person uses it for ("deploy script"), shown beside its prefix.
    name = models.CharField(max_length=100, blank=True, default="")
    scope = models.CharField(max_length=20, choices=TokenScope.choices, default=TokenScope.API)
    # Deleting the project deletes its tokens: left without one, a token would reach them all.
    project = models.ForeignKey(Project, models.CASCADE, null=True, blank=True, related_name="user_tokens")
    read_only = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name or 'token'} ({self.prefix}…)"


class Function(models.Model):
    service = models.ForeignKey(Service, models.CASCADE, related_name="functions")
    name = models.CharField(max_length=200)
    created = models.DateTimeField(default=timezone.now)
    # Kept to the minute: ingest moves it only when a minute has passed, so a busy
    # function's row is not rewritten by every batch.
    last_seen = models.DateTimeField(null=True, blank=True)
    # An enabled rule fires on it (an open alert) or its value breaches one now (a pending
    # breach): health says at least "degraded". Written by the alerts app
    # (alerts/health_flags.py), which owns rules; monitoring only reads it. A database default:
    # ingest inserts new functions in plain SQL.
    alerting = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="function_unique_name")]

    def __str__(self) -> str:
        return f"{self.service.name}/{self.name}"


class OutcomeStrip(models.Model):
    """A function's last outcomes as written by one shard (on SQLite, every batch's; on
    PostgreSQL, those written before the minute buckets kept them, and those retention
    carried over from minute buckets it deleted: see CallBucket.outcomes).

    entries: fixed-width records, oldest first, each 13 digits of epoch milliseconds and
    one outcome letter (s, f, t, r); at most STRIP_LENGTH of them. Readers merge the
    shards by time and keep the newest STRIP_LENGTH.
    """

    # No index of its own: the unique (function, shard) serves lookups by function.
    function = models.ForeignKey(Function, models.CASCADE, related_name="outcome_strips", db_index=False)
    shard = models.SmallIntegerField(default=0)
    entries = models.TextField(default="", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "shard"], name="outcomestrip_function_shard")]


STRIP_LENGTH = 20
ENTRY_WIDTH = 14


OUTCOME_LETTERS = {"success": "s", "failure": "f", "timeout": "t", "rejected": "r"}
LETTER_OUTCOMES = {letter: outcome for outcome, letter in OUTCOME_LETTERS.items()}


class HistogramField(models.JSONField):
    """A latency histogram, decoded with orjson: pages and alert rounds read thousands at a time."""

    def from_db_value(self, value: str | dict | None, expression: object, connection: object) -> dict | None:
        if isinstance(value, str):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)


class CallCounts(models.Model):
    """Calls of one function folded over a period: counts by outcome, latency, histogram."""

    # No index of its own: each table's unique constraint starts with the function.
    function = models.ForeignKey(Function, models.CASCADE, db_index=False)
    success = models.IntegerField(default=0)
    failure = models.IntegerField(default=0)
    timeout = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    retries = models.IntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0.0)
    latency_max_ms = models.FloatField(default=0.0)
    histogram = HistogramField(default=dict)

    COUNTED = ("success", "failure", "timeout", "rejected", "retries", "latency_sum_ms")
    # What add() reads of another.
    FOLDED = (*COUNTED, "latency_max_ms", "histogram")

    class Meta:
        abstract = True

    @property
    def calls(self) -> int:
        return self.success + self.failure + self.timeout + self.rejected

    @property
    def errors(self) -> int:
        return self.failure + self.timeout + self.rejected

    def add(self, other: CallCounts) -> None:
        for field in self.COUNTED:
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.latency_max_ms = max(self.latency_max_ms, other.latency_max_ms)
        # In place: every CallCounts owns its histogram dict (the field's default makes a new one).
        histogram.merge(self.histogram, other.histogram)

    def percentile(self, q: float) -> float | None:
        return histogram.percentile(self.histogram, q)


class CallBucket(CallCounts):
    """One function's calls in one minute, in one of a few shards.

    Concurrent batches for the same function and minute write to different shards, so
    they do not queue on one row; readers add the shards up.
    """

    minute = models.DateTimeField()
    shard = models.SmallIntegerField(default=0)
    # On PostgreSQL, the row's newest outcomes (entries as in OutcomeStrip.entries, at most
    # STRIP_LENGTH), written by the same upsert as its counts: a separate strip row per
    # function and shard cost the statement a sixth more of PostgreSQL's time. Readers merge the
    # newest minutes' entries with the strips (outcomes.recent_outcomes); retention carries
    # them into the strips before it deletes the row. SQLite writes the strips and leaves this empty.
    outcomes = models.TextField(default="", db_default="", blank=True)

    class Meta:
        constraints = [
            # Serves the ingest upsert and every per-function series query.
            models.UniqueConstraint(fields=["function", "minute", "shard"], name="callbucket_function_minute_shard"),
        ]
        # Serves the 5-minute overview of all functions and the retention roll-up.
        indexes = [models.Index(fields=["minute"], name="callbucket_minute")]


class CallHour(CallCounts):
    """Minute buckets past retention, rolled up by hour."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "hour"], name="callhour_function_hour")]
        # Serves the deletion of hours past retention.
        indexes = [models.Index(fields=["hour"], name="callhour_hour")]


class FunctionHour(CallCounts):
    """One function's calls in one recent hour, added up from its minute buckets when the fold
    (rollups.py) completes the hour, and again when late calls come into it.

    Kept while the minute buckets are (CallHour takes over past their retention): long SLO
    windows read one row an hour instead of sixty minute buckets.
    """

    hour = models.DateTimeField()

    class Meta:
        constraints = [
            # Serves the SLO round's sums per function over whole hours, and the fold's upsert.
            models.UniqueConstraint(fields=["function", "hour"], name="functionhour_function_hour"),
        ]
        # Serves forgetting the hours past the minute buckets' retention.
        indexes = [models.Index(fields=["hour"], name="functionhour_hour")]


class CallTotal(models.Model):
    """All of one function's calls in the minutes before CallTotalMark.through, added up.

    What the Prometheus counters start from (monitoring/totals.py): they only grow, whatever
    retention rolls up or forgets later. Big integers: a busy function passes 2**31 calls.
    binN: calls whose latency is under totals.BOUNDS_MS[N] and not under the bound before;
    bin13 those past the largest bound. Columns, not JSON, so a fold adds them up in SQL.
    """

    function = models.OneToOneField(Function, models.CASCADE, primary_key=True, related_name="+")
    success = models.BigIntegerField(default=0)
    failure = models.BigIntegerField(default=0)
    timeout = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    retries = models.BigIntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0.0)
    bin0 = models.BigIntegerField(default=0)
    bin1 = models.BigIntegerField(default=0)
    bin2 = models.BigIntegerField(default=0)
    bin3 = models.BigIntegerField(default=0)
    bin4 = models.BigIntegerField(default=0)
    bin5 = models.BigIntegerField(default=0)
    bin6 = models.BigIntegerField(default=0)
    bin7 = models.BigIntegerField(default=0)
    bin8 = models.BigIntegerField(default=0)
    bin9 = models.BigIntegerField(default=0)
    bin10 = models.BigIntegerField(default=0)
    bin11 = models.BigIntegerField(default=0)
    bin12 = models.BigIntegerField(default=0)
    bin13 = models.BigIntegerField(default=0)

    BINS = 14


class CallTotalMark(models.Model):
    """One row: the minute up to which (excluded) minute buckets are added into CallTotal."""

    through = models.DateTimeField()


class ErrorType(models.Model):
    """A kind of error one function reported: the error_type its calls named, or their outcome.

    At most MONITOR_MAX_ERROR_TYPES per function. Types past it are counted on the function's
    OTHER row, whose name is empty (a reported name never is). Forgotten once no minute or
    hour counts it any more.
    """

    OTHER = ""
    NAME_LENGTH = 120

    function = models.ForeignKey(Function, models.CASCADE, related_name="error_types", db_index=False)
    name = models.CharField(max_length=NAME_LENGTH, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        # Serves ingest's lookup of a function's types and every read by function.
        constraints = [models.UniqueConstraint(fields=["function", "name"], name="errortype_function_name")]

    def __str__(self) -> str:
        return self.name or "other"


class ErrorCounts(models.Model):
    """Errors of one type over a period: how many, the first and the last."""

    # No index of its own: each table's unique constraint starts with the type.
    error_type = models.ForeignKey(ErrorType, models.CASCADE, db_index=False)
    count = models.IntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        abstract = True

    def add(self, other: ErrorCounts) -> None:
        """Add other's counts to these (a new row starts with no first or last seen)."""
        self.count += other.count
        self.first_seen = other.first_seen if self.first_seen is None else min(self.first_seen, other.first_seen)
        self.last_seen = other.last_seen if self.last_seen is None else max(self.last_seen, other.last_seen)


class ErrorMinute(ErrorCounts):
    """Errors of one type in one minute, in one of the call buckets' shards."""

    minute = models.DateTimeField()
    shard = models.SmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["error_type", "minute", "shard"], name="errorminute_type_minute_shard")
        ]
        # Serves the retention roll-up.
        indexes = [models.Index(fields=["minute"], name="errorminute_minute")]


class ErrorHour(ErrorCounts):
    """Error minutes past retention, rolled up by hour."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["error_type", "hour"], name="errorhour_type_hour")]
        # Serves the deletion of hours past retention.
        indexes = [models.Index(fields=["hour"], name="errorhour_hour")]


class BreakerState(models.TextChoices):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker(models.Model):
    """The current state of one function's circuit breaker on one instance."""

    function = models.ForeignKey(Function, models.CASCADE, related_name="breakers")
    instance = models.CharField(max_length=200, blank=True, default="")
    state = models.CharField(max_length=10, choices=BreakerState.choices)
    since = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "instance"], name="breaker_function_instance")]


class BreakerFlip(models.Model):
    """A breaker state change on one instance: the transition timeline."""

    function = models.ForeignKey(Function, models.CASCADE, related_name="breaker_flips")
    instance = models.CharField(max_length=200, blank=True, default="")
    old_state = models.CharField(max_length=10, choices=BreakerState.choices, blank=True)
    new_state = models.CharField(max_length=10, choices=BreakerState.choices)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            # Serves a function's transition timeline, newest first.
            models.Index(fields=["function", "-at"], name="breakerflip_function_at"),
            # Serves an instance's state at a range's start (its last transition before it) and
            # the transition list filtered by instance (monitoring/breakers_read.py).
            models.Index(fields=["function", "instance", "-at"], name="breakerflip_function_inst_at"),
        ]


class Concurrency(models.Model):
    """The latest concurrency gauge of one function on one instance."""

    function = models.ForeignKey(Function, models.CASCADE, related_name="concurrency")
    instance = models.CharField(max_length=200, blank=True, default="")
    active = models.IntegerField()
    limit = models.IntegerField()
    queued = models.IntegerField(default=0)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "instance"], name="concurrency_function_instance")]


class IngestBatch(models.Model):
    """A batch seen by its idempotency key, with the answer its first delivery got."""

    # No index of its own: the unique (service, key) serves lookups by service; one index
    # fewer to write for every batch.
    service = models.ForeignKey(Service, models.CASCADE, db_index=False)
    key = models.CharField(max_length=255)
    body_digest = models.CharField(max_length=64)
    answer = models.JSONField(default=dict)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "key"], name="ingestbatch_service_key")]
        # Serves forgetting batches older than the idempotency window.
        indexes = [models.Index(fields=["created"], name="ingestbatch_created")]


class RefusalReason(models.TextChoices):
    INVALID = "invalid", "invalid"  # 400, 409, 415, 422: not JSON, a bad item, a reused key
    CAP = "cap", "over a cap"  # 422: one function, queue or instance too many
    TOO_LARGE = "too_large", "too large"  # 413
    RATE = "rate", "over the rate"  # 429


REFUSAL_UPSERT = """
INSERT INTO {table} (service_id, day, reason, count) VALUES (%s, %s, %s, 1)
ON CONFLICT (service_id, day, reason) DO UPDATE SET count = {table}.count + 1
"""


class Refusal(models.Model):
    """How many batches of one service were refused on one day (UTC), for one reason."""

    # No index of its own: the unique (service, day, reason) serves lookups by service.
    service = models.ForeignKey(Service, models.CASCADE, related_name="refusals", db_index=False)
    day = models.DateField()
    reason = models.CharField(max_length=10, choices=RefusalReason.choices)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "day", "reason"], name="refusal_service_day_reason")]
        # Serves forgetting old days.
        indexes = [models.Index(fields=["day"], name="refusal_day")]

    @classmethod
    def note(cls, service_id: int, reason: str) -> None:
        """Count one refusal: one statement, so concurrent refusals add up without a read.

        Not counted when the database cannot take it: the refusal's answer matters more.
        """
        day = connection.ops.adapt_datefield_value(timezone.now().date())
        try:
            with connection.cursor() as cursor:
                cursor.execute(REFUSAL_UPSERT.format(table=cls._meta.db_table), [service_id, day, reason])
        except DatabaseError as error:
            outages.warn(log, "refusal count", f"could not count a refused batch: {error}")

    @classmethod
    def today(cls, service_ids: list[int]) -> dict[int, dict[str, int]]:
        """Refusals today by reason, every reason present (0 when none), for each service."""
        counts = {service_id: dict.fromkeys(RefusalReason.values, 0) for service_id in service_ids}
        rows = cls.objects.filter(service_id__in=service_ids, day=timezone.now().date())
        for service_id, reason, count in rows.values_list("service_id", "reason", "count"):
            counts[service_id][reason] = count
        return counts


class Heartbeat(models.Model):
    """When a background part (scheduler, worker) last showed it is alive."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    @classmethod
    def beat(cls, name: str) -> None:
        cls.objects.update_or_create(name=name, defaults={"at": timezone.now()})


class AuditEntry(models.Model):
    """One change to configuration (rules, channels, silences, services, tokens, people), or a
    secret revealed: who, when, what, and for edits the fields before and after."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    # Kept apart from actor so the entry still names who did it once the account is deleted.
    actor_name = models.CharField(max_length=150, default="system")
    action = models.CharField(max_length=40)
    kind = models.CharField(max_length=30)
    object_id = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # Serves the audit list, newest first, and its filter by kind.
            models.Index(fields=["-at", "-id"], name="audit_at"),
            # Serves one object's own history on its page.
            models.Index(fields=["kind", "object_id", "-at"], name="audit_object_at"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.kind} {self.label or self.object_id}"


class CumulativePoint(models.Model):
    """The last point of one cumulative stream (a counter or a histogram reported as totals since
    a start time), kept so the next point can be turned into what happened in between."""

    # No index of its own: the unique (service, stream) serves lookups by service.
    service = models.ForeignKey(Service, models.CASCADE, db_index=False)
    stream = models.CharField(max_length=64)  # SHA-256 of the stream's identity (cumulative.stream_key)
    start_ns = models.BigIntegerField()
    time_ns = models.BigIntegerField()
    counts = models.JSONField()  # [count, bucket counts...] for a histogram, [value] for a counter
    total = models.FloatField(default=0.0)  # a histogram's sum
    layout = models.JSONField(default=list)  # bucket bounds, or an exponential histogram's [scale, offset]
    seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "stream"], name="cumulativepoint_service_stream")]
        # Serves forgetting streams that stopped reporting.
        indexes = [models.Index(fields=["seen"], name="cumulativepoint_seen")]


class ServiceMinute(CallCounts):
    """A service's functions' calls in one settled minute, added up (monitoring/rollups.py):
    what a service's or the fleet's trend reads instead of every function's minute buckets."""

    function = None  # a service's sum, not a function's
    service = models.ForeignKey(Service, models.CASCADE, db_index=False)
    minute = models.DateTimeField()

    class Meta:
        constraints = [
            # Serves a service's trend and series, and the fold's upsert.
            models.UniqueConstraint(fields=["service", "minute"], name="serviceminute_service_minute"),
        ]
        # Serves the fleet's trend (every service in a range) and forgetting old minutes.
        indexes = [models.Index(fields=["minute"], name="serviceminute_minute")]


class ServiceHour(CallCounts):
    """A service's calls in one hour, added up from its ServiceMinute rows once the hour is folded."""

    function = None
    service = models.ForeignKey(Service, models.CASCADE, db_index=False)
    hour = models.DateTimeField()

    class Meta:
        constraints = [
            # Serves a service's trend over days, and the fold's upsert.
            models.UniqueConstraint(fields=["service", "hour"], name="servicehour_service_hour"),
        ]
        # Serves the fleet's trend over days and forgetting old hours.
        indexes = [models.Index(fields=["hour"], name="servicehour_hour")]


class FleetMinute(CallCounts):
    """Every service's calls in one settled minute, added up from ServiceMinute: the fleet's
    trend reads one row per step, whatever the number of services."""

    function = None
    minute = models.DateTimeField(unique=True)  # serves the fleet's trend and the fold's upsert


class FleetHour(CallCounts):
    """Every service's calls in one hour, added up from FleetMinute once the hour is folded."""

    function = None
    hour = models.DateTimeField(unique=True)  # serves the fleet's trend over days and the fold's upsert


def new_version() -> int:
    return secrets.randbits(62)


class RollupMark(models.Model):
    """One row: ServiceMinute and FleetMinute hold every minute in [since, through) (ServiceHour
    and FleetHour every whole hour of it), except the late minutes LateMinute still lists."""

    since = models.DateTimeField()
    through = models.DateTimeField()
    # FunctionHour holds every whole hour of [max(since, hours_since), through): hours folded
    # before FunctionHour existed have none of its rows.
    hours_since = models.DateTimeField(null=True)
    # A new value whenever the fold writes function hours again (late calls): readers that keep
    # the function hours' sums between rounds know theirs are stale. Adding the next hour keeps
    # it (no row written before changes): such a reader adds that hour alone.
    # Random, not counted: a database restored or rolled back never shows a value seen before.
    hours_version = models.PositiveBigIntegerField(default=new_version)
    # A new value whenever the fold takes late minutes (folded again or not): readers that keep
    # settled minutes' buckets between rounds know theirs may be stale. Late calls list their
    # minute (LateMinute) until then, so a reader sees one or the other.
    minutes_version = models.PositiveBigIntegerField(default=new_version)


class LateMinute(models.Model):
    """A minute of a service that a batch wrote after the fold may have passed it: folded again
    (and read from the minute buckets until then). Written only by batches carrying late calls."""

    # No unique constraint: the fold deletes the rows it read by id, so a row another batch
    # adds meanwhile stays for the next fold.
    service = models.ForeignKey(Service, models.CASCADE, db_index=False)
    minute = models.DateTimeField()
