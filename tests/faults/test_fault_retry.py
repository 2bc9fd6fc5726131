"""Retryable faults: 5xx bursts, 429 with Retry-After (seconds, HTTP date, over the cap), slow answers
and timeouts. Each is forced on one URL of a small site; every other URL is served clean."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from samplesite.faults import Faults
from tests.faults.conftest import crawl


def _hub(site, i=0):
    return site.hubs[i].uuid


def test_5xx_burst_is_retried_until_it_passes(small_site, tmp_path):
    target = f"/citations/{_hub(small_site)}"
    faults = Faults().force(target, "5xx", "5xx", "5xx")
    c = crawl(small_site, tmp_path, faults, hubs=[_hub(small_site)])
    assert faults.attempts(target) == 4  # three 5xx, then the page
    assert c.fetch[c.base_url + target]["outcome"] == "parsed"
    assert c.stats["retry/count"] == 3
    assert {f["outcome"] for f in c.fetch.values()} == {"parsed"}


def test_5xx_past_the_retries_fails_with_its_status(small_site, tmp_path):
    target = f"/citations/{_hub(small_site)}.json"
    faults = Faults().force(target, "5xx", "5xx", "5xx")
    c = crawl(small_site, tmp_path, faults, hubs=[_hub(small_site)], settings={"RETRY_TIMES": "2"})
    assert faults.attempts(target) == 3
    row = c.fetch[c.base_url + target]
    assert row["outcome"] == "failed" and row["status"] in (500, 502, 503)
    assert c.stats["retry/max_reached"] == 1


def test_429_retry_waits_retry_after_seconds(small_site, tmp_path):
    target = f"/citations/{_hub(small_site)}"
    faults = Faults(retry_after=3).force(target, "429")
    c = crawl(small_site, tmp_path, faults, hubs=[_hub(small_site)])
    first, second = faults.arrivals(target)
    assert second - first >= 3.0
    assert c.fetch[c.base_url + target]["outcome"] == "parsed"
    assert c.stats["citehub/retry_after/waits"] == 1
    assert c.stats["citehub/retry_after/seconds"] == 3.0


def test_429_retry_waits_until_the_http_date(small_site, tmp_path):
    target = f"/citations/{_hub(small_site)}.json"
    faults = Faults(retry_after=1).force(target, "429-date")
    c = crawl(small_site, tmp_path, faults, hubs=[_hub(small_site)])
    first, second = faults.arrivals(target)
    # The server named int(first) + 2 as the date (faults._too_many_date): not one request before it.
    named = parsedate_to_datetime(_format_date(int(first) + 2)).timestamp()
    assert second >= named
    assert c.fetch[c.base_url + target]["outcome"] == "parsed"


def _format_date(epoch: int) -> str:
    from datetime import UTC, datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)


def test_retry_after_over_the_cap_gives_up_without_retrying_early(small_site, tmp_path):
    target = f"/citations/{_hub(small_site)}"
    faults = Faults(retry_after=600).force(target, "429")
    c = crawl(small_site, tmp_path, faults, hubs=[_hub(small_site)], settings={"CITEHUB_RETRY_AFTER_MAX": "5"})
    assert faults.attempts(target) == 1
    row = c.fetch[c.base_url + target]
    assert (row["outcome"], row["status"]) == ("failed", 429)
    assert c.stats["citehub/retry_after/over_cap"] == 1


def test_slow_answer_is_waited_for(small_site, tmp_path):
    target = f"/citations/{_hub(small_site)}"
    faults = Faults(slow_s=1.0).force(target, "slow")
    c = crawl(small_site, tmp_path, faults, hubs=[_hub(small_site)])
    assert faults.attempts(target) == 1
    assert c.fetch[c.base_url + target]["outcome"] == "parsed"


def test_timeout_is_retried(small_site, tmp_path):
    target = f"/citations/{_hub(small_site)}"
    faults = Faults(hang_s=3.0).force(target, "timeout")
    c = crawl(small_site, tmp_path, faults, hubs=[_hub(small_site)], settings={"DOWNLOAD_TIMEOUT": "1"})
    assert faults.attempts(target) == 2
    assert c.stats["retry/reason_count/scrapy.exceptions.DownloadTimeoutError"] == 1
    assert c.fetch[c.base_url + target]["outcome"] == "parsed"
