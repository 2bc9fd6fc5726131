"""Disk full under the data directory (issue 19): the run used to end with "scrapy crawl exited 0". It says
"no space left on <path>", exits 1 and its row is `failed` with that cause; the warehouse is untouched.

The data directory is a 100 KiB tmpfs mounted in a mount namespace of the command's own (`unshare -m`, as
root or with user namespaces), so the crawl really fills a file system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = 'mount -t tmpfs -o size=100k tmpfs "$CITEHUB_DATA_DIR" && exec "$@"'


def test_a_crawl_that_fills_the_disk_says_so_and_fails_its_run(tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    site = build_site(hubs=30, seed=7, day=1)
    data, url = tmp_path / "data", f"sqlite:///{tmp_path / 'w.sqlite'}"
    data.mkdir()
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "CITEHUB_DATA_DIR": str(data)}
    with serving(site) as base_url:
        hubs = [arg for h in site.hubs for arg in ("--hub", h.uuid)]
        command = [sys.executable, "-m", "flows.cli", "refresh", "--base-url", base_url, "--database-url", url, *hubs]
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", SCRIPT, "sh", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    error = [line for line in done.stdout.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and error[0].startswith("error: no space left on "), done.stdout[-3000:]
    assert str(data / "runs") in error[0]
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(t.run.c.status, t.run.c.summary)).all()
        hubs_loaded = conn.execute(select(func.count()).select_from(t.hub)).scalar_one()
    assert [r.status for r in rows] == ["failed"]
    assert json.loads(rows[0].summary)["error"].startswith("no space left on ")
    assert hubs_loaded == 0
    engine.dispose()
