"""Redis dying under a fleet crawl (issue 19): the crawl used to hang for good, holding the run's lock.
Now the workers fail within CITEHUB_FRONTIER_LOST_SECONDS and the crawl raises with the reason. The Redis here
is a private server started for the test (the machine's shared one is never stopped)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import pytest

from samplesite.faults import parse_spec
from samplesite.generator import build_site
from samplesite.server import serving
from spiders.crawl import CrawlFailed, allowed_hosts_for
from spiders.fleet import run_fleet_crawl


def _wait_for_redis(port: int, timeout: float = 30.0) -> None:
    # A loaded CI machine can take seconds to start redis-server: start the crawl only once it answers.
    import redis as redis_client

    client = redis_client.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis_client.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_a_lost_frontier_fails_the_crawl_within_the_bound(tmp_path):
    server = shutil.which("redis-server")
    assert server, "redis-server is installed with Redis on these machines"
    port = _free_port()
    redis = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    site = build_site(hubs=30, seed=7, day=1)
    outcome: dict[str, object] = {}
    try:
        _wait_for_redis(port)
        with serving(site, faults=parse_spec("slow=1.0,slow_s=0.5,seed=1")) as base_url:

            def crawl() -> None:
                started = time.monotonic()
                try:
                    run_fleet_crawl(
                        "lost",
                        tmp_path / "run",
                        base_url,
                        [f"{base_url}/citations/{h.uuid}" for h in site.hubs],
                        allowed_hosts_for(base_url),
                        f"redis://127.0.0.1:{port}/0",
                        2,
                        extra_settings={"CITEHUB_FRONTIER_LOST_SECONDS": "3", "AUTOTHROTTLE_ENABLED": "False"},
                    )
                except CrawlFailed as exc:
                    outcome["error"] = str(exc)
                outcome["seconds"] = time.monotonic() - started

            worker = threading.Thread(target=crawl)
            worker.start()
            deadline = time.monotonic() + 30
            while not list((tmp_path / "run").glob("warc/*.warc.gz")) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert worker.is_alive(), f"the crawl ended before Redis was stopped: {outcome}"
            time.sleep(2)  # the crawl is under way
            killed_at = time.monotonic()
            redis.kill()
            worker.join(timeout=60)
            assert not worker.is_alive(), "the crawl still waits on a dead frontier"
    finally:
        redis.kill()
        redis.wait(timeout=10)
    assert "unreachable" in str(outcome.get("error")), outcome
    assert time.monotonic() - killed_at < 30
