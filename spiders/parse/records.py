"""Typed records the parsers return: the contract between parse, spiders, flows and schema.

Plain dataclasses with slots (cheap on the hot path) that turn into plain dicts for JSON: `HubPage.to_dict`
copies by its fields' shapes (every page of every crawl and replay goes through it, and `dataclasses.asdict`
deep-copies each value: a fifth of a replay's time); the rare `HubJson` keeps `asdict`.
Every text field keeps the value as the page showed it (`*_raw`); normalized values are derived
later by `spiders.parse.normalize` so a parser fix and a normalizer fix can be replayed apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from schema.errors import CitehubError

# Bump when a parser change can change its output: every record carries it, reparse compares it.
PARSER_VERSION = "2"


class ParseError(CitehubError, ValueError):
    """A page that does not parse. `reason` is a short machine-readable code for the quarantine."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class CitingEntry:
    """One citing paper as listed on a hub page (representative list or explorer)."""

    title_raw: str
    href: str | None = None  # link target as written on the page (absolute or relative)
    arxiv_id: str | None = None  # version stripped, e.g. "2406.01234" or "hep-th/9901001"
    arxiv_version: int | None = None  # the "v2" of the link, when present
    pith_id: str | None = None  # 8-char pith short id from /paper/<id>
    category: str | None = None  # primary arXiv category from the meta line
    date: str | None = None  # YYYY-MM-DD from the meta line
    verdict: str | None = None  # lower case: unverdicted, accept, conditional, reject, ...
    novelty: float | None = None  # None when the page says "novelty none" or has no meta line
    refs: int | None = None  # "k refs"
    summary_raw: str | None = None  # one-line summary; None for title-only entries
    position: int = 0  # 0-based position in its list on the page


@dataclass(slots=True)
class HubPage:
    """Everything one hub page (one URL: hub, filters, page number) shows."""

    hub_uuid: str
    # "current" ("N Pith papers citing it": label, headline, summaries, facets) or "legacy" ("N Pith papers cite
    # this work": tier word only, at most a citation-role summary); either is read for whatever it shows
    template: str
    tier: str | None  # "hub", "super_hub", or None (stub)
    label: str | None  # behaviour label, e.g. "Mixed citations"; None on the legacy template
    title_raw: str | None
    headline: str | None  # headline sentence, current template
    headline_role: str | None  # role named by the headline/stat line, lower case
    headline_share: float | None  # its share in percent, e.g. 62.0
    citing_count: int  # "N Pith papers citing it" / "N Pith papers cite this work"
    abstract_raw: str | None
    # classified citations by role ("citation-role summary"), on either template
    role_summary: dict[str, int] = field(default_factory=dict)
    polarity_summary: dict[str, int] = field(default_factory=dict)
    # facet blocks by name ("fields", "years", "verdicts", "roles", "polarities") -> value -> count
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    claims: list[str] = field(default_factory=list)
    representative: list[CitingEntry] = field(default_factory=list)
    explorer: list[CitingEntry] = field(default_factory=list)
    page: int = 1  # explorer page number of this URL
    filters: dict[str, str] = field(default_factory=dict)  # active filters from the URL (cat, role, ...)
    page_numbers: list[int] = field(default_factory=list)  # explorer pages linked from this page
    next_page: int | None = None  # explorer page linked as "next", None on the last page

    @property
    def classified_count(self) -> int:
        return sum(self.role_summary.values())

    def to_dict(self) -> dict[str, Any]:
        """What `dataclasses.asdict` returns (equal, and sharing no list or dict with the page)."""
        return {name: _plain(getattr(self, name)) for name in _PAGE_FIELDS}


_PAGE_FIELDS = tuple(f.name for f in fields(HubPage))
_ENTRY_FIELDS = tuple(f.name for f in fields(CitingEntry))


def _plain(value: Any) -> Any:
    cls = value.__class__
    if cls is list:
        return [_plain(v) for v in value]
    if cls is dict:
        return {k: _plain(v) for k, v in value.items()}
    if cls is CitingEntry:  # its fields are scalars (str, int, float, None)
        return {name: getattr(value, name) for name in _ENTRY_FIELDS}
    if cls in (str, int, float, bool) or value is None:
        return value
    # Anything a field might hold one day, as asdict would copy it.
    return asdict(value) if hasattr(value, "__dataclass_fields__") else deepcopy(value)


@dataclass(slots=True)
class HubJson:
    """The JSON twin `/citations/<uuid>.json`: the work and the hub state."""

    hub_uuid: str
    title: str | None
    arxiv_id: str | None
    doi: str | None
    year: int | None
    venue: str | None
    external_cited_by_count: int | None
    tier: str | None  # hub.state.tier: "hub" / "super_hub" / None
    tier_reason: str | None
    pith_inbound_count: int | None
    distinct_field_count: int | None
    first_pith_cited_at: str | None
    last_pith_cited_at: str | None
    updated_at: str | None
    extra: dict[str, Any] = field(default_factory=dict)  # keys we do not model yet, kept verbatim

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The widest integer every warehouse column can hold (PostgreSQL `integer`): a count past it is not a real
# count, and on PostgreSQL it would fail the whole run's load, on SQLite be stored as a float.
INT_MAX = 2**31 - 1

R = TypeVar("R", HubPage, HubJson)


def is_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes superscripts ('²'), which `int()` refuses."""
    return text.isascii() and text.isdigit()


def check_ranges(record: R) -> R:
    """`record` itself, or ParseError `value_out_of_range` naming the first integer no column can hold."""
    for name, value in _integers(record):
        if not 0 <= value <= INT_MAX:
            raise ParseError("value_out_of_range", f"{name} {value} outside 0..{INT_MAX}")
    return record


def _integers(record: HubPage | HubJson) -> Iterator[tuple[str, int]]:
    if isinstance(record, HubJson):
        for name in ("year", "external_cited_by_count", "pith_inbound_count", "distinct_field_count"):
            value = getattr(record, name)
            if value is not None:
                yield name, value
        return
    yield "citing_count", record.citing_count
    yield "page", record.page
    for name, counts in (("role_summary", record.role_summary), ("polarity_summary", record.polarity_summary)):
        for key, value in counts.items():
            yield f"{name}.{key}", value
    for facet, counts in record.facets.items():
        for key, value in counts.items():
            yield f"facets.{facet}.{key}", value
    for number in record.page_numbers:
        yield "page_numbers", number
    if record.next_page is not None:
        yield "next_page", record.next_page
    for listed in (record.representative, record.explorer):
        for entry in listed:
            if entry.refs is not None:
                yield "refs", entry.refs
            if entry.arxiv_version is not None:
                yield "arxiv_version", entry.arxiv_version
