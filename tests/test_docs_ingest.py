"""The examples in docs/ingest.md, run against the real site."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from queues.models import Snapshot
from tests.conftest import stored_calls
from tests.docs import shell_blocks
from tests.servers import missing

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ingest.md"


def example(language: str) -> str:
    return re.search(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.M | re.S).group(1)


def run(command: list[str], site: str, token: str) -> str:
    env = {**os.environ, "TOKEN": token}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def on(site: str, text: str) -> str:
    return text.replace("http://127.0.0.1:8000", site)


@pytest.mark.django_db(transaction=True)
def test_the_curl_examples_work(live_site: str, token: str) -> None:
    stored, checked = (on(live_site, block.body) for block in shell_blocks(DOC))
    answer = json.loads(run(["bash", "-euo", "pipefail", "-c", stored], live_site, token))
    assert answer["accepted"] == {"calls": 0, "breakers": 0, "concurrency": 1, "queues": 1}
    assert Snapshot.objects.get().depth == 120
    refusal = json.loads(run(["bash", "-euo", "pipefail", "-c", checked], live_site, token))
    assert refusal["field"] == "calls[0].ts"


@pytest.mark.django_db(transaction=True)
def test_the_python_example_works(live_site: str, token: str) -> None:
    code = "import os\nTOKEN = os.environ['TOKEN']\n" + on(live_site, example("python"))
    assert run([sys.executable, "-c", code], live_site, token).strip() == "202"
    assert stored_calls(function__name="charge_card").success == 1


@pytest.mark.django_db(transaction=True)
def test_the_node_example_works(live_site: str, token: str, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        missing("Node.js is not installed (no node on PATH)")
    script = tmp_path / "report.mjs"
    script.write_text(on(live_site, example("js")))
    assert run([node, str(script)], live_site, token).strip() == "202"
    assert stored_calls(function__name="charge_card").failure == 1
