"""Hub page HTML -> HubPage, by what a reader sees.

The real site's markup is unknown and will drift, so nothing here looks at class names, ids or which
tag a heading is. The document is flattened, in order, into text blocks (the own text of block-level
elements, with their links); that stream is then read like the page reads: the heading texts mark
sections, the count sentence anchors the header (title before it, tier and label before the title),
" · " marks meta lines and link targets mark citing papers and explorer pages.

Truncation: a body that opens `<html` but never closes it is rejected (ParseError "truncated") rather
than parsed in part, because the last entry of a cut page is itself cut (a half title would become a
bogus paper whose identity is a title fingerprint). The declared-vs-parsed count check upstream catches
the missing entries; this catches the corrupt one. If the site ever stops writing `</html>`, every page
fails loudly with that reason instead of loading silently wrong data.
"""

from __future__ import annotations

import gc
import re
from functools import lru_cache
from itertools import chain
from typing import cast
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from lxml import etree
from w3lib.encoding import html_to_unicode

from spiders.parse.normalize import PITH_ID, split_arxiv
from spiders.parse.records import CitingEntry, HubPage, ParseError, check_ranges, is_number
from spiders.parse.urls import Resolver, hub_page_url, hub_uuid_of, page_param

# Invisible to a reader.
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "svg", "iframe", "object"})
# Elements that flow within a line; every other element starts and ends a text block.
INLINE_ELEMENTS = _INLINE = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "img",
        "ins",
        "kbd",
        "label",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
        "nobr",
    }
)

REPRESENTATIVE = "representative citing papers"
EXPLORER = "citing papers explorer"
ROLE_SUMMARY = "citation-role summary"
POLARITY_SUMMARY = "citation-polarity summary"
FACETS = ("fields", "years", "verdicts", "roles", "polarities")
# "authors" and "co-cited works" are optional blocks SITE.md saw; they end the section before them.
HEADINGS = frozenset(
    {
        "hub tools",
        ROLE_SUMMARY,
        POLARITY_SUMMARY,
        *FACETS,
        "claims ledger",
        REPRESENTATIVE,
        EXPLORER,
        "abstract",
        "clear filters",
        "authors",
        "co-cited works",
    }
)
_HEADING_MAX = max(map(len, HEADINGS)) + 4

_NUM = r"\d{1,3}(?:,\d{3})+|\d+"
COUNT_RE = re.compile(rf"(?<![\d,])({_NUM}) Pith papers? citing it\b")
LEGACY_COUNT_RE = re.compile(rf"(?<![\d,])({_NUM}) Pith papers? cites? this work\b")
# The stat line names the role, on "Tool reference" pages with a qualifier after it: "Background 62% of
# classified citations", "Method reference 78% of classified citations" (the role is method, not reference).
STAT_RE = re.compile(
    r"(?P<role>[A-Za-z][\w\-]*)(?:\s+(?i:references?|citations?))?\s+(?P<share>\d+(?:\.\d+)?)%\s+"
    r"of classified citations"
)
HEADLINE_HINT = re.compile(r"\d%.*\bPith\b|\bPith\b.*\d%|citation behavio|\(\d+(?:\.\d+)?%\)")
HEADLINE_ROLE = (
    re.compile(r"Most common role is (?P<role>.+?) \((?P<share>\d+(?:\.\d+)?)%\)"),
    re.compile(r"(?P<share>\d+(?:\.\d+)?)% of citing Pith papers cite this work as (?:an? )?(?P<role>[\w\- ]+)"),
    re.compile(
        r"(?P<share>\d+(?:\.\d+)?)% of classified Pith citations use this work as (?:an? )?"
        r"(?P<role>[\w\-]+)"
    ),
)
TIER_RE = re.compile(r"^(?:(super hub)|(hub))(?![a-z0-9])\s*(.*)$")
KNOWN_LABELS = frozenset(
    {"Mixed citations", "Canonical reference", "Tool reference", "Dataset reference", "Baseline reference"}
)
LABEL_SHAPE = re.compile(r"^[A-Z][a-z]+(?: [a-z]+){0,3} (?:reference|citations?)$")
RATE_LIMITED_RE = re.compile(r"\brate[- ]?limit|too many requests", re.IGNORECASE)

META_HINT = re.compile(r"\d{4}-\d{2}(?:-\d{2})?|\bnovelty\b")
CATEGORY_RE = re.compile(r"[A-Za-z][A-Za-z\-]*(?:\.[A-Za-z\-]+)?")
DATE_RE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?")
NOVELTY_RE = re.compile(r"novelty\s+(\S+)", re.IGNORECASE)
REFS_RE = re.compile(rf"({_NUM})\s+refs?", re.IGNORECASE)
VERDICT_RE = re.compile(r"[A-Za-z][\w\- ]*")
_PAIR_NUM = re.compile(rf"\(?({_NUM})\)?")
_PAPER_PATH = re.compile(r"^/(?:paper|p)/(?P<ref>.+?)/?$|^/ref/arxiv/(?P<arxiv>.+?)/?$")
_BULLET = re.compile(r"^[-–—•*]\s+")
_BREAK = "\x00"  # marks text-node boundaries inside a block for the pair tokenizer
# Comments and processing instructions are invisible (their surrounding text stays); never the network.
# A plain etree parser, not lxml.html's: its element class lookup is a Python call per element proxy.
_LXML_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
# What the lxml walk does with an element, by tag; any other string tag is a block, any other node
# (comment, processing instruction, entity) is skipped but its tail read.
_BLOCK, _INLINE_KIND, _LINK, _BR, _SKIP_KIND, _NODE = range(6)
_KIND = {
    **dict.fromkeys(
        (
            "html",
            "body",
            "div",
            "p",
            "li",
            "ul",
            "ol",
            "section",
            "main",
            "article",
            "table",
            "tbody",
            "tr",
            "td",
            "th",
            "h1",
            "h2",
            "h3",
            "h4",
            "header",
            "footer",
            "nav",
        ),
        _BLOCK,
    ),
    **dict.fromkeys(_INLINE, _INLINE_KIND),
    "a": _LINK,
    "br": _BR,
    **dict.fromkeys(_SKIP, _SKIP_KIND),
    etree.Comment: _NODE,
    etree.ProcessingInstruction: _NODE,
    etree.Entity: _NODE,
}


def _collapse(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=4096)  # short texts recur on every page (counts, categories, headings)
def _heading_key(text: str) -> str | None:
    if len(text) > _HEADING_MAX:
        return None
    key = _collapse(text).lower().rstrip(":").rstrip()
    return key if key in HEADINGS else None


# re's \w is str.isalnum() plus "_": one C scan instead of a generator over characters.
_ALNUM = re.compile(r"[^\W_]")


def _has_word(text: str) -> bool:
    return _ALNUM.search(text) is not None


class _Block:
    """The own text of one block-level element, its links, and the block elements it sits in."""

    __slots__ = ("chain", "heading", "idxs", "links", "text", "texts")

    def __init__(
        self, texts: list[str], idxs: list[int | None], links: list[list], chain: tuple[int, ...], heading: str | None
    ) -> None:
        self.texts = texts  # the text nodes, in order
        self.idxs = idxs  # for each text node its index into links, or None
        # (absolute href, text); most blocks have no link
        self.links = [(href, " ".join("".join(parts).split())) for href, parts in links] if links else []
        self.text = text = " ".join("".join(texts).split())
        self.chain = chain
        self.heading = heading or (_heading_key(text) if len(text) <= _HEADING_MAX else None)


class _Flattener:
    """One pass over the tree producing the text-block stream."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.blocks: list[_Block] = []
        self.texts: list[str] = []
        self.idxs: list[int | None] = []
        self.links: list[list] = []
        self.href: str | None = None  # href of the open <a>, if any
        self.link_idx: int | None = None  # its entry in self.links for the current block
        self.stack: list[int] = []
        self.counter = 0

    def flush(self, heading: str | None = None) -> None:
        if self.texts:
            block = _Block(self.texts, self.idxs, self.links, tuple(self.stack), heading)
            if block.text:
                self.blocks.append(block)
        self.texts, self.idxs, self.links, self.link_idx = [], [], [], None

    def text(self, text: str) -> None:
        if text.isspace():  # most text nodes are indentation: no heading can hide there
            self._add(text)
            return
        key = _heading_key(text) if self.href is None or not _paper_ref(self.href) else None
        if key is not None:
            # A heading written inline (<strong>fields</strong> cs.LG 3) still ends and starts a section.
            self.flush()
            self._add(text)
            self.flush(heading=key)
        else:
            self._add(text)

    def _add(self, text: str) -> None:
        if self.href is not None and self.link_idx is None:
            self.link_idx = len(self.links)
            self.links.append([self.href, []])
        if self.link_idx is not None:
            self.links[self.link_idx][1].append(text)
        self.texts.append(text)
        self.idxs.append(self.link_idx)

    def walk(self, element: Tag) -> None:
        for node in element.contents:
            if isinstance(node, Tag):
                name = node.name
                if name in _SKIP:
                    continue
                if name == "br":
                    self.flush()
                elif name == "a":
                    outer = self.href, self.link_idx
                    href = node.get("href")
                    self.href = urljoin(self.base_url, href.strip()) if isinstance(href, str) else None
                    self.link_idx = None
                    self.walk(node)
                    self.href, self.link_idx = outer[0], None
                elif name in _INLINE:
                    self.walk(node)
                else:
                    self.flush()
                    self.stack.append(id(node))
                    self.walk(node)
                    self.flush()
                    self.stack.pop()
            elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
                self.text(str(node))


def _walk_lxml(flat: _Flattener, root: etree._Element) -> None:
    """The walk over an lxml tree, the same stream as _Flattener.walk over BeautifulSoup: own text, then
    each child and the text after it (its tail); the root is a block.

    This is the hot path of parsing (every element of every page goes through it), so it is one loop over
    lxml's C-level iterwalk with the walk's state in locals rather than a recursion through methods, and
    text that is only whitespace (most text nodes: indentation) takes the shortest route. Block elements
    are numbered by a counter, not id(): lxml element proxies are transient, so an id could be reused
    within one parse.
    """
    blocks = flat.blocks
    resolve = Resolver(flat.base_url)
    kinds = _KIND
    texts: list[str] = []
    idxs: list[int | None] = []
    links: list[list] = []
    visible = False  # some part of the open block has a non-space character (else it makes no block)
    href: str | None = None  # href of the open <a>, if any
    link_idx: int | None = None  # its entry in `links` for the current block
    hrefs: list[str | None] = []  # hrefs of the enclosing <a> elements
    stack = [1]
    counter = 1
    walker = etree.iterwalk(root, events=("start", "end"))
    next(walker)  # the root's own start: it is block 1 whatever its tag
    text = root.text
    # The kind of each open element, so an end event needs no second .tag (a new string each time) + lookup.
    open_kinds = [kinds.get(root.tag, _BLOCK)]
    for event, el in chain(((None, None),), walker):  # the dummy first event handles the root's text
        if event is not None:
            if event == "start":
                tag = el.tag
                kind = kinds.get(tag)
                if kind is None:
                    kind = _BLOCK if tag.__class__ is str else _NODE
                open_kinds.append(kind)
                if kind == _INLINE_KIND:
                    text = el.text
                elif kind == _BLOCK:
                    if texts:  # end the open block (a new one starts with this element)
                        if visible:
                            blocks.append(_Block(texts, idxs, links, tuple(stack), None))
                            visible = False
                        texts, idxs, links = [], [], []
                    link_idx = None
                    counter += 1
                    stack.append(counter)
                    text = el.text
                elif kind == _LINK:
                    hrefs.append(href)
                    raw = el.get("href")
                    href = resolve(raw.strip()) if raw is not None else None
                    link_idx = None
                    text = el.text
                else:  # invisible, <br>, comment: nothing inside is read; a <br> ends the line
                    walker.skip_subtree()
                    if kind == _BR:
                        if texts:
                            if visible:
                                blocks.append(_Block(texts, idxs, links, tuple(stack), None))
                                visible = False
                            texts, idxs, links = [], [], []
                        link_idx = None
                    continue
            else:
                kind = open_kinds.pop()
                if kind == _BLOCK:
                    if texts:
                        if visible:
                            blocks.append(_Block(texts, idxs, links, tuple(stack), None))
                            visible = False
                        texts, idxs, links = [], [], []
                    link_idx = None
                    stack.pop()
                    if el is root:
                        break
                elif kind == _LINK:
                    href, link_idx = hrefs.pop(), None
                text = el.tail  # text after a comment or processing instruction is visible too
        if not text:
            continue
        if text.isspace():
            if not texts and href is None:
                continue  # leading white space of a block outside a link changes nothing read from it
            key = None
        else:
            key = _heading_key(text) if len(text) <= _HEADING_MAX and (href is None or not _paper_ref(href)) else None
            if key is not None:
                # A heading written inline (<strong>fields</strong> cs.LG 3) still ends and starts a section.
                if texts:
                    if visible:
                        blocks.append(_Block(texts, idxs, links, tuple(stack), None))
                    texts, idxs, links = [], [], []
                link_idx = None
            visible = True
        if href is not None and link_idx is None:
            link_idx = len(links)
            links.append([href, []])
        if link_idx is not None:
            links[link_idx][1].append(text)
        texts.append(text)
        idxs.append(link_idx)
        if key is not None:
            blocks.append(_Block(texts, idxs, links, tuple(stack), key))
            texts, idxs, links, link_idx, visible = [], [], [], None, False


# (arxiv_id, version, pith_id) of a citing-paper link.
_PaperRef = tuple[str | None, int | None, str | None]


@lru_cache(maxsize=8192)  # paper links recur on every page of a hub; bounded so the crawl stays flat
def _paper_ref(href: str) -> _PaperRef | None:
    """(arxiv_id, version, pith_id) of a citing-paper link, None when the link is not a paper page."""
    m = _PAPER_PATH.match(unquote(urlsplit(href).path))
    if not m:
        return None
    ref = m.group("ref") or m.group("arxiv")
    arxiv = split_arxiv(ref)
    if arxiv:
        return arxiv[0], arxiv[1], None
    if m.group("ref") and PITH_ID.match(ref):
        return None, None, ref
    return None, None, None


def _truncated(body: bytes | str) -> bool:
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    lower = raw.lower()
    return re.search(rb"<html[\s>]", lower[:8192]) is not None and b"</html" not in lower


# -- sections -------------------------------------------------------------------------------------------


def _scope(heading: _Block, following: _Block | None) -> tuple[int, int] | None:
    """(depth, element id) of the element a section lives in: the innermost ancestor of the heading
    that also holds the block after it. A footer after the list then does not read as an entry."""
    if following is None:
        return None
    own = heading.chain[:-1]
    depth = 0
    for a, b in zip(own, following.chain, strict=False):
        if a != b:
            break
        depth += 1
    return (depth, own[depth - 1]) if depth else None


def _in_scope(block: _Block, scope: tuple[int, int] | None) -> bool:
    if scope is None:
        return True
    depth, element = scope
    return len(block.chain) >= depth and block.chain[depth - 1] == element


def _sections(blocks: list[_Block]) -> tuple[list[_Block], dict[str, list[_Block]], list[_Block]]:
    """Header blocks (before any heading), section name -> its blocks, and every block after the
    explorer heading (pagination may sit outside the explorer's own element).

    Once the representative list starts only the explorer heading counts, and inside the explorer no
    heading counts: a paper titled "Abstract" must not open a section.
    """
    header: list[_Block] = []
    sections: dict[str, list[_Block]] = {}
    current: list[_Block] | None = header
    name: str | None = None
    scope: tuple[int, int] | None = None
    for i, block in enumerate(blocks):
        heading = block.heading
        if heading and (name not in (REPRESENTATIVE, EXPLORER) or (name == REPRESENTATIVE and heading == EXPLORER)):
            name = heading
            current = sections.setdefault(heading, [])
            scope = _scope(block, blocks[i + 1] if i + 1 < len(blocks) else None)
            if heading == EXPLORER:
                return header, sections, _explorer_rest(sections, blocks[i + 1 :], scope)
            continue
        if current is not None and current is not header and not _in_scope(block, scope):
            current = None  # left the section's element: what follows belongs to no section
        if current is not None:
            current.append(block)
    return header, sections, []


def _explorer_rest(
    sections: dict[str, list[_Block]], rest: list[_Block], scope: tuple[int, int] | None
) -> list[_Block]:
    own = sections[EXPLORER]
    for block in rest:
        if not _in_scope(block, scope):
            break
        own.append(block)
    return rest


def _pair_tokens(block: _Block) -> list[str]:
    joined = _BREAK.join(block.texts)
    tokens: list[str] = []
    for token in joined.split():
        if _BREAK not in token:  # most tokens sit within one text node
            tokens.append(token)
            continue
        pieces = [p for p in token.split(_BREAK) if p]
        if not pieces:
            continue
        # "cs.LG" and "12" in adjacent elements with no space between them: split at the element edge.
        if len(pieces) > 1 and _PAIR_NUM.fullmatch(pieces[-1]):
            tokens.extend(("".join(pieces[:-1]), pieces[-1]))
        else:
            tokens.append("".join(pieces))
    return tokens


def _pairs(blocks: list[_Block]) -> dict[str, int]:
    """`value count value count ...`; a value may be several words or itself a number (a year)."""
    out: dict[str, int] = {}
    value: list[str] = []
    for block in blocks:
        for token in _pair_tokens(block):
            m = _PAIR_NUM.fullmatch(token)
            if m and value:
                out[" ".join(value)] = int(m.group(1).replace(",", ""))
                value = []
            else:
                value.append(token)
    return out


# -- header ---------------------------------------------------------------------------------------------


def _is_headline(text: str) -> bool:
    return HEADLINE_HINT.search(text) is not None and COUNT_RE.search(text) is None


def _label_like(text: str, headline: str | None) -> bool:
    if text in KNOWN_LABELS or LABEL_SHAPE.match(text):
        return True
    # Unknown labels: the headline of every non-mixed label starts with the label itself.
    if not headline:
        return False
    return headline.startswith(text + ". ") and 0 < len(text) <= 60


def _read_header(page: HubPage, header: list[_Block]) -> None:
    c, count = 0, None  # c: index of the count sentence's block, set with count
    for i, block in enumerate(header):
        m = COUNT_RE.search(block.text)
        if m:
            c, count, page.template = i, m, "current"
            break
        m = LEGACY_COUNT_RE.search(block.text)
        if m:
            c, count, page.template = i, m, "legacy"
            break
    if count is None:
        raise ParseError("missing_count", "no 'N Pith papers citing it' sentence")
    page.citing_count = int(count.group(1).replace(",", ""))

    h = None
    if page.template == "current":
        if c >= 1 and _is_headline(header[c - 1].text):
            h = c - 1
        else:
            h = next((j for j in range(c + 1, len(header)) if _is_headline(header[j].text)), None)
    page.headline = header[h].text if h is not None else None

    t = (h if h is not None and h < c else c) - 1
    page.title_raw = header[t].text if t >= 0 else None
    _read_tier_label(page, header[: max(t, 0)])

    # Stat line: after the count sentence, possibly in the same block.
    after = [header[c].text[count.end() :]] + [b.text for b in header[c + 1 :]]
    for text in after:
        m = STAT_RE.search(text)
        if m:
            page.headline_role, page.headline_share = m.group("role").lower(), float(m.group("share"))
            return
    if page.headline:
        for pattern in HEADLINE_ROLE:
            m = pattern.search(page.headline)
            if m:
                page.headline_role = m.group("role").strip().lower()
                page.headline_share = float(m.group("share"))
                return


def _read_tier_label(page: HubPage, before_title: list[_Block]) -> None:
    if not before_title:
        return
    text = before_title[-1].text
    m = TIER_RE.match(text)
    if m:
        page.tier = "super_hub" if m.group(1) else "hub"
        page.label = m.group(3) or None
        return
    if page.template == "current" and not before_title[-1].links and _label_like(text, page.headline):
        page.label = text
        if len(before_title) > 1:
            m = TIER_RE.match(before_title[-2].text)
            if m and not m.group(3):
                page.tier = "super_hub" if m.group(1) else "hub"


# -- entries --------------------------------------------------------------------------------------------

# An entry item: ("title", text, href) for a paper link, ("meta", text, None), ("text", text, None).
_Item = tuple[str, str, str | None]


def _items(block: _Block) -> list[_Item]:
    if not _has_word(block.text):
        return []  # list bullets, separators
    for idx, (href, link_text) in enumerate(block.links):
        if link_text and _paper_ref(href) is not None:
            items: list[_Item] = [("title", link_text, href)]
            rest = _collapse("".join(text for text, i in zip(block.texts, block.idxs, strict=True) if i != idx))
            if _has_word(rest):
                items.append(("meta" if _is_meta(rest) else "text", rest, None))
            return items
    return [("meta" if _is_meta(block.text) else "text", block.text, None)]


def _is_meta(text: str) -> bool:
    return "·" in text and META_HINT.search(text) is not None


def _common_depth(blocks: list[_Block]) -> int:
    first = blocks[0].chain
    depth = len(first)
    for block in blocks[1:]:
        chain = block.chain
        depth = min(depth, len(chain))
        for i in range(depth):
            if chain[i] != first[i]:
                depth = i
                break
    return depth


def _anchors(items: list[_Item]) -> int:
    kinds = [kind for kind, _, _ in items]
    return max(kinds.count("title"), kinds.count("meta"))


def _entry_groups(blocks: list[_Block]) -> list[list[_Item]]:
    """Split a list's blocks into entries: by the element each entry sits in when the markup has one
    (list item, row, article), else by reading order (title, meta line, summary)."""
    if not blocks:
        return []
    depth = _common_depth(blocks)
    groups: list[tuple[int | None, list[_Block]]] = []
    for block in blocks:
        key = block.chain[depth] if len(block.chain) > depth else None
        if groups and key is not None and groups[-1][0] == key:
            groups[-1][1].append(block)
        else:
            groups.append((key, [block]))
    if all(len(members) == 1 for _, members in groups) and all(len(b.chain) <= depth + 1 for b in blocks):
        # Flat: every block is its own child of the list element (one entry's cells, or a list with no
        # element per entry). One anchor at most means one entry; otherwise read in order.
        items = [item for block in blocks for item in _items(block)]
        return [items] if _anchors(items) <= 1 and items else _sequential(items)
    out: list[list[_Item]] = []
    for _, members in groups:
        items = [item for block in members for item in _items(block)]
        if not items:
            continue
        several = _anchors(items) > 1
        if several and len(members) > 1:
            out.extend(_entry_groups(members))
        elif several:
            out.extend(_sequential(items))
        else:
            out.append(items)
    return out


def _sequential(items: list[_Item]) -> list[list[_Item]]:
    """Entries of a flat list by reading order: title, then at most one meta line, then a summary."""
    out: list[list[_Item]] = []
    for i, item in enumerate(items):
        current = out[-1] if out else None
        if item[0] == "title":
            out.append([item])
        elif item[0] == "meta":
            if current is not None and len(current) == 1 and current[0][0] != "meta":
                current.append(item)
            else:
                out.append([item])
        else:
            # A meta line follows its title directly, so text before a meta line is a plain-text title.
            followed_by_meta = i + 1 < len(items) and items[i + 1][0] == "meta"
            has_summary = current is not None and len(current) > 1 and current[-1][0] == "text"
            if current is None or followed_by_meta or has_summary:
                out.append([item])
            else:
                current.append(item)
    return out


def _parse_meta(text: str, entry: CitingEntry) -> None:
    parts = [p.strip() for p in text.split("·")]
    if len(parts) < 2 or not CATEGORY_RE.fullmatch(parts[0]) or not DATE_RE.fullmatch(parts[1]):
        raise ParseError("bad_meta", text)
    entry.category, entry.date = parts[0], parts[1]
    for part in parts[2:]:
        if m := NOVELTY_RE.fullmatch(part):
            value = m.group(1)
            if value.lower() == "none":
                entry.novelty = None
            else:
                try:
                    entry.novelty = float(value)
                except ValueError:
                    raise ParseError("bad_meta", text) from None
        elif m := REFS_RE.fullmatch(part):
            entry.refs = int(m.group(1).replace(",", ""))
        elif entry.verdict is None and VERDICT_RE.fullmatch(part):
            entry.verdict = part.lower()
        else:
            raise ParseError("bad_meta", text)


def _entry(items: list[_Item], position: int) -> CitingEntry | None:
    entry = CitingEntry(title_raw="", position=position)
    title_seen = meta_seen = False
    summary: list[str] = []
    for kind, text, href in items:
        if kind == "title" and not title_seen:
            entry.title_raw, entry.href, title_seen = text, href, True
            # A title item's href is a paper link (_items): _paper_ref gives its reference, never None.
            arxiv_id, version, pith_id = cast(_PaperRef, _paper_ref(href))
            entry.arxiv_id, entry.arxiv_version, entry.pith_id = arxiv_id, version, pith_id
        elif kind == "meta" and not meta_seen:
            _parse_meta(text, entry)
            meta_seen = True
        elif not title_seen and not meta_seen:
            # A plain-text title may share its line with a list bullet ("- CLIF: ..." on the seed page).
            entry.title_raw, title_seen = _BULLET.sub("", text), True
        else:
            summary.append(text)
    if not title_seen:
        return None
    entry.summary_raw = " ".join(summary) if summary else None
    return entry


def _entries(blocks: list[_Block]) -> list[CitingEntry]:
    out: list[CitingEntry] = []
    for items in _entry_groups(blocks):
        entry = _entry(items, len(out))
        if entry is not None:
            out.append(entry)
    return out


def _read_explorer(page: HubPage, own: list[_Block], after: list[_Block]) -> None:
    """Entries up to the first pagination link; page numbers and "next" from the pagination, which is
    looked for in everything after the heading (it may sit outside the list's own element)."""
    hub = page.hub_uuid

    def paginates(block: _Block) -> bool:
        return any(hub_uuid_of(href) == hub for href, _ in block.links)

    end = next((i for i, b in enumerate(own) if paginates(b)), len(own))
    page.explorer = _entries(own[:end])
    paged = [i for i, b in enumerate(after) if paginates(b)]
    if not paged:
        return
    numbers: set[int] = set()
    tail = after[paged[0] : paged[-1] + 1]
    if paged[-1] + 1 < len(after) and is_number(after[paged[-1] + 1].text):
        tail.append(after[paged[-1] + 1])  # the current page shown unlinked after the last link
    for block in tail:
        for href, text in block.links:
            if hub_uuid_of(href) != hub:
                continue
            if is_number(text):
                numbers.add(int(text))
            elif text.lower().startswith("next"):
                page.next_page = page_param(href)
        for text, idx in zip(block.texts, block.idxs, strict=True):
            if idx is None:
                numbers.update(int(tok) for tok in text.split() if is_number(tok))
    page.page_numbers = sorted(numbers)


# -- entry point ----------------------------------------------------------------------------------------


def _flatten(body: bytes | str, url: str, encoding: str | None) -> _Flattener:
    """The text-block stream of a page. lxml directly on the hot path (far faster than building a
    BeautifulSoup tree over the same libxml2 parse); BeautifulSoup when lxml gives up on a page."""
    # A NUL byte is no HTML text (libxml2 reads U+FFFD, BeautifulSoup's builders differ, PostgreSQL text
    # cannot hold it, and _BREAK uses it): both parse paths read it as U+FFFD (PAGES.md "Raw values").
    text = _decode(body, encoding).replace("\x00", "\ufffd")
    flat = _Flattener(url)
    try:
        root = etree.fromstring(text, parser=_LXML_PARSER)
        if root is None:  # what lxml.html.document_fromstring reports as ParserError("Document is empty")
            raise etree.ParserError("Document is empty")
    except (etree.ParserError, ValueError):
        flat.walk(BeautifulSoup(text, "lxml"))
    else:
        _walk_lxml(flat, root)
    flat.flush()
    return flat


def _decode(body: bytes | str, encoding: str | None) -> str:
    """Bytes -> text the way Scrapy decided (`encoding`), else BOM, <meta charset>, then UTF-8 guess."""
    if isinstance(body, str):
        return body
    if encoding:
        try:
            return body.decode(encoding, errors="replace").removeprefix("\ufeff")
        except LookupError:
            pass  # an unknown charset name: detect instead
    return html_to_unicode(None, body)[1]


def parse_hub_page(body: bytes | str, url: str, encoding: str | None = None) -> HubPage:
    """Parse one hub page (any filters, any explorer page). Raises ParseError with a reason code.

    The cyclic GC is off during the parse (and put back as it was): a page makes thousands of short-lived
    lists and tuples, so collections kept starting mid-parse and walking every young object for nothing
    (the lxml parse makes no reference cycles; the BeautifulSoup fallback's are collected afterwards).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return check_ranges(_parse_hub_page(body, url, encoding))
    finally:
        if enabled:
            gc.enable()


def _parse_hub_page(body: bytes | str, url: str, encoding: str | None) -> HubPage:
    hub_uuid, filters, page_no = hub_page_url(url)
    if body is None or not body.strip():
        raise ParseError("empty_body", url)
    if _truncated(body):
        raise ParseError("truncated", "no closing </html>")
    flat = _flatten(body, url, encoding)
    if not flat.blocks:
        raise ParseError("empty_body", "no visible text")
    header, sections, after_explorer = _sections(flat.blocks)

    page = HubPage(
        hub_uuid=hub_uuid,
        template="current",
        tier=None,
        label=None,
        title_raw=None,
        headline=None,
        headline_role=None,
        headline_share=None,
        citing_count=0,
        abstract_raw=None,
        page=page_no,
        filters=filters,
    )
    try:
        _read_header(page, header)
    except ParseError as err:
        if err.reason == "missing_count" and any(RATE_LIMITED_RE.search(b.text) for b in flat.blocks):
            raise ParseError("rate_limited_text", "a 200 that says it is rate limited") from None
        raise
    if EXPLORER not in sections:
        raise ParseError("missing_explorer", "no 'citing papers explorer' heading")

    abstract = [b.text for b in sections.get("abstract", ())]
    page.abstract_raw = " ".join(abstract) if abstract else None
    # Whatever the template: a legacy page may carry a role summary too ("method 3 background 1" on a legacy
    # super hub); what a page shows is read, the template only decides which count sentence it uses.
    page.role_summary = _pairs(sections.get(ROLE_SUMMARY, []))
    page.polarity_summary = _pairs(sections.get(POLARITY_SUMMARY, []))
    page.facets = {name: _pairs(sections[name]) for name in FACETS if name in sections}
    page.claims = [b.text for b in sections.get("claims ledger", ()) if _has_word(b.text)]
    page.representative = _entries(sections.get(REPRESENTATIVE, []))
    _read_explorer(page, sections[EXPLORER], after_explorer)
    return page
