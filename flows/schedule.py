"""Serve the nightly on a cron schedule, with the backfill as a second deployment to launch by hand.

`citehub schedule --cron "0 3 * * *"` builds two deployments of this checkout's flows and serves them
from the calling process (`prefect.serve`): the Prefect server (PREFECT_API_URL) schedules
`nightly-refresh/<name>` by the cron and hands its runs, and any run of `backfill/backfill` started with
`prefect deployment run 'backfill/backfill' -p hubs='[...]'`, to this process, which runs each in a
subprocess. `prefect.yaml` describes the same two deployments for a process work pool instead.

The warehouse URL is never a deployment parameter (Prefect stores and shows parameters): the serving
process, and each run it starts, read CITEHUB_DATABASE_URL and CITEHUB_DATA_DIR from the environment.
"""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from croniter import croniter

NIGHTLY_DEPLOYMENT = "citehub-nightly"
BACKFILL_DEPLOYMENT = "backfill"


class BadSchedule(ValueError):
    pass


def check_cron(cron: str) -> str:
    """A five-field cron expression, as Prefect's CronSchedule takes it."""
    cron = cron.strip()
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise BadSchedule(f"not a five-field cron expression (minute hour day month weekday): {cron!r}")
    return cron


def deployments(
    cron: str,
    name: str = NIGHTLY_DEPLOYMENT,
    timezone: str = "UTC",
    nightly_parameters: dict | None = None,
    backfill_parameters: dict | None = None,
) -> list:
    """The nightly on `cron` and the (unscheduled) backfill, as RunnerDeployments of this checkout."""
    from prefect.client.schemas.schedules import CronSchedule

    from flows.backfill import backfill
    from flows.nightly import nightly_refresh

    nightly = nightly_refresh.to_deployment(
        name=name,
        schedule=CronSchedule(cron=check_cron(cron), timezone=timezone),
        parameters=nightly_parameters or {},
        tags=["citehub"],
        description="citehub nightly refresh: crawl known hubs (conditional requests), load, marts, checks, report",
    )
    backfill_deployment = backfill.to_deployment(
        name=BACKFILL_DEPLOYMENT,
        parameters=backfill_parameters or {},
        tags=["citehub"],
        description="citehub backfill: -p hubs='[uuid, ...]' fetches those hubs now; "
        "-p from_archive=true -p since=YYYY-MM-DD -p until=YYYY-MM-DD replays archived crawls",
    )
    return [nightly, backfill_deployment]


def serve_schedule(
    cron: str,
    name: str = NIGHTLY_DEPLOYMENT,
    timezone: str = "UTC",
    nightly_parameters: dict | None = None,
    backfill_parameters: dict | None = None,
) -> None:
    """Register both deployments with the Prefect server and run what it schedules, until interrupted."""
    from prefect import serve

    serve(*deployments(cron, name, timezone, nightly_parameters, backfill_parameters))
