"""Discovery from a few seeds to the whole reachable site, in slices: each slice is one nightly-shaped run that
fetches up to `slice_hubs` frontier hubs never fetched (the seeds first) and the paper pages of the citing papers
it meets first, and publishes; the links they carry grow the frontier for the next slice. The frontier lives in
the warehouse, so a killed discovery resumes where the last published slice left it.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from pydantic import SecretStr

from flows.nightly import nightly_refresh, plain_url
from flows.settings import Settings
from schema.engine import make_engine
from schema.migrate import upgrade
from warehouse import frontier, queries

CONTINUE = ("completed", "degraded")  # a slice with incomplete hubs loses nothing: the next one goes on
SEVERITY = ("completed", "degraded", "skipped", "blocked", "failed")


def next_slice(known: int, unfetched: int, max_hubs: int | None, slice_hubs: int) -> int:
    """Hubs the next slice may fetch: none once the frontier is exhausted or `max_hubs` are known."""
    if unfetched == 0:
        return 0
    room = slice_hubs if max_hubs is None else min(slice_hubs, max_hubs - known)
    return max(0, room)


@flow(name="discover", log_prints=True)
def discover(
    seeds_file: str | None = None,
    max_hubs: int | None = None,
    slice_hubs: int = 200,
    base_url: str | None = None,
    database_url: SecretStr | str | None = None,
    data_dir: str | None = None,
) -> dict[str, Any]:
    """Grow the warehouse from `seeds_file` by following links, a slice at a time, until the frontier holds no
    hub never fetched or the warehouse knows `max_hubs` hubs. Returns the last slice's report, with every
    slice's run id and outcome."""
    log = get_run_logger()
    engine = make_engine(plain_url(database_url) or Settings().database_url)
    upgrade(engine)
    slices: list[dict[str, Any]] = []
    report: dict[str, Any] = {"status": "completed", "slices": slices}
    seeds = seeds_file
    while True:
        known, unfetched = queries.hub_count(engine), frontier.frontier_size(engine)[1]
        limit = next_slice(known, unfetched if seeds is None else 1, max_hubs, slice_hubs)
        if limit == 0:
            break
        report = nightly_refresh(
            base_url=base_url,
            seeds_file=seeds,
            database_url=database_url,
            data_dir=data_dir,
            include_known=False,
            kind="backfill",
            new_limit=limit,
        )
        slices.append({"run_id": report.get("run_id"), "status": report.get("status"), "limit": limit})
        log.info("discovery slice %d: %s, run %s", len(slices), report.get("status"), report.get("run_id"))
        seeds = None  # fetched by the first slice; the frontier carries the rest
        if report.get("status") not in CONTINUE:
            break
    report["slices"] = slices
    report["status"] = max((s["status"] for s in slices), key=SEVERITY.index, default="completed")
    return report
