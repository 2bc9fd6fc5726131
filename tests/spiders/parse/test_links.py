"""spiders.parse.links: every hub link of a fetched page, by link targets and visible text.

Fixtures are the folders tests/fixtures/parse/links_*/: body.html, url.txt and expected_links.json (a
`LinkScan.to_dict()`). Not `expected.json`: test_fixtures.py reads every folder holding an expected.json as a
hub-page fixture. The `links_samplesite_*` folders are written by `python -m tests.spiders.parse.test_links`,
their expectation taken from the sample site's ground truth (never from the parser); `links_*_markup_c|d` are
hand-written markups with hand-checked expectations.
"""

from __future__ import annotations

import json
import random
import time
import uuid as uuidlib
from pathlib import Path

import pytest

from samplesite.generator import build_site
from samplesite.growth import GrowthModel
from samplesite.model import Site
from samplesite.render import render_hub_html, render_paper_html
from samplesite.truth import linked, visible
from samplesite.view import co_cited, paper_path
from spiders.parse import links
from spiders.parse.items import LinksItem
from spiders.parse.links import MAX_BAD, MAX_HREF, MAX_LINKS, MAX_TEXT, BadLink, HubLink, LinkScan, hub_links

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "parse"
CASES = sorted(p.name for p in FIXTURES.glob("links_*") if (p / "expected_links.json").exists())
ALLOWED = ("pith.science", "www.pith.science")
BASE = "https://pith.science"
HUB = "dae37f2b-32da-4f0a-9478-5e06e96fa213"  # the page's own hub where a test needs one
GPT3 = "214732c0-2edd-44a0-af9e-28184a2b8279"
CLIP = "6de86bb5-27bd-4d5c-8b89-967ebfc52659"
LORA = "0426219a-789e-4964-adc8-a04538510818"
# The sample site the samplesite fixtures come from: hostile titles, growth model (co-cited blocks).
SITE_ARGS = {"hubs": 60, "seed": 3, "day": 20, "hostile": True, "growth": GrowthModel()}


def scan(html: str | bytes, url: str = f"{BASE}/paper/2401.00001") -> LinkScan:
    return hub_links(html, url, ALLOWED)


def brief(result: LinkScan) -> list[tuple[str, str, str]]:
    return [(h.hub_uuid, h.block, h.text) for h in result.hubs]


# -- fixtures -----------------------------------------------------------------------------------------------


def load_case(case: str) -> tuple[bytes, str, dict]:
    folder = FIXTURES / case
    url = (folder / "url.txt").read_text(encoding="utf-8").strip()
    expected = json.loads((folder / "expected_links.json").read_text(encoding="utf-8"))
    return (folder / "body.html").read_bytes(), url, expected


def test_the_fixture_set_is_complete() -> None:
    assert {
        "links_samplesite_paper",
        "links_samplesite_cocited_a",
        "links_samplesite_cocited_b",
        "links_hostile_markup_c",
        "links_paper_markup_d",
    } <= set(CASES)
    # None of them may look like a hub-page fixture to test_fixtures.py.
    assert not any((FIXTURES / case / "expected.json").exists() for case in CASES)


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str) -> None:
    body, url, expected = load_case(case)
    got = hub_links(body, url, ALLOWED)
    assert got.to_dict() == expected
    # The payload a `links` item carries validates as one.
    LinksItem(kind="links", url=url, fetched_at="2026-06-01T00:00:00Z", **got.to_dict())


@pytest.mark.parametrize("case", CASES)
def test_the_fallback_tokenizer_reads_every_fixture_alike(case: str) -> None:
    """Pages libxml2 gives up on go through links._tokenize: on ordinary pages it must agree with lxml."""
    body, url, expected = load_case(case)
    text = links._decode(body)
    assert links._scan_tokens(text, url, links._host_keys(ALLOWED)).to_dict() == expected


def test_hostile_markup_fixture_says_what_it_tests() -> None:
    """links_hostile_markup_c, reason by reason (the exact output is its expected_links.json)."""
    body, url, _ = load_case("links_hostile_markup_c")
    got = hub_links(body, url, ALLOWED)
    blocks = {h.hub_uuid: h.block for h in got.hubs}
    assert blocks[GPT3] == "other"  # first seen in the nav (resolved against <base>), again in the block
    assert blocks[LORA] == "co_cited"  # a scheme-relative link to the .json twin
    assert HUB not in blocks  # the page's own hub: ?role=...&page=2, ?cat=, .json twin, clear filters
    assert "9bce40c8-cfd7-4983-80e0-c3bd4402322a" not in blocks  # inside <template>
    assert "745b4799-6ac4-4abe-924f-78bf0a08ffa1" not in blocks  # inside <script>
    assert sorted({b.reason for b in got.bad}) == ["malformed_uuid", "off_site", "unsupported_scheme"]
    assert all(h.url == f"{BASE}/citations/{h.hub_uuid}" for h in got.hubs)  # www and :443 canonical


# -- the sample site: every page, against its ground truth ----------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Site:
    return build_site(**SITE_ARGS)


def _text(title: str) -> str:
    return " ".join((visible(title) or "").split())


def cocited_truth(site: Site, hub_uuid: str) -> list[tuple[str, str, str]]:
    return [(w["uuid"], "co_cited", _text(w["title_raw"])) for w in co_cited(site, hub_uuid)]


def references_truth(site: Site, paper_key: str) -> list[tuple[str, str, str]]:
    hubs = dict.fromkeys(c.hub_uuid for c in site.citations_of_paper(paper_key))
    return [(u, "references", _text(site.hub(u).title_raw)) for u in hubs]


def paper_ref(path: str) -> str:
    return path.split("/", 3)[3] if path.startswith("/ref/") else path.split("/", 2)[2]


def test_every_sample_hub_page_lists_its_co_cited_works(site: Site) -> None:
    checked = 0
    for hub in site.hubs:
        expected = cocited_truth(site, hub.uuid)
        for markup, host in (("a", "pith.science"), ("b", "www.pith.science")):
            for filters, page in (({}, 1), ({"page": "2"}, 2)):
                html = render_hub_html(site, hub.uuid, filters, page, markup, BASE)
                got = hub_links(html, f"https://{host}/citations/{hub.uuid}", ALLOWED)
                assert brief(got) == expected, (hub.uuid, markup, page)
                assert got.bad == [] and got.dropped == 0
                assert all(h.url == f"{BASE}/citations/{h.hub_uuid}" for h in got.hubs)
                checked += bool(expected)
    assert checked > 100


def test_every_sample_paper_page_lists_its_references(site: Site) -> None:
    checked = 0
    for paper in site.papers:
        path = paper_path(paper, None)
        if not linked(paper.key) or path is None:
            continue
        html = render_paper_html(site, paper_ref(path))
        assert html is not None
        got = hub_links(html.encode(), BASE + path, ALLOWED)
        assert brief(got) == references_truth(site, paper.key), path
        assert got.bad == [] and got.dropped == 0
        checked += 1
    assert checked > 100


# -- sections -----------------------------------------------------------------------------------------------


def test_a_heading_written_inline_before_its_links() -> None:
    html = f"""<p><b>Co-cited works:</b> <a href="/citations/{GPT3}">GPT-3</a>, <a href="/citations/{CLIP}">CLIP</a></p>
    <p><a href="/citations/{LORA}">LoRA</a></p>"""
    assert brief(scan(html)) == [(GPT3, "co_cited", "GPT-3"), (CLIP, "co_cited", "CLIP"), (LORA, "other", "LoRA")]


def test_a_heading_in_running_text_is_no_heading() -> None:
    html = f'<p>See the references below: <a href="/citations/{GPT3}">GPT-3</a></p><p>references</p>'
    assert brief(scan(html)) == [(GPT3, "other", "GPT-3")]


def test_a_section_ends_at_the_next_heading_the_hub_parser_knows() -> None:
    html = f"""<main><h2>co-cited works</h2><a href="/citations/{GPT3}">GPT-3</a>
    <h2>representative citing papers</h2><a href="/citations/{CLIP}">CLIP</a></main>"""
    assert brief(scan(html)) == [(GPT3, "co_cited", "GPT-3"), (CLIP, "other", "CLIP")]


def test_a_section_ends_with_the_element_holding_heading_and_list() -> None:
    html = f"""<div><div><span>References (2)</span></div><ol><li><a href="/citations/{GPT3}">GPT-3</a></li></ol></div>
    <footer><a href="/citations/{CLIP}">CLIP</a></footer>"""
    assert brief(scan(html)) == [(GPT3, "references", "GPT-3"), (CLIP, "other", "CLIP")]


def test_headings_inside_entries_do_not_end_the_list_but_a_sibling_heading_does() -> None:
    html = f"""<body><h2>References</h2>
    <ol><li><h4>Language Models are Few-Shot Learners</h4><a href="/citations/{GPT3}">hub</a></li>
        <li><h4>CLIP</h4><a href="/citations/{CLIP}">hub</a></li></ol>
    <h2>Related hubs</h2><p><a href="/citations/{LORA}">LoRA</a></p></body>"""
    assert brief(scan(html)) == [(GPT3, "references", "hub"), (CLIP, "references", "hub"), (LORA, "other", "LoRA")]


def test_first_occurrence_wins_with_its_block() -> None:
    html = f"""<nav><a href="/citations/{GPT3}">nav</a></nav>
    <section><h3>co-cited works</h3><a href="/citations/{GPT3}">in block</a><a href="/citations/{CLIP}">CLIP</a></section>"""
    assert brief(scan(html)) == [(GPT3, "other", "nav"), (CLIP, "co_cited", "CLIP")]


# -- links --------------------------------------------------------------------------------------------------


def test_links_to_the_pages_own_hub_are_skipped_silently() -> None:
    url = f"{BASE}/citations/{HUB}?role=method"
    html = f"""<a href="?page=2">2</a> <a href="?role=method&amp;page=3">3</a> <a href="/citations/{HUB}.json">json</a>
    <a href="https://www.pith.science/citations/{HUB.upper()}/">www</a> <a href="/citations/{HUB}">clear filters</a>
    <a href="/citations/{GPT3}?page=2">GPT-3, page 2</a>"""
    got = hub_links(html, url, ALLOWED)
    assert brief(got) == [(GPT3, "other", "GPT-3, page 2")] and got.bad == [] and got.dropped == 0


def test_resolution_hosts_and_canonical_urls() -> None:
    html = f"""<base href="http://WWW.pith.science:80/a/b/">
    <a href="../../citations/{GPT3}">1</a> <a href="https://pith.science./citations/{CLIP}#x">2</a>
    <a href="HTTPS://PITH.SCIENCE/x/../citations/{LORA}">3</a> <a href="/c%69tations/{HUB}">4</a>"""
    got = scan(html)
    assert [(h.hub_uuid, h.url) for h in got.hubs] == [(u, f"{BASE}/citations/{u}") for u in (GPT3, CLIP, LORA, HUB)]
    # A page on a host that is not allowed: hub URLs name the link's own (canonical) site.
    got = hub_links(f'<a href="https://www.pith.science/citations/{GPT3}">x</a>', "https://mirror.example/p/1", ALLOWED)
    assert [h.url for h in got.hubs] == [f"{BASE}/citations/{GPT3}"]


def test_hosts_compare_case_insensitively_with_their_port() -> None:
    html = f"""<a href="http://127.0.0.1:8000/citations/{GPT3}">a</a> <a href="http://127.0.0.1:8001/citations/{CLIP}">b</a>
    <a href="http://127.0.0.1/citations/{LORA}">c</a>"""
    got = hub_links(html, "http://127.0.0.1:8000/paper/1", ["127.0.0.1:8000"])
    assert [h.hub_uuid for h in got.hubs] == [GPT3]
    assert got.bad == [
        BadLink(f"http://127.0.0.1:8001/citations/{CLIP}", "off_site"),
        BadLink(f"http://127.0.0.1/citations/{LORA}", "off_site"),
    ]
    # One host given as a string is that host (not its characters); a default port is no port.
    assert [h.hub_uuid for h in hub_links(html, "http://x/", "127.0.0.1:80").hubs] == [LORA]
    assert [h.hub_uuid for h in hub_links(html, "http://x/", ["127.0.0.1"]).hubs] == [LORA]
    with pytest.raises(ValueError, match="no host"):
        hub_links(html, "http://x/", ["http://"])


def test_refused_links_and_their_reasons() -> None:
    long_id = "x" * 5000
    html = f"""<a href="/citations/{GPT3[:-1]}">short</a> <a href="/citations/{long_id}">long</a>
    <a href="https://evil.example/citations/{GPT3}">off</a> <a href="https://evil.example/citations/zzz">another site's</a>
    <a href="javascript:go('/citations/{GPT3}')">js</a> <a href="data:,/citations/{GPT3}">data</a>
    <a href="file:///citations/{GPT3}">file</a> <a href="mailto:a@b.c?body=/citations/{GPT3}">mail</a>
    <a href="javascript:void(0)">no hub named</a> <a href="https://pith.science:99999/citations/{GPT3}">port</a>
    <a href="/citations/">index</a> <a href="/citations/{GPT3[:-1]}">short, again</a>"""
    got = scan(html)
    assert got.hubs == []
    assert [b.reason for b in got.bad] == [
        "malformed_uuid",
        "malformed_uuid",
        "off_site",
        "unsupported_scheme",
        "unsupported_scheme",
        "unsupported_scheme",
        "unsupported_scheme",
        "malformed_url",
    ]
    assert got.bad[1].href == f"/citations/{long_id}"[:MAX_HREF] and len(got.bad[1].href) == MAX_HREF


def test_anchor_text_is_collapsed_and_cut() -> None:
    html = f"""<a href="/citations/{GPT3}">  GPT<span>-3</span>\n\t<img alt="x"> <script>no</script>paper&nbsp;</a>
    <a href="/citations/{CLIP}">{"word " * 300_000}</a> <area href="/citations/{LORA}" alt=" LoRA  map ">"""
    got = scan(html)
    assert got.hubs[0].text == "GPT-3 paper"
    assert got.hubs[1].text == ("word " * 300)[:MAX_TEXT].rstrip() and len(got.hubs[1].text) == MAX_TEXT - 1
    assert got.hubs[2] == HubLink(LORA, f"{BASE}/citations/{LORA}", "LoRA map", "other")


# -- hostile pages ------------------------------------------------------------------------------------------


def test_nul_bytes_read_as_replacement_characters() -> None:
    body = f'<p>\x00<a href="/citations/{GPT3}">nul\x00title</a><a href="/citations/{CLIP}\x00">x</a></p>'.encode()
    got = scan(body)
    assert brief(got) == [(GPT3, "other", "nul\ufffdtitle")]
    assert got.bad == [BadLink(f"/citations/{CLIP}\ufffd", "malformed_uuid")]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'<a href="/citations/%s">caf\xe9 \xff</a>', "caf\ufffd \ufffd"),  # not UTF-8, nothing declared
        (b'<meta charset="windows-1252"><a href="/citations/%s">caf\xe9 \x96 x</a>', "caf\u00e9 \u2013 x"),
        ('\ufeff<p><a href="/citations/%s">utf-16 title</a></p>'.encode("utf-16-le"), "utf-16 title"),
    ],
)
def test_bytes_in_any_encoding(body: bytes, text: str) -> None:
    if b"%s" in body:
        body = body.replace(b"%s", GPT3.encode())
    else:
        body = body.replace("%s".encode("utf-16-le"), GPT3.encode("utf-16-le"))
    assert brief(scan(body)) == [(GPT3, "other", text)]


@pytest.mark.parametrize("body", [b"", "   \n", "<!-- only a comment -->", b"\x00\x00", "<!doctype html>"])
def test_empty_pages_give_an_empty_scan(body: str | bytes) -> None:
    assert scan(body) == LinkScan()


def test_a_page_that_cannot_be_read_is_one_unparsable_link(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{BASE}/paper/{'9' * 600}"
    assert hub_links(object(), url, ALLOWED) == LinkScan(bad=[BadLink(url[:MAX_HREF], "unparsable")])  # type: ignore[arg-type]

    def boom(html: str | bytes) -> str:
        raise MemoryError

    monkeypatch.setattr(links, "_decode", boom)
    assert hub_links("<a href='/citations/x'>", url, ALLOWED).bad == [BadLink(url[:MAX_HREF], "unparsable")]


def nested(depth: int, tag: str = "div") -> str:
    return (
        f'<a href="/citations/{GPT3}">before</a>'
        + f"<{tag}>" * depth
        + f'<h2>references</h2><ul><li><a href="/citations/{CLIP}">inside</a></li></ul>'
        + f"</{tag}>" * depth
        + f'<a href="/citations/{LORA}">after</a>'
    )


@pytest.mark.parametrize("depth", [100, 2_047, 2_100, 100_000])
def test_deep_nesting_loses_no_link(depth: int) -> None:
    """libxml2 stops reading at depth 2048; such pages go through links._tokenize."""
    started = time.perf_counter()
    got = scan(nested(depth))
    assert time.perf_counter() - started < 2
    assert brief(got) == [(GPT3, "other", "before"), (CLIP, "references", "inside"), (LORA, "other", "after")]


def test_deep_unclosed_inline_and_link_nesting() -> None:
    html = "<b><i>" * 100_000 + '<a href="/x">' * 1000 + f'<a href="/citations/{GPT3}">deep</a>'
    assert brief(scan(html)) == [(GPT3, "other", "deep")]


@pytest.mark.parametrize(
    "tail",
    ["<!--x" * 50_000, "</" * 100_000, "<!x" * 50_000, "<?x" * 50_000, "<a b='" * 50_000, "<" * 200_000],
)
def test_the_fallback_tokenizer_is_linear_on_broken_markup(tail: str) -> None:
    """Python's html.parser (3.11) is quadratic on these; links._tokenize must not be."""
    started = time.perf_counter()
    got = scan(nested(3000) + tail)
    assert time.perf_counter() - started < 2
    assert [h.hub_uuid for h in got.hubs] == [GPT3, CLIP, LORA]


def test_a_tag_with_100k_attributes_is_read_in_linear_time() -> None:
    """libxml2 compares each attribute with every one before it (20 s for this tag)."""
    attrs = " ".join(f"data-a{i}=x" for i in range(100_000))
    html = f'<p><a {attrs} href="/citations/{GPT3}">bomb</a></p><a href="/citations/{CLIP}">next</a>'
    started = time.perf_counter()
    got = scan(html)
    assert time.perf_counter() - started < 2
    assert brief(got) == [(GPT3, "other", "bomb"), (CLIP, "other", "next")]


def test_huge_text_and_huge_hrefs() -> None:
    html = (
        "<p>"
        + "x" * 30_000_000
        + f'</p><a href="/citations/{"y" * 3_000_000}">big</a><a href="/citations/{GPT3}">t</a>'
    )
    got = scan(html)
    assert brief(got) == [(GPT3, "other", "t")]
    assert [(len(b.href), b.reason) for b in got.bad] == [(MAX_HREF, "malformed_uuid")]


# -- bounds: a property test over generated pages -----------------------------------------------------------


def generate(rng: random.Random, n_links: int, own: str) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    """A page of `n_links` links of every kind in random markup, and what hub_links must make of it: the
    distinct hubs (uuid, block) and distinct refused links (href, reason), in order of first appearance."""
    pool = [str(uuidlib.UUID(int=rng.getrandbits(128), version=4)) for _ in range(max(n_links // 2, 1))]
    hubs: dict[str, str] = {}
    bad: dict[tuple[str, str], None] = {}
    out = ["<!doctype html><html><head><title>generated</title></head><body>"]
    section: str | None = None
    for i in range(n_links):
        if section is None and rng.random() < 0.01:
            section = rng.choice(["co_cited", "references"])
            heading = "co-cited works" if section == "co_cited" else "References"
            tag = rng.choice(["h2", "div", "p"])
            out.append(f"<section><{tag}>{heading}</{tag}><ul>")
        elif section is not None and rng.random() < 0.02:
            out.append("</ul></section>")
            section = None
        kind = rng.random()
        u = rng.choice(pool)
        if kind < 0.55:
            href = rng.choice(
                [
                    f"/citations/{u}",
                    f"https://pith.science/citations/{u}",
                    f"https://www.pith.science/citations/{u.upper()}?page=2",
                    f"/citations/{u}.json",
                    f"//pith.science/citations/{u}/#top",
                ]
            )
            hubs.setdefault(u, section or "other")
        elif kind < 0.65:
            href = rng.choice([f"?page={i}", f"/citations/{own}?role=method&amp;page={i}", f"/citations/{own}.json"])
        elif kind < 0.75:
            href, reason = f"/citations/{u[: rng.randrange(1, 36)]}", "malformed_uuid"
            bad.setdefault((href, reason), None)
        elif kind < 0.82:
            href, reason = f"https://host{rng.randrange(50)}.example/citations/{u}", "off_site"
            bad.setdefault((href, reason), None)
        elif kind < 0.88:
            href, reason = f"javascript:open('/citations/{u}')", "unsupported_scheme"
            bad.setdefault((href, reason), None)
        else:
            href = rng.choice([f"/paper/2401.{i:05d}", "/", "#top", f"https://arxiv.org/abs/2401.{i:05d}"])
        wrap = rng.choice(["li", "div", "span", "td", "p"]) if section is None else "li"
        out.append(f'<{wrap}><a href="{href}">link {i}</a></{wrap}>\n')
    if section is not None:
        out.append("</ul></section>")
    out.append("</body></html>")
    return "".join(out), list(hubs.items()), list(bad)


@pytest.mark.parametrize("seed", range(12))
def test_generated_pages_with_small_caps(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(links, "MAX_LINKS", rng.choice([1, 20, 500]))
    monkeypatch.setattr(links, "MAX_BAD", rng.choice([0, 5, 100]))
    html, hubs, bad = generate(rng, rng.randrange(50, 2000), HUB)
    got = hub_links(html, f"{BASE}/citations/{HUB}", ALLOWED)
    assert [(h.hub_uuid, h.block) for h in got.hubs] == hubs[: links.MAX_LINKS]
    assert [(b.href, b.reason) for b in got.bad] == bad[: links.MAX_BAD]
    assert got.dropped == max(len(hubs) - links.MAX_LINKS, 0) + max(len(bad) - links.MAX_BAD, 0)
    assert all(h.url == f"{BASE}/citations/{h.hub_uuid}" and h.text.startswith("link ") for h in got.hubs)


def test_100k_links_stay_bounded() -> None:
    html, hubs, bad = generate(random.Random(2026), 100_000, HUB)
    assert len(hubs) > MAX_LINKS and len(bad) > MAX_BAD
    started = time.perf_counter()
    got = hub_links(html.encode(), f"{BASE}/citations/{HUB}", ALLOWED)
    # not a speed target (those are benchmarks): a scan quadratic in the links would take minutes here
    assert time.perf_counter() - started < 30
    assert len(got.hubs) == MAX_LINKS and len(got.bad) == MAX_BAD
    assert [(h.hub_uuid, h.block) for h in got.hubs] == hubs[:MAX_LINKS]
    assert [(b.href, b.reason) for b in got.bad] == bad[:MAX_BAD]
    assert got.dropped == len(hubs) - MAX_LINKS + len(bad) - MAX_BAD
    LinksItem(kind="links", url=BASE, fetched_at="2026-06-01T00:00:00Z", **got.to_dict())


# -- writing the sample-site fixtures ------------------------------------------------------------------------


def _write(name: str, html: str, url: str, result: LinkScan) -> None:
    folder = FIXTURES / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "body.html").write_text(html, encoding="utf-8")
    (folder / "url.txt").write_text(url + "\n", encoding="utf-8")
    payload = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    (folder / "expected_links.json").write_text(payload, encoding="utf-8")
    print(folder)


def _truth_scan(found: list[tuple[str, str, str]]) -> LinkScan:
    return LinkScan([HubLink(u, f"{BASE}/citations/{u}", text, block) for u, block, text in found])  # type: ignore[arg-type]


def regenerate() -> None:
    """Write the links_samplesite_* folders; expectations come from the site's ground truth."""
    site = build_site(**SITE_ARGS)
    nul = {h.uuid for h in site.hubs if "\x00" in h.title_raw}
    # A hub page whose co-cited block lists a hub titled with a NUL byte (and two more works).
    hub = next(h for h in site.hubs if len(h.co_cited) >= 3 and nul & set(h.co_cited) and len(h.citations) > 5)
    role = next(iter(sorted({c.role for c in hub.citations if c.role})))
    expected = _truth_scan(cocited_truth(site, hub.uuid))
    url = f"{BASE}/citations/{hub.uuid}"
    _write("links_samplesite_cocited_a", render_hub_html(site, hub.uuid, {}, 1, "a", BASE), url, expected)
    html = render_hub_html(site, hub.uuid, {"role": role}, 1, "b", BASE)
    _write("links_samplesite_cocited_b", html, f"https://www.pith.science/citations/{hub.uuid}?role={role}", expected)
    # A paper page citing three hubs or more, one of them with a hostile title.
    hostile = {h.uuid for h in site.hubs if h.title_raw != " ".join(h.title_raw.split()) or "'" in h.title_raw}
    for paper in site.papers:
        path = paper_path(paper, None)
        cited = {c.hub_uuid for c in site.citations_of_paper(paper.key)}
        if path and linked(paper.key) and len(cited) >= 3 and cited & (hostile | nul):
            html = render_paper_html(site, paper_ref(path)) or ""
            _write("links_samplesite_paper", html, BASE + path, _truth_scan(references_truth(site, paper.key)))
            break


if __name__ == "__main__":
    regenerate()
