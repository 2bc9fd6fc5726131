"""Discovery through paper pages (issue 16): the hub spider fetches, once, the paper page of every citing paper
the warehouse does not know, after the hub pages and outside any hub's request ceiling, and hands its hub
links (its reference list) to the frontier as a `links` item of no hub.

The callbacks are tested on hand-made responses; the crawl over real HTTP on a sample site, against the
site's ground truth (`samplesite.truth`)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from samplesite.generator import build_site
from samplesite.model import Site
from samplesite.render import render_paper_html
from samplesite.server import serving
from samplesite.truth import truth
from spiders.crawl import allowed_hosts_for, run_crawl
from spiders.hub import PAPER_PRIORITY, HubSpider
from spiders.parse.paperref import KnownPapers, paper_path, paper_ref, write_known_papers
from spiders.parse.records import CitingEntry, HubPage
from spiders.replay import ArchivedRun, fetch_plan, replay_items

FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "5", "CITEHUB_RETRY_BACKOFF": "0"}
BASE = "https://pith.science"


def _page(*entries: CitingEntry, representative: tuple[CitingEntry, ...] = ()) -> HubPage:
    return HubPage(
        hub_uuid="0426219a-789e-4964-adc8-a04538510818",
        template="current",
        tier="hub",
        label=None,
        title_raw="LoRA",
        headline=None,
        headline_role=None,
        headline_share=None,
        citing_count=len(entries),
        abstract_raw=None,
        representative=list(representative),
        explorer=list(entries),
    )


def test_each_unknown_paper_is_requested_once_after_the_hub_pages(tmp_path: Path):
    spider = HubSpider(base_url=BASE)
    known = tmp_path / "known.bin"
    write_known_papers(["arxiv:2401.00002"], known)
    spider.known_papers = KnownPapers.load(known)
    a = CitingEntry("A", arxiv_id="2401.00001", arxiv_version=2)
    b = CitingEntry("B", arxiv_id="2401.00002")  # known to the warehouse
    c = CitingEntry("C", pith_id="ab12cd34")
    untitled = CitingEntry("Title only")  # no id: no paper page
    first = list(spider._paper_requests(_page(a, b, c, untitled, representative=(c,))))
    assert [r.url for r in first] == [f"{BASE}/paper/ab12cd34", f"{BASE}/paper/2401.00001"]
    for request in first:
        assert request.priority == PAPER_PRIORITY < 0
        assert request.callback == spider.parse_paper
        assert request.errback == spider.failed
        assert "hub_uuid" not in request.meta and "budget" not in request.meta
        assert not request.dont_filter
    assert [r.meta["paper_ref"] for r in first] == ["pith:ab12cd34", "arxiv:2401.00001"]
    # Another page (another hub, list or page) listing the same papers asks for nothing again.
    assert list(spider._paper_requests(_page(c, a, b))) == []
    d = CitingEntry("D", arxiv_id="hep-th/9901001")
    assert [r.url for r in spider._paper_requests(_page(a, d))] == [f"{BASE}/paper/hep-th/9901001"]
    assert spider.papers_requested == {"arxiv:2401.00001", "pith:ab12cd34", "arxiv:hep-th/9901001"}


def test_no_paper_page_in_a_replay_or_when_turned_off():
    entry = CitingEntry("A", arxiv_id="2401.00001")
    replay = HubSpider(base_url=BASE)
    replay.follow = False
    assert list(replay._paper_requests(_page(entry))) == []
    off = HubSpider(base_url=BASE)
    off.paper_pages = False
    assert list(off._paper_requests(_page(entry))) == []
    assert replay.papers_requested == off.papers_requested == set()


def _paper_response(site: Site, ref: str, status: int = 200, body: str | None = None) -> HtmlResponse:
    url = BASE + paper_path(ref)
    html = render_paper_html(site, url.rsplit("/paper/", 1)[1]) if body is None else body
    request = Request(url, meta={"paper_ref": ref})
    return HtmlResponse(url, status=status, body=(html or "").encode(), encoding="utf-8", request=request)


def _ref(site: Site, key: str) -> str:
    paper = site.paper(key)
    ref = paper_ref(paper.arxiv_id, paper.pith_id)
    assert ref is not None
    return ref


def test_a_paper_page_gives_its_references_as_a_links_item_of_no_hub():
    site = build_site(hubs=12, seed=7, day=1)
    key = max((p.key for p in site.papers if p.arxiv_id), key=lambda k: (len(site.citations_of_paper(k)), k))
    cited = [c.hub_uuid for c in site.citations_of_paper(key)]
    assert len(cited) >= 2
    out = list(HubSpider(base_url=BASE).parse_paper(_paper_response(site, _ref(site, key))))
    assert [o["kind"] for o in out] == ["links", "fetch"]
    links, fetch = out
    url = BASE + paper_path(_ref(site, key))
    assert (links["url"], links["hub_uuid"], links["bad"], links["dropped"]) == (url, None, [], 0)
    assert [(h["hub_uuid"], h["url"], h["block"]) for h in links["hubs"]] == [
        (u, f"{BASE}/citations/{u}", "references") for u in cited
    ]
    assert (fetch["url"], fetch["hub_uuid"], fetch["status"], fetch["outcome"], fetch["error"]) == (
        url,
        None,
        200,
        "parsed",
        None,
    )


def test_a_paper_page_not_found_is_a_failed_fetch_and_a_parser_bug_a_quarantine(monkeypatch):
    site = build_site(hubs=12, seed=7, day=1)
    missing = list(HubSpider(base_url=BASE).parse_paper(_paper_response(site, "arxiv:2999.99999", 404, "gone")))
    assert [(o["kind"], o["hub_uuid"], o["outcome"], o["error"]) for o in missing] == [
        ("fetch", None, "failed", "HTTP 404")
    ]

    import spiders.hub as hub_module

    def broken(*_args, **_kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(hub_module, "hub_links", broken)
    key = next(p.key for p in site.papers if p.pith_id)
    out = list(HubSpider(base_url=BASE).parse_paper(_paper_response(site, _ref(site, key))))
    assert [(o["kind"], o["hub_uuid"], o.get("reason") or o.get("outcome")) for o in out] == [
        ("quarantine", None, "parser_error"),
        ("fetch", None, "quarantined"),
    ]
    assert out[0]["detail"] == "RecursionError: maximum recursion depth exceeded"


def test_scrapy_parse_routes_a_paper_url_to_the_paper_callback():
    site = build_site(hubs=12, seed=7, day=1)
    key = next(p.key for p in site.papers if p.arxiv_id)
    out = list(HubSpider(base_url=BASE).parse(_paper_response(site, _ref(site, key))))
    assert [o["kind"] for o in out] == ["links", "fetch"]


# -- a crawl of the sample site -------------------------------------------------------------------------------

SITE = build_site(hubs=20, seed=7, day=1)


def _expected(site: Site) -> dict[str, tuple[str, list[str]]]:
    """Paper page path -> (the paper's ref, the hubs its reference list links, sorted), for every citing paper
    with an arXiv or pith id."""
    facts = truth(site)
    cites: dict[str, set[str]] = {}
    for citation in facts["citations"]:
        cites.setdefault(citation["paper_key"], set()).add(citation["hub_uuid"])
    expected = {}
    for paper in facts["papers"]:
        ref = paper_ref(paper["arxiv_id"], paper["pith_id"])
        if ref is not None:
            expected[paper_path(ref)] = (ref, sorted(cites[paper["paper_key"]]))
    return expected


@pytest.fixture(scope="module")
def base_url():
    with serving(SITE) as base:
        yield base


def _crawl(base: str, run_dir: Path, **settings: str) -> tuple[list[dict], dict]:
    result = run_crawl(
        run_dir.name,
        run_dir,
        base,
        [f"{base}/citations/{h.uuid}" for h in SITE.hubs],
        allowed_hosts_for(base),
        extra_settings={**FAST, **settings},
    )
    items = [json.loads(line) for line in result.items_path.read_text(encoding="utf-8").splitlines()]
    return items, json.loads((run_dir / "stats.json").read_text())


def _paper_items(items: list[dict], base: str) -> tuple[dict[str, dict], dict[str, dict], list[dict]]:
    """(path -> fetch row, path -> links item) of the paper pages, and every other fetch row."""
    fetches, links, others = {}, {}, []
    for item in items:
        path = item["url"].removeprefix(base)
        is_paper = path.startswith("/paper/")
        if item["kind"] == "fetch" and is_paper:
            assert path not in fetches, f"{path} fetched twice"
            fetches[path] = item
        elif item["kind"] == "links" and is_paper:
            assert path not in links, f"{path} read twice"
            links[path] = item
        elif item["kind"] == "fetch":
            others.append(item)
        else:
            assert not is_paper, item
    return fetches, links, others


def _hub_fetches(others: list[dict]) -> Counter:
    return Counter((f["url"], f["hub_uuid"], f["outcome"]) for f in others)


@pytest.mark.slow
def test_a_crawl_reads_every_unknown_paper_page_once_and_only_those(base_url: str, tmp_path: Path):
    expected = _expected(SITE)
    assert len(expected) > 50  # the site has papers to discover, and title-only papers that have no page
    assert len(expected) < len(SITE.papers)

    # Nothing known: every paper with an id, once, each page's links exactly the hubs it cites.
    items, stats = _crawl(base_url, tmp_path / "none-known")
    fetches, links, others = _paper_items(items, base_url)
    assert sorted(fetches) == sorted(links) == sorted(expected)
    assert {p: (f["hub_uuid"], f["status"], f["outcome"]) for p, f in fetches.items()} == dict.fromkeys(
        expected, (None, 200, "parsed")
    )
    assert {p: sorted(h["hub_uuid"] for h in item["hubs"]) for p, item in links.items()} == {
        p: hubs for p, (_, hubs) in expected.items()
    }
    assert {h["block"] for item in links.values() for h in item["hubs"]} == {"references"}
    assert all(item["hub_uuid"] is None and item["bad"] == [] and item["dropped"] == 0 for item in links.values())
    assert all(len(item["hubs"]) == len({h["hub_uuid"] for h in item["hubs"]}) for item in links.values())
    assert stats["citehub/papers/requested"] == len(expected)
    hub_fetches = _hub_fetches(others)
    assert len(hub_fetches) == stats["citehub/items/fetch"] - len(expected)

    # A replay of that crawl reads its archived paper pages back into the same links items, of no hub (the
    # replaying spider takes the archived pages' host for the site's, as the crawl's allowlist did).
    archived = ArchivedRun("none-known", tmp_path / "none-known", datetime.now(UTC))
    replayed = list(replay_items(archived, fetch_plan(archived), "replay"))
    fetches, replayed_links, _ = _paper_items(replayed, base_url)
    assert {p: (f["hub_uuid"], f["outcome"]) for p, f in fetches.items()} == dict.fromkeys(expected, (None, "parsed"))
    assert {p: (i["hub_uuid"], i["hubs"], i["bad"]) for p, i in replayed_links.items()} == {
        p: (None, i["hubs"], []) for p, i in links.items()
    }

    # Half of them known: exactly the other half.
    paths = sorted(expected)
    half = tmp_path / "half.bin"
    assert write_known_papers((expected[p][0] for p in paths[::2]), half) == len(paths[::2])
    items, stats = _crawl(base_url, tmp_path / "half-known", CITEHUB_KNOWN_PAPERS_FILE=str(half))
    fetches, links, others = _paper_items(items, base_url)
    assert sorted(fetches) == sorted(links) == paths[1::2]
    assert stats["citehub/papers/requested"] == len(paths[1::2])
    assert _hub_fetches(others) == hub_fetches  # the hubs' own fetches do not change

    # All of them known: none.
    everything = tmp_path / "all.bin"
    assert write_known_papers((ref for ref, _ in expected.values()), everything) == len(expected)
    items, stats = _crawl(base_url, tmp_path / "all-known", CITEHUB_KNOWN_PAPERS_FILE=str(everything))
    fetches, links, others = _paper_items(items, base_url)
    assert (fetches, links) == ({}, {})
    assert "citehub/papers/requested" not in stats
    assert _hub_fetches(others) == hub_fetches

    # Paper pages off (nothing known): none, and the hub crawl is the same.
    items, stats = _crawl(base_url, tmp_path / "off", CITEHUB_PAPER_PAGES="False")
    fetches, links, others = _paper_items(items, base_url)
    assert (fetches, links) == ({}, {})
    assert "citehub/papers/requested" not in stats
    assert _hub_fetches(others) == hub_fetches
