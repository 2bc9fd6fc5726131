"""Real HTTP round trips against the sample site on a free loopback port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import lxml.html
import pytest

from samplesite import seed_hub
from samplesite.server import serving


@pytest.fixture(scope="module")
def base_url(site):
    with serving(site, markup="a") as url:
        yield url


def get(url: str, headers: dict | None = None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def explorer_count(html: bytes) -> int:
    doc = lxml.html.document_fromstring(html)
    return len(doc.xpath('//section[@class="explorer"]/ul/li'))


def test_hub_page_headers_and_conditional_gets(base_url):
    url = f"{base_url}/citations/{seed_hub.UUID}"
    status, headers, body = get(url)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Last-Modified"] == "Mon, 01 Jun 2026 00:00:00 GMT"
    assert int(headers["Content-Length"]) == len(body) and b"Attention is not Explanation" in body
    etag = headers["ETag"]
    assert etag.startswith('"') and get(url)[1]["ETag"] == etag
    status, _, body = get(url, {"If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert get(url, {"If-None-Match": '"other"'})[0] == 200
    assert get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(url, {"If-Modified-Since": "Sun, 31 May 2026 00:00:00 GMT"})[0] == 200
    assert get(url + "?role=method")[1]["ETag"] != etag


def test_pagination_and_filters_match_truth(site, site_truth, base_url):
    hub = max(site_truth["hubs"], key=lambda h: h["citing_count"] if h["template"] == "current" else 0)
    total, page, url = 0, 1, f"{base_url}/citations/{hub['uuid']}"
    while True:
        status, _, body = get(url if page == 1 else f"{url}?page={page}")
        assert status == 200
        total += explorer_count(body)
        doc = lxml.html.document_fromstring(body)
        nxt = [a.get("href") for a in doc.iter("a") if a.text_content() == "next"]
        if not nxt:
            break
        assert nxt == [f"/citations/{hub['uuid']}?page={page + 1}"]
        page += 1
    assert total == hub["citing_count"] and page == -(-total // 20)
    role, count = next(iter(hub["role_summary"].items()))
    pages = [get(f"{url}?role={role}&page={p}")[2] for p in range(1, count // 20 + 2)]
    assert sum(explorer_count(b) for b in pages) == count
    cat, count = next(iter(hub["facets"]["fields"].items()))
    assert sum(explorer_count(get(f"{url}?cat={cat}&page={p}")[2]) for p in range(1, count // 20 + 2)) == count


def test_json_twin_robots_paper_pages_and_404(site, base_url):
    status, headers, body = get(f"{base_url}/citations/{seed_hub.UUID}.json")
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    twin = json.loads(body)
    assert twin["work"]["title"] == "Attention is not Explanation"
    assert twin["hub"]["state"]["pith_inbound_count"] == 19 and twin["hub"]["state"]["tier"] == "hub"
    status, _, body = get(f"{base_url}/robots.txt")
    assert status == 200 and body == b"User-agent: *\nDisallow: /pith/\nAllow: /\n"
    old = next(p for p in site.papers if p.link_style == "ref")
    pith = next(p for p in site.papers if p.link_style == "pith")
    new = next(p for p in site.papers if p.link_style == "p")
    for path in (
        f"/ref/arxiv/{old.arxiv_id}",
        f"/paper/{pith.pith_id}",
        f"/p/{new.arxiv_id}v1",
        f"/paper/{new.arxiv_id}",
    ):
        status, _, body = get(base_url + path)
        assert status == 200 and b"/citations/" in body, path
    for path in (
        "/citations/00000000-0000-4000-8000-000000000000",
        "/citations/nope",
        "/nope",
        "/paper/zzzzzzzz",
        "/pith/01h00000000000000000000000",
    ):
        assert get(base_url + path)[0] == 404, path


def test_mixed_markup_serves_both_markups(site):
    with serving(site) as url:
        bodies = [get(f"{url}/citations/{h.uuid}")[2] for h in site.hubs[:12]]
    assert any(b'<section class="explorer">' in b for b in bodies)
    assert any(b'class="tb2"' in b for b in bodies)


def test_cli_serve_prints_its_url_and_stops_cleanly_on_sigterm(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "samplesite", "serve", "--hubs", "20", "--port", "0", "--port-file", str(port_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("serving http://127.0.0.1:")
        assert line.endswith(":" + port_file.read_text().strip())
        assert get(line.split(" ", 1)[1] + "/robots.txt")[0] == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
