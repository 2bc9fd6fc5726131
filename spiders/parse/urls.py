"""Hub URLs: the hub uuid, the active filters and the explorer page, read from the URL alone."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from spiders.parse.records import ParseError

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
HUB_PATH = re.compile(rf"^/citations/(?P<uuid>{_UUID})/?$")
HUB_JSON_PATH = re.compile(rf"^/citations/(?P<uuid>{_UUID})\.json$")
FILTER_KEYS = ("cat", "year", "verdict", "role", "polarity")


def hub_uuid_of(url: str) -> str | None:
    """The hub uuid (lower case) when `url` is a hub page URL, else None. Used to spot pagination links."""
    m = HUB_PATH.match(urlsplit(url).path)
    return m.group("uuid").lower() if m else None


def hub_page_url(url: str) -> tuple[str, dict[str, str], int]:
    """(hub_uuid, filters, page) of a hub page URL; ParseError("not_a_hub_url") otherwise."""
    parts = urlsplit(url)
    m = HUB_PATH.match(parts.path)
    if not m:
        raise ParseError("not_a_hub_url", url)
    query = parse_qs(parts.query)
    filters = {key: query[key][0] for key in FILTER_KEYS if key in query}
    page = 1
    if "page" in query:
        raw = query["page"][0]
        if not raw.isdigit() or int(raw) < 1:
            raise ParseError("not_a_hub_url", f"page={raw!r} in {url}")
        page = int(raw)
    return m.group("uuid").lower(), filters, page


def page_param(url: str) -> int | None:
    """The `page` query parameter of a link, None when absent or not a positive integer."""
    raw = parse_qs(urlsplit(url).query).get("page", [""])[0]
    return int(raw) if raw.isdigit() and int(raw) >= 1 else None


def hub_json_url(url: str) -> str:
    m = HUB_JSON_PATH.match(urlsplit(url).path)
    if not m:
        raise ParseError("not_a_hub_url", url)
    return m.group("uuid").lower()
