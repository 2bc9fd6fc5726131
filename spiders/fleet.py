"""Several crawl processes on one shared Redis frontier (scrapy-redis): one run, N workers.

Each worker is an ordinary `scrapy crawl hub` subprocess (spiders.crawl.run_crawl) with the scrapy-redis
scheduler and duplicate filter keyed by the run, so every URL is fetched once across the fleet whichever
worker (or machine) takes it. Workers write their items, stats and logs to `worker-<i>/` and their WARC
records to the run's shared `warc/` folder under their own prefix; `merge_workers` then lays out the run
folder exactly as a single-process crawl does, so staging and loading do not know a fleet was involved.

Politeness is a fleet budget, not a per-worker one: the per-host concurrency is divided among the workers
(`per_worker_concurrency`), and robots.txt rules apply in every worker alike.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from logging import Logger, LoggerAdapter
from pathlib import Path
from typing import Any

from schema.errors import CitehubError
from spiders.crawl import CrawlResult, run_crawl
from spiders.frontier import frontier_keys, frontier_settings

logger = logging.getLogger(__name__)


class FrontierUnavailable(CitehubError, RuntimeError):
    pass


def per_worker_concurrency(fleet_concurrency: int, workers: int) -> int:
    return max(1, fleet_concurrency // workers)


def connect_frontier(frontier_url: str):
    """A Redis client for the frontier, checked with a PING; FrontierUnavailable names the URL if not."""
    import redis

    client = redis.Redis.from_url(frontier_url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise FrontierUnavailable(f"shared frontier {frontier_url} unreachable: {exc}") from exc
    return client


def run_worker(
    run_id: str,
    run_dir: Path,
    index: int,
    base_url: str,
    hub_urls: list[str],
    allowed_hosts: list[str],
    frontier_url: str,
    concurrency: int,
    extra_settings: dict[str, str] | None = None,
    log: Logger | LoggerAdapter[Logger] | None = None,
) -> CrawlResult:
    """One worker of the fleet; on another machine run the same with the same run_id and frontier."""
    settings = {
        **(extra_settings or {}),
        **frontier_settings(frontier_url, run_id),
        "CITEHUB_WARC_DIR": str(run_dir / "warc"),
        "CITEHUB_WARC_PREFIX": f"{run_id}-w{index}",
    }
    return run_crawl(
        run_id,
        run_dir / f"worker-{index}",
        base_url,
        hub_urls,
        allowed_hosts,
        concurrency,
        extra_settings=settings,
        log=log,
    )


def run_fleet_crawl(
    run_id: str,
    run_dir: Path,
    base_url: str,
    hub_urls: list[str],
    allowed_hosts: list[str],
    frontier_url: str,
    workers: int,
    concurrency: int = 8,
    extra_settings: dict[str, str] | None = None,
    log: Logger | LoggerAdapter[Logger] | None = None,
    first_worker: int = 0,
    owns_frontier: bool = True,
) -> CrawlResult:
    """Crawl with `workers` processes on this machine sharing `frontier_url`; returns the merged result of
    this machine's workers (`first_worker` numbers them apart from other machines' on the same run).

    The machine that owns the run's frontier empties it before (a retried run starts afresh) and after;
    a machine that joined another's run (`owns_frontier=False`) leaves it to the owner."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    client = connect_frontier(frontier_url)
    if owns_frontier:
        client.delete(*frontier_keys(run_id))
    each = per_worker_concurrency(concurrency, workers)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(
                    run_worker,
                    run_id,
                    run_dir,
                    i,
                    base_url,
                    hub_urls,
                    allowed_hosts,
                    frontier_url,
                    each,
                    extra_settings,
                    log,
                )
                for i in range(first_worker, first_worker + workers)
            ]
            results = [f.result() for f in futures]
    finally:
        if owns_frontier:
            _clear(client, run_id)
    return merge_workers(run_dir, results)


def _clear(client: Any, run_id: str) -> None:
    """Delete the run's frontier keys; a frontier already gone (the reason the crawl failed) is left be."""
    import redis

    try:
        client.delete(*frontier_keys(run_id))
    except redis.RedisError as exc:
        logger.warning("could not clear the frontier of run %s: %s", run_id, exc)


def merge_workers(run_dir: Path, results: list[CrawlResult]) -> CrawlResult:
    """Concatenate the workers' items and add up their numeric stats, into the run folder."""
    items = run_dir / "items.jsonl"
    with items.open("w", encoding="utf-8") as out:
        for result in results:
            with result.items_path.open(encoding="utf-8") as fh:
                for line in fh:
                    out.write(line)
    stats: dict = {"workers": len(results)}
    for result in results:
        for key, value in result.stats.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                stats[key] = stats.get(key, 0) + value
    (run_dir / "stats.json").write_text(json.dumps(stats, indent=1, sort_keys=True))
    return CrawlResult(run_dir=run_dir, items_path=items, stats=stats, log_path=run_dir / "worker-0" / "crawl.log")
