"""The no-change nightly: a full nightly, then the same nightly when the site did not change."""

from __future__ import annotations

from pathlib import Path

from bench.common import Stage, Timer


def nightly_stage(base_url: str, hub_urls: list[str], work: Path) -> tuple[Stage, float]:
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly_refresh

    url = f"sqlite:///{work / 'nightly.sqlite'}"
    with prefect_test_harness(server_startup_timeout=90):
        with Timer() as full:
            nightly_refresh(base_url=base_url, hubs=hub_urls, database_url=url, data_dir=str(work / "nd"),
                            include_known=False)
        with Timer() as again:
            nightly_refresh(base_url=base_url, database_url=url, data_dir=str(work / "nd"))
    # Hubs refreshed per second, so "higher is better" holds like every other line; the target is
    # on the wall-time share (no-change / full <= 0.10), which is 1 / ratio.
    hubs = len(hub_urls)
    share = again.seconds / full.seconds
    stage = Stage("no-change-nightly", "hubs", hubs / again.seconds, hubs / full.seconds,
                  "time share <= 0.10 (ratio >= 10)",
                  f"full {full.seconds:.1f} s, no-change {again.seconds:.1f} s, time share {share:.2f}")
    return stage, full.seconds
