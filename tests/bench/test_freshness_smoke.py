"""`python -m bench.freshness` on a tiny evolving site (60 hubs, 2 nights): the per-day table, one line per run,
the summary lines in the issue's form, the RESULTS.md section, and no run past its request budget."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

POLICIES = ["all", "citehub-25", "rr-25", "citehub-50", "rr-50"]
STAGE = re.compile(
    r"^stage (?P<name>freshness(?:-50)?): citehub (?P<c>\d+\.\d{3}|nan) fresh-hubs/request, "
    r"baseline (?P<b>\d+\.\d{3}|nan) fresh-hubs/request, ratio (?P<r>\d+\.\d\d|nan)$"
)
RUN = re.compile(
    r"^run day (?P<day>\d+) (?P<policy>[a-z0-9-]+): budget (?P<budget>none|\d+), requests (?P<requests>\d+) "
    r"\(crawl count (?P<crawl>\d+)\), within budget (?P<ok>yes|NO), coverage (?P<cov>[\d.]+), "
    r"freshness (?P<fresh>[\d.]+) \(\d+/\d+ hubs\), (?P<status>[a-z]+), [\d.]+ s$"
)


def test_freshness_bench_prints_its_table_and_stays_within_budgets(tmp_path: Path) -> None:
    out, figures = tmp_path / "RESULTS.md", tmp_path / "nights.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.freshness",
            "--hubs",
            "60",
            "--days",
            "2",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
            "--json",
            str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(tmp_path / "prefect")},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()

    runs = [m for m in map(RUN.match, lines) if m]
    assert [(int(m["day"]), m["policy"]) for m in runs] == [(d, p) for d in (1, 2) for p in POLICIES]
    for m in runs:
        assert m["ok"] == "yes", m.string
        assert 0 <= float(m["fresh"]) <= float(m["cov"]) <= 1, m.string
        if m["policy"] == "all":
            assert m["budget"] == "none"
            spent = int(m["requests"])
            assert spent > 0
        else:
            share = 0.25 if m["policy"].endswith("-25") else 0.5
            assert int(m["budget"]) == max(1, int(spent * share)), m.string  # of "all"'s requests that night
            assert max(int(m["requests"]), int(m["crawl"])) <= int(m["budget"]), m.string

    nights = json.loads(figures.read_text())
    assert len(nights) == 10
    assert all(n["budget"] is None or max(n["requests"], n["crawl_requests"]) <= n["budget"] for n in nights)

    table = lines.index("| day | site hubs | " + " | ".join(POLICIES) + " |")
    assert [line.split(" | ")[0] for line in lines[table + 2 : table + 4]] == ["| 1", "| 2"]
    stages = {m["name"] for m in map(STAGE.match, lines) if m}
    assert stages == {"freshness", "freshness-50"}
    for label in ("target freshness:", "target freshness-50:", "coverage citehub-50 days 2-2:", "freshness vs all"):
        line = next(line for line in lines if line.startswith(label))
        assert line.endswith(("PASS", "FAIL")), line
    assert any(line.startswith("budgets: 8 budgeted runs, 0 over budget") for line in lines)
    assert any(line.startswith("citehub-50 day 2 spent ") and "run_plan reasons" in line for line in lines)

    section = out.read_text()
    assert "## Freshness per request (python -m bench.freshness)" in section
    assert "stage freshness: citehub" in section
