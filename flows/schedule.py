"""Serve the nightly on a cron schedule, with the backfill as a second deployment to launch by hand.

`citehub schedule --cron "0 3 * * *"` builds two deployments of this checkout's flows and serves them
from the calling process (`prefect.serve`): the Prefect server (PREFECT_API_URL) schedules
`nightly-refresh/<name>` by the cron and hands its runs, and any run of `backfill/backfill` started with
`prefect deployment run 'backfill/backfill' -p hubs='[...]'`, to this process, which runs each in a
subprocess. `prefect.yaml` describes the same two deployments for a process work pool instead.

The schedule's nights maintain the marts from what each run changed; once a week, on the night whose UTC start
falls on CITEHUB_FULL_REBUILD_WEEKDAY (default 6, Sunday; -1 never), the run also rebuilds every mart in full
after its load and reports the drift it corrected in its run summary (`flows.publish`, `warehouse.rebuild`).
`citehub marts --rebuild` does the same by hand.

The warehouse URL is never a deployment parameter (Prefect stores and shows parameters): the serving
process, and each run it starts, read CITEHUB_DATABASE_URL and CITEHUB_DATA_DIR from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from croniter import croniter

from schema.errors import CitehubError
from warehouse.queries import aware_utc

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

NIGHTLY_DEPLOYMENT = "citehub-nightly"
BACKFILL_DEPLOYMENT = "backfill"


class BadSchedule(CitehubError, ValueError):
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
    nightly_parameters: dict[str, Any] | None = None,
    backfill_parameters: dict[str, Any] | None = None,
) -> list[RunnerDeployment]:
    """The nightly on `cron` and the (unscheduled) backfill, as RunnerDeployments of this checkout."""
    from prefect.client.schemas.schedules import CronSchedule

    from flows.backfill import backfill
    from flows.nightly import nightly_refresh

    nightly = nightly_refresh.to_deployment(
        name=name,
        # `schedules`, not `schedule`: Flow.to_deployment types `schedule` as prefect.schedules.Schedule only,
        # `schedules` takes this CronSchedule too (both give the deployment the same one schedule)
        schedules=[CronSchedule(cron=check_cron(cron), timezone=timezone)],
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
    # Flow.to_deployment answers a coroutine only when called from async code; serve() refuses async code, so
    # here (sync, like every caller of this function) both are RunnerDeployments.
    return [cast("RunnerDeployment", nightly), cast("RunnerDeployment", backfill_deployment)]


def serve_schedule(
    cron: str,
    name: str = NIGHTLY_DEPLOYMENT,
    timezone: str = "UTC",
    nightly_parameters: dict[str, Any] | None = None,
    backfill_parameters: dict[str, Any] | None = None,
) -> None:
    """Register both deployments with the Prefect server and run what it schedules, until interrupted."""
    from prefect import serve

    serve(*deployments(cron, name, timezone, nightly_parameters, backfill_parameters))


# --- the next scheduled run (citehub status) -------------------------------------------------------------------------------------------


@dataclass
class NextRun:
    reachable: bool
    message: str
    flow_run: str | None = None
    deployment_id: str | None = None
    expected_start: datetime | None = None


def next_scheduled_run(timeout: float = 3.0) -> NextRun:
    """The next scheduled flow run on the Prefect server, if PREFECT_API_URL is set and answering."""
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    if not api_url:
        return NextRun(False, "no Prefect server (PREFECT_API_URL is not set)")
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    try:
        with get_client(sync_client=True) as client:
            problem = client.api_healthcheck()
            if problem is not None:
                return NextRun(False, f"no Prefect server answering at {api_url} ({type(problem).__name__})")
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=1,
            )
    except Exception as exc:  # connection refused, timeout, bad URL: all mean "not reachable"
        return NextRun(False, f"no Prefect server answering at {api_url} ({type(exc).__name__})")
    if not runs:
        return NextRun(True, f"Prefect server at {api_url}: no scheduled run")
    fr = runs[0]
    when = aware_utc(fr.expected_start_time or fr.next_scheduled_start_time)
    return NextRun(
        True,
        f"next run {fr.name} at {when:%Y-%m-%d %H:%M:%S} UTC",
        fr.name,
        str(fr.deployment_id) if fr.deployment_id else None,
        when,
    )
