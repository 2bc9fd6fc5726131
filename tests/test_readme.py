"""What the README says a user can type exists and does what it says (issue 18): the archive replay's options,
`--debug` / `CITEHUB_DEBUG`, and `make test-loaded` (the suite's own pytest, under two busy loops)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import typer.main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def _options(*command: str) -> set[str]:
    from flows.cli import app

    cmd = typer.main.get_command(app)
    for name in command:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    return {opt for param in cmd.params for opt in param.opts + param.secondary_opts if opt.startswith("--")}


def test_the_replay_section_names_only_real_options_and_the_rules_of_today():
    section = _section("Backfills, reparse and the schedule")
    archive = section[section.index("- `backfill --from-archive`") : section.index("**The schedule.**")]
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", archive))
    assert {"--since", "--until", "--archive-of", "--dry-run", "--database-url", "--replay-workers"} <= named
    assert named <= _options("backfill") | _options("reparse"), named - _options("backfill") - _options("reparse")
    for rule in ("run.json", "select_runs", "refuse_older_history", "--archive-of any"):
        assert rule in archive, rule
    # the claims of before manifests and the history rule, gone
    assert "replays every crawl archived" not in archive
    assert "moves current" not in archive


def test_debug_and_its_setting_are_documented_and_exist():
    from flows.cli import app

    errors = README[README.index("**Errors.**") :].split("\n\n", 1)[0]
    assert "`citehub --debug COMMAND ...`" in errors and "`CITEHUB_DEBUG=1`" in errors
    assert "--debug" in {opt for param in typer.main.get_command(app).params for opt in param.opts}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_loaded_runs_the_suites_pytest_under_two_busy_loops():
    def dry(target: str) -> list[str]:
        done = subprocess.run(
            ["make", "-n", target, "TESTS=tests/x.py"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return done.stdout.splitlines()

    pytest_line = next(line for line in dry("test") if " -m pytest " in line)
    loaded = " ".join(line.rstrip("\\").strip() for line in dry("test-loaded"))
    assert pytest_line.endswith(" tests/x.py")
    assert pytest_line in loaded  # the same pytest, the same options
    assert loaded.count("-c 'while True: pass' &") == 2
    assert "trap 'kill $one $two 2>/dev/null' EXIT INT TERM" in loaded  # the loops end with the target
    assert "make test-loaded" in README
