"""`citehub --version`, `citehub db current` and `citehub db history` (issue 18): the version and the
warehouse's migration, from Alembic's own version table and scripts."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from flows.cli import app
from schema.migrate import head_revision, upgrade


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"citehub {version('citehub')}\n")


def test_history_lists_every_migration_newest_first():
    result = CliRunner().invoke(app, ["db", "history"])
    assert result.exit_code == 0, result.output
    revisions = [line.split()[0] for line in result.output.splitlines()]
    assert revisions == [f"{n:04d}" for n in range(int(head_revision()), 0, -1)]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_current_before_and_after_upgrade(backend, tmp_path, request):
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 'w.sqlite'}"
    runner = CliRunner()
    before = runner.invoke(app, ["db", "current", "--database-url", url])
    assert before.exit_code == 0, before.output
    assert before.output.strip().endswith(": - (no migration applied)")
    upgrade(url, "0005")
    behind = runner.invoke(app, ["db", "current", "--database-url", url])
    assert behind.output.strip().endswith(f": 0005 (behind head {head_revision()})")
    upgrade(url)
    at_head = runner.invoke(app, ["db", "current", "--database-url", url])
    assert at_head.output.strip().endswith(f": {head_revision()} (head)")
