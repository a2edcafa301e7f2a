"""Read the shell blocks of a doc, so tests can run exactly the commands it shows.

A block fenced as ```sh runs to completion; ```sh background holds one long-running
process per line; ```sh <name> is a block a test runs at a moment of its choosing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```sh(?: (?P<kind>[\w-]+))?\n(?P<body>.*?)^```", re.M | re.S)


@dataclass
class Block:
    kind: str  # "run", "background" or a name
    body: str

    def lines(self) -> list[str]:
        return [line for line in self.body.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def shell_blocks(path: Path) -> list[Block]:
    return [Block(m.group("kind") or "run", m.group("body")) for m in FENCE.finditer(path.read_text())]
