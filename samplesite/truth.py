"""Ground truth of a generated site (PAGES.md "Ground truth"): what the site serves, as plain data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from samplesite.model import Site
from samplesite.seed_hub import UUID as SEED_HUB
from samplesite.view import co_cited, hub_figures


def visible(text: str | None) -> str | None:
    """Text as a reader (and citehub) gets it: a NUL byte cannot be HTML text, it reads as U+FFFD."""
    return text.replace("\x00", "\ufffd") if text else text


def truth(site: Site) -> dict[str, Any]:
    """The ground truth of `site` (PAGES.md). With the growth model on, each hub also says when it
    appeared and changed, its change rate and its co-cited works, and a top-level "growth" holds the model."""
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
        if site.growth is not None:
            hubs[-1].update(
                {
                    "first_day": hub.first_day,
                    "changed_days": list(hub.changed_days),
                    "change_rate": 0.0 if hub.uuid == SEED_HUB else site.growth.change_rate(len(hub.citations)),
                    "co_cited": [w["uuid"] for w in co_cited(site, hub.uuid)],
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
    out = {
        "seed": site.seed,
        "day": site.day,
        "hubs_requested": site.hubs_requested,
        "hubs": hubs,
        "papers": papers,
        "citations": citations,
    }
    if site.growth is not None:
        out["growth"] = asdict(site.growth)
    return out


def linked(paper_key: str) -> bool:
    """Whether the site links this paper (and serves its page): papers with an arXiv or pith id are
    linked from every hub listing them; a `title:` key means the paper is listed by title only."""
    return not paper_key.startswith("title:")


def reachable(t: dict[str, Any], seeds: Iterable[str]) -> set[str]:
    """Uuids of the hubs a crawl starting at the hub pages of `seeds` reaches by following links: from a hub
    page (all its explorer pages) to its citing papers' pages and its co-cited works, from a paper page to
    every hub it cites. Seeds the truth has no hub for are ignored; the seeds present are included."""
    hubs = {h["uuid"]: h for h in t["hubs"]}
    papers_of: dict[str, list[str]] = {}
    hubs_of: dict[str, list[str]] = {}
    for c in t["citations"]:
        if linked(c["paper_key"]):
            papers_of.setdefault(c["hub_uuid"], []).append(c["paper_key"])
            hubs_of.setdefault(c["paper_key"], []).append(c["hub_uuid"])
    seen = {u for u in seeds if u in hubs}
    todo = list(seen)
    papers_done: set[str] = set()
    while todo:
        hub_uuid = todo.pop()
        nxt = list(hubs[hub_uuid].get("co_cited", ()))
        for key in papers_of.get(hub_uuid, ()):
            if key not in papers_done:
                papers_done.add(key)
                nxt += hubs_of[key]
        for u in nxt:
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return seen
