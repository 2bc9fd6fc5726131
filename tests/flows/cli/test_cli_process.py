"""`citehub refresh` as a process, without PREFECT_API_URL (its own temporary Prefect server), signalled as an
operator or a supervisor would (issues 18 and 19): killed alone it takes its crawl and its server with it;
Ctrl-C stops it within seconds, its run marked failed, nothing published and the lock free."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from samplesite.faults import parse_spec
from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine
from warehouse.lock import single_flight
from warehouse.runs import start_run

ROOT = Path(__file__).resolve().parents[3]
CITEHUB = [sys.executable, "-m", "flows.cli"]


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(proc.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _start_refresh(tmp_path: Path, base_url: str, uuids: list[str]) -> tuple[subprocess.Popen, str, Path]:
    """A refresh in a session of its own (so a signal reaches it alone or with its group, as the test says);
    returns it once its crawl runs, with the warehouse URL and its output file."""
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"), CITEHUB_DATABASE_URL=url, CITEHUB_DATA_DIR=str(tmp_path / "data")
    )
    out = tmp_path / "out.txt"
    hubs = [arg for u in uuids for arg in ("--hub", u)]
    proc = subprocess.Popen(
        [*CITEHUB, "refresh", "--base-url", base_url, *hubs],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 150
    while not any("scrapy" in _cmdline(c) for c in _children(proc.pid)):
        assert proc.poll() is None, out.read_text()[-3000:]
        assert time.monotonic() < deadline, "the crawl never started"
        time.sleep(0.2)
    time.sleep(2)  # the crawl is under way (every answer takes 0.5 s)
    return proc, url, out


@pytest.mark.slow
def test_a_refresh_killed_alone_takes_its_crawl_and_prefect_server_with_it(tmp_path):
    site = build_site(hubs=30, seed=7, day=1)
    with serving(site, faults=parse_spec("slow=1.0,slow_s=0.5,seed=1")) as base_url:
        proc, _, _ = _start_refresh(tmp_path, base_url, [h.uuid for h in site.hubs])
        children = _children(proc.pid)
        assert any("uvicorn" in _cmdline(c) for c in children)  # the temporary Prefect server
        assert any("scrapy" in _cmdline(c) for c in children)
        os.kill(proc.pid, signal.SIGKILL)  # the CLI alone, as `kill -9 PID` does
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [c for c in children if _alive(c)] == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_refresh_stops_within_seconds_and_publishes_nothing(tmp_path, signum):
    site = build_site(hubs=30, seed=7, day=1)
    with serving(site, faults=parse_spec("slow=1.0,slow_s=0.5,seed=1")) as base_url:
        proc, url, out = _start_refresh(tmp_path, base_url, [h.uuid for h in site.hubs])
        children = _children(proc.pid)
        os.killpg(proc.pid, signum) if signum == signal.SIGINT else os.kill(proc.pid, signum)  # a terminal's Ctrl-C
        started = time.monotonic()
        returncode = proc.wait(timeout=60)
        stopped_in = time.monotonic() - started
    assert returncode == 130, out.read_text()[-3000:]
    assert stopped_in < 15
    assert [c for c in children if _alive(c)] == []
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(t.run.c.status, t.run.c.summary)).all()
        hubs = conn.execute(select(func.count()).select_from(t.hub)).scalar_one()
    assert [r.status for r in rows] == ["failed"]
    assert "interrupted (Ctrl-C or SIGTERM) before it finished" in rows[0].summary
    assert hubs == 0
    with single_flight(engine, start_run(engine, "nightly", {})):  # the lock is free: no wait needed
        pass
    engine.dispose()


@pytest.mark.slow
def test_two_refreshes_at_once_without_a_prefect_server_one_runs_one_is_skipped(tmp_path):
    """Issue 18: both used to die with "Timed out while attempting to connect to ephemeral Prefect API
    server". Each starts its own temporary server (sharing one Prefect home); single-flight holds."""
    site = build_site(hubs=12, seed=7, day=1)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), CITEHUB_DATA_DIR=str(tmp_path / "data"), COLUMNS="200")
    with serving(site, faults=parse_spec("slow=1.0,slow_s=0.3,seed=1")) as base_url:
        hubs = [arg for h in site.hubs for arg in ("--hub", h.uuid)]
        command = [*CITEHUB, "refresh", "--base-url", base_url, "--database-url", url, *hubs]
        procs = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=400)[0] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 5], "\n\n".join(o[-3000:] for o in outputs)
    skipped = outputs[[p.returncode for p in procs].index(5)]
    assert "skipped: run " in skipped and "holds the warehouse's run lock" in skipped
    engine = make_engine(url)
    with engine.connect() as conn:
        assert sorted(conn.execute(select(t.run.c.status)).scalars()) == ["completed", "skipped"]
    engine.dispose()


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["hub", "anything"],
        ["report", "--out", "r.html"],
        ["sql", "-c", "SELECT 1"],
        ["docs", "--out", "warehouse.md"],  # into the test's folder, not the checkout's docs/
        ["db", "current"],
        ["db", "history"],
    ],
    ids=["status", "hub", "report", "sql", "docs", "db-current", "db-history"],
)
def test_read_only_commands_start_no_prefect_server(tmp_path, args):
    """Issue 18: every command paid ~20 s of temporary Prefect server start. Only commands that run a flow
    start one; these answer at once."""
    from schema.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    upgrade(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), CITEHUB_DATABASE_URL=url, CITEHUB_DATA_DIR=str(tmp_path))
    started = time.monotonic()
    done = subprocess.run(
        [*CITEHUB, *args],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert "temporary server" not in done.stdout + done.stderr
    assert not (tmp_path / "prefect" / "prefect.db").exists()  # a server would have created its database
    # bounded for a busy machine (10 s failed `report` beside the suite on both cores); no server is the proof
    assert elapsed < 45, elapsed
    assert done.returncode in (0, 1), done.stdout + done.stderr  # `hub anything` finds no hub: exit 1
