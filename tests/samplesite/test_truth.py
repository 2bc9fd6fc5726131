from __future__ import annotations

from collections import Counter

from samplesite.model import headline_for, label_for


def test_truth_has_the_documented_shape(site_truth):
    assert (site_truth["seed"], site_truth["day"], site_truth["hubs_requested"]) == (7, 1, 200)
    assert set(site_truth["hubs"][0]) == {
        "uuid",
        "template",
        "tier",
        "label",
        "title_raw",
        "title",
        "citing_count",
        "classified_count",
        "headline_role",
        "headline_share",
        "role_summary",
        "polarity_summary",
        "facets",
        "external_cited_by_count",
        "year",
    }
    assert set(site_truth["papers"][0]) == {
        "paper_key",
        "arxiv_id",
        "pith_id",
        "title_raw",
        "title",
        "category",
        "date",
        "verdict",
        "novelty",
        "refs",
        "summary_raw",
        "summary",
    }
    assert set(site_truth["citations"][0]) == {"hub_uuid", "paper_key", "role", "polarity", "representative"}


def test_truth_lists_are_sorted_and_keys_unique(site_truth):
    uuids = [h["uuid"] for h in site_truth["hubs"]]
    keys = [p["paper_key"] for p in site_truth["papers"]]
    edges = [(c["hub_uuid"], c["paper_key"]) for c in site_truth["citations"]]
    assert uuids == sorted(set(uuids)) and keys == sorted(set(keys)) and edges == sorted(set(edges))
    assert {k for _, k in edges} == set(keys)  # every paper is cited, every citation names a paper


def test_hub_figures_match_their_citations(site_truth):
    papers = {p["paper_key"]: p for p in site_truth["papers"]}
    by_hub: dict[str, list[dict]] = {}
    for c in site_truth["citations"]:
        by_hub.setdefault(c["hub_uuid"], []).append(c)
    for hub in site_truth["hubs"]:
        cites = by_hub[hub["uuid"]]
        assert hub["citing_count"] == len(cites)
        roles = Counter(c["role"] for c in cites if c["role"])
        assert hub["role_summary"] == dict(roles) and hub["classified_count"] == sum(roles.values())
        assert list(hub["role_summary"].values()) == sorted(roles.values(), reverse=True)
        assert hub["polarity_summary"] == dict(Counter(c["polarity"] for c in cites if c["polarity"]))
        assert sum(c["representative"] for c in cites) <= 15
        facets = hub["facets"]
        if hub["template"] == "legacy":
            assert all(v == {} for v in facets.values()) and hub["label"] is None
            continue
        cited = [papers[c["paper_key"]] for c in cites]
        assert facets["fields"] == dict(Counter(p["category"] for p in cited if p["category"]))
        assert facets["years"] == dict(Counter(p["date"][:4] for p in cited if p["date"]))
        assert facets["verdicts"] == dict(Counter(p["verdict"].upper() for p in cited if p["verdict"]))
        assert facets["roles"] == hub["role_summary"] and facets["polarities"] == hub["polarity_summary"]
        label, role, share = label_for(hub["role_summary"])
        assert (hub["label"], hub["headline_role"], hub["headline_share"]) == (label, role, float(share))
        top = hub["role_summary"][role]
        assert abs(100 * top / hub["classified_count"] - share) <= 0.5


def test_headline_sentences():
    assert label_for({"background": 36, "method": 8, "baseline": 4, "other": 1}) == (
        "Mixed citations",
        "background",
        73,
    )
    assert label_for({"background": 21, "method": 4}) == ("Canonical reference", "background", 84)
    assert headline_for("Canonical reference", "background", 84) == (
        "Canonical reference. 84% of citing Pith papers cite this work as background."
    )
    assert label_for({"method": 7, "background": 2}) == ("Tool reference", "method", 78)
    assert label_for({"dataset": 7, "other": 3}) == ("Dataset reference", "dataset", 70)
    assert headline_for("Dataset reference", "dataset", 70) == (
        "Dataset reference. 70% of classified Pith citations use this work as a dataset."
    )
    assert label_for({"background": 1, "method": 1}) == ("Mixed citations", "background", 50)
    assert label_for({}) == (None, None, None)
