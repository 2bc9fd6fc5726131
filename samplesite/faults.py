"""Fault injection for the sample site: the failures a nightly crawl of a live site meets.

A `Faults` plan is a set of rates per fault mode plus a seed. Whether a request gets a fault is a pure
function of (seed, request target, attempt number): the n-th request for a URL always gets the same
answer, whatever the crawl's concurrency, so a faulted crawl can be replayed and its figures compared.
A test can also force modes on one URL (`force(target, "429", "5xx")`: first attempt 429, second 503,
then the rates decide again).

Faults change only what goes over the wire, never the site: the ground truth (`samplesite.truth`) stays
the truth of the un-faulted site, which is what a crawl that survives the faults must end up with.

Spec string (`citehub samplesite serve --faults ...`), comma-separated `key=value`:
  rates     <mode>=<probability per request>, modes below
  seed      seed=3
  options   retry_after=2 (s), slow_s=0.3, hang_s=5 (s, longer than the client's timeout),
            redirect_port=8123 (another local port; default: ours + 1), private_host=10.255.255.1,
            other_host=evil.example, bomb_mb=32 (decompressed size of gzip-bomb),
            robots=ok|503|404|disallow, disallow=/citations/ (path prefix robots=disallow names),
            crawl_delay=1.5 (robots.txt Crawl-delay, s)
"""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from samplesite.model import Site

if TYPE_CHECKING:
    from samplesite.server import Response, _Handler

# Every mode, with what the client sees.
MODES: dict[str, str] = {
    "5xx": "a burst of 1-3 consecutive 500/502/503 answers for the URL",
    "429": "429 Too Many Requests with Retry-After in seconds",
    "429-date": "429 Too Many Requests with Retry-After as an HTTP date",
    "slow": "the right answer after `slow_s` seconds",
    "timeout": "no answer for `hang_s` seconds (past the client's timeout), then the right answer",
    "truncate": "Content-Length larger than the body; the connection closes after half of it",
    "chunked-cut": "chunked transfer that stops after half of the body, with no last chunk",
    "malformed": "the page with optional end tags dropped, stray end tags and upper-case tags",
    "charset": "a UTF-8 body declared as ISO-8859-1 in Content-Type",
    "bom": "a UTF-16 body with its byte order mark, declared as UTF-8 in Content-Type",
    "empty": "200 with an empty body",
    "ratelimited": "200 whose page says it is rate limited",
    "drift-rename": "layout drift: the list headings renamed",
    "drift-missing": "layout drift: the count sentence ('N Pith papers citing it') gone",
    "drift-legacy": "layout drift: a current hub's page served in the legacy template",
    "redirect-host": "302 to the same path on a host outside the allowlist",
    "redirect-port": "302 to the same path on another port of 127.0.0.1",
    "redirect-private": "302 to the same path on a private address",
    "gzip-bomb": "Content-Encoding gzip whose body expands to `bomb_mb` MB",
}
# Modes that only make sense for an HTML page; a JSON twin drawing one of them is served clean.
HTML_ONLY = frozenset({"malformed", "charset", "bom", "ratelimited", "drift-rename", "drift-missing", "drift-legacy"})
BURST_MAX = 3

_OPTIONS: dict[str, type] = {  # never a mode's name
    "seed": int,
    "retry_after": int,
    "slow_s": float,
    "hang_s": float,
    "redirect_port": int,
    "private_host": str,
    "other_host": str,
    "bomb_mb": int,
    "robots": str,
    "disallow": str,
    "crawl_delay": float,
}
ROBOTS_MODES = ("ok", "503", "404", "disallow")


class BadFaultSpec(ValueError):
    pass


@dataclass
class Faults:
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after: int = 1
    slow_s: float = 0.3
    hang_s: float = 5.0
    redirect_port: int | None = None
    private_host: str = "10.255.255.1"
    other_host: str = "evil.example"
    bomb_mb: int = 32
    robots: str = "ok"
    disallow: str = "/citations/"
    crawl_delay: float | None = None
    forced: dict[str, list[str]] = field(default_factory=dict)
    # What was served, for tests and the bench: (target, attempt, mode or None), and per-target arrivals.
    log: list[tuple[str, int, str | None, float]] = field(default_factory=list, repr=False)
    _attempts: Counter = field(default_factory=Counter, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(MODES)
        if unknown:
            raise BadFaultSpec(f"unknown fault modes {sorted(unknown)}; known: {', '.join(MODES)}")
        for mode, rate in self.rates.items():
            if not 0.0 <= rate <= 1.0:
                raise BadFaultSpec(f"rate of {mode} must be within 0-1, got {rate}")
        if sum(self.rates.values()) > 1.0:
            raise BadFaultSpec(f"fault rates add up to {sum(self.rates.values()):.3f} > 1")
        if self.robots not in ROBOTS_MODES:
            raise BadFaultSpec(f"robots must be one of {', '.join(ROBOTS_MODES)}, got {self.robots!r}")

    # --- the plan ---------------------------------------------------------------------------------------

    def force(self, target: str, *modes: str) -> Faults:
        """Serve `modes` to the first attempts at `target` (path with its query), then follow the rates."""
        for mode in modes:
            if mode not in MODES:
                raise BadFaultSpec(f"unknown fault mode {mode!r}")
        self.forced[target] = list(modes)
        return self

    def _draw(self, target: str, attempt: int) -> str | None:
        digest = hashlib.sha256(f"{self.seed}|{target}|{attempt}".encode()).digest()
        u = struct.unpack(">Q", digest[:8])[0] / 2**64
        for mode in MODES:  # fixed order: the same spec gives the same draws
            rate = self.rates.get(mode, 0.0)
            if u < rate:
                return mode
            u -= rate
        return None

    def _burst(self, target: str, start: int) -> int:
        return 1 + hashlib.sha256(f"{self.seed}|burst|{target}|{start}".encode()).digest()[0] % BURST_MAX

    def mode_for(self, target: str, attempt: int) -> str | None:
        """The fault served to the `attempt`-th (1-based) request for `target`; None for a clean answer."""
        forced = self.forced.get(target)
        if forced is not None and attempt <= len(forced):
            return forced[attempt - 1]
        # A 5xx burst that started on one of the previous attempts still runs.
        for start in range(max(1, attempt - BURST_MAX + 1), attempt):
            if self._draw(target, start) == "5xx" and start + self._burst(target, start) > attempt:
                return "5xx"
        return self._draw(target, attempt)

    def attempts(self, target: str) -> int:
        with self._lock:
            return self._attempts[target]

    def arrivals(self, target: str) -> list[float]:
        """time.time() of every request for `target`, in order."""
        with self._lock:
            return [at for t, _, _, at in self.log if t == target]

    # --- serving ----------------------------------------------------------------------------------------

    def robots_txt(self, normal: bytes) -> tuple[int, bytes] | None:
        """The robots.txt answer when the plan changes it, else None."""
        if self.robots == "503":
            return 503, b"Service Unavailable\n"
        if self.robots == "404":
            return 404, b"Not found\n"
        lines = normal.decode().rstrip("\n").split("\n")
        if self.robots == "disallow":
            lines.insert(1, f"Disallow: {self.disallow}")
        if self.crawl_delay is not None:
            lines.insert(1, f"Crawl-delay: {self.crawl_delay:g}")
        if self.robots == "ok" and self.crawl_delay is None:
            return None
        return 200, ("\n".join(lines) + "\n").encode()

    def serve(self, handler: _Handler, target: str, response: Response, head: bool) -> bool:
        """Answer the request with its fault, if it gets one. True when the answer has been written;
        False to let the server answer normally (no fault, or a fault that only delays)."""
        with self._lock:
            self._attempts[target] += 1
            attempt = self._attempts[target]
        path = target.split("?", 1)[0]
        if path == "/robots.txt":
            with self._lock:
                self.log.append((target, attempt, None, time.time()))
            changed = self.robots_txt(response.body)
            if changed is None:
                return False
            _write(handler, changed[0], changed[1], "text/plain; charset=utf-8", head)
            return True
        mode = self.mode_for(target, attempt) if response.status == 200 else None
        is_html = response.content_type.startswith("text/html")
        if mode in HTML_ONLY and not is_html:
            mode = None
        with self._lock:
            self.log.append((target, attempt, mode, time.time()))
        if mode is None:
            return False
        return _SERVE[mode](self, handler, target, response, head)

    def served(self) -> Counter:
        """How many answers of each mode went out (None: clean)."""
        with self._lock:
            return Counter(mode for _, _, mode, _ in self.log)


def parse_spec(spec: str | None) -> Faults | None:
    """`5xx=0.02,429=0.01,seed=3,robots=503` -> Faults; None or "" -> None (no faults)."""
    if not spec:
        return None
    rates: dict[str, float] = {}
    options: dict[str, Any] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep:
            raise BadFaultSpec(f"{part!r}: expected key=value")
        try:
            if key in _OPTIONS:
                options[key] = _OPTIONS[key](value.strip())
            elif key in MODES:
                rates[key] = float(value)
            else:
                raise BadFaultSpec(f"unknown key {key!r}; modes: {', '.join(MODES)}; options: {', '.join(_OPTIONS)}")
        except ValueError as exc:
            if isinstance(exc, BadFaultSpec):
                raise
            raise BadFaultSpec(f"{part!r}: bad value ({exc})") from None
    return Faults(rates=rates, **options)


# --- the answers ------------------------------------------------------------------------------------------


def _write(
    handler: _Handler, status: int, body: bytes, content_type: str, head: bool, headers: dict[str, str] | None = None
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    if not head:
        handler.wfile.write(body)


def _cut_connection(handler: _Handler) -> None:
    handler.wfile.flush()
    handler.close_connection = True


def _server_error(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    status = (500, 502, 503)[hashlib.sha256(f"{f.seed}|{target}".encode()).digest()[0] % 3]
    _write(
        h, status, b"<!DOCTYPE html><title>Server error</title><p>Server error</p>\n", "text/html; charset=utf-8", head
    )
    return True


def _too_many(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    _write(h, 429, b"Too many requests\n", "text/plain; charset=utf-8", head, {"Retry-After": str(f.retry_after)})
    return True


def _too_many_date(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    # A whole second past now + retry_after: an HTTP date has one-second resolution, and the client must
    # not come back before the instant the date names.
    when = datetime.fromtimestamp(int(time.time()) + f.retry_after + 1, UTC)
    _write(
        h,
        429,
        b"Too many requests\n",
        "text/plain; charset=utf-8",
        head,
        {"Retry-After": format_datetime(when, usegmt=True)},
    )
    return True


def _slow(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    time.sleep(f.slow_s)
    return False


def _hang(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    time.sleep(f.hang_s)
    return False


def _truncate(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    h.send_response(200)
    h.send_header("Content-Type", r.content_type)
    h.send_header("Content-Length", str(len(r.body)))
    h.end_headers()
    if not head:
        h.wfile.write(r.body[: len(r.body) // 2])
    _cut_connection(h)
    return True


def _chunked_cut(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    h.send_response(200)
    h.send_header("Content-Type", r.content_type)
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    if not head:
        half = r.body[: len(r.body) // 2]
        h.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))  # and never the terminating 0-length chunk
    _cut_connection(h)
    return True


_OPTIONAL_END = re.compile(rb"</(?:li|p|td|tr|dd|dt)>", re.IGNORECASE)
_TAG = re.compile(rb"<(/?)(section|div|h1|h2|h3|ul|ol|main|table|span|b)\b")


def malformed_html(body: bytes) -> bytes:
    """What sloppy HTML looks like: no optional end tags, upper-case tags, stray end tags, bare `&`."""
    body = _OPTIONAL_END.sub(b"", body)
    body = _TAG.sub(lambda m: b"<" + m.group(1) + m.group(2).upper(), body)
    return body.replace(b"<body>", b"<body></div></span>&</p>", 1)


def _malformed(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    _write(h, 200, malformed_html(r.body), r.content_type, head)
    return True


def _charset(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    # Drop the in-document declaration too: only the (wrong) header names an encoding.
    body = r.body.replace(b'<meta charset="utf-8">', b"")
    _write(h, 200, body, "text/html; charset=iso-8859-1", head)
    return True


def _bom(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    body = r.body.decode("utf-8").replace('<meta charset="utf-8">', "").encode("utf-16")  # BOM first
    _write(h, 200, body, "text/html; charset=utf-8", head)
    return True


def _empty(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    _write(h, 200, b"", r.content_type, head)
    return True


RATE_LIMITED_PAGE = (
    b"<!DOCTYPE html><html><head><title>Slow down</title></head><body>"
    b"<h1>Rate limited</h1><p>Too many requests from your address. Try again later.</p>"
    b"</body></html>\n"
)


def _rate_limited(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    _write(h, 200, RATE_LIMITED_PAGE, "text/html; charset=utf-8", head)
    return True


def drift_rename(body: bytes) -> bytes:
    return body.replace(b"citing papers explorer", b"all citing works").replace(
        b"representative citing papers", b"selected citing works"
    )


# The number may sit in its own element (markup b: <span class="n">19</span> Pith papers citing it).
_COUNT_SENTENCE = re.compile(rb"[\d,]+(?:</span>)? Pith papers? (?:citing it|cites? this work)")


def drift_missing(body: bytes) -> bytes:
    """A required field gone: the citing count sentence (the real page shows an empty role summary, so
    a missing summary block is not drift)."""
    return _COUNT_SENTENCE.sub(b"", body)


def _drift_rename(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    _write(h, 200, drift_rename(r.body), r.content_type, head)
    return True


def _drift_missing(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    _write(h, 200, drift_missing(r.body), r.content_type, head)
    return True


def legacy_page(site: Site, target: str, base_url: str, markup: str) -> bytes | None:
    """The hub page `target` as the legacy template renders it (None: not a hub page). The site keeps its
    template: only this answer is the older one, as when a deploy serves a stale template to some requests."""
    from samplesite.render import markup_for, render_hub_html
    from samplesite.server import HUB_PATH
    from samplesite.view import clean_filters

    url = urlsplit(target)
    m = HUB_PATH.match(url.path)
    if m is None or m.group(2) or not site.has_hub(m.group(1)):
        return None
    uuid = m.group(1)
    legacy = replace(site.hub(uuid), template="legacy")
    old = Site(
        seed=site.seed,
        day=site.day,
        hubs_requested=site.hubs_requested,
        density=site.density,
        as_of=site.as_of,
        hubs=[legacy if hub.uuid == uuid else hub for hub in site.hubs],
        papers=site.papers,
    )
    params = {k: v[-1] for k, v in parse_qs(url.query).items()}
    page = int(params["page"]) if params.get("page", "").isdigit() else 1
    markup = markup_for(uuid) if markup == "mixed" else markup
    return render_hub_html(old, uuid, clean_filters(params), max(page, 1), markup, base_url).encode()


def _drift_legacy(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    body = legacy_page(h.server.site, target, h.server.base_url, h.server.markup)
    if body is None:
        return False
    _write(h, 200, body, r.content_type, head)
    return True


def _redirect_to(h: _Handler, netloc: str, target: str, head: bool) -> bool:
    _write(h, 302, b"", "text/plain", head, {"Location": f"http://{netloc}{target}"})
    return True


def _redirect_host(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    return _redirect_to(h, f.other_host, target, head)


def _redirect_port(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    port = f.redirect_port or h.server.server_address[1] + 1
    return _redirect_to(h, f"127.0.0.1:{port}", target, head)


def _redirect_private(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    return _redirect_to(h, f.private_host, target, head)


@lru_cache(maxsize=4)
def gzip_bomb(megabytes: int) -> bytes:
    """`megabytes` MB of spaces, gzipped (about 1/1000 of the size on the wire)."""
    return gzip.compress(b" " * (megabytes * 1024 * 1024), compresslevel=9, mtime=0)


def _gzip_bomb(f: Faults, h: _Handler, target: str, r: Response, head: bool) -> bool:
    _write(h, 200, gzip_bomb(f.bomb_mb), r.content_type, head, {"Content-Encoding": "gzip"})
    return True


_SERVE = {
    "5xx": _server_error,
    "429": _too_many,
    "429-date": _too_many_date,
    "slow": _slow,
    "timeout": _hang,
    "truncate": _truncate,
    "chunked-cut": _chunked_cut,
    "malformed": _malformed,
    "charset": _charset,
    "bom": _bom,
    "empty": _empty,
    "ratelimited": _rate_limited,
    "drift-rename": _drift_rename,
    "drift-missing": _drift_missing,
    "drift-legacy": _drift_legacy,
    "redirect-host": _redirect_host,
    "redirect-port": _redirect_port,
    "redirect-private": _redirect_private,
    "gzip-bomb": _gzip_bomb,
}
assert set(_SERVE) == set(MODES)
