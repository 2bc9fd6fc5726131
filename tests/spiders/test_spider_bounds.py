"""A hub page cannot make the crawl run away (issue 19): pages to fetch come from the declared count, a link
or a "next" chain past the declared end is recorded and not followed, invented facet values past a small
bound are recorded and not followed, and every hub has a request ceiling. Each test drives the spider's
real callbacks over the sample site's pages, made hostile in one respect. The paper pages of the papers the
fetched pages list (discovery, issue 16) are requested once each, outside the hub's ceiling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from samplesite.generator import build_site
from samplesite.render import _hub_a
from samplesite.view import expected_page
from spiders import settings
from spiders.hub import HubSpider
from tests.spiders.test_spider_navigation import BASE, _every_page, _list_of, _paper_urls

LIMIT = 400  # requests a test lets a crawl make before calling it a runaway


def _crawl(site, uuid: str, hostile: Callable[[dict[str, Any]], None]) -> tuple[list[Request], list[dict], list[str]]:
    """Every hub page request and quarantine item the spider makes over the hub's pages, each page passed
    through `hostile(view)` before it is rendered, and the URLs of the paper pages it requests (sorted). Those
    are checked here: exactly one for each paper with an id that a rendered page lists."""
    spider = HubSpider(base_url=BASE)
    first = spider._page(f"{BASE}/citations/{uuid}", uuid, {}, 1)
    queue, requested, quarantined = [first], [first], []
    listed: set[str] = set()
    while queue and len(requested) < LIMIT:
        request = queue.pop(0)
        filters, page = _list_of(request.url)
        view = expected_page(site, uuid, dict(filters), min(page, 10**6), BASE)
        view["page"] = page
        hostile(view)
        for entry in (*view["representative"], *view["explorer"]):
            if entry["arxiv_id"] or entry["pith_id"]:
                listed.add(f"{BASE}/paper/{entry['arxiv_id'] or entry['pith_id']}")
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
