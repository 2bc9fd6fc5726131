"""A crawl frontier shared by several crawl processes through Redis (scrapy-redis).

scrapy-redis supplies the shared request queue and the shared duplicate filter, so every URL is fetched
once across the fleet. What it does not supply for a plain spider is the end of the crawl: a worker whose
own queue runs dry would close while another worker is still parsing a page that will enqueue more.
`FrontierIdle` keeps a worker open until the shared queue has stayed empty and no worker has been busy
for CITEHUB_FRONTIER_IDLE_SECONDS. Workers announce activity with a heartbeat key per run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from twisted.internet import task

logger = logging.getLogger(__name__)


def frontier_settings(redis_url: str, run_id: str) -> dict[str, str]:
    """Settings that put a crawl process on the shared frontier of run `run_id`."""
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": f"citehub:{run_id}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"citehub:{run_id}:dupefilter",
        # A worker that finishes first must not flush the queue and fingerprints the others still use;
        # the coordinator deletes the run's keys when every worker has exited.
        "SCHEDULER_PERSIST": "True",
        "REDIS_URL": redis_url,
        # a frontier that stops answering must fail a call, not hang it (FrontierIdle.watch counts on it)
        "REDIS_PARAMS": json.dumps({"socket_timeout": 5, "socket_connect_timeout": 5}),
        "CITEHUB_FRONTIER_ACTIVITY_KEY": f"citehub:{run_id}:active",
    }


def frontier_keys(run_id: str) -> list[str]:
    return [f"citehub:{run_id}:{suffix}" for suffix in ("requests", "dupefilter", "active")]


class FrontierIdle:
    """Refuses to close an idle worker while the fleet may still produce work."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        key = settings.get("CITEHUB_FRONTIER_ACTIVITY_KEY")
        from scrapy_redis.connection import get_redis_from_settings

        self.server = get_redis_from_settings(settings)
        self.key = key
        self.idle_seconds = settings.getfloat("CITEHUB_FRONTIER_IDLE_SECONDS", 3.0)
        self.crawler = crawler
        self.idle_since: float | None = None
        self.lost_seconds = settings.getfloat("CITEHUB_FRONTIER_LOST_SECONDS")
        self.url = settings.get("REDIS_URL")
        self.unreachable_since: float | None = None
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierIdle | None:
        if not crawler.settings.get("CITEHUB_FRONTIER_ACTIVITY_KEY"):
            # Single-process crawl: nothing to wait for. (NotConfigured would log a warning every run.)
            return _Inactive()
        ext = cls(crawler)
        crawler.signals.connect(ext.busy, signal=signals.response_received)
        crawler.signals.connect(ext.idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        return ext

    def opened(self, spider: object) -> None:
        self.loop = task.LoopingCall(self.watch)
        self.loop.start(1.0, now=False)

    def watch(self) -> None:
        """A lost frontier ends the crawl within CITEHUB_FRONTIER_LOST_SECONDS: without it the worker waits
        for good (and its run holds the warehouse's lock). It exits without stats.json: the crawl failed."""
        import redis

        try:
            self.server.ping()
        except redis.RedisError as exc:
            now = time.monotonic()
            self.unreachable_since = self.unreachable_since or now
            if now - self.unreachable_since >= self.lost_seconds:
                message = f"shared frontier {self.url} unreachable for {now - self.unreachable_since:.0f} s ({exc})"
                logger.error("%s: crawl stopped", message)
                print(f"citehub: {message}", file=sys.stderr, flush=True)
                logging.shutdown()
                os._exit(4)
            return
        self.unreachable_since = None

    def busy(self, **_) -> None:
        # The fleet's last activity time; a worker still parsing keeps the others waiting for its links.
        self.server.set(self.key, repr(time.time()), ex=3600)
        self.idle_since = None

    def idle(self, spider) -> None:
        scheduler = self.crawler.engine.scheduler
        if len(scheduler) > 0:
            self.idle_since = None
            raise DontCloseSpider
        now = time.time()
        last = float(self.server.get(self.key) or 0)
        self.idle_since = self.idle_since or now
        if now - max(last, self.idle_since) < self.idle_seconds:
            self.crawler.stats.inc_value("citehub/frontier/idle_waits")
            raise DontCloseSpider


class _Inactive:
    """What FrontierIdle is without a shared frontier: an extension that does nothing."""
