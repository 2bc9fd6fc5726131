"""HubSpider's navigation over the sample site's pages, callback by callback: every page of every list of a
hub is requested exactly once, without the duplicate filter's help for the pages a list's first page links
(those skip the filter so its fingerprints do not grow with the crawl), and "next" links past what page 1
showed are still followed. Beside them, the paper page of every citing paper the hub lists with an id is
requested once (discovery, issue 16)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from samplesite.generator import build_site
from samplesite.render import _hub_a
from samplesite.view import expected_page
from spiders.hub import HubSpider

BASE = "http://127.0.0.1:8000"


def _list_of(url: str) -> tuple[tuple[tuple[str, str], ...], int]:
    query = dict(parse_qsl(urlsplit(url).query))
    page = int(query.pop("page", "1"))
    return tuple(sorted(query.items())), page


def _paper_urls(site, uuid: str) -> list[str]:
    """The paper page of every paper citing the hub that has an arXiv or pith id (ground truth), sorted."""
    papers = [site.paper(c.paper_key) for c in site.hub(uuid).citations]
    return sorted(f"{BASE}/paper/{p.arxiv_id or p.pith_id}" for p in papers if p.arxiv_id or p.pith_id)


def _crawl(site, uuid: str, window: int | None) -> tuple[list[Request], list[Request]]:
    """Run parse_page over the hub's pages as a crawl would, from page 1 of the unfiltered list; with
    `window`, each page's pagination shows only up to `window` pages after it (a site that elides the end).
    Returns the hub page requests and, apart, the paper page requests (not fed back as hub pages)."""
    spider = HubSpider(base_url=BASE)
    first = spider._page(f"{BASE}/citations/{uuid}", uuid, {}, 1)
    queue, requested, papers = [first], [first], []
    while queue:
        request = queue.pop(0)
        filters, page = _list_of(request.url)
        view = expected_page(site, uuid, dict(filters), page, BASE)
        if window is not None:
            view["page_numbers"] = [n for n in view["page_numbers"] if n <= page + window]
            view["next_page"] = page + 1 if view["next_page"] else None
        response = HtmlResponse(request.url, body=_hub_a(view, BASE).encode(), encoding="utf-8", request=request)
        for out in spider.parse_page(response):
            assert not (isinstance(out, Request) and out.callback == spider.parse_paper)  # they wait for idle
            if isinstance(out, Request):
                queue.append(out)
                requested.append(out)
    # paper pages wait until every hub page is done (HubSpider._idle)
    papers = [r for r in map(spider._paper_request, spider.papers_pending) if r.callback == spider.parse_paper]
    return requested, papers


def _every_page(site, uuid: str) -> set[tuple]:
    first = expected_page(site, uuid, {}, 1, BASE)
    lists = [()]
    for facet, param in (("roles", "role"), ("polarities", "polarity")):
        values = dict(first["facets"].get(facet, {}))
        values.update(first["role_summary"] if facet == "roles" else first["polarity_summary"])
        lists += [((param, v),) for v in values]
    pages = set()
    for filters in lists:
        total = max(expected_page(site, uuid, dict(filters), 1, BASE)["page_numbers"] or [1])
        pages |= {(filters, n) for n in range(1, total + 1)}
    return pages


@pytest.fixture(scope="module")
def big_hub():
    site = build_site(hubs=20, seed=7, day=1, density=5)
    hub = max(site.hubs, key=lambda h: len(h.citations))
    assert len(hub.citations) > 100  # several pages in its unfiltered list
    return site, hub.uuid


@pytest.mark.parametrize("window", [None, 1])
def test_every_page_of_every_list_is_requested_once(big_hub, window):
    site, uuid = big_hub
    requested, papers = _crawl(site, uuid, window)
    pages = [_list_of(r.url) for r in requested]
    assert len(pages) == len(set(pages))  # no page asked for twice, with no duplicate filter at all
    assert set(pages) == _every_page(site, uuid)
    assert sorted(r.url for r in papers) == _paper_urls(site, uuid)  # each paper once, however often listed


def test_only_pages_found_by_next_go_through_the_duplicate_filter(big_hub):
    site, uuid = big_hub
    linked, papers = _crawl(site, uuid, None)  # page 1 shows every page of its list
    assert [_list_of(r.url) for r in linked if not r.dont_filter] == [((), 1)]
    elided, _ = _crawl(site, uuid, 1)  # page 1 shows page 2 only: pages 3.. come from "next"
    followed = sorted(_list_of(r.url) for r in elided if not r.dont_filter)
    assert ((), 1) in followed and ((), 3) in followed and ((), 2) not in followed
    # Paper pages go through it too: a shared frontier's workers then fetch a paper listed to several once.
    assert sorted(r.url for r in papers if not r.dont_filter) == _paper_urls(site, uuid)
