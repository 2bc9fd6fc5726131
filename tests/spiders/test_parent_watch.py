"""A crawl dies with the process that launched it (issue 19): SIGKILL of the launcher alone (not its process
group) used to leave `scrapy crawl` fetching for a dead run, and its run folder later replayed as a crawl."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from samplesite.faults import parse_spec
from samplesite.generator import build_site
from samplesite.server import serving

ROOT = Path(__file__).resolve().parents[2]

LAUNCHER = """
import sys
from pathlib import Path
from spiders.crawl import allowed_hosts_for, run_crawl
base, run_dir, hubs = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
run_crawl("watched", run_dir, base, [f"{base}/citations/{u}" for u in hubs], allowed_hosts_for(base), 2,
          extra_settings={"AUTOTHROTTLE_ENABLED": "False"})
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state  # a zombie has exited; only its parent's reaping is left


def _crawler_of(run_dir: Path, deadline: float) -> int:
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"scrapy" in cmdline and any(str(run_dir).encode() in arg for arg in cmdline):
                return int(proc.name)
        time.sleep(0.05)
    raise AssertionError("scrapy crawl never started")


@pytest.mark.slow
def test_the_crawl_stops_when_its_launcher_is_killed(tmp_path):
    site = build_site(hubs=30, seed=7, day=1)
    run_dir = tmp_path / "run"
    with serving(site, faults=parse_spec("slow=1.0,slow_s=0.5,seed=1")) as base_url:
        launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, base_url, str(run_dir), *(h.uuid for h in site.hubs)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        crawler = _crawler_of(run_dir, time.monotonic() + 30)
        time.sleep(2)  # the crawl is under way (every answer takes 0.5 s)
        assert _alive(crawler)
        os.kill(launcher.pid, signal.SIGKILL)  # the launcher alone, as `kill -9 PID` does
        launcher.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(crawler) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(crawler), "scrapy crawl outlived its launcher"
    assert not (run_dir / "stats.json").exists()  # never an archived crawl: no replay loads it
    assert "launcher (pid" in (run_dir / "crawl.log").read_text()
