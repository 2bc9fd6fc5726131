"""Helpers for the fault tests: a small sample site served with a fault plan, crawled by a real
`scrapy crawl` subprocess (spiders.crawl.run_crawl), and what the crawl handed over, by URL."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from samplesite.faults import Faults
from samplesite.generator import build_site
from samplesite.model import Site
from samplesite.server import serving
from spiders.crawl import allowed_hosts_for, run_crawl

SEED = 7
# Fast, deterministic crawls: no politeness ramp on loopback, short timeouts, no backoff unless a test
# asks for it.
FAST = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_TIMEOUT": "2",
    "CITEHUB_RETRY_BACKOFF": "0",
}


@pytest.fixture(scope="session")
def small_site() -> Site:
    return build_site(hubs=8, seed=SEED, day=1)


@dataclass
class Crawl:
    base_url: str
    items: list[dict]
    stats: dict
    log: str
    faults: Faults | None
    fetch: dict[str, dict] = field(default_factory=dict)  # url -> fetch item
    pages: dict[str, dict] = field(default_factory=dict)  # url -> hub_page item
    quarantine: dict[str, dict] = field(default_factory=dict)  # url -> quarantine item

    def target(self, url: str) -> str:
        return url[len(self.base_url) :]


def crawl(
    site: Site,
    tmp_path: Path,
    faults: Faults | None = None,
    hubs: list[str] | None = None,
    settings: dict[str, str] | None = None,
    allowed: list[str] | None = None,
    prepare=None,
) -> Crawl:
    """Serve `site` with `faults`, crawl `hubs` (default: all) and collect what the crawl wrote.
    `prepare(base_url, faults)` runs once the port is known (to force modes on URLs)."""
    hubs = hubs if hubs is not None else [h.uuid for h in site.hubs]
    with serving(site, markup="mixed", faults=faults) as base_url:
        if prepare is not None:
            prepare(base_url, faults)
        urls = [f"{base_url}/citations/{u}" for u in hubs]
        result = run_crawl(
            "t",
            tmp_path / "run",
            base_url,
            urls,
            allowed if allowed is not None else allowed_hosts_for(base_url),
            concurrency=4,
            extra_settings={**FAST, **(settings or {})},
        )
    items = [json.loads(line) for line in result.items_path.read_text().splitlines() if line.strip()]
    out = Crawl(base_url, items, result.stats, result.log_path.read_text(), faults)
    for item in items:
        store = {"fetch": out.fetch, "hub_page": out.pages, "quarantine": out.quarantine}.get(item["kind"])
        if store is not None:
            store[item["url"]] = item
    return out


class Listener:
    """A TCP listener on a free 127.0.0.1 port that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()
