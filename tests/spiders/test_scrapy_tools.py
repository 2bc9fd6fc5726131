"""Scrapy's own tools from the checkout (README "Working on the parsers"): `scrapy list`, `scrapy parse` through
the hub spider's callbacks, and the opt-in HTTP cache, which no product run turns on.

Every command runs as a subprocess from the repository root with no SCRAPY_SETTINGS_MODULE in its
environment, so what is tested is the top-level scrapy.cfg, as a developer's shell would use it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import TextResponse

from samplesite.generator import build_site
from samplesite.model import Site
from samplesite.render import expected_page, render_hub_html, render_hub_json
from samplesite.server import serving
from spiders import settings
from spiders.hub import HubSpider

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


def scrapy(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("scrapy")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "scrapy"]
    env = {k: v for k, v in os.environ.items() if k not in ("SCRAPY_SETTINGS_MODULE", "SCRAPY_PROJECT")}
    if data_dir is not None:
        env["CITEHUB_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def test_scrapy_list_names_the_hub_spider() -> None:
    assert (ROOT / "scrapy.cfg").is_file()
    done = scrapy("list")
    assert (done.returncode, done.stdout) == (0, "hub\n"), done.stderr[-2000:]


# -- scrapy parse against the sample site --------------------------------------------------------------------


def small_site() -> Site:
    return build_site(hubs=12, seed=7, day=1)


def paginated_hub(site: Site) -> str:
    """A current-template hub whose explorer has several pages: its page 1 links pages and filtered lists."""
    for hub in site.hubs:
        view = expected_page(site, hub.uuid, {}, 1, "http://x")
        if view["template"] == "current" and view["next_page"] and view["role_summary"]:
            return hub.uuid
    raise AssertionError("no paginated current hub in the small sample site")


def scrapy_parse(url: str, base_url: str, tmp_path: Path, *extra: str) -> tuple[list[dict], list[str], str]:
    """(items, URLs of the requests it would follow, log) of `scrapy parse --spider hub URL`."""
    host = base_url.removeprefix("http://")
    done = scrapy(
        "parse",
        "--spider",
        "hub",
        "--nocolour",
        "-s",
        f"CITEHUB_ALLOWED_HOSTS={host}",
        "-s",
        f"CITEHUB_RUN_DIR={tmp_path / 'run'}",
        *extra,
        url,
        data_dir=tmp_path / "data",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    items_text = out.split("# Scraped Items", 1)[1].split("\n", 1)[1].split("# Requests", 1)[0]
    requests_text = out.split("# Requests", 1)[1]
    return ast.literal_eval(items_text), re.findall(r"<GET (\S+)>", requests_text), done.stderr


@pytest.mark.slow
def test_scrapy_parse_runs_a_hub_page_through_the_spider(tmp_path: Path) -> None:
    site = small_site()
    uuid = paginated_hub(site)
    with serving(site, markup="b") as base_url:
        url = f"{base_url}/citations/{uuid}"
        items, requests, log = scrapy_parse(url, base_url, tmp_path)
    expected = expected_page(site, uuid, {}, 1, base_url)
    pages = [item for item in items if item["kind"] == "hub_page"]
    assert [(p["hub_uuid"], p["page"]["hub_uuid"], p["page"]["citing_count"]) for p in pages] == [
        (uuid, uuid, len(site.hub(uuid).citations))
    ]
    assert pages[0]["page"] == expected
    assert [(i["kind"], i["outcome"], i["url"]) for i in items if i["kind"] == "fetch"] == [("fetch", "parsed", url)]
    # What a crawl would follow from page 1: its other explorer pages and every role and polarity list. The
    # paper pages of the papers it lists wait until the crawl has no hub page left (HubSpider._idle), so
    # `scrapy parse` shows none.
    last = max(expected["page_numbers"])
    followed = {f"{url}?page={n}" for n in range(2, last + 1)}
    followed |= {f"{url}?role={role}" for role in expected["role_summary"]}
    followed |= {f"{url}?polarity={polarity}" for polarity in expected["polarity_summary"]}
    assert sorted(requests) == sorted(followed)
    # The cache is off unless asked for; the conditional requests are on.
    assert "spiders.conditional.ConditionalRequestsMiddleware" in log
    assert "HttpCacheMiddleware" not in log


@pytest.mark.slow
def test_scrapy_parse_of_a_json_twin_with_its_validators_is_not_modified(tmp_path: Path) -> None:
    site = small_site()
    uuid = paginated_hub(site)
    with serving(site) as base_url:
        url = f"{base_url}/citations/{uuid}.json"
        items, _, _ = scrapy_parse(url, base_url, tmp_path)
        assert [i["kind"] for i in items] == ["hub_json", "fetch"]
        assert items[0]["json"]["pith_inbound_count"] == len(site.hub(uuid).citations)
        etag = items[1]["etag"]
        assert etag
        meta = json.dumps({"validators": {"etag": etag}})
        again, _, _ = scrapy_parse(url, base_url, tmp_path, "--meta", meta)
    assert [(i["kind"], i["status"], i["outcome"]) for i in again] == [("fetch", 304, "not_modified")]


@pytest.mark.slow
def test_the_http_cache_is_opt_in_and_serves_a_page_once_fetched(tmp_path: Path) -> None:
    site = small_site()
    uuid = paginated_hub(site)
    cache = tmp_path / "httpcache"
    on = ("-s", "HTTPCACHE_ENABLED=1", "-s", f"HTTPCACHE_DIR={cache}")
    with serving(site) as base_url:
        url = f"{base_url}/citations/{uuid}"
        first, _, log = scrapy_parse(url, base_url, tmp_path, *on)
    assert "'httpcache/store'" in log and any(cache.rglob("*"))
    # The site is gone: the page (and robots.txt) come from the cache, parsed the same.
    second, _, log = scrapy_parse(url, base_url, tmp_path, *on)
    assert "'httpcache/hit': 2" in log and "'httpcache/miss'" not in log
    page = [i["page"] for i in second if i["kind"] == "hub_page"]
    assert page == [i["page"] for i in first if i["kind"] == "hub_page"]
    assert page[0]["citing_count"] == len(site.hub(uuid).citations)


def test_the_http_cache_is_off_in_every_product_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Off in the settings module, and the product crawl's command line (spiders/crawl.py) turns on no cache."""
    import spiders.crawl as crawl

    assert settings.HTTPCACHE_ENABLED is False
    assert 304 in settings.HTTPCACHE_IGNORE_HTTP_CODES
    seen: dict = {}

    def capture(cmd, env, *_args, **_kwargs) -> int:
        seen.update(cmd=cmd, env=env)
        return 1

    monkeypatch.setattr(crawl, "_run_and_follow", capture)
    with pytest.raises(crawl.CrawlFailed):
        crawl.run_crawl("r", tmp_path, "https://pith.science", [], ["pith.science"])
    overrides = [arg for flag, arg in zip(seen["cmd"], seen["cmd"][1:], strict=False) if flag == "-s"]
    assert overrides and not [o for o in overrides if o.upper().startswith("HTTPCACHE")]
    assert seen["env"]["SCRAPY_SETTINGS_MODULE"] == "spiders.settings"


# -- the spider's `parse` callback, which `scrapy parse` and `scrapy shell` call ------------------------------


def response(url: str, body: str, meta: dict | None = None) -> TextResponse:
    return TextResponse(url, body=body.encode(), encoding="utf-8", request=Request(url, meta=meta or {}))


def test_parse_routes_a_bare_hub_page_url_with_the_meta_of_a_crawl() -> None:
    site = small_site()
    uuid = paginated_hub(site)
    base = "https://www.pith.science"
    url = f"{base}/citations/{uuid}?role=method&page=2"
    out = list(HubSpider().parse(response(url, render_hub_html(site, uuid, {"role": "method"}, 2, "a", base))))
    items = [o for o in out if isinstance(o, dict)]
    assert [(i["kind"], i.get("outcome")) for i in items] == [("hub_page", None), ("fetch", "parsed")]
    assert items[0]["page"] == expected_page(site, uuid, {"role": "method"}, 2, base)
    assert out[0]["hub_uuid"] == uuid
    follow = [o for o in out if isinstance(o, Request)]
    assert all(r.meta["hub_url"] == f"https://pith.science/citations/{uuid}" for r in follow)


def test_parse_routes_a_json_twin_and_quarantines_what_is_no_hub() -> None:
    site = small_site()
    uuid = paginated_hub(site)
    twin = f"https://pith.science/citations/{uuid}.json"
    out = list(HubSpider().parse(response(twin, json.dumps(render_hub_json(site, uuid)))))
    assert [(o["kind"], o["hub_uuid"]) for o in out] == [("hub_json", uuid), ("fetch", uuid)]
    # A paper page is read for its hub links (discovery), as a crawl reads it.
    paper = f'<html><body><h2>references</h2><a href="/citations/{uuid}">cited</a></body></html>'
    read = list(HubSpider().parse(response("https://pith.science/paper/2406.01234", paper)))
    assert [(o["kind"], o["hub_uuid"], o.get("outcome")) for o in read] == [
        ("links", None, None),
        ("fetch", None, "parsed"),
    ]
    assert [(h["hub_uuid"], h["block"]) for h in read[0]["hubs"]] == [(uuid, "references")]
    other = list(HubSpider().parse(response("https://pith.science/pith/01ARZ3NDEKTSV4RRFFQ69G5FAV", "<html></html>")))
    assert [(o["kind"], o.get("reason") or o.get("outcome")) for o in other] == [
        ("quarantine", "not_a_hub_url"),
        ("fetch", "quarantined"),
    ]


def test_the_cache_directory_is_absolute_so_it_stays_out_of_dot_scrapy() -> None:
    # Scrapy puts a relative HTTPCACHE_DIR under the project's .scrapy/ (not ignored by git); ours is data/httpcache.
    assert Path(settings.HTTPCACHE_DIR).is_absolute() and Path(settings.HTTPCACHE_DIR).name == "httpcache"


def test_a_crawl_opens_no_control_port(tmp_path: Path) -> None:
    """Scrapy 2.19 starts a remote-control HTTP server in every crawl unless told not to; the telnet
    console likewise. A product crawl listens on nothing."""
    from samplesite.generator import build_site
    from samplesite.server import serving
    from spiders.crawl import allowed_hosts_for, run_crawl

    site = build_site(hubs=2, seed=7, day=1)
    with serving(site) as base_url:
        result = run_crawl(
            "ports",
            tmp_path / "run",
            base_url,
            [f"{base_url}/citations/{site.hubs[0].uuid}"],
            allowed_hosts_for(base_url),
            2,
        )
    log = result.log_path.read_text()
    assert "Spider closed (finished)" in log
    assert "Remote control HTTP server" not in log and "Telnet console listening" not in log
