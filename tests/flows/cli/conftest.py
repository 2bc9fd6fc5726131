"""A warehouse built by the real nightly flow from days 1..3 of a small sample site (served over real
HTTP), and the ground truth of each day, shared by the ops tests of one worker."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth

HUBS, SEED, DAYS = 16, 7, 3


@pytest.fixture(scope="session")
def history(tmp_path_factory, prefect_server):
    """Run the nightly on days 1..DAYS; returns the warehouse URL, data dir, run reports and truths."""
    from flows.nightly import nightly_refresh

    root = tmp_path_factory.mktemp("ops")
    url = f"sqlite:///{root / 'warehouse.sqlite'}"
    reports, truths = [], []
    for day in range(1, DAYS + 1):
        site = build_site(hubs=HUBS, seed=SEED, day=day)
        with serving(site) as base_url:
            # Day 1 starts from the site's hubs; later days plan from the warehouse like a real nightly.
            reports.append(
                nightly_refresh(
                    base_url=base_url,
                    hubs=[h.uuid for h in site.hubs] if day == 1 else None,
                    database_url=url,
                    data_dir=str(root / "data"),
                    include_known=day > 1,
                )
            )
        truths.append(truth(site))
    return {"url": url, "data_dir": root / "data", "reports": reports, "truths": truths, "root": root}


def edges(day_truth: dict) -> dict[tuple[str, str], tuple]:
    return {(c["hub_uuid"], c["paper_key"]): (c["role"], c["polarity"]) for c in day_truth["citations"]}


def chromium() -> str:
    """Path of Debian's chromium; installed with apt-get when missing. Skips (outside CI) or fails (CI)
    only when it cannot be installed."""
    found = shutil.which("chromium")
    if found:
        return found
    problem = "not root: cannot apt-get install chromium"
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        update = subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True, env=env)
        install = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, text=True, env=env
        )
        found = shutil.which("chromium")
        if found:
            return found
        problem = f"apt-get install chromium failed: {(update.stderr + install.stderr)[-500:]}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"headless Chromium is required in CI: {problem}")
    pytest.skip(f"headless Chromium unavailable: {problem}")
