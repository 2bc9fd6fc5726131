"""Redirects off the allowlist (another host, another local port, a private address), names resolving to
non-public addresses, and credentials on a redirect to another origin."""

from __future__ import annotations

import json
import socket

import pytest
from pytest_httpserver import HTTPServer

from samplesite.faults import Faults
from tests.faults.conftest import crawl


def _one(site):
    uuid = site.hubs[0].uuid
    return uuid, f"/citations/{uuid}"


def _assert_skipped(c, target: str, reason: str) -> None:
    row = c.fetch[c.base_url + target]  # accounted under the URL the spider asked for
    assert row["outcome"] == "skipped", row
    assert reason in row["error"]
    assert c.base_url + target not in c.pages


def test_redirect_to_another_local_port_never_connects(small_site, tmp_path, listener):
    uuid, target = _one(small_site)
    faults = Faults(redirect_port=listener.port).force(target, "redirect-port")
    c = crawl(small_site, tmp_path, faults, hubs=[uuid])
    _assert_skipped(c, target, "host_not_allowed")
    assert listener.accepted == 0
    assert c.stats["citehub/guard/refused/host_not_allowed"] == 1


def test_redirect_to_a_private_address_is_refused(small_site, tmp_path):
    uuid, target = _one(small_site)
    faults = Faults(private_host="192.168.77.1").force(target, "redirect-private")
    c = crawl(small_site, tmp_path, faults, hubs=[uuid])
    _assert_skipped(c, target, "host_not_allowed")
    # every download went to the site: its own URLs and robots.txt, nothing to 192.168.77.1
    assert c.stats["downloader/request_count"] == sum(c.faults.served().values())


def test_redirect_to_another_host_is_refused(small_site, tmp_path):
    uuid, target = _one(small_site)
    faults = Faults(other_host="evil.example").force(target, "redirect-host")
    c = crawl(small_site, tmp_path, faults, hubs=[uuid])
    _assert_skipped(c, target, "host_not_allowed")


def test_allowlisted_name_resolving_to_a_private_address_is_refused(small_site, tmp_path):
    # The machine's own name resolves to a loopback or private address: allowlisted by name, refused by
    # address, and nothing is sent (the site listens on 127.0.0.1 only: a connection would be refused
    # anyway, so the count of server requests shows the guard acted first).
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    from spiders.middlewares import is_public

    if is_public(address):
        pytest.skip(f"{name} resolves to public {address}")
    faults = Faults()
    uuid = small_site.hubs[0].uuid
    from samplesite.server import serving
    from spiders.crawl import run_crawl
    from tests.faults.conftest import FAST

    with serving(small_site, faults=faults) as base_url:
        port = base_url.rsplit(":", 1)[1]
        result = run_crawl(
            "t",
            tmp_path / "run",
            f"http://{name}:{port}",
            [f"http://{name}:{port}/citations/{uuid}"],
            [f"{name}:{port}"],
            extra_settings=FAST,
        )
    rows = [json.loads(line) for line in result.items_path.read_text().splitlines()]
    fetches = [r for r in rows if r["kind"] == "fetch"]
    assert {r["outcome"] for r in fetches} == {"skipped"}
    assert all("private_address" in r["error"] for r in fetches)
    assert sum(faults.served().values()) == 0


def test_credentials_do_not_follow_a_redirect_to_another_origin(small_site, tmp_path):
    # Both origins allowlisted, so the hop happens: Scrapy drops Authorization on the port change, the
    # guard drops Cookie (Scrapy keeps it when only the port changes).
    from samplesite.server import serving
    from spiders.crawl import run_crawl
    from tests.faults.conftest import FAST

    uuid, target = _one(small_site)
    headers = json.dumps({"Authorization": "Bearer s3cret", "Cookie": "session=s3cret"})
    with HTTPServer(host="127.0.0.1", port=0) as other:
        other.expect_request("/robots.txt").respond_with_data("", status=404)
        other.expect_request(target).respond_with_data("gone", status=404)
        faults = Faults(redirect_port=other.port).force(target, "redirect-port")
        with serving(small_site, faults=faults) as base_url:
            run_crawl(
                "t",
                tmp_path / "run",
                base_url,
                [f"{base_url}{target}"],
                [base_url.split("//")[1], f"127.0.0.1:{other.port}"],
                extra_settings={**FAST, "DEFAULT_REQUEST_HEADERS": headers},
            )
        seen = [request for request, _ in other.log if request.path == target]
    assert len(seen) == 1
    assert "Authorization" not in seen[0].headers
    assert "Cookie" not in seen[0].headers
    # and the site itself did get them: the test would notice if they were never sent
    assert faults.attempts(target) == 1
