"""Text normalization and paper identity: pure functions, shared by clean/dedupe and the tests.

Raw values are always kept next to the normalized ones; these functions only derive.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text

# Only accent commands are LaTeX we translate: running the whole string through a LaTeX parser would
# eat `%` (a comment), `$` and `~`, which are ordinary characters in titles and hostile input alike.
_LATEX_ACCENT = re.compile(r"\\(?:[\"'`^~=.]|[uvHckbdr](?![a-zA-Z]))\s*(?:\{[A-Za-z]?\}|[A-Za-z])")
_latex = LatexNodes2Text()

# A PDF line break inside a word leaves "Predic- tions": a letter, a hyphen, one space, a lower-case
# letter. Real compounds ("Pre- and post-training") are rare in titles; we accept that trade-off.
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])- (?=[a-z])")
_WS = re.compile(r"\s+")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# Reference strings often end with the publication date: "Title, November 2017".
_TRAILING_DATE = re.compile(rf",\s*(?:{_MONTHS})\s+\d{{4}}\.?$")
_NON_WORD = re.compile(r"[\W_]+")

ARXIV_NEW = re.compile(r"(?P<id>\d{4}\.\d{4,5})(?:v(?P<v>\d+))?$")
ARXIV_OLD = re.compile(r"(?P<id>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?$")
PITH_ID = re.compile(r"^[a-z0-9]{8}$")


@lru_cache(maxsize=65536)
def _accent(match: str) -> str:
    return _latex.latex_to_text(match)


# Titles and summaries recur on every page and under every hub that lists a paper: cache the pure work.
@lru_cache(maxsize=1 << 16)
def normalize_text(raw: str | None) -> str | None:
    """NFKC, LaTeX accents to Unicode, PDF hyphen breaks joined, whitespace collapsed."""
    if raw is None:
        return None
    text = raw
    if "\\" in text:
        text = _LATEX_ACCENT.sub(lambda m: _accent(m.group(0)), text)
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub(" ", text).strip()
    return _HYPHEN_BREAK.sub("", text)


@lru_cache(maxsize=1 << 16)
def normalize_title(raw: str | None) -> str | None:
    """normalize_text plus the trailing date some reference strings carry."""
    text = normalize_text(raw)
    if text is None:
        return None
    return _TRAILING_DATE.sub("", text).strip()


def title_fingerprint(title: str) -> str:
    """Identity of a paper known only by its title: case- and punctuation-blind, 16 hex chars."""
    key = _NON_WORD.sub("", title.casefold())
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=8192)  # called by the crawl for every entry: bounded, so its memory stays flat
def split_arxiv(ref: str) -> tuple[str, int | None] | None:
    """'2406.01234v2' -> ('2406.01234', 2); 'hep-th/9901001' -> ('hep-th/9901001', None)."""
    for pattern in (ARXIV_NEW, ARXIV_OLD):
        m = pattern.search(ref)
        if m and (m.start() == 0 or ref[m.start() - 1] == "/"):
            return m.group("id"), int(m.group("v")) if m.group("v") else None
    return None


def paper_key(arxiv_id: str | None, pith_id: str | None, title: str | None) -> str:
    """arXiv id (version stripped) first, then pith short id, then a title fingerprint."""
    if arxiv_id:
        return f"arxiv:{arxiv_id}"
    if pith_id:
        return f"pith:{pith_id}"
    if not title:
        raise ValueError("a citing paper needs an arXiv id, a pith id or a title")
    return f"title:{title_fingerprint(title)}"


def clear_normalizer_caches() -> None:
    """Empty the memoized normalizers (a long-running load clears them per batch to keep memory flat)."""
    for cached in (normalize_text, normalize_title, split_arxiv):
        cached.cache_clear()
