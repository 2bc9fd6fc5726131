"""The request budget (issue 16): a crawl sends at most CITEHUB_REQUEST_BUDGET requests, robots.txt included,
counted from the archive. A hub's pages are fetched only when what the plan expects them to take still fits
(the hub is otherwise not started, or deferred whole after its twin); when a hub takes more than expected, the
hard cap refuses the excess, recorded as skipped fetches with the reason: incomplete, never silently missing."""

from __future__ import annotations

import json

import pytest
from warcio.archiveiterator import ArchiveIterator

from samplesite.generator import build_site
from samplesite.server import serving
from spiders.crawl import allowed_hosts_for, run_crawl

pytestmark = pytest.mark.slow
FAST = {"AUTOTHROTTLE_ENABLED": "False", "CITEHUB_PAPER_PAGES": "False"}


def _archived(result) -> list[str]:
    urls = []
    for path in result.warc_files:
        with path.open("rb") as stream:
            urls += [
                r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(stream) if r.rec_type == "response"
            ]
    return urls


def _fetches(result) -> list[dict]:
    items = [json.loads(line) for line in result.items_path.read_text(encoding="utf-8").splitlines()]
    return [i for i in items if i["kind"] == "fetch"]


def _plan(tmp_path, name: str, expected: dict[str, int]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(expected), encoding="utf-8")
    return str(path)


def test_a_crawl_never_sends_more_than_its_budget(tmp_path):
    site = build_site(hubs=12, seed=7, day=1)
    with serving(site) as base_url:
        hubs = [f"{base_url}/citations/{h.uuid}" for h in site.hubs]
        allowed = allowed_hosts_for(base_url)
        whole = run_crawl("whole", tmp_path / "whole", base_url, hubs, allowed, 4, extra_settings=FAST)
        budget = len(_archived(whole)) // 2
        # a plan that expects every hub's pages to take one request: every hub starts, the cap has to step in
        naive = _plan(tmp_path, "naive", {h.uuid: 1 for h in site.hubs})
        capped = run_crawl(
            "capped",
            tmp_path / "capped",
            base_url,
            hubs,
            allowed,
            4,
            extra_settings={**FAST, "CITEHUB_REQUEST_BUDGET": str(budget), "CITEHUB_PLAN_FILE": naive},
        )
    sent = _archived(capped)
    assert len(sent) == budget  # every request up to the budget, robots.txt among them, and not one more
    assert any(u.endswith("/robots.txt") for u in sent)
    assert capped.stats["citehub/budget/sent"] == budget
    refused = [f for f in _fetches(capped) if f["outcome"] == "skipped"]
    assert refused and capped.stats["citehub/budget/refused"] == len(refused)
    assert {f["error"].split(": ", 1)[1] for f in refused} == {
        f"request_budget: the run's budget of {budget} requests is spent"
    }
    # every URL the crawl asked for is accounted for: read, or refused by the budget
    parsed = {f["url"] for f in _fetches(capped) if f["outcome"] == "parsed"}
    assert parsed | {f["url"] for f in refused} == {f["url"] for f in _fetches(capped)}
    assert len(parsed) == budget - 1  # all but robots.txt


def test_a_hub_is_fetched_whole_or_not_started_when_the_plan_knows_its_size(tmp_path):
    site = build_site(hubs=12, seed=7, day=1)
    with serving(site) as base_url:
        hubs = [f"{base_url}/citations/{h.uuid}" for h in site.hubs]
        allowed = allowed_hosts_for(base_url)
        whole = run_crawl("whole", tmp_path / "whole", base_url, hubs, allowed, 4, extra_settings=FAST)
        urls_of: dict[str, set[str]] = {}
        for f in _fetches(whole):
            urls_of.setdefault(f["hub_uuid"], set()).add(f["url"])
        pages = {uuid: len(urls) - 1 for uuid, urls in urls_of.items()}  # all but the twin
        budget = len(_archived(whole)) // 2
        planned = run_crawl(
            "planned",
            tmp_path / "planned",
            base_url,
            hubs,
            allowed,
            4,
            extra_settings={
                **FAST,
                "CITEHUB_REQUEST_BUDGET": str(budget),
                "CITEHUB_PLAN_FILE": _plan(tmp_path, "sizes", pages),
            },
        )
    fetched: dict[str, set[str]] = {}
    for f in _fetches(planned):
        assert f["outcome"] == "parsed", f
        fetched.setdefault(f["hub_uuid"], set()).add(f["url"])
    assert 0 < len(fetched) < len(site.hubs)  # some hubs fit, the others wait for another night
    assert {uuid: fetched[uuid] for uuid in fetched} == {uuid: urls_of[uuid] for uuid in fetched}  # each whole
    # in plan order: the hubs started are the first ones that fitted
    sent = len(_archived(planned))
    assert sent <= budget and sent == 1 + sum(len(urls) for urls in fetched.values())
    assert planned.stats.get("citehub/budget/refused", 0) == 0
