"""Settings, read from the environment. Every variable is listed in .env.example."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .env import database_from_url, envbool, envfloat, envint, envsecret, envstr, redis_url
from .periodic import EVALUATION_INTERVAL_S, beat_schedule

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("MONITOR_VAR_DIR", str(BASE_DIR / "var")))


def _make_var_dir() -> None:
    try:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ImproperlyConfigured(f"MONITOR_VAR_DIR cannot be created: {VAR_DIR} ({error.strerror})") from None


def _embedded_secret_key() -> str:
    # The embedded default keeps a generated key under var/ so sessions survive restarts.
    _make_var_dir()
    path = VAR_DIR / "secret_key"
    try:
        if not path.exists():
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
        return path.read_text().strip()
    except OSError as error:
        raise ImproperlyConfigured(f"MONITOR_VAR_DIR must be writable: {path} ({error.strerror})") from None


def _secret_key(debug: bool) -> str:
    key = envsecret("SECRET_KEY")
    # With PostgreSQL the site may run on several hosts: a key generated on each would make
    # every host refuse the others' sessions and signed values.
    if not key and envstr("DATABASE_URL") and not debug:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set in production (DATABASE_URL set, DEBUG off); make one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    return key or _embedded_secret_key()


def _fernet_keys(name: str) -> list[str]:
    """Comma-separated Fernet keys; the first encrypts, all decrypt (see alerts/secrets.py)."""
    found = [part.strip() for part in envsecret(name).split(",") if part.strip()]
    for position, key in enumerate(found, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes); make one with: "
                'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from None
    return found


DEBUG = envbool("DEBUG", False)
SECRET_KEY = _secret_key(DEBUG)
# Channel secrets (webhook signing secrets, Slack URLs, SMTP passwords) are encrypted with
# these. Empty: one key derived from SECRET_KEY (see docs/deployment.md, "Channel secrets").
MONITOR_SECRET_KEYS = _fernet_keys("MONITOR_SECRET_KEYS")
ALLOWED_HOSTS = [h.strip() for h in envstr("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in envstr("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto: secure cookies, HSTS and
# redirects to https (what `manage.py check --deploy` asks for).
HTTPS = envbool("HTTPS", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
PORT = envint("PORT", 8000, minimum=1)
SITE_URL = envstr("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "monitoring",
    "queues",
    "alerts",
    # Last: the top floor, which wires the apps together (see apps.py).
    "resilience_site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.htmx: a fragment asked for by a page whose session ended sends that page to the login form.
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # API answers past ninja (a body over the limit, 405, 404, 500) in the API's error shape.
    "resilience_site.errors.ApiErrors",
]

ROOT_URLCONF = "resilience_site.urls"
WSGI_APPLICATION = "resilience_site.wsgi.application"
ASGI_APPLICATION = "resilience_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "resilience_site.routing.socket_path",
                "monitoring.auth.role_context",
            ],
        },
    },
]

DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
    # A lock held longer than this answers 503 instead of piling up requests.
    lock_timeout_ms = envint("MONITOR_DB_LOCK_TIMEOUT_MS", 5000)
    DATABASES["default"]["OPTIONS"]["options"] = f"-c lock_timeout={lock_timeout_ms}"
    DATABASES["default"]["CONN_MAX_AGE"] = envint("DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    _make_var_dir()
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": envstr("MONITOR_SQLITE_PATH", str(VAR_DIR / "monitor.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE makes every write transaction take the lock up front, so two
                # writers never deadlock on a read-then-write upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": envfloat("MONITOR_SQLITE_TIMEOUT_S", 5.0),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def shared_through_redis(url: str) -> tuple[dict, str, dict]:
    """CACHES, SESSION_ENGINE and CHANNEL_LAYERS when a Redis at url is shared by every process."""
    # A Redis that stops answering costs each request at most these seconds, not forever.
    options = {"socket_connect_timeout": 1, "socket_timeout": 2}
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "OPTIONS": options}
    }
    # Every open dashboard re-fetches its table every few seconds: its session comes from
    # Redis, not a database query each time, and from the database while Redis is down.
    # Only with a shared cache: a per-process one would keep a logged-out session alive in
    # the other processes.
    sessions = "resilience_site.sessions"
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}}
    return caches, sessions, layers


REDIS_URL = redis_url(envstr("REDIS_URL"))
if REDIS_URL:
    CACHES, SESSION_ENGINE, CHANNEL_LAYERS = shared_through_redis(REDIS_URL)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: a real worker on Redis in production; in-process (eager) in the embedded default.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than the longest retry countdown (24 h), or Redis would hand a waiting task out twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 24 * 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(VAR_DIR / "static")))

LOG_LEVEL = envstr("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Celery logs every task at INFO; in-process tasks would flood the embedded default's console.
    "loggers": {"django": {"level": "WARNING"}, "celery.app.trace": {"level": "WARNING"}},
}

# The product's own limits and thresholds (each described in .env.example).
MONITOR_MAX_BODY_BYTES = envint("MONITOR_MAX_BODY_BYTES", 1024 * 1024, minimum=1)
MONITOR_MAX_BATCH_ITEMS = envint("MONITOR_MAX_BATCH_ITEMS", 5000, minimum=1)
MONITOR_MAX_FUNCTIONS_PER_SERVICE = envint("MONITOR_MAX_FUNCTIONS_PER_SERVICE", 1000, minimum=1)
MONITOR_MAX_INSTANCES_PER_FUNCTION = envint("MONITOR_MAX_INSTANCES_PER_FUNCTION", 100, minimum=1)
MONITOR_MAX_ERROR_TYPES = envint("MONITOR_MAX_ERROR_TYPES", 50, minimum=1)
MONITOR_MAX_REQUESTS_PER_MINUTE = envint("MONITOR_MAX_REQUESTS_PER_MINUTE", 1200, minimum=1)
# How long a process trusts an ingest token it looked up: a revoked token is refused by every
# process within this time (a change made in the process itself holds at once).
MONITOR_TOKEN_CACHE_S = envfloat("MONITOR_TOKEN_CACHE_S", 0.5)
# Failed authentication, counted in the cache per window: wrong tokens and wrong passwords
# per address (each counted on its own), wrong passwords per account from anywhere.
MONITOR_AUTH_FAILURE_WINDOW_S = envint("MONITOR_AUTH_FAILURE_WINDOW_S", 900, minimum=1)
MONITOR_AUTH_FAILURES_PER_ADDRESS = envint("MONITOR_AUTH_FAILURES_PER_ADDRESS", 50, minimum=1)
MONITOR_LOGIN_FAILURES_PER_ACCOUNT = envint("MONITOR_LOGIN_FAILURES_PER_ACCOUNT", 10, minimum=1)
# Behind a proxy, the header it sets to the caller's address (e.g. X-Real-IP); empty: the
# connection's address. Set it only when the proxy overwrites that header on every request.
MONITOR_CLIENT_ADDRESS_HEADER = envstr("MONITOR_CLIENT_ADDRESS_HEADER", "")
MONITOR_BUCKET_SHARDS = envint("MONITOR_BUCKET_SHARDS", 8, minimum=1)
# The ingest statements run as prepared statements of each database connection (parsed and
# planned once, not per batch). Off for a connection pooler that keeps no prepared statement
# (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
MONITOR_INGEST_PREPARED = envbool("MONITOR_INGEST_PREPARED", True)
# PostgreSQL: each server process writes its steady batches through one thread, many to a
# statement and a commit (docs/ingest.md, "Group commit"). SQLite's embedded server always does.
MONITOR_GROUP_COMMIT = envbool("MONITOR_GROUP_COMMIT", True)
MONITOR_IDEMPOTENCY_HOURS = envint("MONITOR_IDEMPOTENCY_HOURS", 48, minimum=24)
MONITOR_RAW_RETENTION_DAYS = envint("MONITOR_RAW_RETENTION_DAYS", 14, minimum=1)
MONITOR_HOURLY_RETENTION_DAYS = envint("MONITOR_HOURLY_RETENTION_DAYS", 400, minimum=1)
# History (see docs/deployment.md, Retention). The minimums: rules count breaker flips over
# up to a day, and cooldowns (up to 7 days) look back over the deliveries of resolved alerts.
MONITOR_BREAKER_FLIP_RETENTION_DAYS = envint("MONITOR_BREAKER_FLIP_RETENTION_DAYS", 30, minimum=1)
MONITOR_DELIVERY_RETENTION_DAYS = envint("MONITOR_DELIVERY_RETENTION_DAYS", 30, minimum=7)
MONITOR_EVENT_RETENTION_DAYS = envint("MONITOR_EVENT_RETENTION_DAYS", 90, minimum=1)
MONITOR_RESOLVED_ALERT_RETENTION_DAYS = envint("MONITOR_RESOLVED_ALERT_RETENTION_DAYS", 180, minimum=7)
MONITOR_HEALTH_DEGRADED_ERROR_RATE = envfloat("MONITOR_HEALTH_DEGRADED_ERROR_RATE", 0.05)
MONITOR_HEALTH_UNHEALTHY_ERROR_RATE = envfloat("MONITOR_HEALTH_UNHEALTHY_ERROR_RATE", 0.5)
MONITOR_HEALTH_DEGRADED_P95_MS = envfloat("MONITOR_HEALTH_DEGRADED_P95_MS", 0.0)
MONITOR_STALE_AFTER_S = envint("MONITOR_STALE_AFTER_S", 300, minimum=30)
MONITOR_EVALUATION_INTERVAL_S = EVALUATION_INTERVAL_S
MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS = envbool("MONITOR_ALLOW_PRIVATE_WEBHOOK_TARGETS", False)


def _networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs (10.0.0.0/8, ::1/128); none when unset."""
    networks = []
    for part in filter(None, (part.strip() for part in envstr(name).split(","))):
        try:
            networks.append(ipaddress.ip_network(part))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated networks like 10.0.0.0/8; got {part!r}"
            ) from None
    return tuple(networks)


# Prometheus (docs/prometheus.md): anonymous scrapes of /metrics from these networks.
MONITOR_METRICS_ALLOW_NETWORKS = _networks("MONITOR_METRICS_ALLOW_NETWORKS")


def _seconds_list(name: str, default: str) -> list[float]:
    raw = envstr(name, default)
    try:
        values = [float(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be comma-separated seconds, e.g. {default}; got {raw!r}") from None
    if not values or min(values) < 0:
        raise ImproperlyConfigured(f"{name} needs at least one delay of 0 s or more; got {raw!r}")
    return values


# Alert deliveries: the waits between attempts (one retry per entry, then the dead-letter list).
MONITOR_DELIVERY_SCHEDULE_S = _seconds_list("MONITOR_DELIVERY_SCHEDULE_S", "60,300,1800,7200,86400")
# A delivery claimed longer ago than this (or overdue by this) was lost with its task: the sweep resends it.
MONITOR_DELIVERY_LEASE_S = envfloat("MONITOR_DELIVERY_LEASE_S", 120.0, minimum=0.1)
MONITOR_CHANNEL_RATE_PER_MINUTE = envint("MONITOR_CHANNEL_RATE_PER_MINUTE", 30, minimum=1)
MONITOR_RECIPIENT_RATE_PER_HOUR = envint("MONITOR_RECIPIENT_RATE_PER_HOUR", 120, minimum=1)
# Acknowledge / suppress links in Slack and e-mail notifications work this long after sending
# (alerts/action_links.py); they are absolute URLs on SITE_URL.
MONITOR_ACTION_LINK_HOURS = envint("MONITOR_ACTION_LINK_HOURS", 24, minimum=1)

# Incidents (docs/alerts.md): how long a new incident waits for more alerts before its first
# notice, the least time between two notices of one incident, and how long a condition must
# stay clear before its alert resolves (so a short window cannot flap).
MONITOR_GROUP_WAIT_S = envfloat("MONITOR_GROUP_WAIT_S", 10.0, minimum=0.0)
MONITOR_GROUP_INTERVAL_S = envfloat("MONITOR_GROUP_INTERVAL_S", 300.0, minimum=0.0)
MONITOR_RESOLVE_AFTER_S = envfloat("MONITOR_RESOLVE_AFTER_S", 120.0, minimum=0.0)

# Outbound notifications: HTTP (webhooks, Slack) and SMTP.
MONITOR_HTTP_TIMEOUT_S = envfloat("MONITOR_HTTP_TIMEOUT_S", 30.0, minimum=0.1)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive; set at most one")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30, minimum=1)
# The sweep takes a delivery back from a worker once its lease is over; a send still under
# way (for up to the outbound timeout, plus a DNS lookup and the database work around it)
# would then go out twice. Twice the longest timeout leaves that margin.
_outbound_s = max(MONITOR_HTTP_TIMEOUT_S, EMAIL_TIMEOUT)
if MONITOR_DELIVERY_LEASE_S < 2 * _outbound_s:
    raise ImproperlyConfigured(
        f"MONITOR_DELIVERY_LEASE_S ({MONITOR_DELIVERY_LEASE_S:g}) must be at least twice the longest outbound "
        f"timeout (MONITOR_HTTP_TIMEOUT_S, EMAIL_TIMEOUT: {_outbound_s:g} s), or a send still under way is sent again"
    )
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Resilience Monitor <monitor@localhost>")
DEMO = envbool("DEMO", True)

# Django refuses bodies over this before our own 413 check could read them.
DATA_UPLOAD_MAX_MEMORY_SIZE = MONITOR_MAX_BODY_BYTES

CELERY_BEAT_SCHEDULE = beat_schedule()
