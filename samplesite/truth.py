"""Ground truth of a generated site (PAGES.md "Ground truth"): what the site serves, as plain data."""

from __future__ import annotations

from typing import Any

from samplesite.model import Site
from samplesite.view import hub_figures


def visible(text: str | None) -> str | None:
    """Text as a reader (and citehub) gets it: a NUL byte cannot be HTML text, it reads as U+FFFD."""
    return text.replace("\x00", "\ufffd") if text else text


def truth(site: Site) -> dict[str, Any]:
    hubs = []
    for hub in sorted(site.hubs, key=lambda h: h.uuid):
        figures = hub_figures(site, hub)
        hubs.append(
            {
                "uuid": hub.uuid,
                "template": hub.template,
                "tier": figures["tier"],
                "label": figures["label"],
                "title_raw": visible(hub.title_raw),
                "title": visible(hub.title),
                "citing_count": figures["citing_count"],
                "classified_count": sum(figures["role_summary"].values()),
                "headline_role": figures["headline_role"],
                "headline_share": figures["headline_share"],
                "role_summary": figures["role_summary"],
                "polarity_summary": figures["polarity_summary"],
                "facets": figures["facets"],
                "external_cited_by_count": hub.external_cited_by_count,
                "year": hub.year,
            }
        )
    papers = [
        {
            "paper_key": p.key,
            "arxiv_id": p.arxiv_id,
            "pith_id": p.pith_id,
            "title_raw": visible(p.title_raw),
            "title": visible(p.title),
            "category": p.category,
            "date": p.date,
            "verdict": p.verdict,
            "novelty": p.novelty,
            "refs": p.refs,
            "summary_raw": visible(p.summary_raw),
            "summary": visible(p.summary),
        }
        for p in sorted(site.papers, key=lambda p: p.key)
    ]
    citations = sorted(
        (
            {
                "hub_uuid": c.hub_uuid,
                "paper_key": c.paper_key,
                "role": c.role,
                "polarity": c.polarity,
                "representative": c.representative,
            }
            for hub in site.hubs
            for c in hub.citations
        ),
        key=lambda c: (c["hub_uuid"], c["paper_key"]),
    )
    return {
        "seed": site.seed,
        "day": site.day,
        "hubs_requested": site.hubs_requested,
        "hubs": hubs,
        "papers": papers,
        "citations": citations,
    }
