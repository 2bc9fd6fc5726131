"""Conditional requests: validators from the last complete fetch become If-None-Match / If-Modified-Since.

The flow writes the run's validators file (`warehouse.history.write_validators`: JSON object, URL ->
{"etag", "last_modified"}); the spider puts a URL's validators in `request.meta["validators"]` and this
middleware turns them into headers and lets a 304 through to the callback (an unchanged page costs a
304 and no body).
"""

from __future__ import annotations

import json
from pathlib import Path

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response

from schema.errors import CitehubError


class BadValidatorsFile(CitehubError, ValueError):
    pass


def load_validators(path: str | None) -> dict[str, dict[str, str]]:
    """The validators file as {url: {"etag": ..., "last_modified": ...}}; {} without a file."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BadValidatorsFile(f"validators file {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise BadValidatorsFile(f"validators file {path}: expected an object of url -> {{etag, last_modified}}")
    return data


class ConditionalRequestsMiddleware:
    def __init__(self, allowed_codes: list[int]) -> None:
        self.allowed_codes = allowed_codes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestsMiddleware:
        return cls(crawler.settings.getlist("HTTPERROR_ALLOWED_CODES"))

    def process_request(self, request: Request, spider=None):
        validators = request.meta.get("validators")
        if not validators:
            return
        if validators.get("etag"):
            request.headers.setdefault("If-None-Match", validators["etag"])
        if validators.get("last_modified"):
            request.headers.setdefault("If-Modified-Since", validators["last_modified"])
        codes = request.meta.get("handle_httpstatus_list", [int(c) for c in self.allowed_codes])
        request.meta["handle_httpstatus_list"] = sorted({*codes, 304})
        return


class NotModifiedAwareAutoThrottle(AutoThrottle):
    """AutoThrottle that lets a 304 lower the delay like a 200.

    Scrapy's AutoThrottle never lowers the delay on a non-200 response (error pages are small and fast,
    which would feed back into ever shorter delays). A 304 answers a conditional request the server
    evaluated in full, so its latency is a fair measure; without this a no-change nightly (only 304s)
    would crawl at AUTOTHROTTLE_START_DELAY per request forever.
    """

    def _adjust_delay(self, slot, latency: float, response: Response) -> None:
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
