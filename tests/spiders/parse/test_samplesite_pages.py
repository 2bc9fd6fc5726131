"""Every page a small generated sample site links, in both markups, parsed and compared with the site's
own expectation (`samplesite.render.expected_page`): the parser's strongest test."""

from __future__ import annotations

from functools import lru_cache

import pytest

from samplesite.generator import build_site
from samplesite.render import expected_page, render_hub_html
from spiders.parse.hub_html import parse_hub_page

BASE_URL = "http://127.0.0.1:8000"
HUBS = 30
FACET_FILTER = {"fields": "cat", "years": "year", "verdicts": "verdict", "roles": "role", "polarities": "polarity"}


@lru_cache(maxsize=1)
def site():
    return build_site(hubs=HUBS, seed=7, day=1)


def linked_pages(hub_uuid: str) -> list[tuple[dict[str, str], int]]:
    """(filters, page) of the bare hub, every facet filter it links, and every explorer page of each."""
    bare = expected_page(site(), hub_uuid, {}, 1, BASE_URL)
    filter_sets = [{}] + [{FACET_FILTER[name]: value} for name, pairs in bare["facets"].items() for value in pairs]
    out = []
    for filters in filter_sets:
        first = expected_page(site(), hub_uuid, filters, 1, BASE_URL)
        last = max(first["page_numbers"], default=1)
        out += [(filters, page) for page in range(1, last + 1)]
    return out


def page_url(hub_uuid: str, filters: dict[str, str], page: int) -> str:
    query = "&".join(f"{k}={v}" for k, v in {**filters, **({"page": str(page)} if page > 1 else {})}.items())
    return f"{BASE_URL}/citations/{hub_uuid}" + (f"?{query}" if query else "")


@pytest.mark.parametrize("markup", ["a", "b"])
@pytest.mark.parametrize("hub_index", range(HUBS))
def test_every_linked_page_parses_to_what_the_site_shows(hub_index: int, markup: str) -> None:
    hub_uuid = site().hubs[hub_index].uuid
    pages = linked_pages(hub_uuid)
    assert pages
    for filters, page in pages:
        html = render_hub_html(site(), hub_uuid, filters, page, markup, BASE_URL)
        got = parse_hub_page(html.encode("utf-8"), page_url(hub_uuid, filters, page), "utf-8").to_dict()
        assert got == expected_page(site(), hub_uuid, filters, page, BASE_URL), (markup, filters, page)
