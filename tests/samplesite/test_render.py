from __future__ import annotations

import re

import lxml.html
import pytest

from samplesite.render import expected_page, markup_for, render_hub_html, render_hub_json, render_paper_html
from samplesite.view import page_numbers

BASE = "http://127.0.0.1:9"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", lxml.html.document_fromstring(html).body.text_content())


def biggest(site, template="current"):
    return max((h for h in site.hubs if h.template == template), key=lambda h: len(h.citations))


def test_page_numbers_rule():
    assert page_numbers(1, 1) == [] and page_numbers(1, 7) == [1, 2, 3, 4, 5, 6, 7]
    assert page_numbers(1, 9) == [1, 2, 3, 9]
    assert page_numbers(5, 9) == [1, 2, 3, 4, 5, 6, 9]
    assert page_numbers(9, 9) == [1, 2, 3, 8, 9]
    assert page_numbers(12, 9) == [1, 2, 3, 9]  # past the end


def test_expected_page_paginates_and_filters(site, site_truth):
    hub = biggest(site)
    n = len(hub.citations)
    last = -(-n // 20)
    seen = []
    for page in range(1, last + 2):
        view = expected_page(site, hub.uuid, {}, page, BASE)
        seen += [e["title_raw"] for e in view["explorer"]]
        assert view["next_page"] == (page + 1 if page < last else None)
        assert [e["position"] for e in view["explorer"]] == list(range(len(view["explorer"])))
    assert len(seen) == n
    assert view["explorer"] == [] and view["page"] == last + 1  # past the end: heading, no entries
    truth_hub = next(h for h in site_truth["hubs"] if h["uuid"] == hub.uuid)
    for role, count in truth_hub["role_summary"].items():
        listed = sum(
            len(expected_page(site, hub.uuid, {"role": role}, p, BASE)["explorer"]) for p in range(1, count // 20 + 2)
        )
        assert listed == count
    verdict, count = next(iter(truth_hub["facets"]["verdicts"].items()))
    view = expected_page(site, hub.uuid, {"verdict": verdict, "page": "ignored", "x": "y"}, 1, BASE)
    assert view["filters"] == {"verdict": verdict}
    assert all(e["verdict"] == verdict.lower() for e in view["explorer"] + view["representative"])
    assert view["citing_count"] == n and view["facets"] == {k: v for k, v in truth_hub["facets"].items() if v}


@pytest.mark.parametrize("markup", ["a", "b"])
def test_both_markups_show_the_expected_content(site, markup):
    hub = biggest(site)
    view = expected_page(site, hub.uuid, {"role": "background"}, 2, BASE)
    html = render_hub_html(site, hub.uuid, {"role": "background"}, 2, markup, BASE)
    text = text_of(html)
    for key in ("headline", "title_raw"):
        assert view[key] in text
    assert f"{view['citing_count']:,} Pith papers citing it" in text
    assert "clear filters" in text and "representative citing papers" in text
    position = text.index("citing papers explorer")
    for item in view["explorer"]:
        position = text.index(item["title_raw"], position)
    doc = lxml.html.document_fromstring(html)
    doc.make_links_absolute(f"{BASE}/citations/{hub.uuid}?role=background&page=2")
    hrefs = [a.get("href") for a in doc.iter("a")]
    for item in view["explorer"] + view["representative"]:
        assert item["href"] is None or item["href"] in hrefs
    assert f"{BASE}/citations/{hub.uuid}?role=background&page=3" in hrefs or view["next_page"] is None


@pytest.mark.parametrize("markup", ["a", "b"])
def test_legacy_template_and_html_escaping(site, markup):
    hub = biggest(site, "legacy")
    text = text_of(render_hub_html(site, hub.uuid, {}, 1, markup, BASE))
    n = len(hub.citations)
    assert f"{n:,} Pith papers cite this work. Polarity classification is still indexing." in text
    for absent in ("hub tools", "citation-role summary", "fields", "Pith papers citing it"):
        assert absent not in text
    hostile = next(p for p in site.papers if p.title.startswith("Why A < B"))
    host = next(h for h in site.hubs if any(c.paper_key == hostile.key for c in h.citations))
    pages = [render_hub_html(site, host.uuid, {}, p, markup, BASE) for p in range(1, len(host.citations) // 20 + 2)]
    assert not any("A < B & C > D" in html for html in pages)  # escaped in the markup ...
    assert any(hostile.title_raw in text_of(html) for html in pages)  # ... and shown as written


def test_markup_for_is_stable_and_mixed(site):
    chosen = [markup_for(h.uuid) for h in site.hubs]
    assert chosen == [markup_for(h.uuid) for h in site.hubs] and set(chosen) == {"a", "b"}


def test_json_twin_and_paper_page(site):
    hub = biggest(site)
    twin = render_hub_json(site, hub.uuid)
    assert twin["work"]["id"] == hub.uuid and twin["work"]["title"] == hub.title
    assert twin["hub"]["state"]["pith_inbound_count"] == len(hub.citations)
    assert twin["hub"]["state"]["tier"] == "super_hub"
    shared = max(site.papers, key=lambda p: len(site.citations_of_paper(p.key)))
    ref = {"pith": shared.pith_id}.get(shared.link_style, shared.arxiv_id)
    html = render_paper_html(site, ref)
    doc = lxml.html.document_fromstring(html)
    linked = {a.get("href") for a in doc.iter("a")}
    assert linked == {f"/citations/{c.hub_uuid}" for c in site.citations_of_paper(shared.key)}
    assert len(linked) >= 10
    assert render_paper_html(site, "9999.99999") is None
