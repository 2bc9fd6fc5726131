"""Two crawl workers on one Redis frontier: every URL fetched once, the union equals a single crawl."""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter

import pytest

from samplesite.generator import build_site
from samplesite.server import serving
from spiders.crawl import allowed_hosts_for, run_crawl
from spiders.fleet import FrontierUnavailable, run_fleet_crawl
from spiders.frontier import frontier_keys

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


def items(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def pages_by_url(result):
    return {i["url"]: i["page"] for i in items(result.items_path) if i["kind"] == "hub_page"}


@pytest.mark.slow
def test_two_workers_share_one_frontier(tmp_path):
    require_redis()
    import redis

    site = build_site(hubs=40, seed=11, day=1)
    with serving(site, markup="mixed") as base_url:
        hub_urls = [f"{base_url}/citations/{h.uuid}" for h in site.hubs]
        allowed = allowed_hosts_for(base_url)
        single = run_crawl("single", tmp_path / "single", base_url, hub_urls, allowed)
        run_id = f"fleet-{uuid.uuid4().hex[:8]}"
        fleet = run_fleet_crawl(run_id, tmp_path / "fleet", base_url, hub_urls, allowed, REDIS_URL, workers=2)

    fetched = Counter(i["url"] for i in items(fleet.items_path) if i["kind"] == "fetch")
    assert fetched and max(fetched.values()) == 1, [u for u, n in fetched.items() if n > 1][:5]
    single_fetched = {i["url"] for i in items(single.items_path) if i["kind"] == "fetch"}
    assert set(fetched) == single_fetched
    # Both workers took a share of the work, and the parsed pages are the same records.
    per_worker = [
        sum(1 for i in items(tmp_path / "fleet" / f"worker-{w}" / "items.jsonl") if i["kind"] == "fetch")
        for w in (0, 1)
    ]
    assert min(per_worker) > 0 and sum(per_worker) == len(single_fetched)
    assert pages_by_url(fleet) == pages_by_url(single)
    assert fleet.stats["workers"] == 2
    # WARC records of both workers land in the run's one archive folder; the frontier keys are gone.
    assert {p.name.split("-w")[1][0] for p in (tmp_path / "fleet" / "warc").glob("*.warc.gz")} == {"0", "1"}
    assert redis.Redis.from_url(REDIS_URL).exists(*frontier_keys(run_id)) == 0


def test_an_unreachable_frontier_is_a_clear_error(tmp_path):
    with pytest.raises(FrontierUnavailable, match="shared frontier redis://127.0.0.1:1/0 unreachable"):
        run_fleet_crawl("x", tmp_path, "http://127.0.0.1:9", [], ["127.0.0.1"], "redis://127.0.0.1:1/0", workers=2)


@pytest.mark.slow
def test_citehub_crawl_and_refresh_on_a_frontier(tmp_path, prefect_server):
    """The CLI crawl command, and the nightly loading a fleet crawl: the warehouse equals the truth. The crawl
    command's run folder is a crawl-only run: replayed only when named (issue 19)."""
    require_redis()
    import subprocess
    import sys

    from sqlalchemy import select

    from flows.nightly import nightly_refresh
    from samplesite.truth import truth
    from schema import tables as t
    from schema.engine import make_engine

    site = build_site(hubs=15, seed=5, day=1)
    with serving(site, markup="mixed") as base_url:
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("".join(f"{base_url}/citations/{h.uuid}\n" for h in site.hubs))
        env = {**os.environ, "CITEHUB_DATA_DIR": str(tmp_path / "crawl"), "COLUMNS": "200"}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "flows.cli",
                "crawl",
                "--frontier",
                REDIS_URL,
                "--workers",
                "2",
                "--base-url",
                base_url,
                "--seeds",
                str(seeds),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "2 workers fetched" in proc.stdout
        url = f"sqlite:///{tmp_path / 'w.sqlite'}"
        report = nightly_refresh(
            base_url=base_url,
            seeds_file=str(seeds),
            database_url=url,
            data_dir=str(tmp_path / "data"),
            include_known=False,
            frontier_url=REDIS_URL,
            workers=2,
        )
    assert report["checks_failed"] == [] and report["hubs"] == 15
    with make_engine(url).connect() as conn:
        edges = {
            tuple(r)
            for r in conn.execute(
                select(t.citation.c.hub_uuid, t.citation.c.paper_key).where(t.citation.c.valid_to_run.is_(None))
            )
        }
    assert edges == {(c["hub_uuid"], c["paper_key"]) for c in truth(site)["citations"]}
    workers = sorted(p.name for p in (tmp_path / "data" / "runs" / report["run_id"]).glob("worker-*"))
    assert workers == ["worker-0", "worker-1"]

    # The crawl-only run: no run published it, for no warehouse. A replay by dates leaves it out and says why;
    # named with --run, it is replayed, and what it loads is the site's truth.
    from flows.backfill import backfill, replay_selection
    from spiders.replay import ArchiveError, read_manifest

    (crawled,) = (tmp_path / "crawl" / "runs").iterdir()
    assert read_manifest(crawled) == {"kind": "crawl", "run_id": crawled.name}
    replayed_url = f"sqlite:///{tmp_path / 'replayed.sqlite'}"
    only_crawl = "a crawl-only run [(]citehub crawl[)]: replayed only when named [(]--run[)]"
    with pytest.raises(ArchiveError, match=f"no archived crawl of any warehouse to replay [(]1 left out: {only_crawl}"):
        replay_selection(tmp_path / "crawl" / "runs", replayed_url)
    assert [
        a.run_id for a in replay_selection(tmp_path / "crawl" / "runs", replayed_url, named=[crawled.name]).chosen
    ] == [crawled.name]
    result = backfill(
        from_archive=True, run_ids=[crawled.name], database_url=replayed_url, data_dir=str(tmp_path / "crawl")
    )
    assert [r["status"] for r in result["runs"]] == ["completed"]
    with make_engine(replayed_url).connect() as conn:
        replayed = {
            tuple(r)
            for r in conn.execute(
                select(t.citation.c.hub_uuid, t.citation.c.paper_key).where(t.citation.c.valid_to_run.is_(None))
            )
        }
    assert replayed == edges


def test_crawl_command_without_a_frontier_is_refused(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "crawl",
            "--frontier",
            "redis://127.0.0.1:1/0",
            "--hub",
            "dae37f2b-32da-4f0a-9478-5e06e96fa213",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200", "CITEHUB_DATA_DIR": str(tmp_path)},
    )
    assert proc.returncode == 2
    assert "shared frontier redis://127.0.0.1:1/0 unreachable" in proc.stdout
