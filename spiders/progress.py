"""Crawl progress for the flow: a Scrapy extension appending one JSON line per tick to
`<run dir>/progress.jsonl`, which `spiders.crawl` reads while the `scrapy crawl` subprocess runs.

A line holds counters only (no rates): hubs planned and done, hub requests (every attempt) scheduled and
answered, retries, quarantined pages, failed fetches, elapsed seconds. The reader derives pages/s and the ETA.
A hub is "done" when every request of it scheduled so far has been answered: between a page's answer
and the scheduling of the pages it links, a hub can look done for a moment, so `hubs_done` may dip.

On a shared frontier (CITEHUB_PROGRESS_HUBS, set by spiders/fleet.py) a request one worker schedules may be
fetched by another, so no worker alone knows when a hub is done. Each worker then counts, per hub, the requests
it scheduled and the ones it answered, whoever scheduled them, and its lines carry those counts under `hubs`
(`{hub uuid: [scheduled, answered]}`, this worker's totals): a tick line only the hubs that changed since the
previous line, the final line every hub. `spiders.fleet.combine_progress` adds them up across the workers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class CrawlProgress:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.interval = settings.getfloat("CITEHUB_PROGRESS_INTERVAL")
        if self.interval <= 0:
            raise NotConfigured("CITEHUB_PROGRESS_INTERVAL <= 0: progress off")
        self.path = Path(settings.get("CITEHUB_RUN_DIR")) / "progress.jsonl"
        self.run_id = settings.get("CITEHUB_RUN_ID")
        self.crawler = crawler
        self.pending: dict[str, int] = {}  # hub uuid -> requests scheduled but not yet answered
        # Fleet worker: hub uuid -> [requests this worker scheduled, requests this worker answered]
        self.per_hub = settings.getbool("CITEHUB_PROGRESS_HUBS")
        self.hub_counts: dict[str, list[int]] = {}
        self.changed: set[str] = set()  # hubs whose counts moved since the last line
        self.scheduled = self.answered = 0  # hub requests only: robots.txt is not a page
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None
        self.fh = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.request_scheduled, signal=signals.request_scheduled)
        # Every download attempt leaves the downloader, answered or failed; a retry or redirect is
        # scheduled again as a new request, so scheduled - left is what the hub still waits for.
        crawler.signals.connect(ext.request_left, signal=signals.request_left_downloader)
        crawler.signals.connect(ext.request_dropped, signal=signals.request_dropped)
        return ext

    def spider_opened(self, spider) -> None:
        self.planned = len(getattr(spider, "hub_urls", []))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 -- kept open for the crawl: one line per tick
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.interval, now=True)

    def spider_closed(self, spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.tick(final=True, reason=reason)
        if self.fh:
            self.fh.close()
            self.fh = None

    @staticmethod
    def _hub(request) -> str | None:
        return request.meta.get("hub_uuid")

    def _count(self, hub: str, scheduled: int = 0, answered: int = 0) -> None:
        counts = self.hub_counts.setdefault(hub, [0, 0])
        counts[0] += scheduled
        counts[1] += answered
        self.scheduled += scheduled
        self.answered += answered
        self.changed.add(hub)

    def request_scheduled(self, request, spider) -> None:
        hub = self._hub(request)
        if hub and self.per_hub:
            self._count(hub, scheduled=1)
        elif hub:
            self.pending[hub] = self.pending.get(hub, 0) + 1
            self.scheduled += 1

    def request_left(self, request, spider) -> None:
        hub = self._hub(request)
        if hub and self.per_hub:
            self._count(hub, answered=1)  # scheduled by this worker or another one
        elif hub and self.pending.get(hub, 0) > 0:
            self.pending[hub] -= 1
            self.answered += 1

    def request_dropped(self, request, spider) -> None:
        # The duplicate filter dropped it after it was counted as scheduled: it was never a page to fetch.
        hub = self._hub(request)
        if hub and self.per_hub:
            self._count(hub, scheduled=-1)  # the worker that drops a request is the one that scheduled it
        elif hub and self.pending.get(hub, 0) > 0:
            self.pending[hub] -= 1
            self.scheduled -= 1

    def snapshot(self, final: bool = False, reason: str | None = None) -> dict:
        stats = self.crawler.stats
        get = stats.get_value
        if self.per_hub:
            # This worker's view only: the fleet's hubs done are counted from every worker's `hubs`.
            done = sum(1 for s, a in self.hub_counts.values() if s == a)
            hubs = {"hubs": {h: self.hub_counts[h] for h in sorted(self.hub_counts if final else self.changed)}}
        else:
            done, hubs = sum(1 for n in self.pending.values() if n == 0), {}
        return {
            "run_id": self.run_id,
            "t": round(time.monotonic() - self.started, 3),
            "hubs_planned": self.planned,
            "hubs_done": done,
            "pages_planned": self.scheduled,
            "pages_done": self.answered,
            "retries": get("retry/count", 0),
            "quarantined": get("citehub/items/quarantine", 0),
            "failed": get("citehub/fetch/failed", 0) + get("citehub/fetch/errors", 0),
            "final": final,
            **({"reason": reason} if reason else {}),
            **hubs,
        }

    def tick(self, final: bool = False, reason: str | None = None) -> None:
        if self.fh is None:
            return
        self.fh.write(json.dumps(self.snapshot(final, reason)) + "\n")
        self.fh.flush()  # the flow reads the file while we write it
        self.changed.clear()
