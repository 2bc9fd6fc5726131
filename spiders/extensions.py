"""Crawl extensions: archive every response to WARC, and hand the crawl stats to the flow as JSON."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from twisted.internet import task
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from spiders.crawl import NO_SPACE_STAT
from spiders.peak_rss import peak_rss_bytes

logger = logging.getLogger(__name__)

# Scrapy hands us the decoded body; these headers would describe bytes that are not in the record.
_DROP_HEADERS = {b"content-encoding", b"transfer-encoding", b"content-length"}


class WarcArchive:
    """Appends every response (status, headers, body) to the run's gzipped WARC files.

    Each record is its own gzip member, so `(warc_file, warc_offset)` addresses it for replay.
    The location is put in `response.meta["warc"]` before the spider sees the response, so the
    fetch row the spider emits can point at it. Files rotate at CITEHUB_WARC_MAX_BYTES.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        # Fleet workers of one run share the run's WARC folder, each under its own file prefix.
        self.dir = Path(settings.get("CITEHUB_WARC_DIR") or Path(settings.get("CITEHUB_RUN_DIR")) / "warc")
        self.prefix = settings.get("CITEHUB_WARC_PREFIX") or settings.get("CITEHUB_RUN_ID")
        self.run_id = settings.get("CITEHUB_RUN_ID")
        self.max_bytes = settings.getint("CITEHUB_WARC_MAX_BYTES")
        self.stats = crawler.stats
        self.index = -1
        self.fh = None
        self.writer: WARCWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchive:
        ext = cls(crawler)
        crawler.signals.connect(ext.open, signal=signals.spider_opened)
        crawler.signals.connect(ext.close, signal=signals.spider_closed)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def _rotate(self) -> None:
        if self.fh:
            self.fh.close()
        self.index += 1
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"{self.prefix}-{self.index:05d}.warc.gz"
        self.fh = open(self.path, "ab")  # noqa: SIM115 -- one file per WARC segment, closed on rotation
        self.writer = WARCWriter(self.fh, gzip=True)
        info = self.writer.create_warcinfo_record(self.path.name, {"software": "citehub", "run-id": self.run_id})
        self.writer.write_record(info)

    def open(self, spider) -> None:
        self._rotate()

    def close(self, spider) -> None:
        if self.fh:
            self.fh.close()
            self.fh = None

    def response_received(self, response: Response, request: Request, spider) -> None:
        if self.fh is None:
            return
        if self.fh.tell() >= self.max_bytes:
            self._rotate()
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, values in response.headers.items()
            if k.lower() not in _DROP_HEADERS
            for v in values
        ]
        body = response.body
        headers.append(("Content-Length", str(len(body))))
        http_headers = StatusAndHeaders(f"{response.status} {_reason(response.status)}", headers, protocol="HTTP/1.1")
        record = self.writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Concurrent-To-Run": self.run_id},
        )
        offset = self.fh.tell()
        self.writer.write_record(record)
        response.meta["warc"] = {
            "warc_file": self.path.name,
            "warc_offset": offset,
            "sha256": hashlib.sha256(body).hexdigest(),
            "bytes": len(body),
        }
        self.stats.inc_value("citehub/warc/records")
        self.stats.inc_value("citehub/warc/bytes", len(body))


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _NoSpaceCounter(logging.Handler):
    """Counts the log records whose exception (or its cause) is ENOSPC into NO_SPACE_STAT: a crawl that lost
    writes to a full disk says so in stats.json even when its log could not be written, and even when it
    finished (space freed before its end) with exit code 0."""

    def __init__(self, stats) -> None:
        super().__init__(logging.WARNING)
        self.stats = stats

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        seen = 0
        while exc is not None and seen < 10:
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                self.stats.inc_value(NO_SPACE_STAT)
                return
            exc, seen = exc.__cause__ or exc.__context__, seen + 1


class StatsJson:
    """Writes the crawl stats to `<run dir>/stats.json` when the spider closes, for the flow to read; with
    them NO_SPACE_STAT, the errors whose cause was a full disk."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = Path(crawler.settings.get("CITEHUB_RUN_DIR")) / "stats.json"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsJson:
        ext = cls(crawler)
        logging.getLogger().addHandler(_NoSpaceCounter(crawler.stats))
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        # engine_stopped comes after every spider_closed handler, so the stats are final by then.
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def spider_closed(self, spider, reason: str) -> None:
        self.reason = reason

    def engine_stopped(self) -> None:
        stats = dict(self.crawler.stats.get_stats())
        stats["finish_reason"] = getattr(self, "reason", "unknown")
        stats.setdefault("finish_time", datetime.now(UTC))
        if (peak := peak_rss_bytes()) is not None:
            stats["citehub/peak_rss_bytes"] = peak
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(stats, default=_json_default, indent=1, sort_keys=True))
        tmp.replace(self.path)


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class ParentWatch:
    """Ends the crawl at once when the process that launched it dies (CITEHUB_PARENT_PID): a crawl whose run
    is dead must not go on fetching for it. It exits without writing stats.json, so the run folder never
    counts as an archived crawl (`spiders.replay.archived_runs`) and no replay loads it."""

    def __init__(self, crawler: Crawler, parent: int, interval: float) -> None:
        self.crawler = crawler
        self.parent = parent
        self.interval = interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParentWatch:
        parent = crawler.settings.getint("CITEHUB_PARENT_PID")
        if not parent:
            raise NotConfigured("no CITEHUB_PARENT_PID: nobody to watch")
        ext = cls(crawler, parent, crawler.settings.getfloat("CITEHUB_PARENT_WATCH_INTERVAL"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: object) -> None:
        self.loop = task.LoopingCall(self.check)
        self.loop.start(self.interval, now=True)

    def spider_closed(self, spider: object) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()

    def check(self) -> None:
        if os.getppid() != self.parent:  # reparented: the launcher is gone
            logger.error("launcher (pid %d) died: crawl stopped, run folder left incomplete", self.parent)
            logging.shutdown()
            os._exit(3)
