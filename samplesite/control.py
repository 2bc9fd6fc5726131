"""Control endpoints of a running sample site (loopback test server only): advance the day, make one URL fail.

- `POST /_control/day` with `{"day": N}`: rebuild the site for day N (same hubs, seed, density and growth
  model), reset Last-Modified and drop every cached body. Answers `{"day": N, "as_of": "YYYY-MM-DD"}`.
- `POST /_control/fail` with `{"path": "/citations/<uuid>", "status": 503}`: that exact request target
  (path and query, as the crawler sends it) answers `status` until cleared. Status defaults to 503.
- `POST /_control/clear` with `{}` (every failing target) or `{"path": ...}` (one).
- `POST /_control/drop` with `{"hub": "<uuid>", "keep": N}`: from now on the hub lists only its first N
  citations (explorer order), complete and consistent (counts, facets, JSON twin): the "site lost most
  of a hub's citations" fault the publish guard must stop. Lasts until the next `day` control.

Bad input answers 400 with the reason as JSON (`{"error": ...}`); nothing changes.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

CONTROL_PREFIX = "/_control/"


class BadControl(ValueError):
    pass


class Control:
    def __init__(self, server) -> None:
        self.server = server
        self.failing: dict[str, int] = {}  # request target -> status it answers
        self.lock = threading.Lock()

    def set_day(self, day: int) -> dict[str, Any]:
        from samplesite.generator import build_site

        if not isinstance(day, int) or isinstance(day, bool) or day < 1:
            raise BadControl(f"day must be an integer >= 1, not {day!r}")
        site = self.server.site
        new_site = build_site(
            hubs=site.hubs_requested, seed=site.seed, day=day, density=site.density, growth=site.growth
        )
        with self.lock:
            self.server.site = new_site
            self.server.last_modified = format_datetime(
                datetime.fromisoformat(new_site.as_of).replace(tzinfo=UTC), usegmt=True
            )
            self.server.respond.cache_clear()
        return {"day": day, "as_of": new_site.as_of}

    def drop(self, hub_uuid: Any, keep: Any) -> dict[str, Any]:
        from samplesite.model import Site

        site = self.server.site
        if not isinstance(hub_uuid, str) or not site.has_hub(hub_uuid):
            raise BadControl(f"hub must be the uuid of a hub of the site, not {hub_uuid!r}")
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise BadControl(f"keep must be an integer >= 1, not {keep!r}")
        hubs = [replace(h, citations=h.citations[:keep]) if h.uuid == hub_uuid else h for h in site.hubs]
        cited = {c.paper_key for h in hubs for c in h.citations}
        new_site = Site(
            seed=site.seed,
            day=site.day,
            hubs_requested=site.hubs_requested,
            density=site.density,
            hubs=hubs,
            papers=[p for p in site.papers if p.key in cited],
            as_of=site.as_of,
            growth=site.growth,
        )
        with self.lock:
            self.server.site = new_site
            self.server.respond.cache_clear()
        return {"hub": hub_uuid, "citations": len(new_site.hub(hub_uuid).citations)}

    def fail(self, path: Any, status: Any = 503) -> dict[str, Any]:
        if not isinstance(path, str) or not path.startswith("/"):
            raise BadControl(f"path must be a request target starting with '/', not {path!r}")
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise BadControl(f"status must be an HTTP error status 400-599, not {status!r}")
        with self.lock:
            self.failing[path] = status
        return {"failing": dict(self.failing)}

    def clear(self, path: Any = None) -> dict[str, Any]:
        with self.lock:
            if path is None:
                self.failing.clear()
            else:
                self.failing.pop(path, None)
        return {"failing": dict(self.failing)}

    def failure_for(self, target: str) -> int | None:
        return self.failing.get(target)

    def handle_post(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            length = int(handler.headers.get("Content-Length") or 0)
            raw = handler.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                raise BadControl(f"body is not JSON: {exc}") from None
            if not isinstance(body, dict):
                raise BadControl("body must be a JSON object")
            action = handler.path.split("?", 1)[0][len(CONTROL_PREFIX) :]
            if action == "day":
                result = self.set_day(body.get("day"))
            elif action == "fail":
                result = self.fail(body.get("path"), body.get("status", 503))
            elif action == "clear":
                result = self.clear(body.get("path"))
            elif action == "drop":
                result = self.drop(body.get("hub"), body.get("keep"))
            else:
                raise BadControl(f"unknown control {handler.path!r} (day, fail, clear, drop)")
            _send_json(handler, 200, result)
        except BadControl as exc:
            _send_json(handler, 400, {"error": str(exc)})


def _send_json(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_failure(handler: BaseHTTPRequestHandler, status: int, head: bool) -> None:
    body = f"<!DOCTYPE html><title>{status}</title><p>failing on request (/_control/fail)</p>\n".encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if not head:
        handler.wfile.write(body)


def post(base_url: str, action: str, payload: dict, timeout: float = 30) -> dict:
    """Client side: POST a control action (`day`, `fail`, `clear`) to a running site; returns its JSON."""
    request = urllib.request.Request(
        base_url.rstrip("/") + CONTROL_PREFIX + action,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())
