from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def shown(path: Path) -> str:
    """The path relative to the project when it lies inside it, as a newcomer would type it."""
    return str(path.relative_to(settings.BASE_DIR)) if path.is_relative_to(settings.BASE_DIR) else str(path)


class Command(BaseCommand):
    help = "Create the first admin login if there is none; print it once and keep it under var/."

    def handle(self, **options: object) -> None:
        users = get_user_model().objects
        saved = settings.VAR_DIR / "admin-login.txt"
        if users.filter(is_superuser=True).exists():
            where = f" (see {shown(saved)})" if saved.exists() else ""
            self.stdout.write(f"An admin login already exists{where}.")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser("admin", "", password)
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        saved.write_text(f"username: admin\npassword: {password}\n")
        saved.chmod(0o600)
        self.stdout.write(f"Created the admin login. username: admin  password: {password}")
        self.stdout.write(f"(kept in {shown(saved)}; change it under /admin/)")
