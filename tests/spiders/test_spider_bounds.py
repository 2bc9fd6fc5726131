"""A hub page cannot make the crawl run away (issue 19): pages to fetch come from the declared count, a link
or a "next" chain past the declared end is recorded and not followed, invented facet values past a small
bound are recorded and not followed, and every hub has a request ceiling (by default derived from its
declared count, never past CITEHUB_HUB_REQUEST_MAX). Each test drives the spider's real callbacks over the
sample site's pages, made hostile in one respect. The paper pages of the papers the fetched pages list
(discovery, issue 16) are requested once each, outside the hub's request ceiling but within its paper ceiling:
no more than the citing papers it declares (and CITEHUB_HUB_PAPER_PAGES_MAX); the last test crawls a hostile
page over real HTTP with `scrapy crawl`."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from samplesite.generator import build_site
from samplesite.render import _hub_a
from samplesite.server import SampleSiteServer
from samplesite.view import expected_page
from spiders import settings
from spiders.crawl import allowed_hosts_for, run_crawl
from spiders.hub import HubSpider
from spiders.parse.hub_html import parse_hub_page
from spiders.parse.paperref import paper_path, paper_ref
from tests.spiders.test_spider_navigation import BASE, _every_page, _list_of, _paper_urls

LIMIT = 400  # requests a test lets a crawl make before calling it a runaway


def _crawl(
    site, uuid: str, hostile: Callable[[dict[str, Any]], None], spider: HubSpider | None = None
) -> tuple[list[Request], list[dict], list[str]]:
    """Every hub page request and quarantine item the spider makes over the hub's pages, each page passed
    through `hostile(view)` before it is rendered, and the URLs of the paper pages it requests (sorted). Those
    are checked here: exactly one for each paper with an id that a rendered page lists, unless the hub's paper
    ceiling was recorded (then a subset of them)."""
    spider = spider or HubSpider(base_url=BASE)
    first = spider._page(f"{BASE}/citations/{uuid}", uuid, {}, 1)
    queue, requested, quarantined = [first], [first], []
    listed: set[str] = set()
    while queue and len(requested) < LIMIT:
        request = queue.pop(0)
        filters, page = _list_of(request.url)
        view = expected_page(site, uuid, dict(filters), min(page, 10**6), BASE)
        view["page"] = page
        hostile(view)
        # paper pages come from the unfiltered explorer pages (a representative paper from the one listing it)
        on_page = {e["arxiv_id"] or e["pith_id"] for e in view["explorer"]} - {None}
        for entry in (*view["representative"], *view["explorer"]):
            ref = entry["arxiv_id"] or entry["pith_id"]
            if ref in on_page and not view["filters"]:
                listed.add(f"{BASE}/paper/{ref}")
        response = HtmlResponse(request.url, body=_hub_a(view, BASE).encode(), encoding="utf-8", request=request)
        for out in spider.parse_page(response):
            assert not (isinstance(out, Request) and out.callback == spider.parse_paper)  # they wait for idle
            if isinstance(out, Request):
                queue.append(out)
                requested.append(out)
            elif out["kind"] == "quarantine":
                quarantined.append(out)
    papers = [
        spider._paper_request(ref).url for ref in spider.papers_pending
    ]  # asked for once every hub page is done (HubSpider._idle)
    assert len(papers) == len(set(papers))
    if any(q["reason"] == "paper_pages_ceiling" for q in quarantined):
        assert set(papers) < listed
    else:
        assert sorted(papers) == sorted(listed)
    return requested, quarantined, sorted(papers)


@pytest.fixture(scope="module")
def hub():
    site = build_site(hubs=20, seed=7, day=1, density=5)
    # the current template: it shows role and polarity counts, so the hub has filtered lists too
    big = max((h for h in site.hubs if h.template == "current"), key=lambda h: len(h.citations))
    assert len(big.citations) > 100  # several pages in its unfiltered list
    return site, big.uuid


def test_an_honest_hub_is_crawled_whole_and_nothing_is_recorded(hub):
    site, uuid = hub
    requested, quarantined, papers = _crawl(site, uuid, lambda view: None)
    assert {_list_of(r.url) for r in requested} == _every_page(site, uuid)
    assert quarantined == []
    assert papers == _paper_urls(site, uuid)


def test_a_link_to_page_100000_fetches_only_the_declared_pages(hub):
    site, uuid = hub

    def far_link(view: dict[str, Any]) -> None:
        if view["page"] == 1 and not view["filters"]:
            view["page_numbers"] = [*view["page_numbers"], 100_000]

    requested, quarantined, papers = _crawl(site, uuid, far_link)
    assert {_list_of(r.url) for r in requested} == _every_page(site, uuid)
    assert papers == _paper_urls(site, uuid)
    assert [(q["reason"], q["detail"].split(";")[0]) for q in quarantined] == [
        ("past_declared_end", "links page 100000")
    ]


def test_a_next_chain_past_the_declared_end_stops_there(hub):
    site, uuid = hub

    def endless(view: dict[str, Any]) -> None:
        view["next_page"] = view["page"] + 1  # every page says there is one more
        view["page_numbers"] = [n for n in view["page_numbers"] if n <= view["page"] + 1]

    requested, quarantined, papers = _crawl(site, uuid, endless)
    assert {_list_of(r.url) for r in requested} == _every_page(site, uuid)
    assert papers == _paper_urls(site, uuid)
    last = {}
    for filters, page in _every_page(site, uuid):
        last[filters] = max(last.get(filters, 0), page)
    # every paginated list's last page says "next": recorded once, not followed (a one-page list shows no
    # pagination, so no "next" either)
    assert sorted((_list_of(q["url"]), q["reason"], q["detail"]) for q in quarantined) == sorted(
        ((f, n), "past_declared_end", f"next is page {n + 1} of {n} pages") for f, n in last.items() if n > 1
    )


def test_three_thousand_invented_roles_are_not_followed(hub):
    site, uuid = hub
    bound = settings.CITEHUB_MAX_FILTER_VALUES

    made_up = {f"role{i:04d}": 1 for i in range(3000)}

    def invented(view: dict[str, Any]) -> None:
        if view["page"] == 1 and not view["filters"]:
            view["role_summary"] = {**view["role_summary"], **made_up}

    requested, quarantined, papers = _crawl(site, uuid, invented)
    assert papers == _paper_urls(site, uuid)  # every page of the unfiltered list was read
    roles = {f for f, _ in (_list_of(r.url) for r in requested) if f and f[0][0] == "role"}
    assert len(roles) == bound
    assert len(requested) < 3 * bound + 100
    assert [(q["reason"], q["detail"]) for q in quarantined] == [
        ("too_many_filter_values", f"{len(made_up | _roles(site, uuid))} roles; {bound} followed")
    ]


def _roles(site, uuid: str) -> dict[str, int]:
    first = expected_page(site, uuid, {}, 1, BASE)
    return {**first["facets"].get("roles", {}), **first["role_summary"]}


def test_every_hub_has_a_request_ceiling(hub, monkeypatch):
    """A fixed ceiling below what the hub needs: the hub stops there and says so once (it is incomplete)."""
    site, uuid = hub
    monkeypatch.setattr(settings, "CITEHUB_HUB_REQUEST_CEILING", 5)
    requested, quarantined, papers = _crawl(site, uuid, lambda view: None)
    assert len(requested) == 1 + 5  # its first page, then five more
    # the papers those six pages list are all requested (checked by _crawl): the ceiling does not bound them
    assert 0 < len(papers) < len(_paper_urls(site, uuid))
    assert [(q["reason"], q["detail"]) for q in quarantined] == [("request_ceiling", f"5 requests for hub {uuid}")]


def test_the_default_ceiling_follows_the_declared_count_up_to_an_absolute_maximum(hub):
    """3 requests a page (its own, a role list's, a polarity list's), a first page a followed filter value and
    8 more; never past CITEHUB_HUB_REQUEST_MAX, however many pages a page declares (2^31-1 citations would
    otherwise allow 322 million requests)."""
    spider = HubSpider(base_url=BASE)
    assert (settings.CITEHUB_HUB_REQUEST_CEILING, settings.CITEHUB_HUB_REQUEST_MAX) == (0, 2000)
    assert [spider._ceiling(p) for p in (1, 7, 63, 648, 649, 650)] == [59, 77, 245, 2000, 2000, 2000]
    assert spider._ceiling(-(-(2**31 - 1) // 20)) == 2000
    site, uuid = hub
    first = expected_page(site, uuid, {}, 1, BASE)
    pages = max(first["page_numbers"])
    requested, quarantined, _ = _crawl(site, uuid, lambda view: None)
    assert quarantined == [] and len(requested) < 3 * pages + 2 * 24 + 8  # an honest hub stays below it


def test_a_page_declaring_two_billion_citations_stops_at_the_absolute_maximum(hub, monkeypatch):
    """The declared count is the page's word: 2^31-1 citations at 20 a page (107,374,183 pages) make a derived
    ceiling of 322,122,605 requests. The absolute maximum stops the hub there and says so once."""
    site, uuid = hub
    monkeypatch.setattr(settings, "CITEHUB_HUB_REQUEST_MAX", 30)  # the default's rule, at a size a test can run
    huge = 2**31 - 1

    def two_billion(view: dict[str, Any]) -> None:
        view["citing_count"] = huge
        view["page_numbers"] = [1, 2, 3, 107_374_183]
        view["next_page"] = view["page"] + 1

    requested, quarantined, _ = _crawl(site, uuid, two_billion)
    assert len(requested) == 1 + 30
    assert [(q["reason"], q["detail"]) for q in quarantined if q["reason"] == "request_ceiling"] == [
        ("request_ceiling", f"30 requests for hub {uuid}")
    ]


def _invented(count: int) -> list[dict[str, Any]]:
    """`count` citing papers no site has: arXiv ids 2999.00000 on."""
    return [
        {
            "title_raw": f"Invented paper {i}",
            "href": f"{BASE}/paper/2999.{i:05d}",
            "arxiv_id": f"2999.{i:05d}",
            "arxiv_version": 1,
            "pith_id": None,
            "category": "cs.LG",
            "date": "2026-06-17",
            "verdict": "unverdicted",
            "novelty": 7.0,
            "refs": 2,
            "summary_raw": "Made up.",
            "position": i,
        }
        for i in range(count)
    ]


INVENTED = 5000


def test_a_page_listing_5000_invented_papers_queues_only_the_papers_its_hub_declares(hub):
    """Issue 19 audit: with no request budget, a hub page listing 5,000 invented citing papers queued a paper
    page for each (5,106 requests). A hub's pages queue at most the citing papers it declares; the rest are
    recorded once, as a quarantine of no hub (paper pages belong to none)."""
    site, uuid = hub
    declared = expected_page(site, uuid, {}, 1, BASE)["citing_count"]
    invented = _invented(INVENTED)

    def lists_5000(view: dict[str, Any]) -> None:
        if view["page"] == 1 and not view["filters"]:
            view["explorer"] = view["explorer"] + invented

    requested, quarantined, papers = _crawl(site, uuid, lists_5000)
    assert len(papers) == declared < 300
    # the first `declared` new papers page 1 lists, in its order (representative block, then explorer)
    first = expected_page(site, uuid, {}, 1, BASE)
    entries = (*first["representative"], *first["explorer"], *invented)
    on_page = {e["arxiv_id"] or e["pith_id"] for e in (*first["explorer"], *invented)} - {None}  # no id: no page
    listed = [e["arxiv_id"] or e["pith_id"] for e in entries if (e["arxiv_id"] or e["pith_id"]) in on_page]
    assert papers == sorted(f"{BASE}/paper/{ref}" for ref in list(dict.fromkeys(listed))[:declared])
    assert [(q["reason"], q["hub_uuid"], q["detail"]) for q in quarantined if q["reason"] == "paper_pages_ceiling"] == [
        ("paper_pages_ceiling", None, f"{declared} paper pages for hub {uuid} ({declared} citing papers declared)")
    ]


def test_paper_pages_stop_at_the_absolute_maximum_and_the_hub_stays_complete(hub, monkeypatch):
    """CITEHUB_HUB_PAPER_PAGES_MAX bounds a hub that declares more than it: exactly that many paper pages, in
    the order its pages list them; its own pages are all fetched and nothing records it incomplete."""
    site, uuid = hub
    monkeypatch.setattr(settings, "CITEHUB_HUB_PAPER_PAGES_MAX", 10)
    requested, quarantined, papers = _crawl(site, uuid, lambda view: None)
    assert {_list_of(r.url) for r in requested} == _every_page(site, uuid)
    assert len(papers) == 10
    assert set(papers) < set(_paper_urls(site, uuid))
    declared = expected_page(site, uuid, {}, 1, BASE)["citing_count"]
    assert [(q["reason"], q["hub_uuid"], q["detail"]) for q in quarantined] == [
        ("paper_pages_ceiling", None, f"10 paper pages for hub {uuid} ({declared} citing papers declared)")
    ]


# -- the hostile page over real HTTP, in a real `scrapy crawl` -------------------------------------------------


class _ListsInventedPapers(SampleSiteServer):
    """The sample site, but one hub's first page lists INVENTED more citing papers (their pages answer 404)."""

    hostile = ""

    def _respond(self, path: str, query: str):
        if path == f"/citations/{self.hostile}" and not query:
            view = expected_page(self.site, self.hostile, {}, 1, self.base_url)
            view["explorer"] = view["explorer"] + [
                {**e, "href": e["href"].replace(BASE, self.base_url)} for e in _invented(INVENTED)
            ]
            return self._ok(_hub_a(view, self.base_url).encode(), "text/html; charset=utf-8")
        return super()._respond(path, query)


@pytest.mark.slow
def test_a_crawl_of_the_5000_paper_page_requests_only_the_declared_papers(tmp_path: Path):
    site = build_site(hubs=20, seed=7, day=1)
    hostile = max((h for h in site.hubs if h.template == "current"), key=lambda h: len(h.citations)).uuid
    server = _ListsInventedPapers(site, ("127.0.0.1", 0))
    server.hostile = hostile
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        base = server.base_url
        result = run_crawl(
            "hostile",
            tmp_path / "hostile",
            base,
            [f"{base}/citations/{hostile}"],
            allowed_hosts_for(base),
            extra_settings={"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "5", "CITEHUB_RETRY_BACKOFF": "0"},
        )
        page = parse_hub_page(server.respond(f"/citations/{hostile}", "").body, f"{base}/citations/{hostile}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    items = [json.loads(line) for line in result.items_path.read_text(encoding="utf-8").splitlines()]
    stats = result.stats
    declared = page.citing_count
    assert len(page.explorer) == INVENTED + min(declared, 20)
    # exactly the first `declared` papers page 1 lists, each once, in no hub
    refs = [paper_ref(e.arxiv_id, e.pith_id) for e in (*page.representative, *page.explorer)]
    on_page = {paper_ref(e.arxiv_id, e.pith_id) for e in page.explorer} - {None}
    expected = list(dict.fromkeys(r for r in refs if r in on_page))[:declared]
    paper_fetches = [i for i in items if i["kind"] == "fetch" and "/paper/" in i["url"]]
    assert sorted(f["url"] for f in paper_fetches) == sorted(base + paper_path(r) for r in expected)
    assert {f["hub_uuid"] for f in paper_fetches} == {None}
    assert stats["citehub/papers/requested"] == declared
    assert stats["citehub/hubs/paper_ceiling"] == 1
    assert stats["citehub/papers/not_followed"] == len(on_page) - declared  # each paper page 1 lists past it
    quarantines = [(q["reason"], q["hub_uuid"], q["detail"]) for q in items if q["kind"] == "quarantine"]
    assert (
        "paper_pages_ceiling",
        None,
        f"{declared} paper pages for hub {hostile} ({declared} citing papers declared)",
    ) in quarantines
    # everything else the crawl sent: robots.txt, the twin and the hub's own pages
    hub_fetches = [i for i in items if i["kind"] == "fetch" and "/paper/" not in i["url"]]
    assert stats["downloader/request_count"] == 1 + len(hub_fetches) + declared
    assert stats["downloader/request_count"] < 100  # 5,000 paper pages and more before the paper ceiling
