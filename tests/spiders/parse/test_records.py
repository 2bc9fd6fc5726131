"""HubPage.to_dict copies by the fields' shapes instead of dataclasses.asdict: it must return exactly what
asdict returns, sharing no list or dict with the page."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from samplesite.generator import build_site
from samplesite.render import render_hub_html
from spiders.parse.hub_html import parse_hub_page
from spiders.parse.records import CitingEntry, HubPage
from tests.spiders.parse.test_fixtures import CASES, FIXTURES

BASE_URL = "http://127.0.0.1:8000"


def fixture_pages() -> list[HubPage]:
    pages = []
    for case in CASES:
        folder = FIXTURES / case
        if (folder / "body.html").exists() and "error" not in (folder / "expected.json").read_text():
            url = (folder / "url.txt").read_text(encoding="utf-8").strip()
            pages.append(parse_hub_page((folder / "body.html").read_bytes(), url))
    return pages


def site_pages() -> list[HubPage]:
    site = build_site(hubs=12, seed=5, day=2, hostile=True)
    return [
        parse_hub_page(
            render_hub_html(site, h.uuid, {}, 1, markup, BASE_URL).encode(), f"{BASE_URL}/citations/{h.uuid}", "utf-8"
        )
        for h in site.hubs
        for markup in ("a", "b")
    ]


def test_to_dict_equals_asdict_on_every_fixture_and_sample_page() -> None:
    pages = fixture_pages() + site_pages()
    assert len(pages) >= 30
    assert sum(len(p.explorer) + len(p.representative) for p in pages) > 100  # entries are covered
    assert any(p.facets for p in pages) and any(p.filters for p in fixture_pages())
    for page in pages:
        got = page.to_dict()
        assert got == asdict(page)
        assert list(got) == list(asdict(page))  # same key order: items.jsonl lines stay byte-identical


def test_to_dict_shares_no_container_with_the_page() -> None:
    page = HubPage(
        hub_uuid="u",
        template="current",
        tier="hub",
        label=None,
        title_raw="T",
        headline=None,
        headline_role=None,
        headline_share=None,
        citing_count=2,
        abstract_raw=None,
        role_summary={"method": 1},
        facets={"fields": {"cs.LG": 2}},
        claims=["c"],
        explorer=[CitingEntry(title_raw="A", novelty=0.5)],
        filters={"cat": "cs.LG"},
        page_numbers=[1, 2],
    )
    before = asdict(page)
    out = page.to_dict()
    out["role_summary"]["method"] = 9
    out["facets"]["fields"]["cs.LG"] = 9
    out["claims"].append("x")
    out["explorer"][0]["title_raw"] = "B"
    out["filters"].clear()
    out["page_numbers"].append(3)
    assert asdict(page) == before


@pytest.mark.parametrize("value", [("a", 1), {1, 2}, b"x"])
def test_a_value_of_another_type_is_deep_copied_as_asdict_would(value) -> None:
    page = HubPage(
        hub_uuid="u",
        template="current",
        tier=None,
        label=None,
        title_raw=None,
        headline=None,
        headline_role=None,
        headline_share=None,
        citing_count=0,
        abstract_raw=None,
    )
    page.claims = [value]
    assert page.to_dict()["claims"] == asdict(page)["claims"] == [value]


def test_item_kinds_and_fetch_outcomes_agree_with_the_tables():
    """The typed items (spiders/parse, below the schema) and the tables' check constraints name the same
    values: each room keeps its own list, this keeps them one."""
    from typing import get_args

    from schema.tables import FETCH_OUTCOMES
    from schema.tables import ITEM_KINDS as TABLE_KINDS
    from spiders.parse.items import ITEM_KINDS, FetchOutcome

    assert sorted(ITEM_KINDS) == sorted(TABLE_KINDS)
    assert get_args(FetchOutcome) == FETCH_OUTCOMES
