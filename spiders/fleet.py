"""Several crawl processes on one shared Redis frontier (scrapy-redis): one run, N workers.

Each worker is an ordinary `scrapy crawl hub` subprocess (spiders.crawl.run_crawl) with the scrapy-redis
scheduler and duplicate filter keyed by the run, so every URL is fetched once across the fleet whichever
worker (or machine) takes it. Workers write their items, stats and logs to `worker-<i>/` and their WARC
records to the run's shared `warc/` folder under their own prefix; `merge_workers` then lays out the run
folder exactly as a single-process crawl does, so staging and loading do not know a fleet was involved.

Politeness is a fleet budget, not a per-worker one: the per-host concurrency is divided among the workers
(`per_worker_concurrency`), and robots.txt rules apply in every worker alike.

Progress: every worker writes its own `worker-<i>/progress.jsonl` (spiders/progress.py, with per-hub counts)
and `run_crawl` follows it; `FleetProgress` keeps each worker's latest line and hands `on_progress` one
fleet-wide snapshot (`combine_progress`) each time any worker reports, in the same shape a one-process crawl's
snapshots have, so the same `flows.progress.ProgressReporter` shows either.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
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
    on_progress: Callable[[dict], object] | None = None,
) -> CrawlResult:
    """One worker of the fleet; on another machine run the same with the same run_id and frontier.
    `on_progress` gets this worker's own progress lines (with their per-hub counts, see spiders/progress.py)."""
    settings = {
        **(extra_settings or {}),
        **frontier_settings(frontier_url, run_id),
        "CITEHUB_WARC_DIR": str(run_dir / "warc"),
        "CITEHUB_WARC_PREFIX": f"{run_id}-w{index}",
        "CITEHUB_PROGRESS_HUBS": "True",  # a hub's requests are spread over the workers: count them per hub
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
        on_progress=on_progress,
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
    on_progress: Callable[[dict], object] | None = None,
) -> CrawlResult:
    """Crawl with `workers` processes on this machine sharing `frontier_url`; returns the merged result of
    this machine's workers (`first_worker` numbers them apart from other machines' on the same run).

    The machine that owns the run's frontier empties it before (a retried run starts afresh) and after;
    a machine that joined another's run (`owns_frontier=False`) leaves it to the owner.

    `on_progress`, as for `run_crawl`, gets progress snapshots while the crawl runs: one fleet-wide snapshot
    (`combine_progress`) each time any worker reports, from the workers' threads one call at a time; the last
    has `final` true once every worker has finished. A `flows.progress.ProgressReporter` fits. It counts
    this machine's workers only: a run shared with other machines shows the part this machine fetched."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    client = connect_frontier(frontier_url)
    if owns_frontier:
        client.delete(*frontier_keys(run_id))
    each = per_worker_concurrency(concurrency, workers)
    indexes = list(range(first_worker, first_worker + workers))
    progress = FleetProgress(run_id, indexes, on_progress) if on_progress is not None else None
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
                    progress.worker(i) if progress is not None else None,
                )
                for i in indexes
            ]
            results = [f.result() for f in futures]
    finally:
        if owns_frontier:
            _clear(client, run_id)
    return merge_workers(run_dir, results)


def combine_progress(
    run_id: str,
    snapshots: Mapping[int, dict],
    hub_counts: Mapping[int, Mapping[str, Sequence[int]]],
    workers: int,
    t: float,
) -> dict:
    """One fleet-wide progress snapshot from each worker's latest one (`snapshots`, by worker index) and its
    per-hub `[scheduled, answered]` totals (`hub_counts`); `workers` is how many there are, `t` the fleet's
    elapsed seconds. The shape is a one-process crawl's (spiders/progress.py), plus `workers` and `workers_done`.

    Pages, retries, quarantined and failed are the workers' sums; hubs planned is the planned total (every
    worker plans all of them); a hub is done when the requests scheduled for it, by any worker, have all been
    answered, by any worker. The snapshot is final when every worker's is; its reason is `finished` when
    every worker's is, else the first other one."""
    latest = list(snapshots.values())

    def total(key: str) -> int:
        return sum(int(s.get(key, 0)) for s in latest)

    per_hub: dict[str, list[int]] = {}
    for counts in hub_counts.values():
        for hub, (scheduled, answered) in counts.items():
            both = per_hub.setdefault(hub, [0, 0])
            both[0] += scheduled
            both[1] += answered
    planned = max((int(s.get("hubs_planned", 0)) for s in latest), default=0)
    done = sum(1 for scheduled, answered in per_hub.values() if scheduled > 0 and scheduled == answered)
    pages_done = total("pages_done")
    finished = [s for s in latest if s.get("final")]
    final = bool(latest) and len(finished) == workers
    snap: dict[str, Any] = {
        "run_id": run_id,
        "t": round(t, 3),
        "hubs_planned": planned,
        "hubs_done": min(done, planned),
        # a page fetched by one worker can be reported before the worker that scheduled it reports it
        "pages_planned": max(total("pages_planned"), pages_done),
        "pages_done": pages_done,
        "retries": total("retries"),
        "quarantined": total("quarantined"),
        "failed": total("failed"),
        "final": final,
        "workers": workers,
        "workers_done": len(finished),
    }
    if final:
        reasons = [s.get("reason") or "finished" for s in finished]
        snap["reason"] = next((r for r in reasons if r != "finished"), "finished")
    return snap


class FleetProgress:
    """Collects the workers' progress lines (each worker's thread calls its `worker(i)` callback) and hands
    `on_progress` the fleet-wide snapshot after each, one call at a time, with `t` on the fleet's clock."""

    def __init__(
        self,
        run_id: str,
        workers: Sequence[int],
        on_progress: Callable[[dict], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.workers = list(workers)
        self.on_progress = on_progress
        self.clock = clock
        self.started = clock()
        self.snapshots: dict[int, dict] = {}
        self.hub_counts: dict[int, dict[str, Sequence[int]]] = {i: {} for i in self.workers}
        self.lock = threading.Lock()

    def worker(self, index: int) -> Callable[[dict], None]:
        return lambda snap: self.update(index, snap)

    def update(self, index: int, snap: dict) -> dict:
        with self.lock:
            # A tick line carries the hubs that changed, with this worker's totals: newer values replace older.
            self.hub_counts[index].update(snap.get("hubs") or {})
            self.snapshots[index] = snap
            combined = combine_progress(
                self.run_id, self.snapshots, self.hub_counts, len(self.workers), self.clock() - self.started
            )
            self.on_progress(combined)
            return combined


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
