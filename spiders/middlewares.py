"""Downloader middlewares: the transport policy Scrapy does not have by itself.

- `HostGuardMiddleware`: every request (seeds, robots.txt, retries and each redirect hop, since Scrapy
  re-schedules a redirect as a new request) must name an allowlisted host, and its resolved address must
  be public unless the allowlist names that very address (`refusal`: the same rules asked of one URL before
  a crawl, e.g. of the base URL by the configuration checks).
- `CredentialScrubMiddleware`: Authorization and Cookie never follow a redirect to another origin.
- `PolicyRobotsTxtMiddleware`: Scrapy's robots.txt middleware with RFC 9309 failure handling (5xx or
  unreachable: fetch nothing from the host this run; 4xx: no restrictions); `CrawlDelayMiddleware`
  honours its `Crawl-delay`.
- `CharsetMiddleware`: a UTF-8 body declared as Latin-1 is read as UTF-8 (no silent mojibake).
- `RetryAfterMiddleware`: Scrapy's retry middleware that waits as long as `Retry-After` says (seconds or
  HTTP date), up to a cap, and backs off exponentially on 5xx answers that name no time.

A request refused by policy fails with `Refused` (an IgnoreRequest) carrying a machine-readable reason;
the spider's errback records it as a `skipped` fetch with that reason, so every URL is accounted for.

Verified Scrapy 2.19 behaviour this module relies on (tests/faults/ pin each):
- the HTTP compression middleware stops decompressing at DOWNLOAD_MAXSIZE (IgnoreRequest "exceeded
  DOWNLOAD_MAXSIZE during decompression"), so a gzip bomb costs at most that much memory;
- RedirectMiddleware drops Authorization when scheme, host or port change and Cookie when the host
  changes (not the port), but DefaultHeaders/HttpAuth put them back on the redirected request: see
  CredentialScrubMiddleware;
- Scrapy's RobotsTxtMiddleware lets through unchecked the requests that waited for robots.txt, all but
  the first (PolicyRobotsTxtMiddleware.robot_parser);
- Scrapy's OffsiteMiddleware drops an offsite redirect at scheduling without calling the errback, so the
  URL would vanish from the accounting: HostGuardMiddleware replaces it (settings.py disables it).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.defer import DeferredLock
from twisted.internet.task import deferLater
from w3lib.encoding import http_content_type_encoding

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(IgnoreRequest):
    """A request the crawl policy does not send. `reason` is a short code for the fetch table."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _reactor():
    # Imported when used: importing it at module level would install the default reactor before Scrapy
    # installs the asyncio one.
    from twisted.internet import reactor

    return reactor


async def _sleep(seconds: float) -> None:
    if seconds > 0:
        reactor = _reactor()
        await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


# --- host allowlist and addresses ------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowEntry:
    """`host` or `host:port` from CITEHUB_ALLOWED_HOSTS. Without a port any port of the host matches."""

    host: str
    port: int | None

    @classmethod
    def parse(cls, text: str) -> AllowEntry:
        text = text.strip().lower()
        if text.startswith("["):  # [::1]:8000
            host, _, rest = text[1:].partition("]")
            return cls(host, int(rest[1:]) if rest.startswith(":") else None)
        host, sep, port = text.rpartition(":")
        if sep and port.isdigit() and ":" not in host:
            return cls(host, int(port))
        return cls(text, None)

    def matches(self, host: str, port: int) -> bool:
        return host == self.host and (self.port is None or self.port == port)

    @property
    def names_an_address(self) -> bool:
        """The entry is itself an IP address or `localhost`: the operator allowed that address explicitly."""
        if self.host == "localhost":
            return True
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def is_public(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _origin(parts) -> tuple[str, str, int]:
    return parts.scheme, (parts.hostname or ""), parts.port or DEFAULT_PORTS.get(parts.scheme, 0)


class HostGuardMiddleware:
    """Refuses any request outside CITEHUB_ALLOWED_HOSTS, and any whose host resolves to a non-public
    address unless the allowlist entry names the address itself (`127.0.0.1:8123`, `localhost`).

    The address is resolved through the reactor's resolver, which is Scrapy's caching resolver: the
    connection that follows uses the same cached answer, so a name cannot be re-pointed at a private
    address between the check and the connect.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.entries = [AllowEntry.parse(h) for h in crawler.settings.getlist("CITEHUB_ALLOWED_HOSTS") if h]
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGuardMiddleware:
        return cls(crawler)

    def _refuse(self, reason: str, detail: str) -> Refused:
        self.stats.inc_value(f"citehub/guard/refused/{reason}")
        logger.warning("refused request: %s: %s", reason, detail)
        return Refused(reason, detail)

    async def process_request(self, request: Request, spider=None) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in DEFAULT_PORTS:
            raise self._refuse("scheme_not_allowed", f"{parts.scheme}: in {request.url}")
        _, host, port = _origin(parts)
        entry = next((e for e in self.entries if e.matches(host, port)), None)
        if entry is None:
            raise self._refuse("host_not_allowed", f"{host}:{port} is not on the allowlist")
        if not entry.names_an_address:
            try:
                address = await maybe_deferred_to_future(_reactor().resolve(host))
            except Exception as exc:  # DNS failure: let the download fail the usual (retried) way
                logger.debug("resolving %s failed: %s", host, exc)
                address = None
            if address is not None and not is_public(address):
                raise self._refuse("private_address", f"{host} resolves to non-public {address}")
        self.stats.inc_value("citehub/guard/allowed")


def refusal(url: str, allowed_hosts: list[str], resolve: Callable[[str], str] = socket.gethostbyname) -> str | None:
    """Why `HostGuardMiddleware` would refuse a request for `url` under the allowlist `allowed_hosts`, or None:
    its rules, asked before a crawl (configuration checks ask it of the base URL, every request of a run that
    it refuses). The URL is parsed as Scrapy parses a request's; the name is resolved as the crawl resolves it
    (Scrapy's resolver is the threaded `gethostbyname`). A name that does not resolve passes, as in the crawl
    (its download then fails the usual, retried way)."""
    parts = urlparse_cached(Request(url))
    if parts.scheme not in DEFAULT_PORTS:
        return f"the crawl fetches http and https URLs only, not {parts.scheme}"
    scheme, host, port = _origin(parts)
    entry = next((e for e in map(AllowEntry.parse, filter(None, allowed_hosts)) if e.matches(host, port)), None)
    if entry is None:
        named = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return (
            f"{host} port {port} matches no entry of the crawl's host allowlist ({', '.join(allowed_hosts)}): "
            f"add {named} to CITEHUB_ALLOWED_HOSTS"
        )
    if entry.names_an_address:
        return None
    try:
        address = resolve(host)
    except OSError:
        return None
    if is_public(address):
        return None
    direct = f"{scheme}://{address}" + (f":{parts.port}" if parts.port else "")
    return (
        f"{host} resolves to the non-public address {address}, which the crawl fetches only from a URL naming "
        f"the address itself: use {direct}"
    )


class CredentialScrubMiddleware:
    """On a redirect hop to another origin (scheme, host, port) than the URL first asked for, removes
    Authorization and Cookie. Scrapy's RedirectMiddleware already drops Authorization on an origin change
    and Cookie on a host change, but (verified in tests/faults) DefaultHeadersMiddleware and
    HttpAuthMiddleware add them back when the redirected request passes through them, and a port change
    keeps Cookie. So this runs last, just before the download (order 960)."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CredentialScrubMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        redirects = request.meta.get("redirect_urls")
        if not redirects or _origin(urlsplit(redirects[0])) == _origin(urlparse_cached(request)):
            return
        for name in (b"Authorization", b"Cookie"):
            if request.headers.pop(name, None) is not None:
                self.stats.inc_value(f"citehub/guard/dropped_header/{name.decode().lower()}")


class RequestBudgetMiddleware:
    """The run's hard cap on requests sent (CITEHUB_REQUEST_BUDGET; 0 = none). It sits closest to the download,
    after every middleware that may refuse or answer a request itself (allowlist, robots.txt, HTTP cache), so
    it counts what reaches the network: robots.txt, retries and redirect hops included. Past the budget a
    request is refused (`Refused("request_budget", ...)`): the spider records it as skipped, which leaves its
    hub incomplete, and the night stays within what it may spend whatever the plan expected."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.budget = crawler.settings.getint("CITEHUB_REQUEST_BUDGET")
        self.sent = 0
        # requests admitted hubs are expected to make still (`admit`), and the site's robots.txt
        self.promised = self.robots = 1 if self.budget else 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RequestBudgetMiddleware:
        return cls(crawler)

    def admit(self, requests: int) -> bool:
        """Whether a hub expected to make `requests` more requests fits in what is left once the hubs admitted
        before it make theirs; if so they are promised to it. The spider asks before a hub's pages (a hub
        whose twin showed a change, or one without a twin to ask): a hub left out is deferred whole, never
        cut in the middle of its pages."""
        if not self.budget:
            return True
        if self.sent + self.promised + requests > self.budget:
            self.stats.inc_value("citehub/budget/deferred_hubs")
            return False
        self.promised += requests
        return True

    def release(self) -> None:
        """Every admitted hub is done (the crawl is idle): what they were promised and did not use is free."""
        self.promised = self.robots

    def process_request(self, request: Request, spider=None) -> None:
        if not self.budget:
            return
        if self.sent >= self.budget:
            self.stats.inc_value("citehub/budget/refused")
            raise Refused("request_budget", f"the run's budget of {self.budget} requests is spent")
        self.sent += 1
        self.stats.set_value("citehub/budget/sent", self.sent)
        promise = request.meta.get("budget")
        if isinstance(promise, dict) and promise.get("promised", 0) > 0:
            promise["promised"] -= 1
            self.promised = max(0, self.promised - 1)
        elif self.robots and urlparse_cached(request).path == "/robots.txt":
            self.robots -= 1
            self.promised = max(0, self.promised - 1)


# --- robots.txt -----------------------------------------------------------------------------------------


class _Unavailable:
    """Robots state of a host whose robots.txt answered 5xx/429 or could not be fetched: nothing allowed."""

    def __init__(self, why: str) -> None:
        self.why = why


class PolicyRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RFC 9309 on failures, plus Crawl-delay.

    - 2xx: the rules apply; its `Crawl-delay` (capped at CITEHUB_CRAWL_DELAY_MAX, with a warning) is
      kept in `delays` for CrawlDelayMiddleware.
    - 4xx (except 429): "unavailable", everything allowed.
    - 5xx, 429 or no answer at all (after the usual retries): "unreachable", nothing is fetched from the
      host for the rest of the run; every request to it is refused with reason robots_unavailable.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_delay = crawler.settings.getfloat("CITEHUB_CRAWL_DELAY_MAX", 60.0)
        self.delays: dict[str, float] = {}  # netloc -> robots.txt Crawl-delay in seconds

    async def robot_parser(self, request: Request):
        # Scrapy 2.19 hands the parser to the requests waiting for robots.txt through one Deferred, but
        # each waiter's asFuture() callback returns None, so every waiter after the first got None ("no
        # rules") and went out unchecked (tests/faults/test_fault_robots.py). The stored value is final
        # once the wait is over: read it from there.
        await super().robot_parser(request)
        return self._parsers.get(urlparse_cached(request).netloc)

    async def process_request(self, request: Request, spider=None) -> None:
        if request.meta.get("dont_obey_robotstxt") or request.url.startswith(("data:", "file:")):
            return
        rp = await self.robot_parser(request)
        self.process_request_2(rp, request)

    def process_request_2(self, rp, request: Request) -> None:
        netloc = urlparse_cached(request).netloc
        if isinstance(rp, _Unavailable):
            self._stats.inc_value("citehub/robots/refused_unavailable")
            raise Refused("robots_unavailable", f"robots.txt of {netloc} {rp.why}: no content fetched")
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            raise Refused("robots_disallowed", f"robots.txt of {netloc} disallows {request.url}") from None

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        if status >= 500 or status == 429:
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{status}")
            self._resolve(netloc, _Unavailable(f"answered {status}"))
            return
        if 400 <= status < 500:
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{status}")
            self._resolve(netloc, None)  # None: Scrapy's "no rules"
            return
        await super()._parse_robots(response, netloc, request)
        rp = self._parsers.get(netloc)
        useragent = self._robotstxt_useragent or self._default_useragent
        delay = rp.crawl_delay(useragent) if rp is not None and hasattr(rp, "crawl_delay") else None
        if delay:
            if delay > self.max_delay:
                logger.warning("robots.txt of %s asks Crawl-delay %s s; capped at %s s", netloc, delay, self.max_delay)
                delay = self.max_delay
            self.delays[netloc] = delay
            self._stats.set_value(f"citehub/robots/crawl_delay/{netloc}", delay)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._resolve(netloc, _Unavailable(f"could not be fetched ({type(exc).__name__})"))

    def _resolve(self, netloc: str, value) -> None:
        pending = self._parsers[netloc]
        self._parsers[netloc] = value
        if hasattr(pending, "callback"):
            pending.callback(value)


class CrawlDelayMiddleware:
    """Honours robots.txt Crawl-delay: requests to such a host go one at a time, each starting at least
    the delay after the previous one finished. Spacing starts alone is not enough: under load a late
    request and an on-time one reach the server bunched together (seen in tests/faults).

    Sits closest to the downloader (order 970) so its process_response/process_exception run first,
    before a retry or redirect middleware can turn the response into a new request."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.robots: PolicyRobotsTxtMiddleware | None = None
        self.locks: dict[str, DeferredLock] = {}
        self.last_done: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelayMiddleware:
        return cls(crawler)

    def _delay(self, netloc: str) -> float | None:
        if self.robots is None:
            self.robots = self.crawler.get_downloader_middleware(PolicyRobotsTxtMiddleware)
        return self.robots.delays.get(netloc) if self.robots is not None else None

    async def process_request(self, request: Request, spider=None) -> None:
        netloc = urlparse_cached(request).netloc
        delay = self._delay(netloc)
        if not delay or request.meta.get("dont_obey_robotstxt"):
            return
        lock = self.locks.setdefault(netloc, DeferredLock())
        await maybe_deferred_to_future(lock.acquire())
        request.meta["_crawl_delay_netloc"] = netloc
        wait = self.last_done.get(netloc, 0.0) + delay - time.monotonic()
        self.crawler.stats.inc_value("citehub/robots/crawl_delay_waits")
        await _sleep(wait)

    def _done(self, request: Request) -> None:
        netloc = request.meta.pop("_crawl_delay_netloc", None)
        if netloc is not None:
            self.last_done[netloc] = time.monotonic()
            self.locks[netloc].release()

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        self._done(request)
        return response

    def process_exception(self, request: Request, exception: Exception, spider=None) -> None:
        self._done(request)


# --- Retry-After -----------------------------------------------------------------------------------------


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date); None when absent or bad."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """Retries like Scrapy's RetryMiddleware, but never before the server's Retry-After.

    A Retry-After above CITEHUB_RETRY_AFTER_MAX is not waited for: the request gives up at once (a
    failed fetch naming the wait) instead of retrying early. A retryable status without Retry-After
    waits CITEHUB_RETRY_BACKOFF * 2**(retries so far). The wait holds this request only; other requests
    go on. Stats: citehub/retry_after/{waits,seconds,over_cap}, citehub/retry/backoff_seconds.
    """

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("CITEHUB_RETRY_AFTER_MAX", 120.0)
        self.backoff = settings.getfloat("CITEHUB_RETRY_BACKOFF", 0.25)

    async def process_response(self, request: Request, response: Response, spider=None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        stats = self.crawler.stats
        header = response.headers.get(b"Retry-After")
        wait = retry_after_seconds(header)
        if wait is not None and wait > self.max_wait:
            stats.inc_value("citehub/retry_after/over_cap")
            logger.warning("%s: Retry-After %.0f s exceeds the %.0f s cap; giving up", request.url, wait, self.max_wait)
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if wait is not None:
            stats.inc_value("citehub/retry_after/waits")
            stats.inc_value("citehub/retry_after/seconds", wait)
            # An HTTP date names an instant: wait until then, whatever the sleep's granularity.
            await _sleep(wait)
        else:
            backoff = self.backoff * 2 ** request.meta.get("retry_times", 0)
            stats.inc_value("citehub/retry/backoff_seconds", backoff)
            await _sleep(backoff)
        return retry


# --- declared charset against the body ---------------------------------------------------------------


_SINGLE_BYTE = frozenset({"iso-8859-1", "latin-1", "latin1", "cp1252", "windows-1252", "us-ascii", "ascii"})


class CharsetMiddleware:
    """A body that is valid UTF-8 with multi-byte sequences but declared as a single-byte charset is read
    as UTF-8: Latin-1 text almost never forms valid multi-byte UTF-8, while UTF-8 read as Latin-1 turns
    every accented title into mojibake that would load silently. A BOM already wins over the header in
    Scrapy (TextResponse), so this only looks at bodies without one. Stat: citehub/charset/corrected."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CharsetMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        content_type = response.headers.get(b"Content-Type")
        if not isinstance(response, TextResponse) or not content_type:
            return response
        name = (http_content_type_encoding(content_type.decode("latin-1")) or "").lower()
        body = response.body
        if name not in _SINGLE_BYTE or body.isascii() or body[:3] == b"\xef\xbb\xbf":
            return response
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return response
        self.stats.inc_value("citehub/charset/corrected")
        logger.info("%s: body is UTF-8, header declares %s; reading it as UTF-8", response.url, name)
        return response.replace(encoding="utf-8")
