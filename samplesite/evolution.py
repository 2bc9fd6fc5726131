"""Day-by-day changes of the site: a pure function of (seed, day) applied on top of the day-1 baseline.

Day d replays days 2..d, each with its own `random.Random(f"{seed}:{d}")`, so any day is rebuilt from
scratch and identical every time. Figures (tier, label, headline, facets) are derived from
citations, so changing citations is enough for tier and label changes to follow. The seed hub never
changes: it mirrors the one real page we have.
"""

from __future__ import annotations

import datetime as dt
import random

from samplesite import seed_hub, vocab
from samplesite.model import Site, SiteCitation, SiteHub, SitePaper

P_NEW = 0.08  # share of hubs gaining 1-3 citations a day
P_RETIRE = 0.02  # share of hubs losing one citation a day
P_RELABEL = 0.01  # share of citations re-reviewed a day (role/polarity may flip or appear)
P_MIGRATE = 0.02  # share of legacy hubs moving to the current template a day


def evolve(site: Site, day: int, base_day: dt.date) -> Site:
    papers = {p.key: p for p in site.papers}
    order = [p.key for p in site.papers]  # candidate new citers, in a stable order
    for d in range(2, day + 1):
        rng = random.Random(f"{site.seed}:{d}")
        stamp = f"{base_day + dt.timedelta(days=d - 1)}T00:00:00Z"
        for hub in site.hubs:
            if hub.uuid != seed_hub.UUID and _change_hub(rng, hub, papers, order):
                hub.updated_at = stamp
    return Site(
        seed=site.seed,
        day=day,
        hubs_requested=site.hubs_requested,
        density=site.density,
        hubs=site.hubs,
        papers=_cited(site, order, papers),
        as_of=(base_day + dt.timedelta(days=day - 1)).isoformat(),
    )


def _cited(site: Site, order: list[str], papers: dict[str, SitePaper]) -> list[SitePaper]:
    cited = {c.paper_key for h in site.hubs for c in h.citations}
    return [papers[k] for k in order if k in cited]


def _classify(rng: random.Random, citation: SiteCitation) -> None:
    citation.role = rng.choices(vocab.ROLES, vocab.ROLE_WEIGHTS)[0]
    citation.polarity = rng.choices(vocab.POLARITIES, (60, 40))[0] if rng.random() < 0.5 else None


def _change_hub(rng: random.Random, hub: SiteHub, papers: dict[str, SitePaper], order: list[str]) -> bool:
    changed = False
    if hub.template == "legacy" and rng.random() < P_MIGRATE:
        hub.template = "current"
        for c in hub.citations:
            if rng.random() < 0.5:
                _classify(rng, c)
        if hub.citations and not any(c.role for c in hub.citations):
            _classify(rng, hub.citations[0])
        changed = True
    roll = rng.random()
    if roll < P_NEW:
        cited = {c.paper_key for c in hub.citations}
        candidates = [k for k in order if k not in cited]
        for key in rng.sample(candidates, min(rng.randint(1, 3), len(candidates))):
            paper = papers[key]
            version = rng.randint(1, paper.versions) if paper.link_style in ("paper", "p") else None
            citation = SiteCitation(hub.uuid, key, None, None, False, version)
            if hub.template == "current" and rng.random() < 0.5:
                _classify(rng, citation)
            hub.citations.insert(0, citation)  # newest first in the explorer
            changed = True
    elif roll < P_NEW + P_RETIRE and len(hub.citations) > 1:
        hub.citations.pop(rng.randrange(len(hub.citations)))
        changed = True
    if hub.template == "current":
        for c in hub.citations:
            if rng.random() < P_RELABEL:
                _classify(rng, c)
                changed = True
        if hub.citations and not any(c.role for c in hub.citations):
            _classify(rng, hub.citations[0])  # the current template always shows a label
            changed = True
    return changed
