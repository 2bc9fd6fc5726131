"""Prefect flows. They only wire steps and set failure policy; the logic lives in plain functions
(`flows.crawl`, `flows.stage`, `flows.clean`, `flows.load`, `warehouse.*`) that tests call directly.

One task per stage (crawl, stage, clean, load, materialize, check, report), never one per page or row:
Prefect costs ~5 ms per task run.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from flows import clean as clean_mod
from flows import guard, history, ops, runs, stage
from flows import load as load_mod
from flows.crawl import allowed_hosts_for, run_crawl
from flows.fleet import run_fleet_crawl
from flows.lock import RunLockBusy, single_flight
from flows.progress import ProgressReporter
from flows.report import RunReport, build_report, stage_timer
from flows.settings import Settings, redacted
from schema.engine import make_engine
from schema.migrate import upgrade
from spiders.hubref import hub_url, read_seeds
from spiders.parse.records import PARSER_VERSION
from warehouse.checks import run_checks
from warehouse.materialize import materialize


@task(name="crawl hubs", cache_policy=NO_CACHE)
def crawl_task(
    run_id: str,
    run_dir: Path,
    base_url: str,
    hub_urls: list[str],
    allowed: list[str],
    concurrency: int,
    extra_settings: dict | None = None,
    frontier_url: str | None = None,
    workers: int = 1,
):
    # Scrapy's log and the crawl's progress go to this task run's logger: the Prefect UI shows both.
    log = get_run_logger()
    if frontier_url:
        # Several crawl processes on one shared Redis frontier; the merged run folder looks like one crawl's.
        return run_fleet_crawl(
            run_id,
            run_dir,
            base_url,
            hub_urls,
            allowed,
            frontier_url,
            workers,
            concurrency,
            extra_settings=extra_settings,
            log=log,
        )
    with ProgressReporter(log) as progress:
        return run_crawl(
            run_id,
            run_dir,
            base_url,
            hub_urls,
            allowed,
            concurrency,
            extra_settings=extra_settings,
            log=log,
            on_progress=progress,
        )


@task(name="stage items", cache_policy=NO_CACHE)
def stage_task(database_url: str, run_id: str, items_path: Path) -> int:
    return stage.stage_items(make_engine(database_url), run_id, items_path)


@task(name="clean and deduplicate", cache_policy=NO_CACHE)
def clean_task(database_url: str, run_id: str) -> clean_mod.StagedRun:
    """The run's staged items, to be cleaned hub batch by hub batch inside the load's transaction
    (`flows.load.load_staged`): holding a whole run's rows here would grow with the site."""
    return clean_mod.StagedRun(run_id, stage.staged_count(make_engine(database_url), run_id))


@task(name="load warehouse", cache_policy=NO_CACHE)
def load_task(
    database_url: str,
    run_id: str,
    staged: clean_mod.StagedRun,
    limits: guard.Limits | None = None,
    override: str | None = None,
):
    """Clean, guard, load and marts in one transaction (a kill leaves the warehouse as before or as after);
    returns the guard's `Verdict` instead of a `LoadResult` when it blocks the run (nothing written)."""
    engine = make_engine(database_url)
    try:
        return load_mod.load_staged(
            engine,
            staged.run_id,
            gate=guard.Gate(run_id, limits or guard.Limits(), override),
            then=lambda conn: load_mod.materialize_marts(conn, run_id),
        )
    except guard.PublishBlocked as exc:
        return exc.verdict


@task(name="materialize marts", cache_policy=NO_CACHE)
def materialize_task(database_url: str, run_id: str) -> None:
    materialize(make_engine(database_url), run_id)


@task(name="run quality checks", cache_policy=NO_CACHE)
def check_task(database_url: str, run_id: str):
    return run_checks(make_engine(database_url), run_id)


@task(name="publish run summary and changes", cache_policy=NO_CACHE)
def publish_artifacts_task(database_url: str, run_id: str, kind: str, summary_markdown: str) -> None:
    """The Prefect UI's view of the run: a markdown summary with its change report, a table of hub changes."""
    engine = make_engine(database_url)
    changes = ops.hub_changes(engine, run_id)
    counts = ops.run_changes(engine, [run_id])[run_id]
    create_markdown_artifact(
        summary_markdown + "\n" + ops.change_markdown(run_id, counts, changes),
        key="run-summary",
        description=f"citehub {kind} run {run_id}",
    )
    create_table_artifact(
        ops.change_table_rows(changes), key="run-changes", description=f"hubs changed by citehub {kind} run {run_id}"
    )


def plan_hubs(
    settings: Settings, database_url: str, seeds_file: str | None, hubs: list[str] | None, include_known: bool
) -> list[str]:
    """Seeds, explicit hubs and (for a nightly) every hub already in the warehouse, deduplicated."""
    refs: list[str] = []
    if seeds_file:
        refs.extend(read_seeds(Path(seeds_file)))
    refs.extend(hubs or [])
    urls = [hub_url(ref, settings.base_url) for ref in refs]
    if include_known:
        urls.extend(runs.known_hub_urls(make_engine(database_url), settings.base_url))
    return list(dict.fromkeys(urls))


@flow(name="nightly-refresh", log_prints=True)
def nightly_refresh(
    base_url: str | None = None,
    seeds_file: str | None = None,
    hubs: list[str] | None = None,
    database_url: SecretStr | str | None = None,
    data_dir: str | None = None,
    include_known: bool = True,
    kind: str = "nightly",
    conditional: bool = True,
    lock_wait_seconds: float = 0.0,
    allow_abnormal_change: str | None = None,
    frontier_url: str | None = None,
    workers: int | None = None,
) -> dict:
    """Crawl the known and seeded hubs, load them into the warehouse, materialize, check, report."""
    overrides = {k: v for k, v in {"base_url": base_url, "data_dir": data_dir}.items() if v}
    settings = Settings(**overrides)
    # Prefect stores a flow's parameters and shows them in its UI; it masks only SecretStr, so a URL with a
    # password comes wrapped (the CLI does it) or from CITEHUB_DATABASE_URL, never as a plain parameter.
    if isinstance(database_url, SecretStr):
        database_url = database_url.get_secret_value()
    database_url = database_url or settings.database_url
    logger = get_run_logger()
    timings: dict[str, float] = {}
    timed = stage_timer(timings)

    engine = make_engine(database_url)
    upgrade(engine)
    hub_urls = plan_hubs(settings, database_url, seeds_file, hubs, include_known)
    params = {"base_url": settings.base_url, "hubs": len(hub_urls), "seeds_file": seeds_file}
    if allow_abnormal_change:  # recorded with the run: who publishes an abnormal change says why
        params["allow_abnormal_change"] = allow_abnormal_change
    run_id = runs.start_run(engine, kind, params)
    # Single-flight: one writer per warehouse; a run that cannot get the lock ends "skipped", nothing written.
    lock = ExitStack()
    try:
        lock.enter_context(single_flight(engine, run_id, lock_wait_seconds))
    except RunLockBusy as exc:
        logger.warning("%s", exc)
        runs.finish_run(engine, run_id, "skipped", {"message": str(exc)})
        return {"run_id": run_id, "status": "skipped", "message": str(exc)}
    logger.info("run %s: %d hubs from %s into %s", run_id, len(hub_urls), settings.base_url, redacted(database_url))
    try:
        run_dir = settings.runs_dir / run_id
        allowed = allowed_hosts_for(settings.base_url, settings.allowed_hosts)
        # Conditional requests: unchanged hubs answer 304 on their JSON twin and cost no pages.
        validators = run_dir / "validators.json"
        conditional = conditional and history.write_validators(engine, validators) > 0
        crawl = timed(
            "crawl",
            crawl_task,
            run_id,
            run_dir,
            settings.base_url,
            hub_urls,
            allowed,
            settings.concurrency,
            {"CITEHUB_VALIDATORS_FILE": str(validators)} if conditional else None,
            frontier_url or settings.frontier_url,
            workers or settings.workers,
        )
        timed("stage", stage_task, database_url, run_id, crawl.items_path)
        batch = timed("clean", clean_task, database_url, run_id)
        # load + marts: one transaction, guarded (flows/guard.py)
        loaded = timed(
            "load", load_task, database_url, run_id, batch, guard.Limits.from_settings(settings), allow_abnormal_change
        )
        if isinstance(loaded, guard.Verdict):
            return finish_blocked(engine, run_id, loaded, crawl.stats, timings, logger)
        checks = timed("check", check_task, database_url, run_id)
        report = build_report(engine, run_id, crawl.stats, loaded, checks, timings)
        failed = [c for c in checks if not c.passed]
        status = "failed" if failed else "completed"
        runs.finish_run(engine, run_id, status, report.as_dict())
        publish_artifacts_task(database_url, run_id, kind, report.markdown())
        if failed:
            raise RuntimeError(
                f"run {run_id}: {len(failed)} quality checks failed: " + ", ".join(c.name for c in failed)
            )
        return report.as_dict()
    except BaseException as exc:
        if (runs.get_run(engine, run_id) or {}).get("status") == "running":
            runs.finish_run(engine, run_id, "failed", {"error": str(exc)[:2000], "parser_version": PARSER_VERSION})
        raise
    finally:
        lock.close()


def finish_blocked(engine, run_id: str, verdict: guard.Verdict, stats: dict, timings: dict, logger) -> dict:
    """End a run the publish guard refused: status `blocked`, the reasons in its summary (its staged items
    stay for `citehub refresh --accept-changes RUN_ID`)."""
    message = verdict.message(run_id) + f" (to publish it: citehub refresh --accept-changes {run_id})"
    logger.warning("%s", message)
    summary = {
        "error": message,
        "guard": verdict.as_dict(),
        "timings": timings,
        "requests": int(stats.get("downloader/request_count", 0)),
        "pages_fetched": int(stats.get("citehub/items/hub_page", 0)),
        "quarantined": int(stats.get("citehub/items/quarantine", 0)),
        "failed_fetches": int(stats.get("citehub/fetch/failed", 0)),
    }
    runs.finish_run(engine, run_id, "blocked", summary)
    return {"run_id": run_id, "status": "blocked", "message": message, "guard": verdict.as_dict()}


@flow(name="accept-changes", log_prints=True)
def accept_changes(
    run_id: str, database_url: SecretStr | str | None = None, data_dir: str | None = None, reason: str | None = None
) -> dict:
    """Publish a run the guard blocked, from its staged items: the recorded override. Refused when a later
    run has published since (its older data would overwrite newer)."""
    settings = Settings(**({"data_dir": data_dir} if data_dir else {}))
    if isinstance(database_url, SecretStr):
        database_url = database_url.get_secret_value()
    database_url = database_url or settings.database_url
    engine = make_engine(database_url)
    upgrade(engine)
    blocked = guard.blocked_run(engine, run_id)
    override = f"accepted with --accept-changes{': ' + reason if reason else ''}"
    timings: dict[str, float] = {}
    with single_flight(engine, run_id):
        batch = clean_task(database_url, run_id)
        start = time.perf_counter()
        loaded = load_task(database_url, run_id, batch, guard.Limits.from_settings(settings), override)
        timings["load"] = round(time.perf_counter() - start, 3)
        checks = check_task(database_url, run_id)
        stats = guard.crawl_stats(settings.runs_dir / run_id)
        report = build_report(engine, run_id, stats, loaded, checks, timings)
        failed = [c for c in checks if not c.passed]
        summary = {**report.as_dict(), "guard": loaded.guard, "blocked": blocked["summary"]}
        runs.finish_run(engine, run_id, "failed" if failed else "completed", summary)
    publish_artifacts_task(database_url, run_id, blocked["kind"], report.markdown())
    return report.as_dict()


__all__ = ["nightly_refresh", "accept_changes", "RunReport"]
