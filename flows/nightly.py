"""The nightly refresh and the acceptance of a blocked run: Prefect flows that wire plain functions.

A nightly plans its hubs (seeds, explicit hubs and every hub the warehouse knows), takes the run lock,
crawls (`spiders.crawl`, or a Redis fleet: `spiders.fleet`) and hands the run folder to the one closing
sequence every run shares (`flows.publish`).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr
from sqlalchemy import Engine

from flows.progress import ProgressReporter
from flows.publish import crawl_counts, failure_recorded, flow_state, publish, stage_timer, take_run_lock
from flows.settings import Settings
from schema.engine import make_engine, redacted, warehouse_identity
from schema.migrate import upgrade
from spiders.crawl import CrawlResult, allowed_hosts_for, run_crawl
from spiders.fleet import run_fleet_crawl
from spiders.parse.hubref import hub_url, read_seeds
from spiders.parse.records import PARSER_VERSION
from spiders.replay import record_run, settle_pending
from warehouse import guard, history, papers, plan, runs
from warehouse.lock import single_flight


@task(name="crawl hubs", cache_policy=NO_CACHE)
def crawl_task(
    run_id: str,
    run_dir: Path,
    base_url: str,
    hub_urls: list[str],
    allowed: list[str],
    concurrency: int,
    extra_settings: dict[str, str] | None = None,
    frontier_url: str | None = None,
    workers: int = 1,
) -> CrawlResult:
    # Scrapy's log and the crawl's progress go to this task run's logger: the Prefect UI shows both.
    log = get_run_logger()
    with ProgressReporter(log) as progress:
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
                on_progress=progress,
            )
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


def plan_hubs(
    settings: Settings,
    database_url: str,
    seeds_file: str | None,
    hubs: list[str] | None,
    include_known: bool,
    budget: int | None = None,
    policy: str = "citehub",
    now: datetime | None = None,
    new_limit: int | None = None,
) -> tuple[list[str], plan.Plan]:
    """The hub URLs to crawl, in order, and the plan that chose them (`warehouse.plan`): seeds and named hubs,
    then, for a nightly, every known hub and every frontier hub never fetched, or with a budget what it buys."""
    named: dict[str, tuple[str, str]] = {}  # uuid -> (url, reason); a seed's own host is kept
    for refs, reason in ((read_seeds(Path(seeds_file)) if seeds_file else [], "seed"), (hubs or [], "named")):
        for ref in refs:
            url = hub_url(ref, settings.base_url)
            named.setdefault(url.rsplit("/", 1)[-1], (url, reason))
    chosen = plan.choose(
        make_engine(database_url),
        now or datetime.now(UTC),
        [(uuid, reason) for uuid, (_, reason) in named.items()],
        budget=budget,
        policy=policy,
        max_staleness_days=settings.max_staleness_days,
        paper_pages=settings.paper_pages,
        known_hubs=include_known,
        new_hubs=include_known or new_limit is not None,
        new_limit=new_limit,
    )
    urls = [
        named[c.hub_uuid][0] if c.hub_uuid in named else hub_url(c.hub_uuid, settings.base_url) for c in chosen.choices
    ]
    return list(dict.fromkeys(urls)), chosen


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
    budget: int | None = None,
    policy: str = "citehub",
    as_of: datetime | None = None,
    new_limit: int | None = None,
) -> dict[str, Any]:
    """Crawl the known and seeded hubs, load them into the warehouse, materialize, check, report.

    `budget`: requests the night may send (default: the setting; none = every known hub); `policy`: how a
    budget picks re-checks (warehouse.plan); `as_of`: the run's start time, for simulations of many nights; `new_limit`: at most this many frontier hubs
    never fetched (a discovery slice, flows/discover.py)."""
    overrides: dict[str, Any] = {k: v for k, v in {"base_url": base_url, "data_dir": data_dir}.items() if v}
    settings = Settings(**overrides)
    url = plain_url(database_url) or settings.database_url
    engine = make_engine(url)
    upgrade(engine)
    budget = budget or settings.request_budget
    now = as_of or datetime.now(UTC)
    hub_urls, chosen = plan_hubs(settings, url, seeds_file, hubs, include_known, budget, policy, now, new_limit)
    params: dict[str, Any] = {
        "base_url": settings.base_url,
        "hubs": len(hub_urls),
        "seeds_file": seeds_file,
        "plan": chosen.summary(),
    }
    if allow_abnormal_change:  # recorded with the run: who publishes an abnormal change says why
        params["allow_abnormal_change"] = allow_abnormal_change
    run_id = runs.start_run(engine, kind, params, started_at=now)
    plan.record(engine, run_id, chosen)
    with ExitStack() as lock:
        if skipped := take_run_lock(lock, engine, run_id, lock_wait_seconds):
            return flow_state(skipped)
        get_run_logger().info(
            "run %s: %d hubs from %s into %s", run_id, len(hub_urls), settings.base_url, redacted(url)
        )
        with failure_recorded(engine, run_id, parser_version=PARSER_VERSION) as known:
            settle_archive(engine, settings.runs_dir, url)
            run_dir = settings.runs_dir / run_id
            # the archive says whose crawl this is; publish() adds whether it was published
            record_run(run_dir, run_id=run_id, kind=kind, warehouse=warehouse_identity(url), published=False)
            # Conditional requests: unchanged hubs answer 304 on their JSON twin and cost no pages.
            validators = run_dir / "validators.json"
            conditional = conditional and history.write_validators(engine, validators) > 0
            crawl_settings = {"CITEHUB_VALIDATORS_FILE": str(validators)} if conditional else {}
            crawl_settings |= crawl_limits(engine, settings, run_dir, budget, workers or settings.workers, chosen)
            timings: dict[str, float] = {}
            crawl = stage_timer(timings)(
                "crawl",
                crawl_task,
                run_id,
                run_dir,
                settings.base_url,
                hub_urls,
                allowed_hosts_for(settings.base_url, settings.allowed_hosts),
                settings.concurrency,
                crawl_settings,
                frontier_url or settings.frontier_url,
                workers or settings.workers,
            )
            known.update(crawl_counts(crawl.stats))  # what a failure from here on still reports
            return flow_state(
                publish(
                    url,
                    run_id,
                    kind,
                    stats=crawl.stats,
                    timings=timings,
                    items_path=crawl.items_path,
                    override=allow_abnormal_change,
                    archive=run_dir,
                )
            )


def crawl_limits(
    engine: Engine, settings: Settings, run_dir: Path, budget: int | None, workers: int, chosen: plan.Plan
) -> dict[str, str]:
    """The crawl's request budget (split between the fleet's workers) and its paper-page discovery: the citing
    papers the warehouse knows, whose pages are not fetched again."""
    out = {"CITEHUB_PAPER_PAGES": str(settings.paper_pages)}
    if budget:
        out["CITEHUB_REQUEST_BUDGET"] = str(max(1, budget // workers))
        expected = run_dir / "plan.json"  # what each hub's pages are expected to take: the budget's promises
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(json.dumps(chosen.page_requests(), sort_keys=True), encoding="utf-8")
        out["CITEHUB_PLAN_FILE"] = str(expected)
    if settings.paper_pages:
        known = run_dir / "known-papers.bin"
        papers.write_known_papers(engine, known)
        out["CITEHUB_KNOWN_PAPERS_FILE"] = str(known)
    return out


@flow(name="accept-changes", log_prints=True)
def accept_changes(
    run_id: str, database_url: SecretStr | str | None = None, data_dir: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """Publish a run the guard blocked, from its staged items: the recorded override. Refused when a later
    run has published since (its older data would overwrite newer)."""
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    url = plain_url(database_url) or settings.database_url
    engine = make_engine(url)
    upgrade(engine)
    blocked = guard.blocked_run(engine, run_id)
    with single_flight(engine, run_id):
        settle_archive(engine, settings.runs_dir, url)
        return flow_state(
            publish(
                url,
                run_id,
                blocked["kind"],
                stats=guard.crawl_stats(settings.runs_dir / run_id),
                timings={},
                override=f"accepted with --accept-changes{': ' + reason if reason else ''}",
                summary={"blocked": blocked["summary"]},
                archive=settings.runs_dir / run_id,
            )
        )


def settle_archive(engine: Engine, runs_dir: Path, url: str) -> dict[str, bool]:
    """Settle the archived crawls of this warehouse whose run was killed while its load committed (manifest
    `published: "pending"`) from its run table (`warehouse.runs.published_runs`): at the start of every run,
    holding the run lock, and before a replay selects crawls. Returns the settled run ids."""
    return settle_pending(runs_dir, warehouse_identity(url), lambda run_ids: runs.published_runs(engine, run_ids))


def plain_url(database_url: SecretStr | str | None) -> str | None:
    """Prefect stores a flow's parameters and shows them in its UI; it masks only SecretStr, so a URL with a
    password comes wrapped (the CLI does it) or from CITEHUB_DATABASE_URL, never as a plain parameter."""
    return database_url.get_secret_value() if isinstance(database_url, SecretStr) else database_url
