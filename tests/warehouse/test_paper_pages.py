"""Paper pages in the warehouse (issue 16): the known-papers file of the warehouse (warehouse/papers.py), and a
real crawl with paper pages (one of them failing) through stage, load, frontier, checks and the run's outcome
as `flows.publish` judges it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth
from schema import tables as t
from schema.engine import make_engine
from schema.migrate import upgrade
from spiders.crawl import allowed_hosts_for, run_crawl
from spiders.parse.paperref import KnownPapers, paper_path, paper_ref
from tests.warehouse.conftest import BASE, entry, fetch_item, hub_page, page_item, two_hub_items, write_items
from warehouse import outcome, papers, stage
from warehouse.checks import run_checks
from warehouse.load import load_staged, materialize_marts
from warehouse.report import build_report
from warehouse.runs import finish_run, start_run

FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "5", "CITEHUB_RETRY_BACKOFF": "0"}
BOTH = "cccccccc-0000-4000-8000-000000000003"


def test_the_known_papers_file_holds_the_papers_whose_page_was_read_by_each_of_their_ids(engine, tmp_path: Path):
    both = entry("Known Both Ways", 0, arxiv="2501.00001", pith="zz99yy88")
    paper_fetches = [
        fetch_item(f"{BASE}/paper/2501.00001", None),  # read
        fetch_item(f"{BASE}/paper/2406.01234", None, "failed", 404),  # gone: not asked for again
        fetch_item(f"{BASE}/paper/ab12cd34", None, "failed", 503),  # failed: asked for again by a later crawl
    ]
    items = [*two_hub_items(), page_item(hub_page(BOTH, citing_count=1, explorer=[both])), *paper_fetches]
    run_id = start_run(engine, "nightly", {})
    stage.stage_items(engine, run_id, write_items(tmp_path / "items.jsonl", items))
    assert load_staged(engine, run_id).frontier["paper_pages"] == 2
    with engine.connect() as conn:
        ids = sorted(conn.execute(select(t.paper.c.paper_key, t.paper.c.arxiv_id, t.paper.c.pith_id)).all())
        pages = sorted(tuple(r) for r in conn.execute(select(t.paper_page.c.paper_ref, t.paper_page.c.status)))
    assert [row[1:] for row in ids] == [
        ("2406.01234", None),
        ("2501.00001", "zz99yy88"),
        (None, "ab12cd34"),
        (None, None),  # title only: no paper page to fetch, nothing to know it by
    ]
    assert pages == [("arxiv:2406.01234", 404), ("arxiv:2501.00001", 200)]
    path = tmp_path / "run" / "known.bin"
    assert papers.write_known_papers(engine, path) == 3
    known = KnownPapers.load(path)
    assert len(known) == 3
    for ref in ("arxiv:2406.01234", "arxiv:2501.00001", "pith:zz99yy88"):  # the last: the read paper's other id
        assert ref in known
    for ref in ("pith:ab12cd34", "arxiv:2406.01235", f"title:{ids[-1][0]}"):
        assert ref not in known


def test_an_empty_warehouse_knows_no_paper(engine, tmp_path: Path):
    path = tmp_path / "known.bin"
    assert papers.write_known_papers(engine, path) == 0
    assert path.read_bytes() == b""
    assert len(KnownPapers.load(path)) == 0


@pytest.mark.slow
def test_a_crawl_with_a_failed_paper_page_publishes_completed(tmp_path: Path):
    """Every hub read completely, every paper page but one read: the paper pages' fetch rows load with no hub,
    their links feed the frontier (block "references"), and the failed one makes no hub incomplete: the run
    ends `completed`. The next run's known-papers file holds every paper the site lists with an id."""
    site = build_site(hubs=20, seed=7, day=1)
    facts = truth(site)
    refs = sorted(r for p in facts["papers"] if (r := paper_ref(p["arxiv_id"], p["pith_id"])) is not None)
    failing = paper_path(refs[0])
    engine = make_engine(f"sqlite:///{tmp_path / 'wh.sqlite'}")
    upgrade(engine)
    run_id = start_run(engine, "nightly", {})
    with serving(site) as base:
        post(base, "fail", {"path": failing, "status": 503})
        crawl = run_crawl(
            run_id,
            tmp_path / "crawl",
            base,
            [f"{base}/citations/{h.uuid}" for h in site.hubs],
            allowed_hosts_for(base),
            extra_settings=FAST,
        )
    items = [json.loads(line) for line in crawl.items_path.read_text(encoding="utf-8").splitlines()]
    stage.stage_items(engine, run_id, crawl.items_path)
    loaded = load_staged(engine, run_id, then=lambda conn: materialize_marts(conn, run_id))

    paper_urls = {f"{base}{paper_path(r)}" for r in refs}
    with engine.connect() as conn:
        fetched = conn.execute(
            select(t.fetch.c.url, t.fetch.c.hub_uuid, t.fetch.c.outcome).where(t.fetch.c.run_id == run_id)
        ).all()
        rows = conn.execute(select(t.frontier.c.hub_uuid, t.frontier.c.first_seen_on, t.frontier.c.first_seen_block))
        first_seen = {r.hub_uuid: (r.first_seen_on, r.first_seen_block) for r in rows}
    assert {(u, h, o) for u, h, o in fetched if u in paper_urls} == {
        (u, None, "failed" if u == f"{base}{failing}" else "parsed") for u in paper_urls
    }
    assert all(h is not None for u, h, _ in fetched if u not in paper_urls)
    assert len(fetched) == len({u for u, _, _ in fetched})  # one row a URL

    # The frontier: every hub any read page links, first seen where the items file first links it.
    links = [i for i in items if i["kind"] == "links"]
    assert len(links) == len(site.hubs) + len(refs) - 1  # every hub's page 1, every paper page read
    counted = {k: loaded.frontier[k] for k in ("pages", "new_hubs", "seen_again", "bad_links", "failed_tries")}
    # failed_tries: no hub of the run went unfetched (a paper page's failed fetch names no hub)
    assert counted == {
        "pages": len(links),
        "new_hubs": len(first_seen),
        "seen_again": 0,
        "bad_links": 0,
        "failed_tries": 0,
    }
    expected_first: dict[str, tuple[str, str]] = {}
    for item in links:
        for link in item["hubs"]:
            expected_first.setdefault(link["hub_uuid"], (item["url"], link["block"]))
    assert first_seen == expected_first
    from_papers = {u for u, (on, _) in first_seen.items() if on in paper_urls}
    assert from_papers  # hubs the crawl reached first through a paper's references
    assert {first_seen[u][1] for u in from_papers} == {"references"}

    # The run's outcome, judged as flows.publish does.
    checks = run_checks(engine, run_id)
    assert [c.name for c in checks if not c.passed] == []
    report = build_report(engine, run_id, crawl.stats, loaded, checks, {})
    assert report.incomplete_hubs == []
    assert report.fetch_outcomes == {"failed": 1, "parsed": len(fetched) - 1}
    verdict = outcome.judge(
        report.fetch_outcomes, outcome.incomplete_reasons(engine, run_id, report.incomplete_hubs), report.checks_failed
    )
    assert (verdict.status, verdict.reasons) == ("completed", [])
    finish_run(engine, run_id, verdict.status, {})

    # The next run knows every paper whose page was read: it would ask only for the one that failed.
    path = tmp_path / "known.bin"
    assert papers.write_known_papers(engine, path) == len(refs) - 1
    known = KnownPapers.load(path)
    assert [r for r in refs if r not in known] == [refs[0]]
