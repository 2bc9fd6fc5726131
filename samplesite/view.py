"""What one hub URL shows, as plain data: the shape of `spiders.parse.records.HubPage.to_dict()`.

Both HTML markups are rendered from this dict, so what the page shows and what the parser fixtures
expect cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

from samplesite.model import (
    EXPLORER_PAGE_SIZE,
    REPRESENTATIVE_MAX,
    Site,
    SiteCitation,
    SiteHub,
    SitePaper,
    headline_for,
    label_for,
    polarity_summary,
    role_summary,
    sorted_counts,
    tier_for,
)

FILTER_KEYS = ("cat", "year", "verdict", "role", "polarity")  # also their order in generated links


def clean_filters(filters: dict[str, str] | None) -> dict[str, str]:
    """Known, non-empty filters in link order; unknown query parameters are ignored like the site does."""
    filters = filters or {}
    return {k: str(filters[k]) for k in FILTER_KEYS if filters.get(k) not in (None, "")}


def paper_path(paper: SitePaper, citation: SiteCitation | None) -> str | None:
    version = citation.version if citation else None
    suffix = f"v{version}" if version else ""
    match paper.link_style:
        case "paper":
            return f"/paper/{paper.arxiv_id}{suffix}"
        case "paper_bare":
            return f"/paper/{paper.arxiv_id}"
        case "p":
            return f"/p/{paper.arxiv_id}{suffix}"
        case "ref":
            return f"/ref/arxiv/{paper.arxiv_id}"
        case "pith":
            return f"/paper/{paper.pith_id}"
    return None


def meta_line(paper: SitePaper) -> str | None:
    if paper.category is None:
        return None
    novelty = "none" if paper.novelty is None else f"{paper.novelty:.1f}"
    parts = [paper.category, paper.date, paper.verdict, f"novelty {novelty}"]
    if paper.refs is not None:
        parts.append(f"{paper.refs} ref" if paper.refs == 1 else f"{paper.refs} refs")
    return " · ".join(parts)


def _matches(paper: SitePaper, citation: SiteCitation, filters: dict[str, str]) -> bool:
    for key, value in filters.items():
        if key == "cat" and paper.category != value:
            return False
        if key == "year" and (paper.date or "")[:4] != value:
            return False
        if key == "verdict" and (paper.verdict or "") != value.lower():
            return False
        if key == "role" and citation.role != value:
            return False
        if key == "polarity" and citation.polarity != value:
            return False
    return True


def hub_figures(site: Site, hub: SiteHub) -> dict[str, Any]:
    """Hub-level figures as the page shows them (the legacy template shows none of the classification)."""
    citing = len(hub.citations)
    tier, tier_reason = tier_for(citing, hub.external_cited_by_count)
    facets: dict[str, dict[str, int]] = {k: {} for k in ("fields", "years", "verdicts", "roles", "polarities")}
    roles: dict[str, int] = {}
    polarities: dict[str, int] = {}
    label = role = share = None
    if hub.template == "current":
        roles, polarities = role_summary(hub), polarity_summary(hub)
        label, role, share = label_for(roles)
        papers = [site.paper(c.paper_key) for c in hub.citations]
        facets = {
            "fields": sorted_counts(Counter(p.category for p in papers if p.category)),
            "years": sorted_counts(Counter(p.date[:4] for p in papers if p.date)),
            "verdicts": sorted_counts(Counter(p.verdict.upper() for p in papers if p.verdict)),
            "roles": roles,
            "polarities": polarities,
        }
    return {
        "citing_count": citing,
        "tier": tier,
        "tier_reason": tier_reason,
        "label": label,
        "headline": headline_for(label, role, share) if label else None,
        "headline_role": role,
        "headline_share": float(share) if share is not None else None,
        "role_summary": roles,
        "polarity_summary": polarities,
        "facets": facets,
    }


def page_numbers(page: int, total_pages: int) -> list[int]:
    """Every page when 7 or fewer, else first three, the current one and its neighbours, and the last."""
    if total_pages <= 1:
        return []
    if total_pages <= 7:
        return list(range(1, total_pages + 1))
    wanted = {1, 2, 3, page - 1, page, page + 1, total_pages}
    return sorted(n for n in wanted if 1 <= n <= total_pages)


def hub_url(hub_uuid: str, filters: dict[str, str], page: int = 1) -> str:
    """Root-relative URL of a hub page; page 1 is the bare URL so it is fetched once."""
    query = dict(filters)
    if page > 1:
        query["page"] = str(page)
    return f"/citations/{hub_uuid}" + (f"?{urlencode(query)}" if query else "")


def entry(site: Site, citation: SiteCitation, position: int, base_url: str) -> dict[str, Any]:
    paper = site.paper(citation.paper_key)
    path = paper_path(paper, citation)
    return {
        "title_raw": paper.title_raw,
        "href": base_url + path if path else None,
        "arxiv_id": paper.arxiv_id if path else None,
        "arxiv_version": citation.version if path and paper.arxiv_id else None,
        "pith_id": paper.pith_id,
        "category": paper.category,
        "date": paper.date,
        "verdict": paper.verdict,
        "novelty": paper.novelty,
        "refs": paper.refs,
        "summary_raw": paper.summary_raw,
        "position": position,
    }


def expected_page(
    site: Site, hub_uuid: str, filters: dict[str, str] | None, page: int, base_url: str
) -> dict[str, Any]:
    hub = site.hub(hub_uuid)
    filters = clean_filters(filters)
    page = max(1, page)
    figures = hub_figures(site, hub)
    listed = [c for c in hub.citations if _matches(site.paper(c.paper_key), c, filters)]
    representative = [c for c in listed if c.representative][:REPRESENTATIVE_MAX]
    total_pages = -(-len(listed) // EXPLORER_PAGE_SIZE)
    explorer = listed[(page - 1) * EXPLORER_PAGE_SIZE : page * EXPLORER_PAGE_SIZE]
    return {
        "hub_uuid": hub.uuid,
        "template": hub.template,
        "tier": figures["tier"],
        "label": figures["label"],
        "title_raw": hub.title_raw,
        "headline": figures["headline"],
        "headline_role": figures["headline_role"],
        "headline_share": figures["headline_share"],
        "citing_count": figures["citing_count"],
        "abstract_raw": hub.abstract,
        "role_summary": figures["role_summary"],
        "polarity_summary": figures["polarity_summary"],
        "facets": {k: v for k, v in figures["facets"].items() if v},
        "claims": list(hub.claims),
        "representative": [entry(site, c, i, base_url) for i, c in enumerate(representative)],
        "explorer": [entry(site, c, i, base_url) for i, c in enumerate(explorer)],
        "page": page,
        "filters": filters,
        "page_numbers": page_numbers(page, total_pages),
        "next_page": page + 1 if page < total_pages else None,
    }


def co_cited(site: Site, hub_uuid: str) -> list[dict[str, str]]:
    """The hub page's "co-cited works" block (growth model only; empty otherwise): uuid, title, path each.

    Global like the facets: the same on every page and filter of the hub. Not part of `expected_page`
    (the parser's expectation) yet."""
    hub = site.hub(hub_uuid)
    if hub.template != "current":
        return []
    return [{"uuid": u, "title_raw": site.hub(u).title_raw, "path": f"/citations/{u}"} for u in hub.co_cited]
