"""Disk full under the data directory (issue 19): the run used to end with "scrapy crawl exited 0". It says
"no space left on <path>", exits 1 and its row is `failed` with that cause; the warehouse is untouched.

The data directory is a 100 KiB tmpfs mounted in a mount namespace of the command's own (`unshare -m`, as
root or with user namespaces), so the crawl really fills a file system.

A crawl that lost writes to a full disk and still finished (space came back before its end: scrapy exits 0
and writes stats.json) fails the same way, from its stats (the errors whose cause was ENOSPC) or its logs,
instead of handing over an archive short of what it fetched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine
from spiders.crawl import NO_SPACE_STAT, _lost_writes

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


# Run in the mount namespace with a 2 MiB tmpfs at sys.argv[1]: fill it but 16 KiB, crawl 30 hubs, free the
# space once the site has served 40 requests (their WARC records and items met a full disk), let the crawl
# finish. Prints what run_crawl did as JSON.
CRAWL_ON_A_FULL_DISK = textwrap.dedent(
    """
    import json, shutil, sys, threading
    from pathlib import Path
    from samplesite.generator import build_site
    from samplesite.server import make_server
    from spiders.crawl import allowed_hosts_for, run_crawl

    data = Path(sys.argv[1])
    filler = data / "filler"
    filler.write_bytes(bytes(shutil.disk_usage(data).free - 16 * 1024))
    site = build_site(hubs=30, seed=7, day=1)
    server = make_server(site)
    respond, served = server.respond, []

    def counted(path, query):
        served.append(path)
        if len(served) == 40:
            filler.unlink()
        return respond(path, query)

    server.respond = counted
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base, run_dir = server.base_url, data / "runs" / "r1"
    out = {"run_dir": str(run_dir)}
    try:
        run_crawl("r1", run_dir, base, [f"{base}/citations/{h.uuid}" for h in site.hubs], allowed_hosts_for(base),
                  extra_settings={"AUTOTHROTTLE_ENABLED": "False", "CITEHUB_PAPER_PAGES": "False"})
        out["error"] = None
    except Exception as exc:
        out["error"] = [type(exc).__name__, str(exc)]
    out["served"] = len(served)
    out["freed"] = not filler.exists()
    stats = run_dir / "stats.json"
    out["stats"] = json.loads(stats.read_text()) if stats.exists() else None
    print(json.dumps(out, default=str))
    """
)


def test_a_crawl_that_finished_after_losing_writes_to_a_full_disk_says_so(tmp_path):
    """Issue 19 audit: only a crawl that failed was checked for a full disk. This one exits 0 with its stats,
    but 40 responses met a full disk; run_crawl raises DiskFull naming the run folder, never a result."""
    mount = tmp_path / "data"
    mount.mkdir()
    script = 'mount -t tmpfs -o size=2m tmpfs "$0" && exec "$@"'
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(mount), sys.executable, "-c", CRAWL_ON_A_FULL_DISK, str(mount)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["freed"] and out["served"] > 40  # space came back and the crawl went on
    assert out["stats"] is not None and out["stats"]["finish_reason"] == "finished"  # scrapy finished, exit 0
    assert out["stats"][NO_SPACE_STAT] > 0
    kind, message = out["error"]
    assert kind == "DiskFull"
    assert message.startswith(f"no space left on {out['run_dir']}: crawl r1 finished but lost writes")


def _run_folder(tmp_path: Path, log: str, stderr: str = "", **stats: int) -> tuple[dict, Path, Path]:
    (tmp_path / "crawl.log").write_text(log)
    (tmp_path / "crawl.stderr").write_text(stderr)
    return {"finish_reason": "finished", **stats}, tmp_path / "crawl.stderr", tmp_path / "crawl.log"


TRACEBACK = """2026-12-06 19:14:29 [scrapy.utils.signal] ERROR: Error caught on signal handler: <bound method ...>
Traceback (most recent call last):
  File "spiders/extensions.py", line 97, in response_received
    self.writer.write_record(record)
builtins.OSError: [Errno 28] No space left on device
"""


@pytest.mark.parametrize(
    ("log", "stderr", "stats", "lost"),
    [
        ("2026-12-06 19:14:29 [scrapy.core.engine] INFO: Spider closed (finished)\n", "", {}, False),
        ("", "", {NO_SPACE_STAT: 3}, True),  # counted in the crawl, though its log could not be written
        (TRACEBACK, "", {}, True),
        ("", "--- Logging error ---\nOSError: [Errno 28] No space left on device\n", {}, True),
        # a page's text quoted in a log line is not a full disk
        (
            "2026-12-06 [hub] WARNING: parser failed on x: ValueError: OSError: [Errno 28] No space left on device\n",
            "",
            {},
            False,
        ),
    ],
    ids=["clean", "stat", "log-traceback", "stderr-logging-error", "quoted-text"],
)
def test_a_finished_crawl_is_checked_for_lost_writes(tmp_path, log, stderr, stats, lost):
    assert _lost_writes(*_run_folder(tmp_path, log, stderr, **stats)) is lost
