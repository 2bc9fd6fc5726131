"""The hub links on any fetched page (hub page, paper page, anything else): how a crawl discovers hubs.

`hub_links(html, page_url, allowed_hosts)` reads every `<a href>` (and `<area href>`) that points at a hub
`/citations/<uuid>` and returns a `LinkScan`: the hubs in order of first appearance (one `HubLink` a
hub uuid) and the links refused (`BadLink`, with a reason). Like the page parsers it anchors on link
targets and visible text only, never on class names, ids or which tag a heading is:

- a link sits in block "co_cited" when it follows a heading that reads "co-cited works" and
  "references" when it follows a heading that reads "references" (case-insensitive, a trailing colon
  or count allowed, the heading split over any inline markup or written inline before the links),
  else in block "other";
- a section lasts while the reader stays in the element that holds both its heading and what follows
  it (so a footer after the list is not in it), and ends earlier at the next heading the hub parser
  knows ("representative citing papers", ...) or at a link-free `h1`-`h6` no deeper than its own heading.

Refused links (reasons): "malformed_uuid" (a `/citations/` path on an allowed host whose id is no uuid),
"off_site" (a `/citations/<uuid>` on a host not in allowed_hosts), "unsupported_scheme" (javascript:,
data:, file:, mailto:, ... naming `/citations/`), "malformed_url" (a `/citations/` link no URL parser
reads: a bad port or IPv6 host), and "unparsable" (the page itself; the scan is then empty). Links to the
page's own hub (its pagination and filter links, its `.json` twin, "clear filters") are skipped silently.

Hostile input: no exception escapes, and the time taken is linear in the page. Bytes are decoded like
the hub parser does (BOM, declared charset, else UTF-8 with replacement), a NUL reads as U+FFFD. The
page is read in one pass over the lxml tree (no recursion, no per-block copy of the ancestor chain, so
depth costs nothing). libxml2 stops reading at a nesting depth of 2048 and compares every attribute of a
tag with all before it (a tag of 100,000 attributes takes it 20 s): such pages go through a tokenizer of
our own instead (`_tokenize`; the standard library's html.parser is itself quadratic on broken markup).
At most MAX_LINKS hubs and MAX_BAD refused links are listed, the rest are counted in `dropped`; anchor
text is cut at MAX_TEXT characters and a refused href at MAX_HREF.
"""

from __future__ import annotations

import gc
import html as html_lib
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast
from urllib.parse import unquote, urljoin, urlsplit

from lxml import etree
from w3lib.encoding import html_to_unicode

from spiders.parse.hub_html import HEADINGS as HUB_HEADINGS
from spiders.parse.hub_html import INLINE_ELEMENTS
from spiders.parse.hubref import hub_url
from spiders.parse.urls import Resolver

MAX_LINKS = 5000  # hub links listed per page
MAX_BAD = 200  # refused links listed per page
MAX_HREF = 500  # a refused href is cut to this many characters (items.RefusedLink)
MAX_TEXT = 1000  # anchor text is cut to this many characters

Block = Literal["co_cited", "references", "other"]
Reason = Literal["malformed_uuid", "off_site", "unsupported_scheme", "malformed_url", "unparsable"]


@dataclass(frozen=True, slots=True)
class HubLink:
    hub_uuid: str  # lower case
    url: str  # canonical absolute hub URL on the page's site: no query, no fragment, no `.json`
    text: str  # anchor text, whitespace collapsed
    block: Block


@dataclass(frozen=True, slots=True)
class BadLink:
    href: str  # the attribute as found, cut to MAX_HREF characters
    reason: Reason


@dataclass(frozen=True, slots=True)
class LinkScan:
    hubs: list[HubLink] = field(default_factory=list)
    bad: list[BadLink] = field(default_factory=list)
    dropped: int = 0  # distinct hub and refused links past MAX_LINKS / MAX_BAD: counted, not listed

    def to_dict(self) -> dict[str, Any]:
        """The shape of a `links` item's payload (spiders.parse.items.LinksItem)."""
        return {"hubs": [asdict(h) for h in self.hubs], "bad": [asdict(b) for b in self.bad], "dropped": self.dropped}


def hub_links(html: str | bytes, page_url: str, allowed_hosts: Iterable[str]) -> LinkScan:
    """Every hub link of one fetched page, deduplicated by hub uuid (first occurrence wins).

    `allowed_hosts` are `host` or `host:port` entries (case-insensitive; no port means the scheme's
    default port). A ValueError for an entry that is no host is a configuration error, raised before
    the page is read; nothing the page holds raises.
    """
    allowed = _host_keys(allowed_hosts)
    enabled = gc.isenabled()
    gc.disable()  # a big page makes many short-lived objects and no cycles (see hub_html.parse_hub_page)
    try:
        return _scan(html, page_url, allowed)
    except Exception:  # anything a hostile page still manages to break (MemoryError included)
        return LinkScan(bad=[BadLink(str(page_url)[:MAX_HREF], "unparsable")])
    finally:
        if enabled:
            gc.enable()


# -- hosts and URLs ----------------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NIL = "00000000-0000-0000-0000-000000000000"
# What makes a root-relative href more than its path (and query): escapes, backslashes, dot segments.
_NOT_PLAIN = re.compile(r"[%\\]|/\.")
_QUERY = re.compile(r"[?#]")
# An absolute or scheme-relative hub link read without urlsplit: "[http(s):]//host[:port]/citations/<uuid>",
# with ".json", a trailing slash, a query or a fragment.
_FAST = re.compile(
    r"(?:(https?):)?//([a-z0-9.\-]+(?::[0-9]{1,5})?)/citations/"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.json)?/?(?:[?#].*)?",
    re.IGNORECASE | re.DOTALL,
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_DEFAULT_PORT = {"http": 80, "https": 443}
# What a browser strips from both ends of an href (C0 controls and space) and removes inside it.
_EDGES = "".join(map(chr, range(0x21)))
_TAB_NL = re.compile(r"[\t\n\r]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _host_key(host: str | None, port: int | None, scheme: str) -> str:
    """`host` or `host:port` (lower case, no trailing dot, IPv6 in brackets, no default port)."""
    host = (host or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORT.get(scheme):
        return host
    return f"{host}:{port}"


def _host_keys(allowed_hosts: Iterable[str]) -> frozenset[str]:
    if isinstance(allowed_hosts, str):  # one host, not its characters
        allowed_hosts = [allowed_hosts]
    keys: set[str] = set()
    for entry in allowed_hosts:
        text = str(entry).strip()
        try:
            parts = urlsplit(text if "//" in text else "//" + text)
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if not host:
            raise ValueError(f"allowed host {entry!r} is no host[:port]")
        # No port or a default one: the host as links name it without a port (either scheme).
        keys.add(_host_key(host, port, "http" if port == 80 else "https"))
        if port is not None:
            keys.add(_host_key(host, port, ""))
    return frozenset(keys)


def _path_uuid(path: str) -> str | None:
    """The id after `/citations/` in a path (one trailing slash and a `.json` suffix dropped), "" for
    `/citations/` itself, None for any other path. Percent escapes and dot segments are undone first."""
    if "%" in path:
        path = unquote(path)
    if "/." in path:
        path = urlsplit(urljoin("http://h/", path)).path
    if not path.startswith("/citations/"):
        return None
    rest = path[len("/citations/") :]
    rest = rest.removesuffix("/")
    return rest.removesuffix(".json")


# classify() results
_IGNORE, _SELF, _HUB, _BAD = range(4)


class _Links:
    """What one page's links are: the page's site, its own hub, the allowed hosts."""

    __slots__ = ("allowed", "resolve", "origins", "keys", "base_scheme", "base_key", "own", "page_origin")

    def __init__(self, page_url: str, base: str, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        try:
            self.resolve = Resolver(base)
        except ValueError:  # a base no parser reads: relative links resolve to nothing
            self.resolve = Resolver("")
        self.origins: dict[tuple[str, str], str] = {}
        self.keys: dict[tuple[str, str], str] = {}  # (scheme, netloc) -> host key, for the fast path
        self.base_scheme: str | None = None
        self.base_key: str | None = None
        try:
            parts = urlsplit(base)
            if parts.scheme in _DEFAULT_PORT and parts.netloc:
                self.base_scheme = parts.scheme
                self.base_key = _host_key(parts.hostname, parts.port, parts.scheme)
        except ValueError:
            pass
        self.own: str | None = None
        self.page_origin: str | None = None
        try:
            parts = urlsplit(page_url)
            own = _path_uuid(parts.path)
            self.own = own.lower() if own and _UUID.fullmatch(own) else None
            key = _host_key(parts.hostname, parts.port, parts.scheme)
            if parts.scheme in _DEFAULT_PORT and key in allowed:
                self.page_origin = self._origin(parts.scheme, key)
        except ValueError:
            pass  # a page URL no parser reads: links name their own site

    def _origin(self, scheme: str, key: str) -> str:
        """`https://pith.science/citations/`: the canonical host (hubref: www.pith.science is pith.science)."""
        origin = self.origins.get((scheme, key))
        if origin is None:
            origin = hub_url(f"{scheme}://{key}/citations/{_NIL}", "")[: -len(_NIL)]
            self.origins[(scheme, key)] = origin
        return origin

    def classify(self, href: str) -> tuple[int, str, str]:
        """(_HUB, uuid, url), (_BAD, reason, ""), (_SELF, uuid, "") or (_IGNORE, "", "") for one href."""
        h = href.strip(_EDGES)
        if "\t" in h or "\n" in h or "\r" in h:
            h = _TAB_NL.sub("", h)
        if h[:1] == "/" and h[1:2] != "/" and self.base_key is not None and not _NOT_PLAIN.search(h):
            # Root-relative with nothing to undo (the common link): its path is the href up to a query or
            # fragment, on the base's host; read without urljoin and urlsplit.
            if not h.startswith("/citations/"):
                return _IGNORE, "", ""
            return self._path(cast(str, self.base_scheme), self.base_key, _QUERY.split(h, 1)[0])
        low = h.lower()
        if "citations" not in low and "%" not in h:
            return _IGNORE, "", ""
        fast = _FAST.fullmatch(h)
        if fast is not None and (fast.group(1) or self.base_scheme):  # "https://host/citations/<uuid>"
            scheme = (fast.group(1) or cast(str, self.base_scheme)).lower()
            netloc, uuid = fast.group(2).lower(), fast.group(3)
            key = self.keys.get((scheme, netloc))
            if key is None:
                try:
                    parts = urlsplit(f"{scheme}://{netloc}")
                    key = self.keys[(scheme, netloc)] = _host_key(parts.hostname, parts.port, scheme)
                except ValueError:  # a port out of range: the slow path names it
                    key = None
            if key is not None:
                return self._hub(scheme, key, uuid)
        m = _SCHEME.match(h)
        if m and m.group(1).lower() not in _DEFAULT_PORT:
            return (_BAD, "unsupported_scheme", "") if "/citations" in unquote(low) else (_IGNORE, "", "")
        if "\\" in h:  # a browser reads a backslash as a slash before the query of an http(s) URL
            cut = min((i for i in (h.find("?"), h.find("#")) if i >= 0), default=len(h))
            h = h[:cut].replace("\\", "/") + h[cut:]
        try:
            parts = urlsplit(self.resolve(h))
            if not _path_uuid(parts.path):
                return _IGNORE, "", ""
            if not parts.scheme:  # a relative link on a page whose URL is no absolute URL
                return _BAD, "malformed_url", ""
            if parts.scheme not in _DEFAULT_PORT:  # a relative link on a page at a file: or other URL
                return _BAD, "unsupported_scheme", ""
            key = _host_key(parts.hostname, parts.port, parts.scheme)
        except ValueError:  # a bad port or IPv6 host
            return (_BAD, "malformed_url", "") if "/citations" in low else (_IGNORE, "", "")
        return self._path(parts.scheme, key, parts.path)

    def _path(self, scheme: str, key: str, path: str) -> tuple[int, str, str]:
        """A link to `path` on host `key`."""
        ident = _path_uuid(path)
        if not ident:  # not a /citations/ path, or /citations/ itself
            return _IGNORE, "", ""
        if not _UUID.fullmatch(ident):
            # Another site's /citations/ pages are none of ours: only our own hosts' ids are malformed.
            return (_BAD, "malformed_uuid", "") if key in self.allowed else (_IGNORE, "", "")
        return self._hub(scheme, key, ident)

    def _hub(self, scheme: str, key: str, uuid: str) -> tuple[int, str, str]:
        """A /citations/<uuid> link on host `key`: off site, the page's own hub, or a hub."""
        if key not in self.allowed:
            return _BAD, "off_site", ""
        uuid = uuid.lower()
        if uuid == self.own:
            return _SELF, uuid, ""
        origin = self.page_origin or self._origin(scheme, key)
        return _HUB, uuid, origin + uuid


# -- headings -------------------------------------------------------------------------------------------

_CO_CITED = re.compile(r"co[-\u2010\u2011 ]?cited works(?: \(\d[\d,]*\))?")
_REFERENCES = re.compile(r"(?:\d[\d,]* )?references?(?: \(\d[\d,]*\))?")
# Headings that end a section without starting one of ours: the hub page's, and a paper page's forward list.
_OTHER = re.compile(r"forward citations\b.*")
_HEADING_MAX = 64
_END = "end"  # a heading that is none of ours


def _heading(text: str) -> str | None:
    """ "co_cited", "references", _END (another known heading) or None for a block's or text node's text."""
    if len(text) > 4 * _HEADING_MAX:
        return None
    key = " ".join(text.split()).lower().rstrip(":").rstrip()
    if not key or len(key) > _HEADING_MAX:
        return None
    if _CO_CITED.fullmatch(key):
        return "co_cited"
    if _REFERENCES.fullmatch(key):
        return "references"
    if key in HUB_HEADINGS or _OTHER.fullmatch(key):
        return _END
    return None


# -- the walk -------------------------------------------------------------------------------------------

# Invisible to a reader: neither their text nor their links are read.
_SKIP = frozenset({"script", "style", "template", "head", "title", "noembed", "noframes"})
# Elements that flow within a line; any other element starts and ends a block of text.
_INLINE = INLINE_ELEMENTS  # the hub parser's own list: both read pages as a reader sees them
_H = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LINKS = frozenset({"a", "area"})


class _Scanner:
    """The page as a stream of events (block start and end, link start and end, text): sections, blocks
    and links in one pass.

    Depth counts the open block elements. A section's scope is found when the first content after its
    heading arrives: the deepest element holding the heading that is still open (`low`, the lowest depth
    since the heading); the section lasts while that element is open (`scope`, 0: until the next heading).
    """

    __slots__ = (
        "classify",
        "hubs",
        "seen",
        "bad",
        "bad_seen",
        "dropped",
        "depth",
        "in_h",
        "section",
        "head_depth",
        "scope",
        "pending",
        "low",
        "open_links",
        "buf",
        "buf_len",
        "too_long",
        "visible",
        "block_links",
        "block_hubs",
        "committed",
    )

    def __init__(self, links: _Links) -> None:
        self.classify = links.classify
        self.hubs: list[list[Any]] = []  # [uuid, url, block, text parts, text length] in order
        self.seen: set[str] = set()
        self.bad: list[BadLink] = []
        self.bad_seen: set[tuple[str, str]] = set()
        self.dropped = 0
        self.depth = 0
        self.in_h = 0
        self.section: str | None = None
        self.head_depth = 0
        self.scope = 0
        self.pending = False
        self.low = 0
        self.open_links: list[list[Any] | None] = []  # open <a>: its hub record, or None
        # The open block: its text so far (kept while a heading could still be read in it), whether
        # it shows a non-space character, its links of any kind, its links to /citations/ (hub, own
        # hub or refused), and whether the text before its first link was a heading.
        self.buf: list[str] = []
        self.buf_len = 0
        self.too_long = False
        self.visible = False
        self.block_links = 0
        self.block_hubs = 0
        self.committed = False

    # events

    def block_start(self, heading_tag: bool) -> None:
        if self.visible or self.block_links or self.buf:
            self.flush()
        self.depth += 1
        if heading_tag:
            self.in_h += 1

    def block_end(self, heading_tag: bool) -> None:
        if self.visible or self.block_links or self.buf:
            self.flush()
        self.depth -= 1
        if heading_tag and self.in_h:
            self.in_h -= 1
        if self.pending:
            self.low = min(self.low, self.depth)
        elif self.section is not None and self.depth < self.scope:
            self.section = None  # left the element the section lives in

    def text(self, text: str) -> None:
        if self.open_links:
            record = self.open_links[-1]
            if record is not None and record[4] <= MAX_TEXT:
                _add_text(record, text)
        if text.isspace():
            if self.buf and not self.too_long:
                self.buf.append(" ")
                self.buf_len += 1
            return
        self.visible = True
        if not self.too_long:
            self.buf.append(text)
            self.buf_len += len(text)
            if self.buf_len > 4 * _HEADING_MAX:
                self.too_long = True
                self.buf = []

    def link_start(self, href: Any, alt: Any) -> None:
        if not self.block_links and self.visible and not self.too_long:
            # "<b>co-cited works:</b> <a>..</a>, <a>..</a>": a heading written inline, its links after it.
            key = _heading("".join(self.buf))
            if key is not None:
                self._open_section(key)
                self.committed = True
        self.block_links += 1
        record = None
        if href.__class__ is str:
            kind, a, b = self.classify(href)
            if kind != _IGNORE:
                self.block_hubs += 1
                if kind == _HUB:
                    record = self._hub(a, b)
                elif kind == _BAD:
                    self._bad(href, a)
        if record is not None and isinstance(alt, str):
            _add_text(record, alt)
        self.open_links.append(record)

    def link_end(self) -> None:
        if self.open_links:
            self.open_links.pop()

    # sections

    def _open_section(self, key: str) -> None:
        self.section = None if key == _END else key
        self.head_depth = self.low = self.depth
        self.pending = self.section is not None

    def flush(self) -> None:
        """End the open block (at every block element's start and end, and at <br>)."""
        if self.visible or self.block_links:
            key = None
            if not self.committed and not self.block_hubs and not self.too_long and self.buf:
                key = _heading("".join(self.buf))
            if key is not None:
                self._open_section(key)
            elif self.in_h and not self.block_links and self.section is not None and self.depth <= self.head_depth:
                self.section = None  # a plain heading at the section heading's level: a section we do not know
            elif self.pending:  # the first content after the heading: the section's element is now known
                self.scope = min(self.head_depth, self.low)
                self.pending = False
            self.visible = self.too_long = self.committed = False
            self.block_links = self.block_hubs = 0
        self.buf = []
        self.buf_len = 0

    # links

    def _hub(self, uuid: str, url: str) -> list[Any] | None:
        if uuid in self.seen:
            return None
        self.seen.add(uuid)
        if len(self.hubs) >= MAX_LINKS:
            self.dropped += 1
            return None
        record = [uuid, url, self.section or "other", [], 0]
        self.hubs.append(record)
        return record

    def _bad(self, href: str, reason: str) -> None:
        key = (href[:MAX_HREF], reason)
        if key in self.bad_seen:
            return
        self.bad_seen.add(key)
        if len(self.bad) >= MAX_BAD:
            self.dropped += 1
        else:
            self.bad.append(BadLink(key[0], cast(Reason, reason)))

    def result(self) -> LinkScan:
        self.flush()
        hubs = []
        for uuid, url, block, parts, _ in self.hubs:
            text = " ".join("".join(parts).split())
            hubs.append(HubLink(uuid, url, text[:MAX_TEXT].rstrip(), block))
        return LinkScan(hubs, self.bad, self.dropped)


def _add_text(record: list[Any], text: str) -> None:
    """Anchor text of a hub link, kept to what MAX_TEXT needs: once over it, the text is collapsed (a
    trailing space kept, it may separate the next piece) and nothing more is added past MAX_TEXT."""
    record[3].append(text)
    record[4] += len(text)
    if record[4] > MAX_TEXT:
        joined = "".join(record[3])
        collapsed = " ".join(joined.split()) + (" " if joined[-1:].isspace() else "")
        record[3], record[4] = [collapsed], len(collapsed)


def _walk_lxml(scanner: _Scanner, root: Any) -> None:
    """The events of an lxml tree, in document order, without recursion.

    The hot path (every element of the page goes through it): inline elements other than links make no
    event, their text goes straight to the scanner."""
    block_start, block_end, text = scanner.block_start, scanner.block_end, scanner.text
    link_start, link_end = scanner.link_start, scanner.link_end
    quiet, skip, headings = _INLINE - _LINKS, _SKIP, _H
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if event == "start":
            if tag in quiet:
                pass
            elif tag == "a":
                link_start(el.get("href"), None)
            elif tag.__class__ is not str:  # an entity reference: only its tail is text
                continue
            elif tag in skip:
                walker.skip_subtree()
                continue
            elif tag == "area":
                link_start(el.get("href"), el.get("alt"))
                link_end()
                continue
            elif tag == "br":
                scanner.flush()
                continue
            else:
                block_start(tag in headings)
            value = el.text
        else:
            if tag in quiet:
                pass
            elif tag == "a":
                link_end()
            elif tag.__class__ is str and tag not in skip and tag != "area" and tag != "br":
                block_end(tag in headings)
            value = el.tail
        if value:
            text(value)


_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
    | {"basefont", "bgsound", "frame", "keygen"}
)
# Elements whose content is no markup; all of them invisible (or no text a heading or link can use).
_RAW = frozenset({"script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title", "template"})
# A start tag of one of these closes an open element of its name at the top of the stack (<li><li>).
_SELF_CLOSING = frozenset({"li", "p", "dt", "dd", "tr", "td", "th", "option"})
_TAG_NAME = re.compile(r"[A-Za-z][^\s/>]*+")
# One attribute (possessive, so a tag of any length is read in one forward pass); an unclosed quote runs
# to the end of the page, as in a browser.
_ATTR = re.compile(r"""[\s/]*+(?:([^\s/>][^\s/>=]*+)(?:\s*+=\s*+("[^"]*+"?|'[^']*+'?|[^\s>]*+))?)?""")
# All of a tag's attributes, up to its closing ">" (or the end of the page): one match in C.
_ATTRS = re.compile(r"""(?:[\s/]++|[^\s/>][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"?|'[^']*+'?|[^\s>]*+))?)*+""")
_RAW_END: dict[str, re.Pattern[str]] = {}


def _link_attrs(text: str, start: int, end: int) -> tuple[str | None, str | None]:
    """`href` and `alt` of the tag whose attributes are text[start:end] (the first of each wins)."""
    href = alt = None
    i = start
    while i < end:
        a = cast(re.Match[str], _ATTR.match(text, i, end))  # every part optional: it always matches
        attr, value = a.group(1), a.group(2)
        if attr is not None and value is not None:
            key = attr.lower()
            if (key == "href" and href is None) or (key == "alt" and alt is None):
                if value[:1] in ("'", '"'):
                    value = value[1:-1] if len(value) > 1 and value[-1] == value[0] else value[1:]
                value = html_lib.unescape(value) if "&" in value else value
                if key == "href":
                    href = value
                else:
                    alt = value
        i = a.end() if a.end() > i else i + 1
    return href, alt


def _tokenize(text: str, scanner: _Scanner) -> None:
    """The page's events from a tokenizer of our own, linear in the page whatever it holds: for the
    pages libxml2 cannot take (nesting deeper than 2048, tags with hundreds of attributes).

    It follows the HTML tokenizer where that decides what is text and what is markup (comments,
    raw-text elements, quoted attribute values; an unclosed one swallows the rest of the page, as in a
    browser) but builds no tree: an end tag closes the nearest open element of its name and all opened
    after it, a stray one is ignored, and <li>, <p>, ... close an open sibling of their name."""
    n = len(text)
    pos = 0
    stack: list[str] = []  # open block elements and links
    counts: dict[str, int] = {}
    unescape = html_lib.unescape

    def emit_text(piece: str) -> None:
        if piece:
            scanner.text(unescape(piece) if "&" in piece else piece)

    def close(name: str) -> None:
        """Close the nearest open `name` and everything above it (each pops: linear overall)."""
        while stack:
            top = stack.pop()
            counts[top] -= 1
            if top == "a":
                scanner.link_end()
            else:
                scanner.block_end(top in _H)
            if top == name:
                return

    while pos < n:
        lt = text.find("<", pos)
        if lt < 0:
            emit_text(text[pos:])
            break
        emit_text(text[pos:lt])
        nxt = text[lt + 1 : lt + 2]
        if nxt == "!" and text.startswith("<!--", lt):
            end = text.find("-->", lt + 2)  # "<!-->" and "<!--->" are whole (empty) comments
            pos = n if end < 0 else end + 3
            continue
        if nxt in ("!", "?"):  # doctype, CDATA, processing instruction: a bogus comment up to ">"
            end = text.find(">", lt + 2)
            pos = n if end < 0 else end + 1
            continue
        if nxt == "/":
            m = _TAG_NAME.match(text, lt + 2)
            end = text.find(">", lt + 2)
            pos = n if end < 0 else end + 1
            if m is not None and end >= 0:
                name = m.group().lower()
                if name == "br":
                    scanner.flush()
                elif counts.get(name):
                    close(name)
            continue
        m = _TAG_NAME.match(text, lt + 1)
        if m is None:  # "<" that starts no tag: text
            emit_text("<")
            pos = lt + 1
            continue
        name = m.group().lower()
        j = cast(re.Match[str], _ATTRS.match(text, m.end())).end()  # it matches the empty string
        if j >= n:  # the page ends inside the tag: a browser drops it
            break
        href = alt = None
        if name == "a" or name == "area":
            href, alt = _link_attrs(text, m.end(), j)
        pos = j + 1
        if name in _RAW:
            closing = _RAW_END.get(name)
            if closing is None:
                closing = _RAW_END[name] = re.compile(rf"</{re.escape(name)}[\s/>]", re.IGNORECASE)
            found = closing.search(text, pos)
            end = text.find(">", found.end() - 1) if found else -1
            pos = n if end < 0 else end + 1
            continue
        if name in _SKIP or (name in _INLINE and name != "a"):
            continue  # <head> and the like: their content is read (a page often leaves <head> open)
        if name == "a" or name == "area":
            if name == "a" and counts.get("a"):
                close("a")  # links do not nest
            scanner.link_start(href, alt if name == "area" else None)
            if name == "area":
                scanner.link_end()
                continue
        elif name == "br":
            scanner.flush()
            continue
        elif name in _VOID:  # <hr>, <input>, ...: a block with nothing in it, as lxml reads them
            scanner.block_start(False)
            scanner.block_end(False)
            continue
        else:
            if name in _SELF_CLOSING and stack and stack[-1] == name:
                close(name)
            scanner.block_start(name in _H)
        stack.append(name)
        counts[name] = counts.get(name, 0) + 1
    while stack:
        close(stack[-1])


_BASE = re.compile(r"""<base\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def _base_url(page_url: str, href: str | None) -> str:
    """The first `<base href>` resolved against the page URL, when it names an http(s) URL."""
    if href is None:
        return page_url
    try:
        base = urljoin(page_url, href.strip(_EDGES))
        parts = urlsplit(base)
    except ValueError:
        return page_url
    return base if parts.scheme in _DEFAULT_PORT and parts.netloc else page_url


def _decode(html: str | bytes) -> str:
    text = html if isinstance(html, str) else html_to_unicode(None, bytes(html))[1]
    # NUL is no HTML text: read as U+FFFD like the hub parser (PAGES.md "Raw values"); lone surrogates
    # (a str from elsewhere) cannot be encoded for libxml2.
    text = text.replace("\x00", "\ufffd")
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def _scan(html: str | bytes, page_url: str, allowed: frozenset[str]) -> LinkScan:
    text = _decode(html)
    if not text.strip():
        return LinkScan()
    if not _attribute_bomb(text):
        parser = etree.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, huge_tree=True
        )
        root = etree.fromstring(text.encode("utf-8"), parser=parser)
        # A fatal error halts libxml2 (the depth limit: "Excessive depth in document") and leaves the tree
        # cut there. It is the parse's last error (the log itself keeps only the first hundred).
        halted = parser.error_log.last_error
        if halted is None or halted.level_name != "FATAL":
            if root is None:  # nothing but comments or a doctype
                return LinkScan()
            base = next((el.get("href") for el in root.iter("base") if el.get("href") is not None), None)
            scanner = _Scanner(_Links(page_url, _base_url(page_url, base), allowed))
            _walk_lxml(scanner, root)
            return scanner.result()
    # libxml2 stopped (a nesting depth over 2048) or would be quadratic in a tag's attributes.
    return _scan_tokens(text, page_url, allowed)


def _scan_tokens(text: str, page_url: str, allowed: frozenset[str]) -> LinkScan:
    m = _BASE.search(text)
    base = html_lib.unescape(next(g for g in m.groups() if g is not None)) if m else None
    scanner = _Scanner(_Links(page_url, _base_url(page_url, base), allowed))
    _tokenize(text, scanner)
    return scanner.result()


# A start tag of more than 256 characters outside quoted values and quoted values, which it takes to
# write some hundred attributes; possessive, so each attempt reads one tag once.
_LONG_TAG = re.compile(r"""<[A-Za-z](?:[^<>"']|"[^"]*+"|'[^']*+'){256,}+""")


def _attribute_bomb(text: str) -> bool:
    """A tag that may carry hundreds of attributes. libxml2 compares each attribute name with every one
    before it: 100,000 attributes take it 20 s, and below this bound a page of many such tags costs it
    under 0.1 us a byte. Our tokenizer reads any tag in linear time (a long tag only costs speed)."""
    return _LONG_TAG.search(text) is not None
