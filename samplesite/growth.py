"""The growing hub graph (opt-in): new citing papers, new hubs, per-hub change rates, co-cited works.

`build_site(..., growth=GrowthModel())` builds the same day-1 site as without it, then replays days 2..day
with this model instead of samplesite/evolution.py, each day from its own `random.Random(f"{seed}:growth:{d}")`.
The hubs of day D (and everything else) are a pure function of (hubs, seed, density, day, model).

A day: every hub but the seed hub changes with its own chance, `GrowthModel.change_rate(citing count)`
(grows with the count, capped at 1; a hub's rate persists as long as its count does). A changing hub either
gains a citation (most often), loses one, or has one citation re-reviewed (a legacy hub migrates to the
current template instead). The day's gaining hubs are cited by new papers dated that day, each citing 1 to
`max_refs` of them, and some new papers also cite a work that was no hub yet: it becomes a hub that day
(current template, `first_day` = that day) with its page and JSON twin. Current-template hub pages carry a
"co-cited works" block: the hubs sharing the most citing papers with it, recomputed when its page changes.

With the model off no hub carries a co-cited block, every hub has `first_day` 1, and the site is the one
samplesite always built (tests/samplesite/test_growth_model.py pins that with a page-set hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from samplesite import seed_hub, vocab
from samplesite.evolution import _classify
from samplesite.generator import _TITLE_MISSES, BASE_DAY, _Generator
from samplesite.model import Site, SiteCitation, SiteHub, title_key

# What samplesite/evolution.py (the model-off site) changes a day, measured over days 2..30 of
# build_site(200, 7): 19.5% of hubs a day get a new updated_at (day range 15.5%-25%), 19.0% change
# visibly. GrowthModel's defaults keep the share of hubs changed a day close to it (PAGES.md).
TODAY_CHANGED_SHARE = 0.195


@dataclass(frozen=True, slots=True)
class GrowthModel:
    """Every parameter of the growing hub graph (documented in samplesite/PAGES.md "Growing hub graph")."""

    # A hub's daily chance of change: min(1, base_rate + per_citation * its citing count).
    base_rate: float = 0.10
    per_citation: float = 0.008
    # What a changing hub does, by weight: gain a citation from a new paper, lose one, or have one re-reviewed
    # (role changes; a legacy hub migrates to the current template instead). A hub with one citation gains.
    cite_weight: float = 0.75
    retire_weight: float = 0.10
    relabel_weight: float = 0.15
    # A new citing paper cites 1..max_refs of the day's gaining hubs (uniform).
    max_refs: int = 4
    # Chance a new citing paper also cites a work that is not a hub yet (it becomes one that day).
    new_hub_chance: float = 0.15
    # Chance a new citation on a current-template hub is classified (gets a role, maybe a polarity).
    classified_chance: float = 0.5
    # Most co-cited works a current-template hub page lists (0: no block).
    co_cited_max: int = 5

    def __post_init__(self) -> None:
        for name in ("base_rate", "per_citation", "new_hub_chance", "classified_chance"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be within [0, 1], not {value!r}")
        weights = (self.cite_weight, self.retire_weight, self.relabel_weight)
        if min(weights) < 0 or not sum(weights) > 0:
            raise ValueError(f"change weights must be >= 0 with a positive sum, not {weights!r}")
        if self.max_refs < 1 or self.co_cited_max < 0:
            raise ValueError("max_refs must be >= 1 and co_cited_max >= 0")

    def change_rate(self, citing_count: int) -> float:
        """A hub's chance of changing on a day, from its citing count at the start of that day."""
        return min(1.0, self.base_rate + self.per_citation * citing_count)


def grow(site: Site, day: int, model: GrowthModel) -> Site:
    """The day-1 `site` (as build_site makes it) grown to `day` by `model`; `site` is consumed."""
    hubs = list(site.hubs)
    papers = {p.key: p for p in site.papers}
    order = [p.key for p in site.papers]
    ids = {i for p in site.papers for i in (p.arxiv_id, p.pith_id) if i}
    titles = {title_key(p.title) for p in site.papers}
    uuids = {h.uuid for h in hubs}
    _co_cite(hubs, hubs, model)
    for d in range(2, day + 1):
        rng = random.Random(f"{site.seed}:growth:{d}")
        when = BASE_DAY + dt.timedelta(days=d - 1)
        stamp = f"{when.isoformat()}T00:00:00Z"
        changed: list[SiteHub] = []
        gainers: list[SiteHub] = []
        for hub in list(hubs):
            if hub.uuid == seed_hub.UUID or rng.random() >= model.change_rate(len(hub.citations)):
                continue
            changed.append(hub)
            if _change(rng, hub, model):
                gainers.append(hub)
        gen = _Generator(rng)
        gen._ids = ids  # new arXiv and pith ids never repeat an existing one
        born: list[SiteHub] = []
        rng.shuffle(gainers)
        start = 0
        while start < len(gainers):
            k = rng.randint(1, model.max_refs)
            cited = gainers[start : start + k]
            start += k
            paper = gen.paper(_new_title(gen, titles), _new_summary(gen), "generated", when=when)
            papers[paper.key] = paper
            order.append(paper.key)
            if rng.random() < model.new_hub_chance:
                hub = _new_hub(gen, uuids, d, stamp)
                hubs.append(hub)
                born.append(hub)
                cited.append(hub)
            for hub in cited:
                version = rng.randint(1, paper.versions) if paper.link_style in ("paper", "p") else None
                citation = SiteCitation(hub.uuid, paper.key, None, None, False, version)
                if hub.first_day == d:  # born today: its first citation
                    citation.representative = paper.summary is not None
                if hub.template == "current" and rng.random() < model.classified_chance:
                    _classify(rng, citation)
                hub.citations.insert(0, citation)  # newest first in the explorer
        for hub in changed + born:
            if hub.template == "current" and hub.citations and not any(c.role for c in hub.citations):
                _classify(rng, hub.citations[0])  # the current template always shows a label
        for hub in changed:
            hub.updated_at = stamp
            hub.changed_days.append(d)
        _co_cite(hubs, changed + born, model)
    cited_keys = {c.paper_key for h in hubs for c in h.citations}
    return Site(
        seed=site.seed,
        day=day,
        hubs_requested=site.hubs_requested,
        density=site.density,
        hubs=hubs,
        papers=[papers[k] for k in order if k in cited_keys],
        as_of=(BASE_DAY + dt.timedelta(days=day - 1)).isoformat(),
        growth=model,
    )


def _change(rng: random.Random, hub: SiteHub, model: GrowthModel) -> bool:
    """Change `hub` (visibly); True when the change is a new citation, which the day's new papers make."""
    kind = rng.choices(("cite", "retire", "relabel"), (model.cite_weight, model.retire_weight, model.relabel_weight))[0]
    if kind == "cite" or (kind == "retire" and len(hub.citations) < 2) or not hub.citations:
        return True
    if kind == "retire":
        hub.citations.pop(rng.randrange(len(hub.citations)))
    elif hub.template == "legacy":
        hub.template = "current"
        for c in hub.citations:
            if rng.random() < 0.5:
                _classify(rng, c)
    else:
        citation = rng.choice(hub.citations)
        citation.role = rng.choice([r for r in vocab.ROLES if r != citation.role])
        citation.polarity = rng.choices(vocab.POLARITIES, (60, 40))[0] if rng.random() < 0.5 else None
    return False


def _new_title(gen: _Generator, taken: set[str]) -> str:
    """A paper title no paper of the site has (title identity must not merge two papers)."""
    rng, misses = gen.rng, 0
    while True:
        title = gen.title()
        if misses >= _TITLE_MISSES:
            title = f"{title} with {rng.choice(vocab.NOUNS)} and {rng.choice(vocab.TASKS)}"
        key = title_key(title)
        if key not in taken:
            taken.add(key)
            return title
        misses += 1


def _new_summary(gen: _Generator) -> str | None:
    return None if gen.rng.random() < 0.07 else gen.summary(gen.rng.choice(vocab.SUMMARY_PATTERNS))


def _new_hub(gen: _Generator, uuids: set[str], day: int, stamp: str) -> SiteHub:
    hub_uuid = gen.uuid()
    while hub_uuid in uuids:
        hub_uuid = gen.uuid()
    uuids.add(hub_uuid)
    hub = gen._hub(hub_uuid, gen.title(), external=int(gen.rng.lognormvariate(4, 1.8)), template="current")
    hub.created_at = hub.updated_at = stamp
    hub.first_day = day
    return hub


def _co_cite(hubs: list[SiteHub], targets: Iterable[SiteHub], model: GrowthModel) -> None:
    """Set the co-cited works of `targets`: other hubs by shared citing papers (desc), then uuid."""
    citers: dict[str, list[str]] = {}
    for hub in hubs:
        for c in hub.citations:
            citers.setdefault(c.paper_key, []).append(hub.uuid)
    for hub in targets:
        if hub.template != "current" or hub.uuid == seed_hub.UUID or not model.co_cited_max:
            hub.co_cited = []
            continue
        shared: Counter[str] = Counter()
        for c in hub.citations:
            shared.update(u for u in citers[c.paper_key] if u != hub.uuid)
        ranked = sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))
        hub.co_cited = [u for u, _ in ranked[: model.co_cited_max]]


def seed_uuids(seed: int, hubs: Iterable[tuple[str, int]], share: float) -> list[str]:
    """A seed list of `share` of the hubs of day 1: `hubs` are (uuid, first_day) pairs.

    Hubs are ranked by sha1 of "seed:uuid" and the first round(share * n) taken (at least one), so a smaller
    share is a prefix of a larger one and the list is the same on every day. Hubs born after day 1 are never
    seeds: a crawl can only find them by following links."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be within (0, 1], not {share!r}")
    day_one = sorted(
        (u for u, first in hubs if first == 1), key=lambda u: hashlib.sha1(f"{seed}:{u}".encode()).hexdigest()
    )
    return day_one[: max(1, round(share * len(day_one)))]


def site_seeds(site: Site, share: float) -> list[str]:
    """`seed_uuids` of a built site (what `samplesite seeds --share` prints, as uuids)."""
    return seed_uuids(site.seed, ((h.uuid, h.first_day) for h in site.hubs), share)
