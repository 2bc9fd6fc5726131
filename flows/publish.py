"""The one closing sequence every run goes through, whatever produced its items (a crawl, an archive replay,
or a run the guard blocked and an operator accepted):

    stage -> clean, deduplicate, guard, load and marts (one transaction) -> checks -> report -> finish -> artifacts

The steps are plain functions of `warehouse/`; this module only orders them, times them as Prefect tasks
and sets the failure policy: a guard refusal ends the run `blocked` (nothing published, staged items kept),
a failed quality check ends it `failed`, and any error ends a run still `running` as `failed` with the error.
One task per stage, never per page or row: Prefect costs ~5 ms per task run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import TerminationSignal
from prefect.states import Completed, State
from sqlalchemy import Engine

from flows.notify import notify
from schema.engine import make_engine
from schema.errors import CitehubError
from spiders.replay import PENDING, record_run
from warehouse import guard, outcome, queries, rebuild, runs, stage
from warehouse.checks import CheckResult, run_checks
from warehouse.config import WarehouseSettings
from warehouse.load import LoadResult, load_staged, materialize_marts
from warehouse.lock import RunLockBusy, single_flight
from warehouse.outcome import EXIT_CODES
from warehouse.report import build_report

T = TypeVar("T")


class RunFailed(CitehubError):
    """The run loaded but did not do its job: nothing useful was fetched, or quality checks failed. It ends
    `failed` (whatever it loaded is published; the reasons say why)."""

    exit_code = EXIT_CODES["failed"]


@task(name="stage items", cache_policy=NO_CACHE)
def stage_task(database_url: str, run_id: str, items_path: Path) -> int:
    return stage.stage_items(make_engine(database_url), run_id, items_path)


@task(name="clean, deduplicate, load and materialize", cache_policy=NO_CACHE)
def load_task(
    database_url: str, run_id: str, limits: guard.Limits, override: str | None = None
) -> LoadResult | guard.Verdict:
    """Clean the staged items hub batch by hub batch, guard, load and build the marts, in one transaction (a
    kill leaves the warehouse as before or as after); the guard's `Verdict` when it blocks the run."""
    try:
        return load_staged(
            make_engine(database_url),
            run_id,
            gate=guard.Gate(run_id, limits, override),
            then=lambda conn: materialize_marts(conn, run_id),
        )
    except guard.PublishBlocked as exc:
        return exc.verdict


@task(name="rebuild every mart in full", cache_policy=NO_CACHE)
def rebuild_task(database_url: str, run_id: str) -> dict[str, Any]:
    """The weekly full rebuild of the marts, after the load committed (its own transaction; the run holds the
    lock), with the drift it corrected (`warehouse.rebuild`)."""
    rebuilt = rebuild.rebuild(make_engine(database_url), run_id)
    if rebuilt.drift:
        get_run_logger().warning("run %s: %s", run_id, rebuild.drift_line(rebuilt.as_dict()))
    return rebuilt.as_dict()


@task(name="run quality checks", cache_policy=NO_CACHE)
def check_task(database_url: str, run_id: str, full: bool = False) -> list[CheckResult]:
    """The run's checks: over what its change can reach, or every row after a full rebuild of the marts."""
    return run_checks(make_engine(database_url), run_id, full=full)


@task(name="publish run summary and changes", cache_policy=NO_CACHE)
def artifacts_task(database_url: str, run_id: str, kind: str, summary_markdown: str) -> None:
    """The Prefect UI's view of the run: a markdown summary with its change report, a table of hub changes."""
    engine = make_engine(database_url)
    changes = queries.hub_changes(engine, run_id)
    counts = queries.run_changes(engine, [run_id])[run_id]
    create_markdown_artifact(
        summary_markdown + "\n" + queries.change_markdown(run_id, counts, changes),
        key="run-summary",
        description=f"citehub {kind} run {run_id}",
    )
    create_table_artifact(
        queries.change_table_rows(changes),
        key="run-changes",
        description=f"hubs changed by citehub {kind} run {run_id}",
    )


class StageTimer(Protocol):
    """`timed(name, fn, *args)`: `fn(*args)`, its wall seconds recorded under `name`."""

    def __call__(self, name: str, fn: Callable[..., T], /, *args: Any) -> T: ...


def stage_timer(timings: dict[str, float]) -> StageTimer:
    """`timed(name, fn, *args)`: run one stage and record its wall seconds in `timings` (the report's table)."""

    def timed(name: str, fn: Callable[..., T], *args: Any) -> T:
        start = time.perf_counter()
        result = fn(*args)
        timings[name] = round(time.perf_counter() - start, 3)
        return result

    return timed


def publish(
    database_url: str,
    run_id: str,
    kind: str,
    *,
    stats: dict[str, Any],
    timings: dict[str, float],
    items_path: Path | None = None,
    override: str | None = None,
    summary: dict[str, Any] | None = None,
    archive: Path | None = None,
) -> dict[str, Any]:
    """Stage `items_path` (already staged when None), then load, check, report and finish run `run_id`.

    `summary` adds to what the runs table records (e.g. the run a replay replays). `archive`, the run folder
    of the crawl being published, records in its manifest that it was published and how the run ended: a
    replay of the archive takes only crawls that were.

    Once a week (the run's UTC start on the weekday `full_rebuild_weekday`, default Sunday) every mart is
    rebuilt in full once the load committed, and the drift it corrected goes in the run summary
    (`warehouse.rebuild`). The rule reads the run's start, whatever its kind: a replay dated at a Sunday
    crawl rebuilds as that crawl's nightly did, so a warehouse rebuilt from the archive equals it."""
    engine = make_engine(database_url)
    timed = stage_timer(timings)
    if items_path is not None:
        timed("stage", stage_task, database_url, run_id, items_path)
    limits = guard.Limits()
    if archive is not None:  # a kill between the commit and `published: True` leaves it: settle_pending
        record_run(archive, run_id=run_id, published=PENDING)
    loaded = timed("load", load_task, database_url, run_id, limits, override)
    if isinstance(loaded, guard.Verdict):
        if archive is not None:
            record_run(archive, published=False, status="blocked")
        return finish_blocked(engine, run_id, loaded, stats, timings, get_run_logger())
    if archive is not None:
        record_run(archive, published=True)
    started = (runs.get_run(engine, run_id) or {}).get("started_at")
    due = started is not None and rebuild.rebuild_due(started, WarehouseSettings().full_rebuild_weekday)
    rebuilt = timed("marts rebuild", rebuild_task, database_url, run_id) if due else None
    checks = timed("check", check_task, database_url, run_id, rebuilt is not None)
    report = build_report(engine, run_id, stats, loaded, checks, timings)
    if rebuilt is not None:
        report.mart_rebuilds = [rebuilt]
    verdict = outcome.judge(
        report.fetch_outcomes,
        outcome.incomplete_reasons(engine, run_id, report.incomplete_hubs),
        report.checks_failed,
    )
    recorded = {**report.as_dict(), "reasons": verdict.reasons, **(summary or {})}
    if override is not None:  # a publish past the guard keeps its verdict in plain sight
        recorded["guard"] = loaded.guard
    runs.finish_run(engine, run_id, verdict.status, recorded)
    if archive is not None:
        record_run(archive, status=verdict.status)
    artifacts_task(database_url, run_id, kind, report.markdown())
    notify(run_id, kind, verdict.status, verdict.reasons, _counts(report.as_dict()))
    if verdict.status == "failed":
        raise RunFailed(f"run {run_id} failed: " + "; ".join(verdict.reasons))
    return {**report.as_dict(), "status": verdict.status, "reasons": verdict.reasons}


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures an alert carries."""
    keys = ("requests", "pages_fetched", "quarantined", "failed_fetches", "fetch_outcomes", "changed")
    return {k: summary[k] for k in keys if k in summary}


def crawl_counts(stats: dict[str, Any]) -> dict[str, int]:
    """A crawl's (or a replay's) figures, from its stats: what a run knows before its load."""
    return {
        "requests": int(stats.get("downloader/request_count", 0)),
        "pages_fetched": int(stats.get("citehub/items/hub_page", 0)),
        "quarantined": int(stats.get("citehub/items/quarantine", 0)),
        "failed_fetches": int(stats.get("citehub/fetch/failed", 0)),
    }


def planned_counts(row: dict[str, Any]) -> dict[str, int]:
    """What a run planned, from its row's params: the hubs a crawl asked for, the fetches a replay reads."""
    params = row.get("params") or {}
    return {f"planned_{k}": params[k] for k in ("hubs", "fetches") if isinstance(params.get(k), int)}


def _kind(engine: Engine, run_id: str) -> str:
    """The run's kind as its row says (nightly, backfill, reparse): what its alert names."""
    return str((runs.get_run(engine, run_id) or {}).get("kind") or "run")


def worse(a: str, b: str) -> str:
    """The worse of two outcomes of runs in one sequence (a replay's): degraded beats completed."""
    order = ("completed", "degraded", "skipped", "blocked", "failed")
    return max(a, b, key=order.index)


def flow_state(result: dict[str, Any]) -> dict[str, Any]:
    """What a flow returns: its result, in a state named after the outcome when that is not `completed` (a
    `degraded`, `blocked` or `skipped` run is not shown as Completed; Prefect emits the event
    `prefect.flow-run.Degraded` etc., which automations can match)."""
    status = result.get("status", "completed")
    if status == "completed":
        return result
    reasons = result.get("reasons") or [result.get("message", "")]
    state: State[dict[str, Any]] = Completed(
        name=status.capitalize(), message="; ".join(r for r in reasons if r)[:500], data=result
    )
    # Typed as the result: a flow that returns a state ends in it, and its caller gets the state's data.
    return cast("dict[str, Any]", state)


def finish_blocked(
    engine: Engine,
    run_id: str,
    verdict: guard.Verdict,
    stats: dict[str, Any],
    timings: dict[str, float],
    logger: logging.Logger | logging.LoggerAdapter,
) -> dict[str, Any]:
    """End a run the publish guard refused: status `blocked`, the reasons in its summary (its staged items
    stay for `citehub refresh --accept-changes RUN_ID`)."""
    message = verdict.message(run_id) + f" (to publish it: citehub refresh --accept-changes {run_id})"
    logger.warning("%s", message)
    summary = {"error": message, "guard": verdict.as_dict(), "timings": timings, **crawl_counts(stats)}
    runs.finish_run(engine, run_id, "blocked", summary)
    notify(run_id, _kind(engine, run_id), "blocked", [message], _counts(summary))
    return {"run_id": run_id, "status": "blocked", "message": message, "guard": verdict.as_dict()}


@contextmanager
def failure_recorded(engine: Engine, run_id: str, **context: Any) -> Iterator[dict[str, Any]]:
    """Whatever escapes the block ends a run still `running` as `failed`, with the error and `context`.

    The block gets a dict to add what it learns as it goes (its crawl's `crawl_counts`): a failed run's row
    and alert carry those counts, with what the run planned (`planned_counts`)."""
    known: dict[str, Any] = {}
    try:
        yield known
    except BaseException as exc:
        try:
            row = runs.get_run(engine, run_id) or {}
            if row.get("status") == "running":
                runs.finish_run(engine, run_id, "failed", {"error": failure_cause(exc)[:2000], **context, **known})
                counts = {**planned_counts(row), **_counts(known)}
                notify(run_id, row["kind"], "failed", [failure_cause(exc)[:500]], counts)
        except Exception as bookkeeping:  # e.g. the database's disk is full too: the first cause is the news
            logging.getLogger(__name__).error(
                "run %s could not be marked failed (%s); the next run marks it abandoned", run_id, bookkeeping
            )
        raise


def failure_cause(exc: BaseException) -> str:
    """What a failed run's row says about the error that ended it."""
    if isinstance(exc, KeyboardInterrupt | TerminationSignal):
        return "interrupted (Ctrl-C or SIGTERM) before it finished"
    return str(exc) or type(exc).__name__


def take_run_lock(stack: ExitStack, engine: Engine, run_id: str, wait_seconds: float) -> dict[str, Any] | None:
    """Single-flight: enter the warehouse's run lock on `stack` and return None, or, when another run holds
    it, finish this run as `skipped` (nothing written) and return that outcome."""
    try:
        stack.enter_context(single_flight(engine, run_id, wait_seconds))
    except RunLockBusy as exc:
        get_run_logger().warning("%s", exc)
        runs.finish_run(engine, run_id, "skipped", {"message": str(exc)})
        row = runs.get_run(engine, run_id) or {}
        notify(run_id, row.get("kind") or "run", "skipped", [str(exc)], planned_counts(row))
        return {"run_id": run_id, "status": "skipped", "message": str(exc)}
    return None
