from __future__ import annotations

from samplesite import seed_hub
from samplesite.generator import build_site
from samplesite.truth import truth
from tests.samplesite.test_truth import test_hub_figures_match_their_citations as check_figures


def edges(t: dict) -> dict[tuple[str, str], tuple]:
    return {(c["hub_uuid"], c["paper_key"]): (c["role"], c["polarity"]) for c in t["citations"]}


def test_days_are_deterministic_and_build_on_each_other(site_truth):
    day3 = truth(build_site(hubs=200, seed=7, day=3))
    assert day3 == truth(build_site(hubs=200, seed=7, day=3))
    assert day3["day"] == 3 and build_site(day=3).as_of == "2026-06-03"
    day2 = truth(build_site(hubs=200, seed=7, day=2))
    d1, d2, d3 = edges(site_truth), edges(day2), edges(day3)
    assert d1 != d2 != d3
    assert d2.keys() - d1.keys() and d1.keys() - d2.keys()  # new and retired citations
    assert any(d1[k] != d2[k] for k in d1.keys() & d2.keys())  # relabelled roles or polarities


def test_tiers_labels_and_templates_move_and_figures_stay_consistent(site_truth):
    later = truth(build_site(hubs=200, seed=7, day=20))
    before = {h["uuid"]: h for h in site_truth["hubs"]}
    for key in ("tier", "label", "template", "citing_count"):
        assert any(before[h["uuid"]][key] != h[key] for h in later["hubs"]), key
    check_figures(later)
    seed_before = next(h for h in site_truth["hubs"] if h["uuid"] == seed_hub.UUID)
    assert next(h for h in later["hubs"] if h["uuid"] == seed_hub.UUID) == seed_before
    assert {c["paper_key"] for c in later["citations"]} == {p["paper_key"] for p in later["papers"]}
