"""Run one crawl as a `scrapy crawl` subprocess (a Twisted reactor cannot restart in one process)
and read back what it hands over: items as JSON Lines, stats as JSON, WARC files."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


class CrawlFailed(RuntimeError):
    pass


@dataclass
class CrawlResult:
    run_dir: Path
    items_path: Path
    stats: dict
    log_path: Path

    @property
    def warc_files(self) -> list[Path]:
        return sorted((self.run_dir / "warc").glob("*.warc.gz"))


def allowed_hosts_for(base_url: str, extra: list[str] | None = None) -> list[str]:
    """The base URL's host, with its port when the URL names one (`127.0.0.1:8123`: the sample site, not
    whatever else listens on loopback), plus the configured hosts."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if host and parts.port is not None:
        host = f"{host}:{parts.port}"
    return sorted({host, *(extra or [])} - {""})


def run_crawl(
    run_id: str,
    run_dir: Path,
    base_url: str,
    hub_urls: list[str],
    allowed_hosts: list[str],
    concurrency: int = 8,
    extra_settings: dict[str, str] | None = None,
) -> CrawlResult:
    """Crawl `hub_urls`; raise CrawlFailed when scrapy exits non-zero or leaves no stats."""
    run_dir.mkdir(parents=True, exist_ok=True)
    seeds = run_dir / "seeds.txt"
    seeds.write_text("".join(f"{u}\n" for u in hub_urls), encoding="utf-8")
    items = run_dir / "items.jsonl"
    stats_path = run_dir / "stats.json"
    for stale in (items, stats_path):
        stale.unlink(missing_ok=True)
    log_path = run_dir / "crawl.log"
    settings = {
        "CITEHUB_RUN_DIR": str(run_dir),
        "CITEHUB_RUN_ID": run_id,
        "CITEHUB_ALLOWED_HOSTS": ",".join(allowed_hosts),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
        "CONCURRENT_REQUESTS": str(max(16, concurrency * 2)),
        "LOG_FILE": str(log_path),
        **(extra_settings or {}),
    }
    cmd = [sys.executable, "-m", "scrapy", "crawl", "hub", "-O", f"{items}:jsonlines"]
    cmd += ["-a", f"seeds_file={seeds}", "-a", f"base_url={base_url}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "spiders.settings"}
    logger.info("crawl %s: %d hubs from %s", run_id, len(hub_urls), base_url)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not stats_path.exists():
        tail = (proc.stderr or "")[-2000:]
        raise CrawlFailed(f"scrapy crawl exited {proc.returncode}; see {log_path}\n{tail}")
    stats = json.loads(stats_path.read_text())
    items.touch()  # a crawl of zero hubs writes no feed file
    return CrawlResult(run_dir=run_dir, items_path=items, stats=stats, log_path=log_path)
