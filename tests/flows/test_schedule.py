"""The schedule against a real `prefect server start` on 127.0.0.1: `citehub schedule --cron "0 3 * * *"`
registers the nightly deployment with that cron (and the backfill deployment), and a parameterized run of
`backfill/backfill`, started the way the README says (`prefect deployment run ... -p hubs=[...]`), is picked
up by the serving process and completes: the warehouse then holds exactly those hubs. Then `prefect deploy
--all` of prefect.yaml puts the same nightly (same cron) and the backfill on a process work pool.

Bounded: every wait has a deadline, and the server and the serving process are always terminated.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from flows.server import STARTUP_TIMEOUT_S
from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
CRON = "0 3 * * *"
pytestmark = pytest.mark.slow
# Every wait is bounded, and bounded for a busy machine (`make test-loaded`: both cores taken by another job
# made a fixed 40 s server start fail): a Prefect server starts within the limit `citehub` commands wait for
# one; a process or a flow run that takes more than WAIT_S is broken, not slow.
WAIT_S = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(what: str, probe, deadline_s: float, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited {proc.returncode}")
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {deadline_s} s")


@contextmanager
def _process(cmd: list[str], env: dict, log: Path):
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server's or runner's children go too
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _get(client: httpx.Client, path: str):
    try:
        response = client.get(path)
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None


def test_scheduled_deployment_and_parameterized_backfill_run(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITEHUB_"))}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": api,
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    warehouse = tmp_path / "wh.sqlite"
    run_env = env | {"CITEHUB_DATABASE_URL": f"sqlite:///{warehouse}", "CITEHUB_DATA_DIR": str(tmp_path / "data")}
    site = build_site(hubs=3, seed=7, day=1)
    hubs = sorted(h.uuid for h in site.hubs)
    prefect = str(Path(sys.executable).with_name("prefect"))
    citehub = str(Path(sys.executable).with_name("citehub"))
    with (
        _process(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / "server.log"
        ) as server,
        httpx.Client(base_url=api, timeout=5) as client,
    ):
        _wait("prefect server /api/health", lambda: _get(client, "/health"), STARTUP_TIMEOUT_S, server)
        with (
            serving(site) as base_url,
            _process(
                [citehub, "schedule", "--cron", CRON, "--base-url", base_url], run_env, tmp_path / "schedule.log"
            ) as scheduler,
        ):
            nightly = _wait(
                "nightly deployment",
                lambda: _get(client, "/deployments/name/nightly-refresh/citehub-nightly"),
                WAIT_S,
                scheduler,
            )
            crons = [s["schedule"].get("cron") for s in nightly["schedules"]]
            assert crons == [CRON]
            assert nightly["schedules"][0]["active"] is True
            assert nightly["parameters"] == {"base_url": base_url}  # no warehouse URL among them
            backfill = _wait(
                "backfill deployment", lambda: _get(client, "/deployments/name/backfill/backfill"), WAIT_S, scheduler
            )
            assert backfill["schedules"] == []
            started = subprocess.run(
                [prefect, "deployment", "run", "backfill/backfill", "-p", f"hubs={json.dumps(hubs)}"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=WAIT_S,
            )
            assert started.returncode == 0, started.stdout + started.stderr
            run_id = next(line.split()[-1] for line in started.stdout.splitlines() if "UUID" in line)

            def finished():
                run = _get(client, f"/flow_runs/{run_id}")
                state = (run or {}).get("state") or {}
                return state if state.get("type") in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None

            state = _wait("backfill flow run", finished, WAIT_S, scheduler)
            assert state["type"] == "COMPLETED", (state, (tmp_path / "schedule.log").read_text()[-3000:])
            run = _get(client, f"/flow_runs/{run_id}")
            assert run["parameters"]["hubs"] == hubs
        # prefect.yaml deploys the same two flows to a process work pool
        deploy_env = env | {"CITEHUB_HOME": str(REPO)}
        for cmd in (["work-pool", "create", "citehub", "--type", "process"], ["--no-prompt", "deploy", "--all"]):
            done = subprocess.run(
                [prefect, *cmd], env=deploy_env, cwd=REPO, capture_output=True, text=True, timeout=WAIT_S
            )
            assert done.returncode == 0, done.stdout + done.stderr
        pooled = _get(client, "/deployments/name/nightly-refresh/citehub-nightly")
        assert (pooled["entrypoint"], pooled["work_pool_name"]) == ("flows/nightly.py:nightly_refresh", "citehub")
        assert [s["schedule"]["cron"] for s in pooled["schedules"]] == [CRON]
        assert _get(client, "/deployments/name/backfill/backfill")["work_pool_name"] == "citehub"
    engine = make_engine(f"sqlite:///{warehouse}")
    with engine.connect() as conn:
        assert sorted(conn.execute(select(t.hub.c.hub_uuid)).scalars()) == hubs
        assert conn.execute(select(t.run.c.kind, t.run.c.status)).all() == [("backfill", "completed")]
