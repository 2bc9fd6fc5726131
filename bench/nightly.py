"""The no-change nightly: a full nightly, then the same nightly when the site did not change.

Both nightlies run in a child process (`python -m bench.nightly`), so the peak RSS reported for the flow
process is the nightly's own, not the bench harness's (which holds baselines' rows in memory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.common import Stage


def nightly_stage(base_url: str, hub_urls: list[str], work: Path, rss: dict) -> tuple[Stage, float]:
    hubs_file = work / "nightly-hubs.txt"
    hubs_file.write_text("\n".join(hub_urls), encoding="utf-8")
    # stdout carries the figures; the child's log and any traceback go to the terminal
    out = subprocess.run(
        [sys.executable, "-m", "bench.nightly", base_url, str(hubs_file), str(work)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    rss["nightly flow process (stage, clean, load, marts, checks)"] = figures["flow_rss_mb"]
    rss["citehub crawl, full nightly (scrapy subprocess)"] = figures["crawl_rss_mb"]
    full, again = figures["full_s"], figures["again_s"]
    # Hubs refreshed per second, so "higher is better" holds like every other line; the target is
    # on the wall-time share (no-change / full <= 0.10), which is 1 / ratio.
    hubs = len(hub_urls)
    share = again / full
    timings = ", ".join(f"{k} {v:.2f}" for k, v in figures["again_timings"].items())
    stage = Stage(
        "no-change-nightly",
        "hubs",
        hubs / again,
        hubs / full,
        "time share <= 0.10 (ratio >= 10)",
        f"full {full:.1f} s, no-change {again:.1f} s ({timings} s), time share {share:.3f}",
    )
    return stage, full


def _run(base_url: str, hubs_file: str, work: str) -> dict:
    import time

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly_refresh
    from spiders.peak_rss import peak_rss_bytes

    work_dir = Path(work)
    url = f"sqlite:///{work_dir / 'nightly.sqlite'}"
    data_dir = str(work_dir / "nd")
    with prefect_test_harness(server_startup_timeout=90):
        started = time.perf_counter()
        # the hubs come as a seeds file, as in production: a flow parameter of 10,000 URLs would be
        # stored by the Prefect server with the flow run
        first = nightly_refresh(
            base_url=base_url, seeds_file=hubs_file, database_url=url, data_dir=data_dir, include_known=False
        )
        full = time.perf_counter() - started
        started = time.perf_counter()
        again = nightly_refresh(base_url=base_url, database_url=url, data_dir=data_dir)
        again_s = time.perf_counter() - started
    crawl_stats = json.loads((work_dir / "nd" / "runs" / first["run_id"] / "stats.json").read_text())
    return {
        "full_s": full,
        "again_s": again_s,
        "again_timings": again.get("timings", {}),
        "flow_rss_mb": (peak_rss_bytes() or 0) / 2**20,
        "crawl_rss_mb": crawl_stats.get("citehub/peak_rss_bytes", 0) / 2**20,
    }


if __name__ == "__main__":
    print(json.dumps(_run(*sys.argv[1:4])))
