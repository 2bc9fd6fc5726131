"""Citing papers as the crawl names them, and the compact set of papers the warehouse already knows.

A citing paper listed on a hub page is named by a ref: "arxiv:<id>" (version stripped) when its link names an
arXiv id, else "pith:<8-char id>"; a title-only entry has none. Its paper page, `/paper/<id>`, lists the works
it cites (its reference list): the hub links that let a crawl discover new hubs (spiders/hub.py).

The papers the warehouse knows are handed to the crawl as a known-papers file: the sorted unique 8-byte
blake2b hashes of their refs, as raw little-endian unsigned 64-bit integers (`array('Q')`). Eight bytes a
paper, read back into one array and searched by bisection: millions of papers stay some tens of megabytes,
where a JSON list of refs would cost ten times that in Python objects. A new paper whose hash equals a known
one's (odds of about 1 in 2*10^13 at a million known papers) looks known and its page is not fetched: an
accepted miss.
"""

from __future__ import annotations

import heapq
import os
import re
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from hashlib import blake2b
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

KINDS = ("arxiv", "pith")
PAPER_PREFIX = "/paper/"
# Hashes sorted a run at a time before the runs are merged: a run's sort list costs ~40 bytes a hash.
SORT_RUN = 1 << 20
_TYPECODE = "Q"

if array(_TYPECODE).itemsize != 8:  # pragma: no cover - every platform CPython supports has 8-byte Q
    raise ImportError("array('Q') is not 8 bytes on this platform")


def paper_ref(arxiv_id: str | None, pith_id: str | None) -> str | None:
    """The ref of a paper: `arxiv:<id>` when it has an arXiv id, else `pith:<id>`, else None (title only)."""
    if arxiv_id:
        return f"arxiv:{arxiv_id}"
    if pith_id:
        return f"pith:{pith_id}"
    return None


def paper_path(ref: str) -> str:
    """The path of the paper page of `ref`: "/paper/<id>" (the site serves arXiv and pith ids alike there)."""
    kind, sep, ident = ref.partition(":")
    if not sep or kind not in KINDS or not ident:
        raise ValueError(f"not a paper ref: {ref!r}")
    return PAPER_PREFIX + quote(ident, safe="/")


def is_paper_url(url: str) -> bool:
    """Whether `url` (absolute, or a bare path) is a paper page `/paper/<id>`."""
    path = urlsplit(url).path
    return path.startswith(PAPER_PREFIX) and len(unquote(path)) > len(PAPER_PREFIX)


_PITH_ID = re.compile(r"[a-z0-9]{8}")


def paper_ref_of_url(url: str) -> str | None:
    """The ref a paper page's URL stands for (the inverse of `paper_path`): a pith id is 8 lower-case letters
    and digits; an arXiv id has a dot (2406.01234) or a slash (hep-th/9901001). None for any other URL."""
    if not is_paper_url(url):
        return None
    ident = unquote(urlsplit(url).path)[len(PAPER_PREFIX) :]
    return f"pith:{ident}" if _PITH_ID.fullmatch(ident) else f"arxiv:{ident}"


def ref_hash(ref: str) -> int:
    """The 8-byte blake2b hash of `ref` as an unsigned integer (what the known-papers file holds)."""
    return int.from_bytes(blake2b(ref.encode("utf-8"), digest_size=8).digest(), "little")


def _sorted_unique(hashes: array) -> Iterator[int]:
    """The values of `hashes` in ascending order, each once; sorts a run of SORT_RUN at a time and merges."""
    runs = []
    for start in range(0, len(hashes), SORT_RUN):
        runs.append(array(_TYPECODE, sorted(hashes[start : start + SORT_RUN])))
    last = None
    for value in heapq.merge(*runs):
        if value != last:
            yield value
            last = value


def write_known_papers(refs: Iterable[str], path: Path) -> int:
    """Write the known-papers file of `refs` at `path` (whole, then renamed); returns how many distinct hashes
    it holds. `refs` is read once, as it comes: only the hashes are kept (8 bytes a ref)."""
    hashes = array(_TYPECODE, (ref_hash(ref) for ref in refs))
    out = array(_TYPECODE, _sorted_unique(hashes))
    del hashes
    if sys.byteorder != "little":  # pragma: no cover - the file is little-endian everywhere
        out.byteswap()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            out.tofile(fh)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(out)


class KnownPapers:
    """The papers of a known-papers file: `ref in known`, by bisection over the sorted hashes."""

    __slots__ = ("_hashes",)

    def __init__(self, hashes: array | None = None) -> None:
        self._hashes = hashes if hashes is not None else array(_TYPECODE)

    @classmethod
    def load(cls, path: Path | str | None) -> KnownPapers:
        """The papers `path` holds; none for no path, a missing or an empty file. ValueError for a file that is
        no known-papers file (its size not a multiple of 8, or its hashes out of order)."""
        if not path:
            return cls()
        path = Path(path)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return cls()
        if size % 8:
            raise ValueError(f"{path}: {size} bytes, not a known-papers file (8 bytes a paper)")
        hashes = array(_TYPECODE)
        with path.open("rb") as fh:
            hashes.fromfile(fh, size // 8)
        if sys.byteorder != "little":  # pragma: no cover
            hashes.byteswap()
        if any(hashes[i] >= hashes[i + 1] for i in range(len(hashes) - 1)):
            raise ValueError(f"{path}: hashes not sorted and unique, not a known-papers file")
        return cls(hashes)

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, ref: object) -> bool:
        if not isinstance(ref, str):
            return False
        value = ref_hash(ref)
        hashes = self._hashes
        i = bisect_left(hashes, value)
        return i < len(hashes) and hashes[i] == value
