"""robots.txt per RFC 9309 (5xx: nothing fetched; 4xx: everything allowed), Disallow, Crawl-delay."""

from __future__ import annotations

from samplesite.faults import Faults
from tests.faults.conftest import crawl


def test_robots_5xx_means_no_content_requests(small_site, tmp_path):
    faults = Faults(robots="503")
    hubs = [h.uuid for h in small_site.hubs[:3]]
    c = crawl(small_site, tmp_path, faults, hubs=hubs)
    served = {target for target, _, _, _ in faults.log}
    assert served == {"/robots.txt"}  # zero content requests
    assert faults.attempts("/robots.txt") == 4  # robots.txt itself is retried like any request
    assert len(c.fetch) == 2 * len(hubs)  # every seed URL (twin and page) accounted for
    assert {f["outcome"] for f in c.fetch.values()} == {"skipped"}
    assert all(f["error"].startswith("Refused: robots_unavailable") for f in c.fetch.values())


def test_robots_4xx_allows_everything(small_site, tmp_path):
    faults = Faults(robots="404")
    c = crawl(small_site, tmp_path, faults, hubs=[small_site.hubs[0].uuid])
    assert c.fetch and {f["outcome"] for f in c.fetch.values()} == {"parsed"}


def test_robots_disallow_is_obeyed_and_accounted(small_site, tmp_path):
    blocked, free = small_site.hubs[0].uuid, small_site.hubs[1].uuid
    faults = Faults(robots="disallow", disallow=f"/citations/{blocked}")
    c = crawl(small_site, tmp_path, faults, hubs=[blocked, free])
    assert not any(t.startswith(f"/citations/{blocked}") for t, _, _, _ in faults.log)
    outcomes = {c.target(u): f["outcome"] for u, f in c.fetch.items()}
    assert outcomes[f"/citations/{blocked}"] == outcomes[f"/citations/{blocked}.json"] == "skipped"
    assert "robots_disallowed" in c.fetch[f"{c.base_url}/citations/{blocked}"]["error"]
    assert {o for t, o in outcomes.items() if free in t} == {"parsed"}


def test_robots_disallowing_everything_means_no_content_requests(small_site, tmp_path):
    # 16 seed URLs wait together for robots.txt: every one of them must be checked (Scrapy 2.19 alone
    # checks only the first two).
    faults = Faults(robots="disallow", disallow="/citations/")
    c = crawl(small_site, tmp_path, faults)
    assert {target for target, _, _, _ in faults.log} == {"/robots.txt"}
    assert len(c.fetch) == 2 * len(small_site.hubs)
    assert all("robots_disallowed" in f["error"] for f in c.fetch.values())


def test_robots_crawl_delay_spaces_requests(small_site, tmp_path):
    hub = min(small_site.hubs, key=lambda h: len(h.citations)).uuid
    faults = Faults(crawl_delay=0.4)
    c = crawl(small_site, tmp_path, faults, hubs=[hub])
    starts = sorted(at for target, _, _, at in faults.log if target != "/robots.txt")
    assert len(starts) >= 3
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.4, gaps  # the next request starts a full delay after the previous ended
    assert c.stats["citehub/robots/crawl_delay_waits"] == len(starts)
