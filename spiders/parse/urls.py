"""Hub URLs: the hub uuid, the active filters and the explorer page, read from the URL alone."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import cast
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

from spiders.parse.records import ParseError, is_number

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
HUB_PATH = re.compile(rf"^/citations/(?P<uuid>{_UUID})/?$")
HUB_JSON_PATH = re.compile(rf"^/citations/(?P<uuid>{_UUID})\.json$")
FILTER_KEYS = ("cat", "year", "verdict", "role", "polarity")


@lru_cache(maxsize=8192)  # every link of a page; the same links recur on every page of a hub (bounded: flat memory)
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
        if not is_number(raw) or int(raw) < 1:
            raise ParseError("not_a_hub_url", f"page={raw!r} in {url}")
        page = int(raw)
    return m.group("uuid").lower(), filters, page


def page_param(url: str) -> int | None:
    """The `page` query parameter of a link, None when absent or not a positive integer."""
    raw = parse_qs(urlsplit(url).query).get("page", [""])[0]
    return int(raw) if is_number(raw) and int(raw) >= 1 else None


def hub_json_url(url: str) -> str:
    m = HUB_JSON_PATH.match(urlsplit(url).path)
    if not m:
        raise ParseError("not_a_hub_url", url)
    return m.group("uuid").lower()


# What urljoin would change in a root-relative or query-only link: tab/CR/LF (removed), ";" (path
# parameters), "#" (fragment split) and, in the path, "." and ".." segments (checked separately).
_NOT_VERBATIM = re.compile(r"[\t\r\n;#]")


class Resolver:
    """urljoin(base, href) for the links of one page, with the two common shapes done by concatenation.

    A root-relative href ("/paper/2406.01234") joins to the base's origin + href, a query-only href
    ("?cat=cs.LG") to the base without its query + href, whenever urljoin would copy the href verbatim
    (no dot segments, no path parameters, fragment, empty query or characters urlsplit strips). Every
    other href goes through urljoin itself, so results (and its ValueError on a bad IPv6 netloc) are
    exactly urljoin's (checked against urljoin on 400,000 fuzzed base/href pairs when written).
    """

    __slots__ = ("base", "origin", "no_query")

    def __init__(self, base: str) -> None:
        self.base = base
        parts = urlsplit(base)
        verbatim = parts.scheme in ("http", "https") and parts.netloc and ";" not in base and base == urlunsplit(parts)
        # Without a netloc (or with a base urlsplit rewrites) leave everything to urljoin.
        self.origin = f"{parts.scheme}://{parts.netloc}" if verbatim else None
        self.no_query = urlunsplit(parts._replace(query="", fragment="")) if verbatim else None

    def __call__(self, href: str) -> str:
        if self.origin is not None and not _NOT_VERBATIM.search(href):
            first = href[:1]
            if first == "/" and href[1:2] != "/" and href[-1] != "?" and "/." not in href:
                return self.origin + href
            if first == "?" and len(href) > 1:
                return cast(str, self.no_query) + href  # set whenever origin is
            if _ABSOLUTE.match(href):
                # The same absolute links recur on every page: the result depends on the base's scheme alone.
                return _join_absolute(self.origin, href)
        return urljoin(self.base, href)


# An absolute http(s) link with a netloc: urljoin keeps only the base's scheme (and compares it).
_ABSOLUTE = re.compile(r"https?://[^/?#]")


@lru_cache(maxsize=8192)
def _join_absolute(origin: str, href: str) -> str:
    return urljoin(origin, href)
