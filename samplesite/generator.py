"""Build the sample site's corpus: a pure function of (hubs, seed, day).

Day 1 is the baseline drawn from `random.Random(seed)`. A later day is the baseline plus
the daily changes of days 2..day, each drawn from its own `random.Random(f"{seed}:{day}")`, so any
day is rebuilt on its own (samplesite/evolution.py).
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
import string
import uuid
from typing import TYPE_CHECKING

from samplesite import seed_hub, vocab
from samplesite.artefacts import hyphen_break, latex_accents, title_artefact
from samplesite.evolution import evolve
from samplesite.model import Site, SiteCitation, SiteHub, SitePaper, paper_key, title_key

if TYPE_CHECKING:
    from samplesite.growth import GrowthModel

BASE_DAY = dt.date(2026, 6, 1)  # what day 1 shows
PAPER_DATES = (dt.date(2023, 1, 1), dt.date(2026, 5, 31))
SEED_ROLES = {
    0: "background",
    1: "background",
    2: "method",
    3: "background",
    5: "background",
    6: "baseline",
    8: "background",
    11: "method",
    13: "background",
    16: "other",
    17: "background",
}  # 7 background of 11 classified: see seed_hub test for the 62% line

# A hub's "kind" decides the role weights of its classified citations, so every label occurs.
HUB_KINDS = {
    "canonical": (92, 3, 2, 1, 2),
    "tool": (10, 85, 3, 1, 1),
    "dataset": (10, 8, 7, 72, 3),
    "baseline": (10, 8, 75, 4, 3),
    "mixed": vocab.ROLE_WEIGHTS,
}
KIND_WEIGHTS = (30, 15, 7, 7, 41)
_SAMPLE_BLOCK = 256
_TITLE_MISSES = 50  # titles drawn in a row that were all taken: the vocabulary is exhausted


def build_site(
    hubs: int = 200,
    seed: int = 7,
    day: int = 1,
    hostile: bool = False,
    density: float = 1.0,
    growth: GrowthModel | None = None,
) -> Site:
    """`hostile=True` swaps hostile titles and summaries into the corpus (samplesite/hostile.py).

    `density` multiplies the ordinary hubs' citing-paper counts (still capped at 450 a hub): 1 gives ~13
    citations a hub, 5 gives ~50 (the benchmark's 2,000 hubs with about 100,000 citations).

    `growth` (a `samplesite.growth.GrowthModel`) switches the growing hub graph on: days 2.. then follow
    that model instead of samplesite/evolution.py (new citing papers, new hubs, per-hub change rates) and
    hub pages carry a "co-cited works" block. None (the default) builds exactly the site it always did."""
    if hostile:
        from samplesite.hostile import make_hostile

        return make_hostile(build_site(hubs, seed, day, density=density, growth=growth))
    if hubs < 1 or day < 1:
        raise ValueError("hubs and day must be >= 1")
    if not density > 0 or density > 100:
        raise ValueError(f"density must be > 0 and <= 100, not {density!r}")
    rng = random.Random(seed)
    gen = _Generator(rng)
    site_hubs = gen.hubs(hubs)
    counts = gen.citing_counts(site_hubs, hubs, density)
    gen.papers(max(sum(counts.values()) * 2 // 5, max(counts.values()) * 3 // 2, 60))
    gen.cite(site_hubs, counts)
    papers = [gen.pool[k] for k in gen.order if k in gen.cited]
    site = Site(
        seed=seed,
        day=1,
        hubs_requested=hubs,
        hubs=site_hubs,
        papers=papers,
        as_of=BASE_DAY.isoformat(),
        density=density,
    )
    if growth is not None:
        from samplesite.growth import grow

        return grow(site, day, growth)
    return evolve(site, day, BASE_DAY) if day > 1 else site


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool: dict[str, SitePaper] = {}
        self.order: list[str] = []  # pool keys, most popular first
        self.cited: set[str] = set()
        self._ids: set[str] = set()

    # -- hubs ---------------------------------------------------------------------------------------
    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hubs(self, n: int) -> list[SiteHub]:
        rng = self.rng
        out = [
            SiteHub(
                uuid=seed_hub.UUID,
                title=seed_hub.TITLE,
                title_raw=seed_hub.TITLE,
                template="current",
                external_cited_by_count=1843,
                year=2019,
                abstract=seed_hub.ABSTRACT,
                arxiv_id="1902.10186",
                venue="NAACL",
                authors=["Sarthak Jain", "Byron C. Wallace"],
            )
        ]
        for hub_uuid, title in vocab.KNOWN_HUBS:
            if title is None:
                out.append(self._hub(hub_uuid, None, template="current", external=3))
            else:
                out.append(self._hub(hub_uuid, title, external=int(rng.lognormvariate(8.5, 1.2))))
        del out[n:]
        while len(out) < n:
            out.append(self._hub(self.uuid(), self.title(), external=int(rng.lognormvariate(4, 1.8))))
        return out

    def _hub(self, hub_uuid: str, title: str | None, external: int, template: str | None = None) -> SiteHub:
        rng = self.rng
        template = template or ("legacy" if rng.random() < 0.2 else "current")
        if title is None:
            title_raw = vocab.TITLE_PENDING
        else:
            title_raw = title_artefact(rng, title, p_hyphen=0.1, p_date=0.08, p_latex=0.5)
        year = rng.randint(1995, 2025)
        has_claims = rng.random() < (0.6 if template == "legacy" else 0.2)
        return SiteHub(
            uuid=hub_uuid,
            title=title,
            title_raw=title_raw,
            template=template,
            external_cited_by_count=external,
            year=year,
            abstract=self.summary(rng.choice(vocab.SUMMARY_PATTERNS)) if rng.random() < 0.7 else None,
            claims=rng.sample(vocab.CLAIMS, rng.randint(1, 3)) if has_claims else [],
            arxiv_id=self.arxiv_id(dt.date(max(year, 2008), rng.randint(1, 12), 1)) if year >= 2008 else None,
            doi=f"10.{rng.randint(1000, 9999)}/{rng.randint(10**5, 10**6)}" if rng.random() < 0.5 else None,
            venue=rng.choice(vocab.VENUES),
            authors=[
                f"{rng.choice(vocab.AUTHOR_FIRST)} {rng.choice(vocab.AUTHOR_LAST)}" for _ in range(rng.randint(1, 4))
            ],
            created_at=f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00Z",
            updated_at=f"{BASE_DAY.isoformat()}T00:00:00Z",
        )

    def citing_counts(self, hubs: list[SiteHub], requested: int, density: float = 1.0) -> dict[str, int]:
        """Heavy tail: most hubs 1-50; with 100+ hubs two known hubs get over 600."""
        rng = self.rng
        counts = {}
        for i, hub in enumerate(hubs):
            scale = (6 if i <= len(vocab.KNOWN_HUBS) else 2.5) * density
            counts[hub.uuid] = min(int(scale * rng.paretovariate(1.15)), 450)
        counts[seed_hub.UUID] = len(seed_hub.EXPLORER)
        pending = [h for h in hubs if h.title is None]
        for hub in pending:
            counts[hub.uuid] = rng.randint(1, 6)
        if requested >= 100:
            heavy = vocab.HEAVY_KNOWN
            counts[heavy[0]] = rng.randint(1000, 1300)  # thousands separator on the page
            counts[heavy[1]] = rng.randint(601, 900)
        # A few more stubs read "Title resolution pending" (kept small: stubs have no tier word).
        for hub in hubs[len(vocab.KNOWN_HUBS) + 1 :]:
            if counts[hub.uuid] < 10 and hub.external_cited_by_count < 1000 and rng.random() < 0.04:
                hub.title, hub.title_raw = None, vocab.TITLE_PENDING
        return counts

    # -- papers -------------------------------------------------------------------------------------
    def title(self) -> str:
        rng = self.rng
        return rng.choice(vocab.PATTERNS).format(
            adj=rng.choice(vocab.ADJECTIVES), noun=rng.choice(vocab.NOUNS), task=rng.choice(vocab.TASKS)
        )

    def summary(self, pattern: str) -> str:
        rng = self.rng
        adj, noun, task = rng.choice(vocab.ADJECTIVES), rng.choice(vocab.NOUNS), rng.choice(vocab.TASKS)
        return pattern.format(
            adj=adj,
            noun=noun,
            task=task,
            adj_l=adj.lower(),
            noun_l=noun.lower(),
            task_l=task.lower(),
            pct=rng.randint(2, 40),
            n=rng.randint(3, 12),
        )

    def arxiv_id(self, when: dt.date) -> str:
        while True:
            ident = f"{when:%y%m}.{self.rng.randint(1, 29999):05d}"
            if ident not in self._ids:
                self._ids.add(ident)
                return ident

    def old_arxiv_id(self) -> str:
        rng = self.rng
        while True:
            yy = rng.choice([*range(91, 100), *range(7)])
            ident = f"{rng.choice(vocab.OLD_ARCHIVES)}/{yy:02d}{rng.randint(1, 12):02d}{rng.randint(1, 999):03d}"
            if ident not in self._ids:
                self._ids.add(ident)
                return ident

    def pith_id(self) -> str:
        alphabet = string.ascii_lowercase + string.digits
        while True:
            ident = "".join(self.rng.choice(alphabet) for _ in range(8))
            if ident not in self._ids and not ident.isdigit():
                self._ids.add(ident)
                return ident

    def papers(self, size: int) -> None:
        rng = self.rng
        seen_titles: set[str] = set()
        specs: list[tuple[str, str | None, str]] = []  # (clean title, clean summary or None, origin)
        for title, summary in seed_hub.EXPLORER:
            specs.append((title, summary, "seed"))
        for i, title in enumerate(vocab.HARD_PAPER_TITLES):
            summary = vocab.HARD_SUMMARIES[i] if i < len(vocab.HARD_SUMMARIES) else None
            specs.append((title, summary or self.summary(rng.choice(vocab.SUMMARY_PATTERNS)), "hard"))
        misses = 0
        while len(specs) < size:
            title = self.title()
            if misses >= _TITLE_MISSES:
                # The vocabulary's ~100,000 titles are running out (a dense site of 3,000+ hubs): longer
                # titles from then on, or the loop would draw forever. Never reached at density 1.
                title = f"{title} with {rng.choice(vocab.NOUNS)} and {rng.choice(vocab.TASKS)}"
            if title_key(title) in seen_titles:
                misses += 1
                continue
            if misses < _TITLE_MISSES:
                misses = 0
            seen_titles.add(title_key(title))
            summary = None if rng.random() < 0.07 else self.summary(rng.choice(vocab.SUMMARY_PATTERNS))
            specs.append((title, summary, "generated"))
        for title, summary, origin in specs:
            paper = self.paper(title, summary, origin)
            self.pool[paper.key] = paper
            self.order.append(paper.key)
        self.hard_keys = [k for k, (_, _, o) in zip(self.order, specs, strict=True) if o == "hard"]
        self.seed_keys = [k for k, (_, _, o) in zip(self.order, specs, strict=True) if o == "seed"]

    def paper(self, title: str, summary: str | None, origin: str, when: dt.date | None = None) -> SitePaper:
        """`when`: the paper's date (drawn from PAPER_DATES when None; the growth model's new papers are dated)."""
        rng = self.rng
        if when is None:
            span = (PAPER_DATES[1] - PAPER_DATES[0]).days
            when = PAPER_DATES[0] + dt.timedelta(days=rng.randint(0, span))
        if origin == "seed":
            style, title_raw = "paper", title
        else:
            style = rng.choices(["paper", "paper_bare", "p", "ref", "pith", None], (60, 5, 10, 5, 12, 8))[0]
            if origin == "hard":
                style = style or "pith"  # hard titles must not rely on title identity alone
                # Gödel and 中文 stay as Unicode; Schlögl, Erdős and Café come as LaTeX escapes.
                title_raw = latex_accents(title) if "Gödel" not in title else None
                title_raw = title_raw or title
            else:
                title_raw = title_artefact(rng, title, p_hyphen=0.05, p_date=0.03, p_latex=0.0)
        arxiv = pith = None
        if style in ("paper", "paper_bare", "p"):
            arxiv = self.arxiv_id(when)
        elif style == "ref":
            arxiv = self.old_arxiv_id()
        elif style == "pith":
            pith = self.pith_id()
        summary_raw = summary
        if summary and origin == "generated" and rng.random() < 0.05:
            summary_raw = hyphen_break(rng, summary) or summary
        meta = summary is not None
        return SitePaper(
            key=paper_key(arxiv, pith, title),
            title=title,
            title_raw=title_raw,
            arxiv_id=arxiv,
            versions=rng.randint(1, 4) if style in ("paper", "p") else 1,
            pith_id=pith,
            link_style=style,
            category=rng.choices(vocab.CATEGORIES, vocab.CATEGORY_WEIGHTS)[0] if meta else None,
            date=when.isoformat() if meta else None,
            verdict=rng.choices(vocab.VERDICTS, vocab.VERDICT_WEIGHTS)[0] if meta else None,
            novelty=(None if rng.random() < 0.15 else round(rng.uniform(1, 9.5), 1)) if meta else None,
            refs=(None if rng.random() < 0.6 else rng.randint(1, 60)) if meta else None,
            summary=summary,
            summary_raw=summary_raw,
        )

    # -- citations ----------------------------------------------------------------------------------
    def sample(self, k: int, exclude: set[str]) -> list[str]:
        """k distinct pool papers, popular ones (early in the pool) far more likely: shared citers."""
        rng = self.rng
        candidates = [key for key in self.order if key not in exclude]
        # Efraimidis-Spirakis weighted sampling without replacement; weight ~ 1 / (rank + 20): the k largest
        # of r ** (rank + 20), one r per candidate. Same draws and result as keying every candidate, but
        # only draws that can still enter the top k are raised to their power (the site's build was
        # quadratic in its size: 35 s at 2,000 hubs x 5 density).
        k = min(k, len(candidates))
        if k <= 0:
            return []
        draw = rng.random
        draws = [draw() for _ in candidates]
        top: list[tuple[float, str]] = []  # a min-heap of the k largest (value, key) so far
        for start in range(0, len(draws), _SAMPLE_BLOCK):
            block = draws[start : start + _SAMPLE_BLOCK]
            if len(top) < k:
                floor = 0.0
            else:
                # r ** e >= top[0][0] needs r >= top[0][0] ** (1 / e); e is smallest at the block's start,
                # so this bound admits every draw that could; the margin covers the last bit of rounding.
                floor = top[0][0] ** (1.0 / (start + 20.0)) * (1.0 - 1e-12)
                if max(block) < floor:  # most blocks, once the top k is settled
                    continue
            for i, r in enumerate(block):
                if r < floor:
                    continue
                rank = start + i
                item = (r ** (rank + 20.0), candidates[rank])
                if len(top) < k:
                    heapq.heappush(top, item)
                elif item > top[0]:
                    heapq.heapreplace(top, item)
        return [key for _, key in sorted(top, reverse=True)]

    def cite(self, hubs: list[SiteHub], counts: dict[str, int]) -> None:
        seed_set = set(self.seed_keys)
        chosen: dict[str, list[str]] = {}
        for hub in hubs:
            if hub.uuid == seed_hub.UUID:
                chosen[hub.uuid] = list(self.seed_keys)
            else:
                chosen[hub.uuid] = self.sample(counts[hub.uuid], exclude=seed_set)
        # Every hard case must be on some page: add uncited ones to well-populated current hubs.
        targets = [h for h in hubs if h.template == "current" and h.uuid != seed_hub.UUID] or hubs
        for i, key in enumerate(self.hard_keys):
            if not any(key in keys for keys in chosen.values()):
                chosen[targets[i % len(targets)].uuid].insert(0, key)
        for hub in hubs:
            keys = chosen[hub.uuid]
            self.cited.update(keys)
            if hub.uuid == seed_hub.UUID:
                hub.citations = self.seed_citations(keys)
            else:
                hub.citations = self.hub_citations(hub, keys)

    def seed_citations(self, keys: list[str]) -> list[SiteCitation]:
        rep = set(seed_hub.REPRESENTATIVE)
        return [
            SiteCitation(seed_hub.UUID, key, SEED_ROLES.get(i), None, i in rep, self.version(key))
            for i, key in enumerate(keys)
        ]

    def version(self, key: str) -> int | None:
        paper = self.pool[key]
        if paper.link_style in ("paper", "p"):
            return self.rng.randint(1, paper.versions)
        return None

    def hub_citations(self, hub: SiteHub, keys: list[str]) -> list[SiteCitation]:
        rng = self.rng
        n = len(keys)
        classified: set[int] = set()
        kind_weights = HUB_KINDS[rng.choices(list(HUB_KINDS), KIND_WEIGHTS)[0]]
        if hub.template == "current" and n:
            share = rng.uniform(0.3, 0.7)
            classified = set(rng.sample(range(n), max(1, round(share * n))))
        with_summary = [i for i, key in enumerate(keys) if self.pool[key].summary is not None]
        n_rep = min(15, (len(with_summary) * 4 + 4) // 5)
        rep = set(rng.sample(with_summary, n_rep))
        out = []
        for i, key in enumerate(keys):
            role = polarity = None
            if i in classified:
                role = rng.choices(vocab.ROLES, kind_weights)[0]
                if rng.random() < 0.5:
                    polarity = rng.choices(vocab.POLARITIES, (60, 40))[0]
            out.append(SiteCitation(hub.uuid, key, role, polarity, i in rep, self.version(key)))
        return out
