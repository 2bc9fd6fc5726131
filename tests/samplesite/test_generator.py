from __future__ import annotations

import re
from collections import Counter

from samplesite import seed_hub, vocab
from samplesite.generator import build_site
from samplesite.model import tier_for
from samplesite.truth import truth
from spiders.parse.normalize import normalize_text, normalize_title, paper_key


def test_same_parameters_same_site_and_other_seed_other_site():
    assert truth(build_site(hubs=40, seed=3)) == truth(build_site(hubs=40, seed=3))
    assert truth(build_site(hubs=40, seed=3)) != truth(build_site(hubs=40, seed=4))


def test_small_site_keeps_the_seed_hub_and_known_hubs_first():
    small = build_site(hubs=5, seed=1)
    assert [h.uuid for h in small.hubs] == [seed_hub.UUID] + [u for u, _ in vocab.KNOWN_HUBS[:4]]


def test_citing_counts_are_heavy_tailed(site):
    counts = sorted(len(h.citations) for h in site.hubs)
    assert len(counts) == 200 and counts[0] >= 1
    assert sum(1 for n in counts if n > 600) >= 2
    assert sum(1 for n in counts if n <= 50) >= 180
    assert max(counts) >= 1000  # shows "1,0xx Pith papers citing it"


def test_tiers_templates_and_labels_follow_the_rules(site_truth):
    hubs = site_truth["hubs"]
    for hub in hubs:
        assert hub["tier"] == tier_for(hub["citing_count"], hub["external_cited_by_count"])[0]
        if hub["template"] == "legacy":
            assert hub["label"] is None and hub["classified_count"] == 0
        else:
            assert hub["label"] is not None and hub["classified_count"] >= 1
    assert 0.1 <= Counter(h["template"] for h in hubs)["legacy"] / len(hubs) <= 0.3
    assert {h["label"] for h in hubs} == {
        None,
        "Mixed citations",
        "Canonical reference",
        "Tool reference",
        "Dataset reference",
        "Baseline reference",
    }
    assert {h["tier"] for h in hubs} == {None, "hub", "super_hub"}
    # Promotion by external citations alone exists (tier word with fewer than 10 Pith citations).
    assert any(h["tier"] == "hub" and h["citing_count"] < 10 for h in hubs)


def test_classified_share_and_polarity_share_of_current_hubs(site):
    for hub in site.hubs:
        n = len(hub.citations)
        classified = [c for c in hub.citations if c.role]
        if hub.template == "current" and n >= 10:
            assert 0.25 <= len(classified) / n <= 0.75, hub.uuid
        assert all(c.polarity is None for c in hub.citations if c.role is None)
    all_classified = [c for h in site.hubs for c in h.citations if c.role]
    share = sum(1 for c in all_classified if c.polarity) / len(all_classified)
    assert 0.4 <= share <= 0.6


def test_citing_papers_are_shared_across_hubs_with_every_link_style(site):
    hubs_per_paper = Counter(c.paper_key for h in site.hubs for c in h.citations)
    assert sum(1 for n in hubs_per_paper.values() if n >= 10) >= 3
    assert Counter(p.link_style for p in site.papers).keys() == {"paper", "paper_bare", "p", "ref", "pith", None}
    versions = {}
    for hub in site.hubs:
        for c in hub.citations:
            if c.version:
                versions.setdefault(c.paper_key, set()).add(c.version)
    assert any(len(v) > 1 for v in versions.values())  # one paper, several versions under several hubs
    old_style = [p.arxiv_id for p in site.papers if p.link_style == "ref"]
    assert old_style and all(re.fullmatch(r"[a-z-]+/\d{7}", a) for a in old_style)
    assert all(re.fullmatch(r"[a-z0-9]{8}", p.pith_id) for p in site.papers if p.pith_id)


def test_hard_cases_are_on_the_site(site):
    cited = {c.paper_key for h in site.hubs for c in h.citations}
    titles = {p.title: p for p in site.papers if p.key in cited}
    for title in vocab.HARD_PAPER_TITLES:
        assert title in titles, title
    raws = [p.title_raw for p in site.papers] + [h.title_raw for h in site.hubs]
    assert 'Schl\\"ogl Models and Reaction Networks Revisited' in raws
    assert any("Erd\\H{o}s" in r for r in raws)
    assert any(re.search(r"[a-z]- [a-z]", r) for r in raws)  # PDF hyphen break
    assert any(re.search(r", (November|May|June|July|March) \d{4}$", r) for r in raws)
    assert "Title resolution pending" in raws
    assert any(p.summary is None for p in site.papers)  # title-only entries
    assert any("<script>" in (p.summary_raw or "") for p in site.papers)


def test_normalizer_recovers_every_clean_value_and_key(site):
    for hub in site.hubs:
        if hub.title is None:
            assert hub.title_raw == "Title resolution pending"
        else:
            assert normalize_title(hub.title_raw) == hub.title, hub.title_raw
    for paper in site.papers:
        assert normalize_title(paper.title_raw) == paper.title, paper.title_raw
        assert normalize_text(paper.summary_raw) == paper.summary, paper.summary_raw
        assert paper.key == paper_key(paper.arxiv_id, paper.pith_id, paper.title)
    assert sum(1 for p in site.papers if p.title_raw != p.title) >= 20
