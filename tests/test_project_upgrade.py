"""An installation from before projects upgrades with `manage.py migrate` and keeps working:
its service, rule, channel and people land in the default project with the roles they had,
and a failing function still fires the rule and notifies the channel.

Run on a database file of its own, in processes of its own, as a newcomer's upgrade runs:
the suite's database is at the newest schema and stays there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE_PROJECTS = [("monitoring", "0018_function_hours"), ("alerts", "0013_escalation_policies")]

SEED_BEFORE = f"""
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

apps = MigrationExecutor(connection).loader.project_state({BEFORE_PROJECTS!r}).apps
Service, Rule, Channel = (apps.get_model(*name) for name in
    (("monitoring", "Service"), ("alerts", "Rule"), ("alerts", "Channel")))
User = apps.get_model("auth", "User")
Service.objects.create(name="payments")
channel = Channel.objects.create(name="payments log", kind="log", config={{}})
rule = Rule.objects.create(name="payments errors", metric="error_rate", op=">", threshold=0.2, window_minutes=5,
    min_calls=10, severity="critical", service="payments", subject="*", cooldown_minutes=60)
rule.channels.add(channel)
User.objects.create(username="bob", is_staff=True)
User.objects.create(username="carol")
"""

USE_AFTER = """
import json
from datetime import UTC, datetime
from django.contrib.auth.models import User
from django.test import Client
from alerts.evaluate import evaluate_all
from alerts.models import Alert, Channel, Delivery, Rule
from monitoring.models import IngestToken, Membership, Project, Service

default = Project.objects.get(slug="default")
service = Service.objects.get(name="payments")
token = IngestToken.issue(service=service)[1]
now = datetime.now(UTC).isoformat()
calls = [{"function": "charge", "ts": now, "duration_ms": 10, "outcome": "failure"} for _ in range(12)]
client = Client(HTTP_HOST="localhost")
posted = client.post("/api/v1/ingest", {"calls": calls}, content_type="application/json",
    headers={"authorization": f"Bearer {token}"})
evaluate_all()
evaluate_all()
bob = Client(HTTP_HOST="localhost")
bob.force_login(User.objects.get(username="bob"))
alert = Alert.objects.get(rule__name="payments errors")
print(json.dumps({
    "posted": posted.status_code,
    "projects": {
        "service": service.project.slug,
        "rule": Rule.objects.get(name="payments errors").project.slug,
        "channel": Channel.objects.get(name="payments log").project.slug,
    },
    "roles": dict(Membership.objects.filter(project=default).values_list("user__username", "role")),
    "alert": [alert.service, alert.subject, alert.state],
    "delivered": list(Delivery.objects.filter(alert=alert).values_list("channel__name", "event")),
    "bob_sees": alert.id in [a["id"] for a in bob.get("/api/v1/alerts").json()["items"]],
    "listed": bob.get("/api/v1/alerts").json(),
    "bob_acknowledges": bob.post(
        f"/api/v1/alerts/{alert.id}/acknowledge", {}, content_type="application/json"
    ).status_code,
}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_an_install_from_before_projects_upgrades_and_still_alerts() -> None:
    var = tempfile.mkdtemp(prefix="monitor-upgrade-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DEMO": "0",
            "PYTHONPATH": str(ROOT),
            "MONITOR_VAR_DIR": var,
            "MONITOR_SQLITE_PATH": str(Path(var) / "monitor.sqlite3"),
            "MONITOR_GROUP_WAIT_S": "0",
            "LOG_LEVEL": "ERROR",
        }
    )
    for app, migration in BEFORE_PROJECTS:
        manage(env, "migrate", app, migration, "--noinput", "-v0")
    manage(env, "shell", "-c", SEED_BEFORE)

    manage(env, "migrate", "--noinput", "-v0")
    found = json.loads(manage(env, "shell", "-c", USE_AFTER).strip().splitlines()[-1])

    assert found["posted"] == 202
    assert found["projects"] == {"service": "default", "rule": "default", "channel": "default"}
    assert found["roles"] == {"bob": "responder", "carol": "viewer"}
    assert found["alert"] == ["payments", "charge", "firing"]
    assert found["delivered"] == [["payments log", "firing"]]
    assert found["bob_sees"] is True, found["listed"]
    assert found["bob_acknowledges"] == 200
