"""Discovery (issue 16): from 5% of a growing sample site as seeds, `citehub discover` reaches every hub reachable
by links (hub pages' co-cited works, the pages of their citing papers and those papers' reference lists), and
only those, a slice (one published run) at a time; a killed discovery resumes from the frontier the warehouse
kept. Refused links are recorded, never crawled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from samplesite.generator import build_site
from samplesite.growth import GrowthModel, site_seeds
from samplesite.server import serving
from samplesite.truth import reachable, truth
from schema import tables as t
from schema.engine import make_engine

pytestmark = pytest.mark.slow
HUBS, SMALL, SEED, DAY = 300, 120, 7, 12
ROOT = Path(__file__).resolve().parents[2]


def _site(hubs: int):
    site = build_site(hubs=hubs, seed=SEED, day=DAY, growth=GrowthModel())
    day_truth = truth(site)
    seeds = site_seeds(site, 0.05)
    expected = reachable(day_truth, seeds)
    on_site = {h["uuid"] for h in day_truth["hubs"]}
    # the site has something to discover, and hubs that no link reaches from these seeds
    assert len(expected) > 4 * len(seeds) and expected < on_site
    return site, seeds, expected


@pytest.fixture(scope="module")
def site():
    return _site(HUBS)


@pytest.fixture(scope="module")
def small_site():
    """For the tests of stopping and resuming: what they show does not need the full size."""
    return _site(SMALL)


def _hubs(url: str) -> set[str]:
    with make_engine(url).connect() as conn:
        return set(conn.execute(select(t.hub.c.hub_uuid)).scalars())


def test_discover_reaches_every_reachable_hub_and_only_those(tmp_path, site, prefect_server):
    from flows.discover import discover

    site, seeds, expected = site
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("\n".join(seeds) + "\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    with serving(site) as base_url:
        report = discover(
            seeds_file=str(seeds_file),
            slice_hubs=120,
            base_url=base_url,
            database_url=url,
            data_dir=str(tmp_path / "d"),
        )
    assert report["status"] == "completed", report
    assert _hubs(url) == expected
    assert len(report["slices"]) >= 3  # slices bounded by --slice, not one crawl of everything
    assert all(s["status"] == "completed" for s in report["slices"])
    with make_engine(url).connect() as conn:
        in_frontier = set(conn.execute(select(t.frontier.c.hub_uuid)).scalars())
        blocks = set(conn.execute(select(t.frontier.c.first_seen_block)).scalars())
        reasons = set(conn.execute(select(t.run_plan.c.reason)).scalars())
    assert in_frontier | set(seeds) == expected  # every hub linked is reachable, and every reachable one linked
    assert "references" in blocks  # paper pages' reference lists did their part
    assert reasons == {"seed", "new"}


def test_max_hubs_stops_discovery_and_a_rerun_goes_on(tmp_path, small_site, prefect_server):
    from flows.discover import discover

    site, seeds, expected = small_site
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("\n".join(seeds) + "\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    with serving(site) as base_url:
        args = {
            "seeds_file": str(seeds_file),
            "base_url": base_url,
            "database_url": url,
            "data_dir": str(tmp_path / "d"),
        }
        first = discover(**args, max_hubs=60, slice_hubs=50)
        held = _hubs(url)
        # the seeds, a slice of 50, then the 4 that make 60
        assert len(held) == 60 < len(expected) and [s["limit"] for s in first["slices"]] == [50, 50, 4]
        again = discover(**args, slice_hubs=500)
    assert again["status"] == "completed"
    assert _hubs(url) == expected


def test_a_killed_discovery_resumes_from_the_frontier(tmp_path, small_site, prefect_server):
    """SIGKILL mid-crawl of the second slice: the warehouse keeps the first slice and its frontier; the rerun
    starts from there and ends with every reachable hub."""
    from prefect.settings import PREFECT_API_URL

    from flows.discover import discover

    site, seeds, expected = small_site
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("\n".join(seeds) + "\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    data = tmp_path / "d"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "CITEHUB_DATABASE_URL": url}
    with serving(site) as base_url:
        command = [sys.executable, "-m", "flows.cli", "discover", "--seeds", str(seeds_file), "--slice", "40"]
        proc = subprocess.Popen(
            [*command, "--base-url", base_url, "--data-dir", str(data)],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 240
        while len([d for d in (data / "runs").glob("*") if any(d.glob("warc/*.warc.gz"))]) < 2:
            assert proc.poll() is None, "discovery ended before its second slice"
            assert time.monotonic() < deadline, "no second slice"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        kept = _hubs(url)
        assert seeds and set(seeds) <= kept < expected  # the first slice is published, the second is not
        report = discover(
            seeds_file=str(seeds_file), slice_hubs=500, base_url=base_url, database_url=url, data_dir=str(data)
        )
    assert report["status"] == "completed"
    assert _hubs(url) == expected
    with make_engine(url).connect() as conn:
        statuses = list(conn.execute(select(t.run.c.status).order_by(t.run.c.started_at)).scalars())
    assert statuses[1] == "abandoned" and statuses[0] == "completed" and statuses[-1] == "completed"
