"""The sample site's data model and the rules that derive what a hub page shows from its citations.

Tier, label and headline are derived, never stored, so an evolving day only has to change citations
and counts; every figure on a page then follows from the same functions the ground truth uses.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samplesite.growth import GrowthModel

EXPLORER_PAGE_SIZE = 20
REPRESENTATIVE_MAX = 15


@dataclass(slots=True)
class SitePaper:
    key: str  # paper identity as the warehouse must compute it (arxiv:/pith:/title:)
    title: str  # clean title
    title_raw: str  # as shown on pages: clean title plus at most one artefact
    arxiv_id: str | None = None  # without version
    versions: int = 1  # highest arXiv version; links under different hubs use 1..versions
    pith_id: str | None = None
    link_style: str | None = None  # "paper", "paper_bare", "p", "ref", "pith", None (no link)
    category: str | None = None  # None for title-only papers (no meta line anywhere)
    date: str | None = None
    verdict: str | None = None
    novelty: float | None = None
    refs: int | None = None
    summary: str | None = None  # None: listed by title only
    summary_raw: str | None = None


@dataclass(slots=True)
class SiteCitation:
    hub_uuid: str
    paper_key: str
    role: str | None
    polarity: str | None
    representative: bool
    version: int | None  # arXiv version in the link under this hub (None: unversioned or no arXiv)


@dataclass(slots=True)
class SiteHub:
    uuid: str
    title: str | None  # clean; None when the page reads "Title resolution pending"
    title_raw: str
    template: str  # "current" or "legacy"
    external_cited_by_count: int
    year: int | None
    abstract: str | None = None
    claims: list[str] = field(default_factory=list)
    arxiv_id: str | None = None
    doi: str | None = None
    venue: str | None = None
    authors: list[str] = field(default_factory=list)
    created_at: str = "2025-01-01T00:00:00Z"
    updated_at: str = "2026-06-01T00:00:00Z"
    citations: list[SiteCitation] = field(default_factory=list)  # in explorer order
    # The growth model's bookkeeping (samplesite/growth.py); left at these defaults when it is off.
    first_day: int = 1  # the day the work became a hub
    changed_days: list[int] = field(default_factory=list)  # days (>= 2) its pages changed, ascending
    co_cited: list[str] = field(default_factory=list)  # uuids its "co-cited works" block links, in order


@dataclass(slots=True)
class Site:
    seed: int
    day: int
    hubs_requested: int
    hubs: list[SiteHub]  # in generation order (the seed hub first, then the known hubs)
    papers: list[SitePaper]  # every paper cited by at least one hub, in pool order
    as_of: str  # ISO date of the day the site shows
    # Multiplies every ordinary hub's citing-paper count (build_site); kept so a new day rebuilds the same site.
    density: float = 1.0
    # The hub-graph growth model the site was built with (samplesite/growth.py); None: off (the default).
    growth: GrowthModel | None = None
    _hub_index: dict[str, SiteHub] = field(init=False, repr=False, compare=False)
    _paper_index: dict[str, SitePaper] = field(init=False, repr=False, compare=False)
    _cited_by: dict[str, list[SiteCitation]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The indexes assume hubs, papers and citations are complete when the Site is built.
        self._hub_index = {h.uuid: h for h in self.hubs}
        self._paper_index = {p.key: p for p in self.papers}
        self._cited_by = {}
        for hub in self.hubs:
            for citation in hub.citations:
                self._cited_by.setdefault(citation.paper_key, []).append(citation)

    def hub(self, hub_uuid: str) -> SiteHub:
        """The hub with this uuid; KeyError when the site has none."""
        return self._hub_index[hub_uuid]

    def paper(self, key: str) -> SitePaper:
        """The paper with this paper key; KeyError when the site has none."""
        return self._paper_index[key]

    def has_hub(self, hub_uuid: str) -> bool:
        return hub_uuid in self._hub_index

    def has_paper(self, key: str) -> bool:
        return key in self._paper_index

    def citations_of_paper(self, key: str) -> list[SiteCitation]:
        """Citations of this paper, in hub order (its paper page's references)."""
        return list(self._cited_by.get(key, ()))


def tier_for(citing_count: int, external_cited_by_count: int) -> tuple[str | None, str | None]:
    """(tier, tier_reason): 100+ Pith citations or 10,000+ external -> super_hub; 10+ / 1,000+ -> hub."""
    if citing_count >= 100:
        return "super_hub", "pith_inbound>=100"
    if external_cited_by_count >= 10000:
        return "super_hub", "external_cited_by>=10000"
    if citing_count >= 10:
        return "hub", "pith_inbound>=10"
    if external_cited_by_count >= 1000:
        return "hub", "external_cited_by>=1000"
    return None, None


def sorted_counts(counter: Counter) -> dict[str, int]:
    """Count desc, then name: the order summaries and facets are shown in."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def share_percent(part: int, whole: int) -> int:
    """Rounded half up, in integers (no float rounding surprises at .5)."""
    return (200 * part + whole) // (2 * whole)


def role_summary(hub: SiteHub) -> dict[str, int]:
    return sorted_counts(Counter(c.role for c in hub.citations if c.role))


def polarity_summary(hub: SiteHub) -> dict[str, int]:
    return sorted_counts(Counter(c.polarity for c in hub.citations if c.polarity))


def label_for(roles: dict[str, int]) -> tuple[str | None, str | None, int | None]:
    """(label, headline_role, headline_share) from the role mix of classified citations."""
    total = sum(roles.values())
    if not total:
        return None, None, None
    top_role, top = next(iter(roles.items()))
    share = share_percent(top, total)
    if top_role == "background" and share >= 80:
        label = "Canonical reference"
    elif top_role == "method" and share >= 70:
        label = "Tool reference"
    elif top_role == "dataset" and share >= 60:
        label = "Dataset reference"
    elif top_role == "baseline" and share >= 60:
        label = "Baseline reference"
    else:
        label = "Mixed citations"
    return label, top_role, share


def headline_for(label: str, role: str, share: int) -> str:
    if label == "Canonical reference":
        return f"Canonical reference. {share}% of citing Pith papers cite this work as background."
    if label == "Tool reference":
        return (
            f"Tool reference. {share}% of classified Pith citations use this work as a method, "
            "library, or software dependency."
        )
    if label in ("Dataset reference", "Baseline reference"):
        return f"{label}. {share}% of classified Pith citations use this work as a {role}."
    return f"Mixed citation behavior. Most common role is {role} ({share}%)."


_NON_WORD = re.compile(r"[\W_]+")


def title_key(clean_title: str) -> str:
    """Identity of a paper with no id: sha1 of the case- and punctuation-blind clean title, 16 hex."""
    return "title:" + hashlib.sha1(_NON_WORD.sub("", clean_title.casefold()).encode()).hexdigest()[:16]


def paper_key(arxiv_id: str | None, pith_id: str | None, clean_title: str) -> str:
    if arxiv_id:
        return f"arxiv:{arxiv_id}"
    if pith_id:
        return f"pith:{pith_id}"
    return title_key(clean_title)
