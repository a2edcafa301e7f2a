"""Each fragment is written once, as a template: no script builds markup or names an address."""

from __future__ import annotations

import re
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "static" / "js"
FORBIDDEN = {
    "builds markup": re.compile(r"\.(inner|outer)HTML\s*\+?=|insertAdjacentHTML|document\.write"),
    "writes a tag in a string": re.compile(r"""["'`]\s*</?[a-zA-Z]"""),
    # Addresses come from the templates ({% url %} in data attributes and hx-get).
    "names an address": re.compile(r"""["'`]/(api|fragments|ws|functions|queues|alerts)\b"""),
}


def test_no_script_builds_markup_or_names_an_address() -> None:
    found = [
        f"{path.name}:{number} {what}: {line.strip()}"
        for path in sorted(SCRIPTS.glob("*.js"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for what, pattern in FORBIDDEN.items()
        if pattern.search(line)
    ]
    assert found == []


def test_it_would_catch_the_old_row_builders() -> None:
    old = [
        """body.innerHTML = page.items.map(Rows.functionRow).join("");""",
        """return '<tr data-queue="' + q.id + '"><td>' + esc(q.service) + "</td>";""",
        """Live.getJSON("/api/v1/alerts/" + id).then(show);""",
    ]
    assert all(any(pattern.search(line) for pattern in FORBIDDEN.values()) for line in old)
