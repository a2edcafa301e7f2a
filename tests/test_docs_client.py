"""client/README.md and docs/webhooks.md, run as written."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from alerts.transports.webhook import sign
from monitoring.models import Function, IngestToken
from tests.conftest import stored_calls
from tests.docs import shell_blocks

ROOT = Path(__file__).resolve().parent.parent


def python_example(doc: Path) -> str:
    return re.search(r"^```python\n(.*?)^```", doc.read_text(), re.M | re.S).group(1)


@pytest.mark.django_db(transaction=True)
def test_the_client_readme_installs_and_reports_as_written(
    live_site: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    install, create = shell_blocks(ROOT / "client" / "README.md")[0].lines()
    assert install.split("#")[0].split() == ["pip", "install", "./client"]
    assert create.split("#")[0].split() == ["python", "manage.py", "create_service", "payments"]

    # A fresh virtualenv, as a service of the reader's would be: no Django, nothing of the monitor.
    venv.create(tmp_path / "env", with_pip=True)
    bin_dir = tmp_path / "env" / "bin"
    done = subprocess.run(f"{bin_dir}/{install}", shell=True, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    done = subprocess.run(
        f"{sys.executable} {create.removeprefix('python ')}",
        shell=True,
        cwd=ROOT,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert IngestToken.find(token).service.name == "payments"

    quick_start = python_example(ROOT / "client" / "README.md")
    quick_start = quick_start.replace('"https://monitor.example.org"', repr(live_site)).replace(
        '"rmi_..."', repr(token)
    )
    script = quick_start.replace("    ...\n", "    return 'ok'\n") + (
        "\nassert invoke_groq('hello') == 'ok'\n"
        "from resilience_client import get_reporter\n"
        "assert get_reporter().flush(timeout=10)\n"
    )
    done = subprocess.run([str(bin_dir / "python"), "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert stored_calls(function__name="invokeGroq").success == 1
    assert Function.objects.get(name="invokeGroq").service.name == "payments"


def test_the_webhook_verification_example_accepts_a_real_signature_and_nothing_else() -> None:
    namespace: dict = {}
    exec(python_example(ROOT / "docs" / "webhooks.md"), namespace)
    verify = namespace["verify"]
    body = b'{"alert": {"id": 7, "state": "firing"}}'
    now = str(int(time.time()))
    header = f"{sign('new-secret', now, body)},{sign('old-secret', now, body)}"  # during a rotation
    assert verify("new-secret", now, body, header)
    assert verify("old-secret", now, body, header)
    assert not verify("new-secret", now, body.replace(b"firing", b"resolved"), header)
    assert not verify("other-secret", now, body, header)
    stale = str(int(time.time()) - 3600)
    assert not verify("new-secret", stale, body, sign("new-secret", stale, body))
