"""parse_hub_page on small hand-written pages: errors with their reasons, and the edges of the content model."""

from __future__ import annotations

import pytest

from spiders.parse.hub_html import parse_hub_page
from spiders.parse.records import ParseError

UUID = "0426219a-789e-4964-adc8-a04538510818"
URL = f"https://pith.science/citations/{UUID}"


def page(header: str, sections: str = "", explorer: str = "") -> str:
    return (
        f"<html><body><div>{header}</div>{sections}"
        f"<section><h2>citing papers explorer</h2><ul>{explorer}</ul></section></body></html>"
    )


CURRENT = page(
    "<p>hub Tool reference</p><h1>LoRA</h1>"
    "<p>Tool reference. 78% of classified Pith citations use this work as a method, library, or software "
    "dependency.</p><p>1,204 Pith papers citing it</p><p>Method 78% of classified citations</p>",
    "<h3>citation-role summary</h3><p>method 7 background 2</p><h3>citation-polarity summary</h3>",
    '<li><a href="/paper/2406.01234v2">A title</a><p>cs.LG · 2026-06-17 · accept · novelty 7.0 · 2 refs</p>'
    "<p>A summary.</p></li>",
)


def reason(body, url: str = URL) -> str:
    with pytest.raises(ParseError) as err:
        parse_hub_page(body, url)
    return err.value.reason


def test_a_current_page_parses() -> None:
    hub = parse_hub_page(CURRENT, URL)
    assert (hub.tier, hub.label, hub.title_raw, hub.citing_count) == ("hub", "Tool reference", "LoRA", 1204)
    assert (hub.headline_role, hub.headline_share, hub.role_summary) == ("method", 78.0, {"method": 7, "background": 2})
    assert [(e.arxiv_id, e.arxiv_version, e.verdict, e.novelty, e.refs) for e in hub.explorer] == [
        ("2406.01234", 2, "accept", 7.0, 2)
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://pith.science/paper/2406.01234",
        f"https://pith.science/citations/{UUID}.json",
        "https://pith.science/citations/not-a-uuid",
        f"https://pith.science/citations/{UUID}?page=0",
    ],
)
def test_not_a_hub_url(url: str) -> None:
    assert reason(CURRENT, url) == "not_a_hub_url"


@pytest.mark.parametrize("body", [b"", "   \n", b"<html><body></body></html>"])
def test_empty_body(body) -> None:
    assert reason(body) == "empty_body"


def test_missing_count() -> None:
    assert reason(CURRENT.replace("1,204 Pith papers citing it", "")) == "missing_count"


def test_missing_explorer() -> None:
    assert reason(CURRENT.replace("citing papers explorer", "citing papers")) == "missing_explorer"


def test_rate_limited_text() -> None:
    body = "<html><body><h1>Too Many Requests</h1><p>You are being rate limited. Try again later.</p></body></html>"
    assert reason(body) == "rate_limited_text"


def test_a_hub_about_rate_limiting_is_not_rate_limited() -> None:
    body = CURRENT.replace("<h1>LoRA</h1>", "<h1>Rate limiting in networks</h1>")
    assert parse_hub_page(body, URL).title_raw == "Rate limiting in networks"


def test_bad_meta() -> None:
    assert reason(CURRENT.replace("2026-06-17", "June 17")) == "bad_meta"
    assert reason(CURRENT.replace("novelty 7.0", "novelty high")) == "bad_meta"


@pytest.mark.parametrize("body", [b"\x00\xff\xfe garbage \x89PNG", "<<<>>> <div <p>>>", '{"work": {}}'])
def test_garbage_is_missing_count(body) -> None:
    assert reason(body) == "missing_count"


def test_truncated_page_raises() -> None:
    # Cut inside the explorer: the last entry's title would be cut too, so nothing is returned.
    cut = CURRENT.encode()[: CURRENT.index("A title") + 3]
    assert reason(cut) == "truncated"


def test_truncated_before_the_count_raises_too() -> None:
    assert reason(CURRENT[:60]) == "truncated"


def test_singular_count_and_legacy_singular() -> None:
    assert parse_hub_page(CURRENT.replace("1,204 Pith papers", "1 Pith paper"), URL).citing_count == 1
    legacy = page(
        "<p>hub</p><h1>Old</h1><p>1 Pith paper cites this work. Polarity classification is still indexing.</p>"
    )
    hub = parse_hub_page(legacy, URL)
    assert (hub.template, hub.tier, hub.label, hub.citing_count, hub.explorer) == ("legacy", "hub", None, 1, [])


def test_thousands_separators_everywhere() -> None:
    body = CURRENT.replace("method 7 background 2", "method 12,345 background 1,204").replace("2 refs", "1,020 refs")
    hub = parse_hub_page(body, URL)
    assert hub.role_summary == {"method": 12345, "background": 1204}
    assert hub.explorer[0].refs == 1020


def test_unknown_vocabulary_is_kept() -> None:
    body = (
        CURRENT.replace("hub Tool reference", "super hub Survey reference")
        .replace("Tool reference. 78%", "Survey reference. 78%")
        .replace("method 7 background 2", "related-work 7 method 2")
        .replace("cs.LG · 2026-06-17 · accept", "q-fin.ST · 2026-06-17 · Needs-Revision")
    )
    hub = parse_hub_page(body, URL)
    assert (hub.tier, hub.label) == ("super_hub", "Survey reference")
    assert hub.role_summary == {"related-work": 7, "method": 2}
    assert (hub.explorer[0].category, hub.explorer[0].verdict) == ("q-fin.ST", "needs-revision")


def test_unknown_label_on_a_stub_read_from_the_headline() -> None:
    body = CURRENT.replace("hub Tool reference", "Benchmark suite").replace(
        "Tool reference. 78%", "Benchmark suite. 78%"
    )
    hub = parse_hub_page(body, URL)
    assert (hub.tier, hub.label, hub.title_raw) == (None, "Benchmark suite", "LoRA")


def test_novelty_none_and_one_ref() -> None:
    hub = parse_hub_page(CURRENT.replace("novelty 7.0 · 2 refs", "novelty none · 1 ref"), URL)
    assert (hub.explorer[0].novelty, hub.explorer[0].refs) == (None, 1)


def test_headline_share_from_the_headline_when_there_is_no_stat_line() -> None:
    body = CURRENT.replace("<p>Method 78% of classified citations</p>", "")
    hub = parse_hub_page(body, URL)
    assert (hub.headline_role, hub.headline_share) == ("method", 78.0)


@pytest.mark.parametrize("headline", [True, False])
def test_the_tool_reference_stat_line_names_the_role_not_the_word_reference(headline: bool) -> None:
    # Real "Tool reference" hubs read "Method reference 78% of classified citations" (SITE.md): the role is
    # the word before the qualifier, whether or not a headline is there to say it too.
    body = CURRENT.replace("<p>Method 78% of classified", "<p>Method reference 78% of classified")
    if not headline:
        body = body.replace("<p>Tool reference. 78% of classified Pith citations", "<p>")
    hub = parse_hub_page(body, URL)
    assert (hub.headline is not None, hub.headline_role, hub.headline_share) == (headline, "method", 78.0)


def test_the_stat_line_still_reads_a_role_without_qualifier_and_a_role_named_reference() -> None:
    assert parse_hub_page(CURRENT, URL).headline_role == "method"
    body = CURRENT.replace("<p>Method 78% of classified", "<p>Dataset References 40.5% of classified")
    assert (parse_hub_page(body, URL).headline_role, parse_hub_page(body, URL).headline_share) == ("dataset", 40.5)
    body = CURRENT.replace("<p>Method 78% of classified", "<p>Reference 78% of classified")
    assert parse_hub_page(body, URL).headline_role == "reference"


LEGACY_SUPER_HUB = page(
    "<p>super hub</p><h1>TensorFlow</h1>"
    "<p>112 Pith papers cite this work. Polarity classification is still indexing.</p>",
    "<h2>hub tools</h2><h3>citation-role summary</h3><p>method 3 background 1</p>",
    '<li><a href="/paper/2605.20202">A title</a><p>cs.DC · 2026-05-07 · conditional · novelty 4.9</p></li>',
)


def test_a_legacy_page_keeps_its_citation_role_summary() -> None:
    # Real legacy pages may carry the role summary (SITE.md's older template): it is the same count of
    # classified citations by role as on the current template, so it goes where that one goes.
    hub = parse_hub_page(LEGACY_SUPER_HUB, URL)
    assert (hub.template, hub.tier, hub.label, hub.citing_count) == ("legacy", "super_hub", None, 112)
    assert (hub.role_summary, hub.classified_count, hub.polarity_summary) == ({"method": 3, "background": 1}, 4, {})
    assert (hub.headline_role, hub.headline_share) == (None, None)
    assert [e.arxiv_id for e in hub.explorer] == ["2605.20202"]


def test_a_legacy_page_without_a_role_summary_has_none() -> None:
    body = LEGACY_SUPER_HUB.replace("<h3>citation-role summary</h3><p>method 3 background 1</p>", "")
    hub = parse_hub_page(body, URL)
    assert (hub.template, hub.role_summary, hub.facets) == ("legacy", {}, {})


def test_filters_and_page_come_from_the_url() -> None:
    hub = parse_hub_page(CURRENT, URL + "?verdict=ACCEPT&role=method&page=3&utm=x")
    assert (hub.filters, hub.page) == ({"verdict": "ACCEPT", "role": "method"}, 3)


def test_encoding_from_the_response_header() -> None:
    body = CURRENT.replace("LoRA", "Schlögl").encode("latin-1")
    assert parse_hub_page(body, URL, encoding="latin-1").title_raw == "Schlögl"


def test_a_footer_after_the_list_is_not_an_entry() -> None:
    body = CURRENT.replace("</section></body>", "</section><footer><p>About Pith</p></footer></body>")
    assert [e.title_raw for e in parse_hub_page(body, URL).explorer] == ["A title"]


def test_encoding_from_a_bom_or_meta_charset_when_the_response_names_none() -> None:
    with_meta = CURRENT.replace("<html>", '<html><head><meta charset="latin-1"></head>').replace("LoRA", "Schlögl")
    assert parse_hub_page(with_meta.encode("latin-1"), URL).title_raw == "Schlögl"
    with_bom = "\ufeff" + CURRENT.replace("LoRA", "Gödel")
    assert parse_hub_page(with_bom.encode("utf-8"), URL).title_raw == "Gödel"
    assert parse_hub_page(with_bom.encode("utf-8"), URL, encoding="utf-8").title_raw == "Gödel"


def test_comments_are_invisible_but_the_text_around_them_is_not() -> None:
    body = CURRENT.replace("<h1>LoRA</h1>", "<h1>Lo<!-- a comment -->RA</h1>")
    assert parse_hub_page(body, URL).title_raw == "LoRA"


def test_a_page_lxml_cannot_read_falls_back_to_beautifulsoup() -> None:
    # libxml2 calls a document of only a comment "empty"; the fallback still finds no visible text.
    assert reason(b"<!-- only a comment -->") == "empty_body"


def test_the_lxml_and_beautifulsoup_walks_agree_on_the_sample_site() -> None:
    from bs4 import BeautifulSoup

    from samplesite.generator import build_site
    from samplesite.render import render_hub_html
    from spiders.parse.hub_html import _flatten, _Flattener

    site = build_site(hubs=12, seed=3, day=1)
    for hub in site.hubs:
        for markup in ("a", "b"):
            html = render_hub_html(site, hub.uuid, {}, 1, markup, "http://127.0.0.1:1")
            url = f"http://127.0.0.1:1/citations/{hub.uuid}"
            fast = _flatten(html, url, None)
            soup = _Flattener(url)
            soup.walk(BeautifulSoup(html, "lxml"))
            soup.flush()
            assert [(b.text, b.links, b.heading) for b in fast.blocks] == [
                (b.text, b.links, b.heading) for b in soup.blocks
            ]
