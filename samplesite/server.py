"""HTTP server for the sample site: stdlib ThreadingHTTPServer with cached bodies and conditional GETs.

Bodies are rendered once per (path, query, markup) and kept with their ETag, so the hot path of a
crawl is a dictionary look-up and a socket write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from samplesite.control import CONTROL_PREFIX, Control, send_failure
from samplesite.faults import Faults
from samplesite.model import Site
from samplesite.render import ROBOTS_TXT, markup_for, render_hub_html, render_hub_json, render_paper_html
from samplesite.view import clean_filters

HUB_PATH = re.compile(r"^/citations/([0-9a-f-]{36})(\.json)?$")
PAPER_PATH = re.compile(r"^/(?:paper|p|ref/arxiv)/(.+)$")
HTML = "text/html; charset=utf-8"


class Response:
    __slots__ = ("body", "content_type", "etag", "last_modified", "status")

    def __init__(self, status: int, body: bytes, content_type: str, last_modified: str) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        self.last_modified = last_modified


class SampleSiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, site: Site, address: tuple[str, int], markup: str = "mixed", faults: Faults | None = None
    ) -> None:
        if markup not in ("a", "b", "mixed"):
            raise ValueError(f"unknown markup {markup!r}")
        self.site = site
        self.markup = markup
        self.faults = faults  # samplesite/faults.py: what goes wrong on the wire, never the content
        # One day, one Last-Modified for everything the site serves.
        self.last_modified = format_datetime(datetime.fromisoformat(site.as_of).replace(tzinfo=UTC), usegmt=True)
        self.respond = lru_cache(maxsize=8192)(self._respond)
        self.control = Control(self)  # samplesite/control.py: POST /_control/day|fail|clear
        super().__init__(address, _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def _respond(self, path: str, query: str) -> Response:
        site = self.site
        if path == "/robots.txt":
            return self._ok(ROBOTS_TXT.encode(), "text/plain; charset=utf-8")
        if m := HUB_PATH.match(path):
            hub_uuid = m.group(1)
            if not site.has_hub(hub_uuid):
                return self._not_found()
            if m.group(2):
                body = json.dumps(render_hub_json(site, hub_uuid), ensure_ascii=False).encode()
                return self._ok(body, "application/json; charset=utf-8")
            params = {k: v[-1] for k, v in parse_qs(query).items()}
            try:
                page = int(params.get("page", "1"))
            except ValueError:
                page = 1
            markup = markup_for(hub_uuid) if self.markup == "mixed" else self.markup
            html = render_hub_html(site, hub_uuid, clean_filters(params), max(page, 1), markup, self.base_url)
            return self._ok(html.encode(), HTML)
        if m := PAPER_PATH.match(path):
            html = render_paper_html(site, m.group(1))
            return self._ok(html.encode(), HTML) if html is not None else self._not_found()
        return self._not_found()

    def _ok(self, body: bytes, content_type: str) -> Response:
        return Response(200, body, content_type, self.last_modified)

    def _not_found(self) -> Response:
        return Response(404, b"<!DOCTYPE html><title>Not found</title><p>Not found</p>\n", HTML, self.last_modified)


class _Handler(BaseHTTPRequestHandler):
    server: SampleSiteServer
    protocol_version = "HTTP/1.1"  # keep-alive: crawlers reuse connections
    server_version = "samplesite/1"

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_POST(self) -> None:
        if self.path.startswith(CONTROL_PREFIX):
            self.server.control.handle_post(self)
        else:
            self.send_error(405)

    def _serve(self, head: bool) -> None:
        if (failing := self.server.control.failure_for(self.path)) is not None:
            send_failure(self, failing, head)
            return
        url = urlsplit(self.path)
        response = self.server.respond(url.path, url.query)
        faults = self.server.faults
        if faults is not None and faults.serve(self, self.path, response, head):
            return
        if response.status == 200 and self._not_modified(response):
            self.send_response(304)
            self.send_header("ETag", response.etag)
            self.send_header("Last-Modified", response.last_modified)
            self.end_headers()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.status == 200:
            self.send_header("ETag", response.etag)
            self.send_header("Last-Modified", response.last_modified)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def _not_modified(self, response: Response) -> bool:
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return inm.strip() == "*" or response.etag in [t.strip() for t in inm.split(",")]
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return parsedate_to_datetime(ims) >= parsedate_to_datetime(response.last_modified)
            except (TypeError, ValueError):
                return False
        return False

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_server(
    site: Site, host: str = "127.0.0.1", port: int = 0, markup: str = "mixed", faults: Faults | None = None
) -> SampleSiteServer:
    return SampleSiteServer(site, (host, port), markup=markup, faults=faults)


@contextlib.contextmanager
def serving(
    site: Site, markup: str = "mixed", host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None
) -> Iterator[str]:
    """Serve in a background thread for the block's duration; yields the base URL."""
    server = make_server(site, host, port, markup, faults)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
