"""The growing hub graph (samplesite/growth.py, PAGES.md "Growing hub graph"): opt-in, deterministic, hubs
that appear over days, discoverable by links, changing at rates that grow with their citing count."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import signal
import statistics
import subprocess
import sys
import urllib.error
import urllib.request
from collections import deque
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html
import pytest
from typer.testing import CliRunner

from samplesite import seed_hub
from samplesite.cli import app
from samplesite.control import post
from samplesite.generator import BASE_DAY, build_site
from samplesite.growth import TODAY_CHANGED_SHARE, GrowthModel, seed_uuids, site_seeds
from samplesite.model import Site
from samplesite.render import expected_page, render_hub_html, render_hub_json, render_paper_html
from samplesite.server import PAPER_PATH, serving
from samplesite.truth import linked, reachable, truth
from samplesite.view import paper_path
from spiders.parse.hub_html import parse_hub_page

GROWTH = GrowthModel()
HUBS, SEED, DAY = 60, 3, 20  # a site where some hub is reachable only through a co-cited block
BASE = "http://127.0.0.1:8000"
HUB_PATH = re.compile(r"^/citations/([0-9a-f-]{36})$")
GROWTH_KEYS = {"first_day", "changed_days", "change_rate", "co_cited"}

# page_set_hash of sites built by the code before the growth model existed (commit 222928c): the model-off
# site must stay byte-for-byte what it was. Change these only with a deliberate change of the default site.
BEFORE_GROWTH = {
    (60, 7, 1, False): "bf6c824d651bc4ebc9ac7a7f24ebc140fb353ae02ab8a86fa1e4571c476b0a5f",
    (60, 7, 4, False): "12a4695f31b51803cffad01ad93dddb86936f5f3738a9e48062f2153d8f55674",
    (60, 5, 2, True): "ee4e543c042e892088ba15d2f213962b5a430a17a810ee78126ee960f810c66a",
}


@pytest.fixture(scope="module")
def grown() -> Site:
    return build_site(HUBS, SEED, DAY, growth=GROWTH)


@pytest.fixture(scope="module")
def grown_truth(grown: Site) -> dict:
    return truth(grown)


def page_set_hash(site: Site) -> str:
    """sha256 over every hub's page 1 (both markups), page 2, JSON twin, every paper page and the truth."""
    h = hashlib.sha256()
    for hub in site.hubs:
        for markup in ("a", "b"):
            h.update(render_hub_html(site, hub.uuid, {}, 1, markup, "http://x").encode())
        h.update(render_hub_html(site, hub.uuid, {}, 2, "a", "http://x").encode())
        h.update(json.dumps(render_hub_json(site, hub.uuid), sort_keys=True).encode())
    for paper in site.papers:
        path = paper_path(paper, None)
        if path:
            h.update(render_paper_html(site, PAPER_PATH.match(path).group(1)).encode())
    h.update(json.dumps(truth(site), sort_keys=True).encode())
    return h.hexdigest()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def co_cited_links(html: str | bytes, page_url: str) -> list[tuple[str, str]]:
    """(uuid, text) of the links under the "co-cited works" heading, found by visible text, not markup."""
    doc = lxml.html.document_fromstring(html)
    heads = [e for e in doc.iter() if isinstance(e.tag, str) and e.text_content().strip().lower() == "co-cited works"]
    if not heads:
        return []
    block = heads[-1]  # the innermost element reading exactly the heading
    while block is not None and not block.xpath(".//a[contains(@href, '/citations/')]"):
        block = block.getparent()
    out = []
    for a in block.xpath(".//a[@href]"):
        if m := HUB_PATH.match(urlsplit(urljoin(page_url, a.get("href"))).path):
            out.append((m.group(1), " ".join(a.text_content().split())))
    return out


def test_model_off_is_the_site_it_always_was(site_truth):
    for (hubs, seed, day, hostile), expected in BEFORE_GROWTH.items():
        assert page_set_hash(build_site(hubs, seed, day, hostile=hostile)) == expected, (hubs, seed, day)
    assert page_set_hash(build_site(60, 7, 4, growth=None)) == BEFORE_GROWTH[(60, 7, 4, False)]
    # Day 1 with the model on is the same corpus; only the truth's growth keys and the co-cited blocks are new.
    on = truth(build_site(200, 7, 1, growth=GROWTH))
    assert on.pop("growth") == {
        "base_rate": 0.1,
        "per_citation": 0.008,
        "cite_weight": 0.75,
        "retire_weight": 0.1,
        "relabel_weight": 0.15,
        "max_refs": 4,
        "new_hub_chance": 0.15,
        "classified_chance": 0.5,
        "co_cited_max": 5,
    }
    assert all(h.keys() - GROWTH_KEYS == site_truth["hubs"][0].keys() for h in on["hubs"])
    on["hubs"] = [{k: v for k, v in h.items() if k not in GROWTH_KEYS} for h in on["hubs"]]
    assert on == site_truth


def test_growth_is_deterministic_and_hubs_persist_from_their_first_day(grown_truth):
    assert truth(build_site(HUBS, SEED, DAY, growth=GrowthModel())) == grown_truth
    assert truth(build_site(HUBS, SEED, DAY, growth=GrowthModel(new_hub_chance=0.5))) != grown_truth
    days = {d: truth(build_site(HUBS, SEED, d, growth=GROWTH)) for d in (1, 6, 7, DAY)}
    first = {d: {h["uuid"]: h["first_day"] for h in t["hubs"]} for d, t in days.items()}
    assert set(first[1].values()) == {1} and len(first[1]) == HUBS
    for earlier, later in ((1, 6), (6, 7), (7, DAY)):
        assert first[earlier].items() <= first[later].items()  # a hub never disappears nor changes first_day
        born = {u for u, d in first[later].items() if d > earlier}
        assert born == first[later].keys() - first[earlier].keys()
        assert all(earlier < first[later][u] <= later for u in born)
    assert len(first[DAY]) > HUBS + 5  # hubs keep appearing
    for t in days.values():  # every hub's figures follow from its citations, whatever its first day
        from tests.samplesite.test_truth import test_hub_figures_match_their_citations as check_figures

        check_figures(t)
        assert {c["paper_key"] for c in t["citations"]} == {p["paper_key"] for p in t["papers"]}
    # New papers are dated the day they appear; the seed hub never changes.
    dates = {p["date"] for p in grown_truth["papers"] if p["date"]}
    assert (BASE_DAY + dt.timedelta(days=DAY - 1)).isoformat() in dates
    seed = next(h for h in grown_truth["hubs"] if h["uuid"] == seed_hub.UUID)
    assert seed["changed_days"] == [] and seed["change_rate"] == 0.0 and seed["co_cited"] == []
    with pytest.raises(ValueError, match="base_rate"):
        GrowthModel(base_rate=1.5)
    with pytest.raises(ValueError, match="weights"):
        GrowthModel(cite_weight=0, retire_weight=0, relabel_weight=0)


def test_hubs_born_on_a_day_are_served_from_that_day_on(grown, grown_truth):
    hub = min((h for h in grown_truth["hubs"] if h["first_day"] > 2), key=lambda h: (h["first_day"], h["uuid"]))
    born, uuid = hub["first_day"], hub["uuid"]
    with serving(build_site(HUBS, SEED, born - 1, growth=GROWTH)) as url:
        assert get(f"{url}/citations/{uuid}")[0] == 404 and get(f"{url}/citations/{uuid}.json")[0] == 404
        for day in (born, born + 1):
            assert post(url, "day", {"day": day})["day"] == day
            site = build_site(HUBS, SEED, day, growth=GROWTH)
            status, body = get(f"{url}/citations/{uuid}")
            assert status == 200 and site.hub(uuid).title_raw.encode() in body
            status, body = get(f"{url}/citations/{uuid}.json")
            twin = json.loads(body)
            assert status == 200 and twin["work"]["id"] == uuid
            assert twin["work"]["created_at"] == f"{BASE_DAY + dt.timedelta(days=born - 1)}T00:00:00Z"
            assert twin["hub"]["state"]["pith_inbound_count"] == len(site.hub(uuid).citations)
            # The paper that made it a hub links it from its page (when the paper has a page).
            for citation in site.hub(uuid).citations:
                path = paper_path(site.paper(citation.paper_key), citation)
                if path:
                    status, body = get(url + path)
                    assert status == 200 and f'href="/citations/{uuid}"'.encode() in body


def test_pages_change_exactly_on_the_changed_days():
    """Freshness is exact: a hub's page and twin differ from the day before iff that day is in changed_days."""
    before, after = (build_site(HUBS, SEED, d, growth=GROWTH) for d in (5, 6))
    after_truth = {h["uuid"]: h for h in truth(after)["hubs"]}

    def shown(site: Site, uuid: str) -> tuple:
        html = render_hub_html(site, uuid, {}, 1, "a", BASE)
        return html, json.dumps(render_hub_json(site, uuid), sort_keys=True)

    changed = 0
    for hub in before.hubs:
        differs = shown(before, hub.uuid) != shown(after, hub.uuid)
        assert differs == (6 in after_truth[hub.uuid]["changed_days"]), hub.uuid
        changed += differs
    assert changed >= 5


def test_co_cited_block_is_a_list_of_hub_links(grown, grown_truth):
    truth_hubs = {h["uuid"]: h for h in grown_truth["hubs"]}
    with_block = [h for h in grown.hubs if h.co_cited]
    assert len(with_block) > HUBS // 2
    assert all(h.template == "current" and h.uuid != seed_hub.UUID for h in with_block)
    for hub in grown.hubs:
        expected = [(u, " ".join(grown.hub(u).title_raw.split())) for u in truth_hubs[hub.uuid]["co_cited"]]
        assert len(expected) <= GROWTH.co_cited_max and hub.uuid not in dict(expected)
        for markup in ("a", "b"):
            for filters, page in (({}, 1), ({"page": "2"}, 2)):
                html = render_hub_html(grown, hub.uuid, filters, page, markup, BASE)
                assert co_cited_links(html, f"{BASE}/citations/{hub.uuid}") == expected, (hub.uuid, markup)
        # The block disturbs nothing citehub's parser reads.
        for markup in ("a", "b"):
            html = render_hub_html(grown, hub.uuid, {}, 1, markup, BASE)
            got = parse_hub_page(html.encode(), f"{BASE}/citations/{hub.uuid}", "utf-8").to_dict()
            assert got == expected_page(grown, hub.uuid, {}, 1, BASE)
    # Co-cited works share citing papers with the hub, most shared first.
    hub = max(with_block, key=lambda h: len(h.citations))
    mine = {c.paper_key for c in hub.citations}
    shared = [len(mine & {c.paper_key for c in grown.hub(u).citations}) for u in hub.co_cited]
    assert all(shared) and shared == sorted(shared, reverse=True)
    # Model off: no block anywhere.
    plain = build_site(HUBS, SEED, DAY)
    assert not any(b"co-cited works" in render_hub_html(plain, h.uuid, {}, 1, "a", BASE).encode() for h in plain.hubs)


def test_seed_share_and_hubs_reachable_only_by_links(grown, grown_truth):
    runner = CliRunner()
    args = ["seeds", "--hubs", str(HUBS), "--seed", str(SEED), "--day", str(DAY), "--growth", "--base-url", BASE]
    result = runner.invoke(app, [*args, "--share", "0.05"])
    assert result.exit_code == 0, result.output
    seeds = [line.rsplit("/", 1)[1] for line in result.output.splitlines()]
    assert seeds == site_seeds(grown, 0.05) and len(seeds) == 3  # 5% of 60
    assert runner.invoke(app, [*args, "--share", "0.05"]).output == result.output
    assert site_seeds(grown, 0.5)[:3] == seeds  # a larger share extends a smaller one
    pairs = [(h["uuid"], h["first_day"]) for h in grown_truth["hubs"]]
    assert seed_uuids(SEED, pairs, 0.05) == seeds
    assert site_seeds(build_site(HUBS, SEED, 1, growth=GROWTH), 0.05) == seeds  # the same list every day
    born = {u for u, d in pairs if d > 1}
    assert born and not born & set(site_seeds(grown, 1.0))  # hubs born after day 1 are never seeds
    assert len(runner.invoke(app, [*args]).output.splitlines()) == len(grown.hubs)  # no share: every hub
    assert runner.invoke(app, [*args, "--share", "0"]).exit_code != 0

    found = reachable(grown_truth, seeds)
    assert set(seeds) <= found
    assert len(found - set(seeds)) > HUBS // 2  # most hubs are found only by following links
    assert born & found  # including hubs that were never seeds at any share
    assert reachable(grown_truth, []) == set() and reachable(grown_truth, ["nope"]) == set()
    everything = reachable(grown_truth, [h["uuid"] for h in grown_truth["hubs"]])
    assert everything == {h["uuid"] for h in grown_truth["hubs"]}


def crawl(base_url: str, seeds: list[str]) -> set[str]:
    """Breadth-first over the served site: hub pages (every explorer page), paper pages, co-cited links."""
    hubs: set[str] = set()
    seen: set[str] = set()
    queue = deque(f"{base_url}/citations/{u}" for u in seeds)
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        status, body = get(url)
        assert status == 200, url
        if m := HUB_PATH.match(urlsplit(url).path):
            hubs.add(m.group(1))
        for a in lxml.html.document_fromstring(body).xpath("//a[@href]"):
            target = urljoin(url, a.get("href"))
            parts = urlsplit(target)
            query = parse_qs(parts.query)
            if HUB_PATH.match(parts.path) and set(query) <= {"page"}:  # facet filters only narrow the lists
                queue.append(f"{base_url}{parts.path}" + (f"?page={query['page'][0]}" if query else ""))
            elif PAPER_PATH.match(parts.path):
                queue.append(f"{base_url}{parts.path}")
    return hubs


def test_reachable_equals_a_crawl_of_the_served_pages(grown, grown_truth):
    seeds = site_seeds(grown, 0.05)
    with serving(grown) as url:  # mixed markups
        crawled = crawl(url, seeds)
    assert crawled == reachable(grown_truth, seeds)
    # Both kinds of link count on this site: without co-cited blocks one hub fewer is reached, and treating
    # title-only papers as linked would claim one hub too many.
    no_blocks = {**grown_truth, "hubs": [{**h, "co_cited": []} for h in grown_truth["hubs"]]}
    assert len(reachable(no_blocks, seeds)) < len(crawled)
    as_linked = {
        **grown_truth,
        "citations": [{**c, "paper_key": "x" + c["paper_key"]} for c in grown_truth["citations"]],
    }
    assert len(reachable(as_linked, seeds)) > len(crawled)
    unreachable = {h["uuid"] for h in grown_truth["hubs"]} - crawled
    assert seed_hub.UUID in unreachable  # its citing papers cite nothing else
    # A hub cited only by title-only papers and listed in no co-cited block cannot be reached.
    listed = {u for h in grown_truth["hubs"] for u in h["co_cited"]}
    for hub_uuid in unreachable - {seed_hub.UUID} - set(seeds):
        assert hub_uuid not in listed
        keys = [c["paper_key"] for c in grown_truth["citations"] if c["hub_uuid"] == hub_uuid]
        assert all(
            not linked(k) or {c["hub_uuid"] for c in grown_truth["citations"] if c["paper_key"] == k} <= unreachable
            for k in keys
        )


def changed_shares(t: dict) -> list[float]:
    """Per day 2..D: the share of the hubs that existed the day before which changed that day."""
    out = []
    for d in range(2, t["day"] + 1):
        alive = [h for h in t["hubs"] if h["first_day"] < d]
        out.append(sum(d in h["changed_days"] for h in alive) / len(alive))
    return out


def test_change_rate_grows_with_citing_count_and_the_daily_share_stays_near_todays(site_truth):
    rates = [GROWTH.change_rate(c) for c in range(400)]
    assert rates == sorted(rates) and rates[0] == GROWTH.base_rate and rates[-1] == 1.0
    assert GROWTH.change_rate(112) < 1.0 == GROWTH.change_rate(113)

    # Today's site (samplesite/evolution.py): hubs whose updated_at is the day's stamp changed that day.
    today = []
    for d in range(2, 9):
        stamp = f"{BASE_DAY + dt.timedelta(days=d - 1)}T00:00:00Z"
        hubs = build_site(200, 7, d).hubs
        today.append(sum(h.updated_at == stamp for h in hubs) / len(hubs))
    assert abs(statistics.mean(today) - TODAY_CHANGED_SHARE) <= 0.02, today

    # The stated band: over days 2..30 the model's mean daily share is within 0.03 of today's (0.195), every
    # day within 0.10..0.32 (today's own days range 0.155..0.25).
    grown30 = truth(build_site(200, 7, 30, growth=GROWTH))
    shares = changed_shares(grown30)
    assert abs(statistics.mean(shares) - TODAY_CHANGED_SHARE) <= 0.03, shares
    assert min(shares) >= 0.10 and max(shares) <= 0.32, shares
    assert len(grown30["hubs"]) > 220  # while ~1.5 hubs a day appear

    # Rates persist by hub: the hubs most cited on day 1 changed far more often over 29 days than the least,
    # and hubs past the cap (113+ citing papers) changed every day.
    day1 = {h["uuid"]: h["citing_count"] for h in site_truth["hubs"] if h["uuid"] != seed_hub.UUID}
    changes = {h["uuid"]: len(h["changed_days"]) for h in grown30["hubs"] if h["uuid"] in day1}
    ranked = sorted(day1, key=lambda u: (day1[u], u))
    quarter = len(ranked) // 4
    low = statistics.mean(changes[u] for u in ranked[:quarter])
    high = statistics.mean(changes[u] for u in ranked[-quarter:])
    assert high > 2 * low, (low, high)
    assert all(changes[u] == 29 for u in ranked if day1[u] >= 150)
    for hub in grown30["hubs"]:
        assert hub["change_rate"] == (0.0 if hub["uuid"] == seed_hub.UUID else GROWTH.change_rate(hub["citing_count"]))


def test_reachable_follows_paper_pages_and_co_cited_blocks_only():
    def hub(uuid: str, co_cited: list[str] = ()) -> dict:
        return {"uuid": uuid, "first_day": 1, "co_cited": list(co_cited)}

    t = {
        "hubs": [hub("a", ["c"]), hub("b"), hub("c"), hub("d"), hub("e", ["a"])],
        "citations": [
            {"hub_uuid": "a", "paper_key": "title:0123456789abcdef"},  # listed by title only: no link
            {"hub_uuid": "b", "paper_key": "title:0123456789abcdef"},
            {"hub_uuid": "c", "paper_key": "pith:ab12cd34"},
            {"hub_uuid": "d", "paper_key": "pith:ab12cd34"},
            {"hub_uuid": "e", "paper_key": "arxiv:2606.00001"},
        ],
    }
    assert reachable(t, ["a"]) == {"a", "c", "d"}
    assert reachable(t, ["d"]) == {"c", "d"}  # a co-cited link is one way
    assert reachable(t, ["e"]) == {"e", "a", "c", "d"}
    assert reachable(t, ["b", "zz"]) == {"b"}


def test_truth_and_serve_commands_switch_the_model_on(tmp_path, grown_truth):
    out = tmp_path / "truth.json"
    args = ["truth", "--hubs", str(HUBS), "--seed", str(SEED), "--day", str(DAY), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--growth"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(grown_truth)) and data["growth"]["base_rate"] == GROWTH.base_rate
    assert {h["uuid"]: h["first_day"] for h in data["hubs"]}.keys() == {
        h.uuid for h in build_site(HUBS, SEED, DAY, growth=GROWTH).hubs
    }
    assert CliRunner().invoke(app, args).exit_code == 0
    plain = json.loads(out.read_text(encoding="utf-8"))
    assert "growth" not in plain and not GROWTH_KEYS & plain["hubs"][0].keys() and len(plain["hubs"]) == HUBS

    born = next(h["uuid"] for h in grown_truth["hubs"] if h["first_day"] > 1)
    port_file = tmp_path / "port"
    cmd = [sys.executable, "-m", "samplesite", "serve", "--hubs", str(HUBS), "--seed", str(SEED)]
    proc = subprocess.Popen(
        [*cmd, "--day", str(DAY), "--growth", "--port-file", str(port_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        url = proc.stdout.readline().strip().split(" ", 1)[1]
        status, body = get(f"{url}/citations/{born}.json")
        assert status == 200 and json.loads(body)["work"]["id"] == born
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
