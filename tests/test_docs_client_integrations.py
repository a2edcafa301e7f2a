"""client/README.md's integration examples, run as written against the live site (and a real Redis)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.test import Client

from tests.docs import shell_blocks
from tests.monitor_api import MonitorApi, viewer_api

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "client" / "README.md"


@pytest.fixture
def api(client: Client, transactional_db: None) -> MonitorApi:
    return viewer_api(client)


def example(heading: str) -> str:
    """The first python block after the heading."""
    text = DOC.read_text()
    start = text.index(f"\n{heading}\n")
    return re.search(r"^```python\n(.*?)^```", text[start:], re.M | re.S).group(1)


def run(script: str, live_site: str, token: str) -> None:
    script = script.replace('"https://monitor.example.org"', repr(live_site)).replace('"rmi_..."', repr(token))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_the_extras_the_readme_installs_are_the_client_packages_extras() -> None:
    block = next(b for b in shell_blocks(DOC) if b.kind == "install-extras")
    [line] = block.lines()
    named = {extra for group in re.findall(r"\[([\w,]+)\]", line) for extra in group.split(",")}
    project = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    assert named == set(project["optional-dependencies"]) == {"tenacity", "pybreaker", "celery"}
    assert project["dependencies"] == []  # nothing more for those who use none of them


@pytest.mark.django_db(transaction=True)
def test_the_tenacity_example_reports_attempts_and_retries(live_site: str, token: str, api: MonitorApi) -> None:
    script = example("### tenacity").replace(
        "    ...\n",
        "    attempts.append(order_id)\n"
        "    if len(attempts) < 3:\n"
        "        raise ConnectionError('gateway reset')\n"
        "    return 'charged'\n",
    )
    run(
        "attempts = []\n" + script + "assert charge_card(7) == 'charged'\n"
        "from resilience_client import get_reporter\nassert get_reporter().flush(timeout=10)\n",
        live_site,
        token,
    )
    totals = api.totals("charge_card")
    assert (totals["calls"], totals["success"], totals["failure"], totals["retries"]) == (3, 1, 2, 2)


@pytest.mark.django_db(transaction=True)
def test_the_pybreaker_example_reports_the_breaker_opening_and_refusals(
    live_site: str, token: str, api: MonitorApi
) -> None:
    script = example("### pybreaker").replace("    ...\n", "    raise ConnectionError('upstream 503')\n")
    run(
        script + "for _ in range(7):\n"
        "    try:\n"
        "        invoke_groq('hi')\n"
        "    except (ConnectionError, pybreaker.CircuitBreakerError):\n"
        "        pass\n"
        "assert groq_breaker.current_state == 'open'\n"
        "from resilience_client import get_reporter\nassert get_reporter().flush(timeout=10)\n",
        live_site,
        token,
    )
    totals = api.totals("invokeGroq")
    assert (totals["failure"], totals["rejected"]) == (5, 2)
    function = api.function("invokeGroq")
    assert function is not None and function["breaker"]["state"] == "open"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_celery_example_reports_task_runs_and_the_queue(
    live_site: str, token: str, api: MonitorApi, redis_url: str
) -> None:
    script = example("### Celery")
    assert "interval=15" in script and '"redis://localhost:6379/0"' in script
    script = script.replace('"redis://localhost:6379/0"', repr(redis_url)).replace("interval=15", "interval=0.2")
    run(
        script + "send_receipt.apply(args=[1])\n"  # runs here, as a worker would: one call
        "send_receipt.delay(2)\n"  # waits in the queue: no worker in this test
        "import time\ntime.sleep(0.5)\n"
        "monitor.stop()\n"
        "monitor.report()\n"  # once more, surely after the message was sent
        "from resilience_client import get_reporter\nassert get_reporter().flush(timeout=10)\n",
        live_site,
        token,
    )
    totals = api.totals("shop.send_receipt")
    assert (totals["calls"], totals["success"]) == (1, 1)
    queue = api.queue("celery")
    assert queue is not None
    assert (queue["latest"]["depth"], queue["latest"]["in_flight"]) == (1, 0)
    assert 0 <= queue["latest"]["oldest_age_s"] < 10
