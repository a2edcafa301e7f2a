"""The client without tenacity, pybreaker or Celery installed: it imports and works; an
integration's module says which library it needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# None in sys.modules makes `import tenacity` raise ModuleNotFoundError, as if not installed.
SCRIPT = """
import sys
for name in ("tenacity", "pybreaker", "celery", "kombu", "redis"):
    sys.modules[name] = None

import resilience_client
import resilience_client.integrations
from resilience_client import Reporter, monitored, retry

reporter = Reporter("http://127.0.0.1:9", "rmi_nothing", flush_interval=60)

@monitored("charge", reporter=reporter)
@retry(attempts=2, base_delay=0)
def charge():
    return "ok"

assert charge() == "ok"
assert reporter.stats()["pending"] == 1

for module, library in (("tenacity", "tenacity"), ("pybreaker", "pybreaker"), ("celery", "celery")):
    try:
        __import__("resilience_client.integrations." + module)
    except ModuleNotFoundError as error:
        assert error.name == library, error
        print(module, "needs", error.name)
    else:
        raise AssertionError(module + " imported without " + library)
reporter.close(timeout=0)
"""


def test_the_client_imports_and_works_without_the_libraries_its_integrations_need() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    needs = ["tenacity needs tenacity", "pybreaker needs pybreaker", "celery needs celery"]
    assert done.stdout.splitlines() == needs
