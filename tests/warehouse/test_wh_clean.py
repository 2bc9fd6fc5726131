"""warehouse.clean: identity, dedupe, roles/polarities, fuzzy merge guards, completeness (pure, no database)."""

from __future__ import annotations

import random
from collections import defaultdict

from conftest import (
    BASE,
    HUB_A,
    HUB_B,
    entry,
    fetch_item,
    hub_page,
    page_item,
    quarantine_item,
    two_hub_items,
)

from spiders.parse.normalize import title_fingerprint
from warehouse.clean import clean


def test_one_paper_and_one_citation_per_hub_across_lists_pages_filters_hubs():
    batch = clean(two_hub_items())
    title_key = f"title:{title_fingerprint('Title Only Paper')}"
    assert [p["paper_key"] for p in batch.papers] == sorted(["arxiv:2406.01234", "pith:ab12cd34", title_key])
    p1 = batch.papers[0]
    assert p1 == {
        "paper_key": "arxiv:2406.01234",
        "arxiv_id": "2406.01234",
        "pith_id": None,
        # the unfiltered explorer listing of the first hub wins over the other hub's spelling
        "title_raw": "Attention Is  Everywhere",
        "title": "Attention Is Everywhere",
        "category": "cs.LG",
        "date": "2026-06-17",
        "summary_raw": "We look\u00a0closely.",
        "summary": "We look closely.",
    }
    assert [
        (c["hub_uuid"], c["paper_key"], c["role"], c["polarity"], c["representative"]) for c in batch.citations
    ] == [
        (HUB_A, "arxiv:2406.01234", "background", "support", True),
        (HUB_A, "pith:ab12cd34", "method", None, False),
        (HUB_A, title_key, "background", None, False),
        (HUB_B, "arxiv:2406.01234", None, None, False),
    ]
    pith = batch.citations[1]
    assert (pith["verdict"], pith["novelty"], pith["refs"]) == ("accept", 5.5, 2)
    assert batch.conflicts == [] and batch.merges == []


def test_hub_facts_snapshots_facets_and_completeness():
    batch = clean(two_hub_items())
    hub_a, hub_b = batch.hubs
    assert hub_a["tier"] == "hub" and hub_a["classified_count"] == 3
    assert (hub_a["year"], hub_a["arxiv_id"], hub_a["doi"], hub_a["external_cited_by_count"]) == (
        2019,
        "1902.10186",
        "10.1/x",
        1500,
    )
    assert hub_b["title_raw"] == "Title resolution pending" and hub_b["title"] is None
    assert hub_b["tier"] == "super_hub" and hub_b["year"] is None
    assert [(s["hub_uuid"], s["parsed_count"], s["citing_count"], s["complete"]) for s in batch.snapshots] == [
        (HUB_A, 3, 3, True),
        (HUB_B, 1, 1, True),
    ]
    assert batch.complete == {HUB_A: True, HUB_B: True}
    assert [(f["facet"], f["value"], f["count"]) for f in batch.facet_counts] == [
        ("fields", "cs.LG", 3),
        ("polarity_summary", "support", 1),
        ("role_summary", "background", 2),
        ("role_summary", "method", 1),
    ]


def test_output_does_not_depend_on_item_order():
    items = two_hub_items()
    expected = clean(items)
    for seed in range(3):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        assert clean(shuffled) == expected


def test_arxiv_versions_and_old_style_ids_are_one_paper():
    items = [
        page_item(
            hub_page(
                HUB_A,
                citing_count=2,
                explorer=[entry("Old Style", 0, arxiv="hep-th/9901001v3"), entry("New Style", 1, arxiv="2406.01234v2")],
            )
        ),
        page_item(
            hub_page(
                HUB_B,
                citing_count=2,
                explorer=[
                    entry("Old Style", 0, arxiv="hep-th/9901001", version=1),
                    entry("New Style", 1, arxiv="2406.01234"),
                ],
            )
        ),
    ]
    batch = clean(items)
    assert [(p["paper_key"], p["arxiv_id"]) for p in batch.papers] == [
        ("arxiv:2406.01234", "2406.01234"),
        ("arxiv:hep-th/9901001", "hep-th/9901001"),
    ]
    assert len(batch.citations) == 4


def test_role_listed_twice_keeps_alphabetical_first_and_records_conflict():
    p = entry("Twice Classified", 0, arxiv="2401.00001")
    items = [
        page_item(hub_page(HUB_A, citing_count=1, explorer=[p])),
        page_item(hub_page(HUB_A, citing_count=1, explorer=[p], filters={"role": "method"})),
        page_item(hub_page(HUB_A, citing_count=1, explorer=[p], filters={"role": "baseline"})),
    ]
    batch = clean(items)
    assert batch.citations[0]["role"] == "baseline"
    assert batch.conflicts == [
        {
            "hub_uuid": HUB_A,
            "paper_key": "arxiv:2401.00001",
            "field": "role",
            "values": ["baseline", "method"],
            "kept": "baseline",
        }
    ]


def test_fuzzy_merge_same_year_into_id_paper_and_recorded():
    items = [
        page_item(
            hub_page(
                HUB_A,
                citing_count=1,
                explorer=[entry("Scaling Laws for Neural Language Models", 0, arxiv="2001.08361", date="2020-01-23")],
            )
        ),
        page_item(
            hub_page(
                HUB_B,
                citing_count=1,
                explorer=[
                    # no link: a title identity, one character off
                    entry("Scaling Laws for Neural Language Model", 0, date="2020-03-01", summary_raw="Power laws.")
                ],
            )
        ),
    ]
    batch = clean(items)
    from_key = f"title:{title_fingerprint('Scaling Laws for Neural Language Model')}"
    assert [p["paper_key"] for p in batch.papers] == ["arxiv:2001.08361"]
    assert batch.papers[0]["title"] == "Scaling Laws for Neural Language Models"
    assert batch.papers[0]["summary"] == "A summary."
    assert [(c["hub_uuid"], c["paper_key"]) for c in batch.citations] == [
        (HUB_A, "arxiv:2001.08361"),
        (HUB_B, "arxiv:2001.08361"),
    ]
    assert batch.merges == [
        {
            "from_key": from_key,
            "into_key": "arxiv:2001.08361",
            "score": 98.7,
            "reason": "title ratio >= 95, same year 2020, no conflicting ids",
        }
    ]


def test_fuzzy_merge_guards_year_ids_and_colisting():
    items = [
        page_item(
            hub_page(
                HUB_A,
                citing_count=3,
                explorer=[
                    entry("Deep Residual Learning for Image Recognition", 0, date="2015-12-10"),
                    # two id papers with near titles: ids conflict, never merged
                    entry("Attention Is All You Need", 1, arxiv="1706.03762", date="2017-06-12"),
                    entry("Attention Is All You Need!", 2, arxiv="1706.99999", date="2017-06-12"),
                ],
            )
        ),
        page_item(
            hub_page(
                HUB_B,
                citing_count=3,
                explorer=[
                    # same near title, different year: not merged
                    entry("Deep Residual Learning for Image Recognitio", 0, date="2016-01-01"),
                    # listed as two entries by one hub: two papers, even though the titles match
                    entry("Graph Attention Networks", 1, date="2017-10-30"),
                    entry("Graph Attention Network", 2, date="2017-10-30"),
                ],
            )
        ),
    ]
    batch = clean(items)
    assert batch.merges == []
    assert len(batch.papers) == 6 and len(batch.citations) == 6


def test_title_papers_merge_into_smallest_key_whatever_the_order():
    a = entry("Chain of Thought Prompting Elicits Reasoning", 0, date="2022-01-28")
    b = entry("Chain of Thougth Prompting Elicits Reasoning", 0, date="2022-05-01")
    items = [
        page_item(hub_page(HUB_A, citing_count=1, explorer=[a])),
        page_item(hub_page(HUB_B, citing_count=1, explorer=[b])),
    ]
    forward, backward = clean(items), clean(items[::-1])
    assert forward == backward
    keys = sorted(f"title:{title_fingerprint(t)}" for t in (a.title_raw, b.title_raw))
    assert [(m["from_key"], m["into_key"]) for m in forward.merges] == [(keys[1], keys[0])]
    assert [c["paper_key"] for c in forward.citations] == [keys[0], keys[0]]


def test_incomplete_when_counts_differ_or_fetch_quarantined_or_failed():
    hub_c = "cccccccc-0000-4000-8000-000000000003"
    ok = page_item(hub_page(HUB_A, citing_count=1, explorer=[entry("X", 0, arxiv="2401.00001")]))
    short = page_item(hub_page(HUB_B, citing_count=2, explorer=[entry("Y", 0, arxiv="2401.00002")]))
    page_c = hub_page(hub_c, citing_count=1, explorer=[entry("Z", 0, arxiv="2401.00003")])
    items = [
        ok,
        short,
        page_item(page_c),
        quarantine_item(f"{BASE}/citations/{hub_c}?page=2", hub_c),
        fetch_item(f"{BASE}/citations/{HUB_A}.json", HUB_A, outcome="failed", status=503),
    ]
    batch = clean(items)
    assert batch.complete == {HUB_A: False, HUB_B: False, hub_c: False}
    assert [q["reason"] for q in batch.quarantines] == ["layout_drift"]
    assert [(f["outcome"], f["status"]) for f in batch.fetches] == [("failed", 503)]
    assert batch.fetches[0]["fetched_at"].isoformat() == "2026-11-24T03:00:00+00:00"


def _score_block_everything(members):
    """The reference: every title paper scored against the whole block (what score_block did before it
    looked only at the length window)."""
    from rapidfuzz import fuzz, process

    from warehouse.clean import FUZZY_MIN_SCORE

    scored = {}
    choices = [folded for _, folded in members]
    for key, folded in members:
        if key.startswith("title:"):
            for _, score, index in process.extract(
                folded, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE, limit=None
            ):
                if members[index][0] != key:
                    scored.setdefault(key, {})[members[index][0]] = score
    return scored


def test_scoring_a_block_by_length_window_finds_exactly_what_scoring_it_whole_finds():
    from warehouse.clean import score_block

    rng = random.Random(5)
    letters = "abcdefghij klmnop"
    members = []
    for i in range(400):
        base = "".join(rng.choice(letters) for _ in range(rng.randrange(5, 90)))
        members.append((f"title:{i:04d}a", base))
        edit = rng.choice(["same", "typo", "add", "drop", "far"])
        pos = rng.randrange(len(base))
        variant = {
            "same": base,
            "typo": base[:pos] + "z" + base[pos + 1 :],
            "add": base + "xy",
            "drop": base[:-1],
            "far": base[: len(base) // 2],
        }[edit]
        members.append((f"{'title' if i % 3 else 'arxiv'}:{i:04d}b", variant))
    # On the boundary: ratio exactly 95 (19 + 21 characters, indel distance 2) and just under it.
    members += [("title:edge1", "q" * 19), ("title:edge2", "q" * 19 + "rs"), ("title:edge3", "q" * 19 + "rst")]
    rng.shuffle(members)
    scored = defaultdict(dict)
    score_block("2024", members, scored, {})
    assert dict(scored) == _score_block_everything(members)
    assert scored["title:edge1"] == {"title:edge2": 95.0}
    assert sum(len(v) for v in scored.values()) > 300  # the reference finds plenty: a real comparison
