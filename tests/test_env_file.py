""".env beside manage.py is read at start, and .env.example reads the same in every loader."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"
LINE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


def plain_values(path: Path) -> dict[str, str]:
    """The rules of systemd's EnvironmentFile and docker's --env-file where they agree:
    NAME=value taken verbatim, whole lines starting with # are comments."""
    values = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        assert LINE.fullmatch(line), f"not a NAME=value line: {line!r}"
        name, value = line.split("=", 1)
        values[name] = value
    return values


def bash_values(path: Path) -> dict[str, str]:
    """What `set -a; source FILE` exports, beyond what bash itself sets."""

    def exported(script: str) -> dict[str, str]:
        done = subprocess.run(
            ["env", "-i", "bash", "-c", f"{script}env -0"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        assert done.stderr == ""
        return dict(item.split("=", 1) for item in done.stdout.split("\0") if item)

    before, after = exported(""), exported(f"set -a; source {path}; ")
    return {name: value for name, value in after.items() if name not in before and name != "_"}


def test_every_loader_reads_env_example_alike() -> None:
    plain = plain_values(EXAMPLE)
    assert "SECRET_KEY" in plain
    assert dict(dotenv_values(EXAMPLE)) == plain
    assert bash_values(EXAMPLE) == plain


def test_every_loader_reads_the_deployment_guides_settings_alike(tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    settings = tmp_path / "env"
    settings.write_text(re.search(r"^```env\n(.*?)^```", guide, re.M | re.S).group(1))
    plain = plain_values(settings)
    assert "SECRET_KEY" in plain
    assert dict(dotenv_values(settings)) == plain
    assert bash_values(settings) == plain


def test_the_site_starts_with_env_example_loaded() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **plain_values(EXAMPLE)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def site_copy(folder: Path) -> Path:
    """The site's code in a folder of its own, where a test may write a .env."""
    for name in ("manage.py", "resilience_site", "monitoring", "queues", "alerts", "templates"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / name)
    return folder


def test_it_reads_env_beside_manage_py_but_the_environment_wins(tmp_path: Path) -> None:
    site = site_copy(tmp_path)
    (site / ".env").write_text("MONITOR_MAX_BATCH_ITEMS=77\nMONITOR_BUCKET_SHARDS=3\n")
    read = "from django.conf import settings; print(settings.MONITOR_MAX_BATCH_ITEMS, settings.MONITOR_BUCKET_SHARDS)"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", read],
        cwd=site,
        env={"PATH": "/usr/bin:/bin", "MONITOR_BUCKET_SHARDS": "5"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["77", "5"]
