"""Faults in the body: cut short, malformed, wrong charset, BOM, empty, rate-limit text, layout drift,
decompression bomb. A body that recovers parses to exactly what the clean site shows; one that does not is
quarantined (or failed) with a named reason, never loaded half-read."""

from __future__ import annotations

import json

import pytest

from samplesite.faults import Faults
from tests.faults.conftest import crawl


@pytest.fixture(scope="module")
def clean_pages(small_site, tmp_path_factory):
    c = crawl(small_site, tmp_path_factory.mktemp("clean"), Faults())
    return {c.target(url): _portless(c, item["page"]) for url, item in c.pages.items()}


def _portless(c, page: dict) -> dict:
    """Entry hrefs are absolute: compare crawls of servers on different ports."""
    return json.loads(json.dumps(page).replace(c.base_url, "http://samplesite"))


def _first_hub_targets(site, n=4):
    return [f"/citations/{h.uuid}" for h in site.hubs[:n]]


@pytest.mark.parametrize("mode", ["truncate", "chunked-cut"])
def test_cut_body_is_retried_never_parsed(small_site, tmp_path, clean_pages, mode):
    targets = _first_hub_targets(small_site, 2)
    faults = Faults()
    for target in targets:
        faults.force(target, mode)
    c = crawl(small_site, tmp_path, faults, hubs=[t.rsplit("/", 1)[1] for t in targets])
    for target in targets:
        assert faults.attempts(target) == 2
        assert _portless(c, c.pages[c.base_url + target]["page"]) == clean_pages[target]
    assert c.stats["retry/count"] == 2
    assert {f["outcome"] for f in c.fetch.values()} == {"parsed"}


def test_cut_body_every_attempt_fails_the_url(small_site, tmp_path):
    target = _first_hub_targets(small_site, 1)[0]
    faults = Faults().force(target, *["truncate"] * 4)
    c = crawl(small_site, tmp_path, faults, hubs=[target.rsplit("/", 1)[1]])
    row = c.fetch[c.base_url + target]
    assert row["outcome"] == "failed" and row["status"] is None
    assert "ResponseFailed" in row["error"] or "DataLoss" in row["error"]
    assert c.base_url + target not in c.pages


@pytest.mark.parametrize("mode", ["malformed", "charset", "bom"])
def test_recoverable_body_parses_exactly(small_site, tmp_path, clean_pages, mode):
    targets = _first_hub_targets(small_site, 8)
    faults = Faults()
    for target in targets:
        faults.force(target, mode)
    c = crawl(small_site, tmp_path, faults)
    for target in targets:
        assert faults.served()[mode] == len(targets)
        assert _portless(c, c.pages[c.base_url + target]["page"]) == clean_pages[target], target
    if mode == "charset":
        # every sample-site page has non-ASCII text; each was read as the UTF-8 it is
        assert c.stats["citehub/charset/corrected"] == len(targets)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("empty", "empty_body"),
        ("ratelimited", "rate_limited_text"),
        ("drift-rename", "missing_explorer"),
        ("drift-missing", "missing_count"),
    ],
)
def test_unparseable_page_is_quarantined_with_its_reason(small_site, tmp_path, mode, reason):
    target = _first_hub_targets(small_site, 1)[0]
    faults = Faults().force(target, mode)
    c = crawl(small_site, tmp_path, faults, hubs=[target.rsplit("/", 1)[1]])
    url = c.base_url + target
    assert c.quarantine[url]["reason"] == reason
    assert c.fetch[url]["outcome"] == "quarantined" and c.fetch[url]["error"] == reason
    assert url not in c.pages
    # only page 1 got the fault; nothing else was lost or invented
    assert [u for u, f in c.fetch.items() if f["outcome"] != "parsed"] == [url]


def test_empty_json_twin_is_quarantined(small_site, tmp_path):
    target = _first_hub_targets(small_site, 1)[0] + ".json"
    faults = Faults().force(target, "empty")
    c = crawl(small_site, tmp_path, faults, hubs=[target.rsplit("/", 1)[1][:-5]])
    assert c.fetch[c.base_url + target]["outcome"] == "quarantined"
    assert c.quarantine[c.base_url + target]["reason"]


def test_gzip_bomb_stops_at_the_size_limit(small_site, tmp_path):
    target = _first_hub_targets(small_site, 1)[0]
    faults = Faults(bomb_mb=8).force(target, "gzip-bomb")
    c = crawl(
        small_site,
        tmp_path,
        faults,
        hubs=[target.rsplit("/", 1)[1]],
        settings={"DOWNLOAD_MAXSIZE": str(1024 * 1024), "DOWNLOAD_WARNSIZE": "0"},
    )
    row = c.fetch[c.base_url + target]
    assert faults.attempts(target) == 1  # a bomb is not retried
    assert row["outcome"] == "failed"
    assert "exceeded DOWNLOAD_MAXSIZE (1048576 B) during decompression" in row["error"]
