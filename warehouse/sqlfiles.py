"""Reading the warehouse's plain SQL files: statements separated by `;`, `--` comment lines."""

from __future__ import annotations

from pathlib import Path


def statements(path: Path) -> list[str]:
    """The statements of a SQL file (our own files: no `;` inside literals or comments)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]
