"""Fleet crawl progress: the workers' progress lines combined into one snapshot a one-process crawl's reporter
shows alike (the combining function, and a real two-worker crawl of the sample site on Redis)."""

from __future__ import annotations

import json
import logging
import os
import uuid

import pytest

from flows.progress import ProgressReporter
from samplesite.generator import build_site
from samplesite.model import EXPLORER_PAGE_SIZE
from samplesite.server import serving
from samplesite.truth import truth
from spiders.crawl import allowed_hosts_for
from spiders.fleet import FleetProgress, combine_progress, run_fleet_crawl

REDIS_URL = os.environ.get("CITEHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} unreachable ({exc})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " and CI=true: Redis tests must run in CI")
        pytest.skip(message)


def worker_snap(t, pages_planned, pages_done, final=False, reason=None, hubs=None, **extra):
    snap = {
        "run_id": "F1",
        "t": t,
        "hubs_planned": 3,
        "hubs_done": 99,  # a worker's own view of hubs done: the fleet does not use it
        "pages_planned": pages_planned,
        "pages_done": pages_done,
        "retries": extra.get("retries", 0),
        "quarantined": extra.get("quarantined", 0),
        "failed": extra.get("failed", 0),
        "final": final,
        "hubs": hubs or {},
    }
    if reason:
        snap["reason"] = reason
    return snap


def test_combine_sums_counts_and_counts_hubs_done_across_workers():
    snaps = {
        0: worker_snap(4.0, 5, 3, retries=1, quarantined=2),
        1: worker_snap(9.0, 2, 3, failed=1),
    }
    # Hub a: worker 0 scheduled 3, worker 1 answered 2 of them and worker 0 one: done.
    # Hub b: scheduled 2 + 1, answered 1 + 1: not done. Hub c: a dropped seed only (0 scheduled): not done.
    counts = {0: {"a": [3, 1], "b": [2, 1], "c": [0, 0]}, 1: {"a": [0, 2], "b": [1, 1]}}
    snap = combine_progress("F1", snaps, counts, workers=2, t=12.5)
    assert snap == {
        "run_id": "F1",
        "t": 12.5,
        "hubs_planned": 3,
        "hubs_done": 1,
        "pages_planned": 7,
        "pages_done": 6,
        "retries": 1,
        "quarantined": 2,
        "failed": 1,
        "final": False,
        "workers": 2,
        "workers_done": 0,
    }


def test_combine_is_final_only_when_every_worker_is():
    counts = {0: {"a": [2, 1]}, 1: {"a": [0, 1], "b": [1, 1]}}
    one = combine_progress("F1", {0: worker_snap(5, 2, 1, final=True, reason="finished")}, counts, 2, 6.0)
    assert not one["final"] and one["workers_done"] == 1 and "reason" not in one
    both = combine_progress(
        "F1",
        {
            0: worker_snap(5, 2, 1, final=True, reason="finished"),
            1: worker_snap(6, 1, 2, final=True, reason="finished"),
        },
        counts,
        2,
        7.0,
    )
    assert both["final"] and both["reason"] == "finished" and both["workers_done"] == 2
    assert (both["hubs_done"], both["pages_planned"], both["pages_done"]) == (2, 3, 3)
    stopped = combine_progress(
        "F1",
        {
            0: worker_snap(5, 2, 1, final=True, reason="finished"),
            1: worker_snap(6, 1, 1, final=True, reason="shutdown"),
        },
        counts,
        2,
        7.0,
    )
    assert stopped["reason"] == "shutdown"


def test_combine_never_shows_more_pages_done_than_planned_nor_more_hubs_than_planned():
    # Worker 1 reported a page worker 0 scheduled before worker 0's line saying it scheduled it.
    counts = {0: {"a": [1, 0]}, 1: {"a": [0, 2], "b": [1, 1], "c": [1, 1], "d": [1, 1]}}
    snap = combine_progress("F1", {0: worker_snap(1, 1, 0), 1: worker_snap(1, 3, 5)}, counts, 2, 1.0)
    assert snap["pages_planned"] == snap["pages_done"] == 5
    assert snap["hubs_done"] == 3  # b, c and d; a looks over-answered for the moment: not done


def test_no_snapshot_yet_is_an_empty_plan():
    snap = combine_progress("F1", {}, {}, workers=2, t=0.0)
    assert (snap["hubs_planned"], snap["hubs_done"], snap["pages_done"], snap["final"]) == (0, 0, 0, False)


def test_fleet_progress_keeps_each_workers_latest_hub_totals():
    seen: list[dict] = []
    clock = iter([100.0, 101.0, 102.0, 103.0, 104.0])
    fleet = FleetProgress("F1", [3, 4], seen.append, clock=lambda: next(clock))
    w3, w4 = fleet.worker(3), fleet.worker(4)
    w3(worker_snap(0.5, 2, 0, hubs={"a": [2, 0]}))
    w4(worker_snap(0.4, 0, 1, hubs={"a": [0, 1]}))
    # Tick lines carry only the hubs that changed: "a" keeps worker 3's last totals.
    w3(worker_snap(1.5, 3, 1, hubs={"b": [1, 1]}))
    w4(worker_snap(1.4, 0, 1, final=True, reason="finished", hubs={"a": [0, 1]}))
    assert [s["t"] for s in seen] == [1.0, 2.0, 3.0, 4.0]  # the fleet's clock, not a worker's
    assert [(s["hubs_done"], s["pages_planned"], s["pages_done"]) for s in seen] == [
        (0, 2, 0),
        (0, 2, 1),
        (1, 3, 2),
        (1, 3, 2),
    ]
    assert [s["final"] for s in seen] == [False] * 4
    assert fleet.hub_counts[3] == {"a": [2, 0], "b": [1, 1]}


def expected_requests(site) -> int:
    """Hub requests a complete crawl makes of the site, from its ground truth: per hub the JSON twin, the pages
    of its list, and the pages of each role- and polarity-filtered list (a value's count, at least one page)."""

    def pages(count: int) -> int:
        return max(1, -(-count // EXPLORER_PAGE_SIZE))

    total = 0
    for hub in truth(site)["hubs"]:
        roles = {**hub["facets"].get("roles", {}), **hub["role_summary"]}
        polarities = {**hub["facets"].get("polarities", {}), **hub["polarity_summary"]}
        total += 1 + pages(hub["citing_count"]) + sum(pages(n) for n in (*roles.values(), *polarities.values()))
    return total


def expected_paper_pages(site) -> list[str]:
    """Paths of the paper pages a crawl that knows no paper fetches, from the ground truth: one for each
    citing paper with an arXiv or pith id (discovery, issue 16), sorted."""
    return sorted(
        f"/paper/{p['arxiv_id'] or p['pith_id']}" for p in truth(site)["papers"] if p["arxiv_id"] or p["pith_id"]
    )


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.slow
def test_two_worker_crawl_reports_fleet_progress_that_ends_at_the_truth(tmp_path):
    require_redis()
    site = build_site(hubs=12, seed=3, day=1)
    seen: list[dict] = []
    log = logging.getLogger("citehub.test.fleet_progress")
    log.setLevel(logging.INFO)
    log.propagate = False
    lines = Lines()
    log.handlers = [lines]
    run_id = f"fleetp-{uuid.uuid4().hex[:8]}"
    with serving(site) as base_url, ProgressReporter(log, interactive=False) as reporter:

        def on_progress(snap: dict) -> None:
            seen.append(snap)
            reporter(snap)

        result = run_fleet_crawl(
            run_id,
            tmp_path / "run",
            base_url,
            [f"{base_url}/citations/{h.uuid}" for h in site.hubs],
            allowed_hosts_for(base_url),
            REDIS_URL,
            workers=2,
            extra_settings={"CITEHUB_PROGRESS_INTERVAL": "0.2"},
            on_progress=on_progress,
        )

    fetches = [i for i in map(json.loads, result.items_path.read_text().splitlines()) if i["kind"] == "fetch"]
    pages = expected_requests(site)
    assert len([f for f in fetches if f["hub_uuid"] is not None]) == pages  # the truth's count is the crawl's
    # The paper pages belong to no hub (progress counts hub pages): each fetched once by the whole fleet.
    papers = sorted(f["url"].removeprefix(base_url) for f in fetches if f["hub_uuid"] is None)
    assert papers == expected_paper_pages(site)
    final = seen[-1]
    assert final["final"] and final["reason"] == "finished" and final["run_id"] == run_id
    assert (final["hubs_done"], final["hubs_planned"]) == (12, 12)
    assert final["pages_done"] == final["pages_planned"] == pages
    assert final["retries"] == final["quarantined"] == final["failed"] == 0
    assert (final["workers"], final["workers_done"]) == (2, 2)
    # Progress while it ran: from both workers, on one clock, final only at the end.
    assert len(seen) > 2 and not any(s["final"] for s in seen[:-1])
    assert [s["t"] for s in seen] == sorted(s["t"] for s in seen)
    for worker in (0, 1):
        written = (tmp_path / "run" / f"worker-{worker}" / "progress.jsonl").read_text().splitlines()
        assert json.loads(written[-1])["final"]
    # The reporter logs the same lines as for a one-process crawl, ending with the fleet's totals.
    assert lines.messages and all(m.startswith(f"run {run_id}: hubs ") for m in lines.messages)
    assert lines.messages[-1].startswith(f"run {run_id}: hubs 12/12, pages {pages}/{pages}, ")
    assert "pages/s, retries 0, quarantined 0, failed 0, elapsed " in lines.messages[-1]
    assert lines.messages[-1].endswith(", ETA done")
