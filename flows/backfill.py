"""Backfills and reparses: load hubs on demand, or re-derive runs from the WARC archive without the network.

- `backfill(hubs=[...])`: fetch those hubs now, unconditionally (no If-None-Match), as a run of kind
  `backfill`; the nightly's retire/relabel rules apply (warehouse/history.py).
- `backfill(from_archive=True, since=, until=)`: replay every crawl archived in that date range (UTC date of
  its run id), oldest first, each as one `backfill` run.
- `reparse(parser_version=)`: replay every archived crawl into an empty warehouse after a parser fix, as
  `reparse` runs that record the parser version.

The archive is self-describing: `<runs dir>/<run_id>/items.jsonl` holds the crawl's fetch rows, each naming
its response's WARC file and offset in `<run_id>/warc/`. A replay (spiders/replay.py) parses the archived
responses with the hub spider's own callbacks, on `replay_workers` processes (setting
CITEHUB_REPLAY_WORKERS; default: every core), and then goes through the closing
sequence every run shares (flows/publish.py).

A replay run starts at the archived crawl's own start time (run id and `started_at`), so history, hub
growth and as-of queries date its data where it belongs; its params name the run it replays.

Bad input fails before any run starts, naming what is wrong: `--until` before `--since`, a range with no
archived crawl, a fetch row naming a WARC file the archive lacks, an unreadable items file, a reparse into
a warehouse that already holds runs, a parser version other than the installed one. A WARC record that
cannot be read fails its run before the load: the warehouse keeps what it had.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from flows.nightly import nightly_refresh, plain_url, settle_archive
from flows.publish import crawl_counts, failure_recorded, flow_state, publish, stage_timer, take_run_lock, worse
from flows.settings import Settings
from schema.engine import make_engine, redacted, warehouse_identity
from schema.migrate import upgrade
from spiders.parse.hubref import resolve_hub_refs
from spiders.parse.records import PARSER_VERSION
from spiders.replay import (
    ANY_WAREHOUSE,
    PENDING,
    ArchivedRun,
    ArchiveError,
    Selection,
    archived_runs,
    fetch_plan,
    parse_day,
    replay_workers,
    select_runs,
    write_replay,
)
from warehouse import runs


@task(name="replay archived crawl", cache_policy=NO_CACHE)
def replay_task(
    archived: ArchivedRun, fetches: list[dict[str, Any]], run_id: str, out: Path, workers: int
) -> dict[str, int]:
    return write_replay(archived, fetches, run_id, out, workers)


def _replay_one(
    database_url: str,
    kind: str,
    run_id: str,
    archived: ArchivedRun,
    fetches: list[dict[str, Any]],
    settings: Settings,
    known: dict[str, Any],
) -> dict[str, Any]:
    timings: dict[str, float] = {}
    # outside the runs folder: a replay is not itself an archived crawl
    items = settings.data_dir / "replays" / run_id / "items.jsonl"
    workers = replay_workers(settings.replay_workers)
    stats = stage_timer(timings)("replay", replay_task, archived, fetches, run_id, items, workers)
    known.update(crawl_counts(stats))  # what a failure from here on still reports
    return publish(
        database_url,
        run_id,
        kind,
        stats=stats,
        timings=timings,
        items_path=items,
        summary={"replay_of": archived.run_id},
    )


def replay_selection(
    runs_dir: Path,
    database_url: str,
    since: date | None = None,
    until: date | None = None,
    archive_of: str | None = None,
    named: list[str] | None = None,
) -> Selection:
    """The archived crawls a replay into `database_url` takes, and those it leaves out and why
    (`spiders.replay.select_runs`; `named`: only these run ids, crawl-only runs included); what `citehub
    backfill --from-archive --dry-run` lists. A crawl of this warehouse whose run was killed during its load
    (`published: "pending"`) is settled from its run table first (`settle_archive`)."""
    owner = archive_of if archive_of in (None, ANY_WAREHOUSE) else warehouse_identity(archive_of)
    found = archived_runs(runs_dir, since, until)
    if any(a.published == PENDING and a.warehouse == warehouse_identity(database_url) for a in found):
        settle_archive(make_engine(database_url), runs_dir, database_url)
        found = archived_runs(runs_dir, since, until)
    return select_runs(found, warehouse_identity(database_url), owner, named)


def replay_archive(
    kind: str,
    since: date | None,
    until: date | None,
    parser_version: str,
    database_url: SecretStr | str | None,
    data_dir: str | None,
    lock_wait_seconds: float,
    workers: int | None = None,
    archive_of: str | None = None,
    named: list[str] | None = None,
) -> dict[str, Any]:
    """Replay archived crawls (oldest first) as runs of `kind`, or only the `named` ones; every input checked
    before the first run."""
    log = get_run_logger()
    overrides: dict[str, Any] = {
        **({"data_dir": data_dir} if data_dir else {}),
        **({"replay_workers": workers} if workers is not None else {}),
    }
    settings = Settings(**overrides)
    database_url = plain_url(database_url) or settings.database_url
    selection = replay_selection(settings.runs_dir, database_url, since, until, archive_of, named)
    for archived_run, why in selection.left_out:
        log.info("left out archived crawl %s: %s", archived_run.run_id, why)
    plans = [(a, fetch_plan(a)) for a in selection.chosen]
    engine = make_engine(database_url)
    upgrade(engine)
    if kind == "reparse":
        held = runs.run_count(engine)
        if held:  # into a warehouse that holds runs a reparse would mix two derivations
            raise ArchiveError(
                f"{redacted(database_url)} already holds {held} runs: reparse into an empty "
                "warehouse (--database-url), check it, then switch CITEHUB_DATABASE_URL to it"
            )
    runs.refuse_older_history(engine, selection.chosen[0].run_id, selection.chosen[0].crawl_started)
    log.info(
        "%s: replaying %d archived crawls from %s into %s", kind, len(plans), settings.runs_dir, redacted(database_url)
    )
    reports: list[dict[str, Any]] = []
    worst = "completed"
    lock = ExitStack()
    try:
        for archived_run, fetches in plans:
            params = {
                "replay_of": archived_run.run_id,
                "archive": str(archived_run.run_dir),
                "since": since,
                "until": until,
                "fetches": len(fetches),
            }
            run_id = runs.start_run(
                engine, kind, params, started_at=archived_run.crawl_started, parser_version=parser_version
            )
            # one lock for the whole sequence: no other run lands between two replays
            if not reports and (skipped := take_run_lock(lock, engine, run_id, lock_wait_seconds)):
                return {**skipped, "runs": []}
            with failure_recorded(engine, run_id, replay_of=archived_run.run_id) as known:
                report = _replay_one(database_url, kind, run_id, archived_run, fetches, settings, known)
            reports.append(report)
            if report.get("status") == "blocked":  # later crawls build on this one: stop here
                return {"status": "blocked", "message": report["message"], "run_id": run_id, "runs": reports}
            worst = worse(worst, report.get("status", "completed"))
            log.info("run %s replayed %s", run_id, archived_run.run_id)
    finally:
        lock.close()
    return {
        "status": worst,
        "reasons": [f"run {r['run_id']}: {why}" for r in reports for why in r.get("reasons", [])],
        "runs": reports,
        "replayed": {r["run_id"]: a.run_id for r, (a, _) in zip(reports, plans, strict=True)},
        "left_out": {a.run_id: why for a, why in selection.left_out},
    }


@flow(name="backfill", log_prints=True)
def backfill(
    hubs: list[str] | None = None,
    from_archive: bool = False,
    since: str | None = None,
    until: str | None = None,
    base_url: str | None = None,
    database_url: SecretStr | str | None = None,
    data_dir: str | None = None,
    lock_wait_seconds: float = 0.0,
    replay_workers: int | None = None,
    archive_of: str | None = None,
    run_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Backfill `hubs` (uuids, URLs or seed files) by fetching them now, or replay archived crawls (parsed on
    `replay_workers` processes): those of the date range, or only the archived crawls `run_ids` (the one way
    a crawl-only run, `citehub crawl`, is replayed)."""
    if run_ids and not from_archive:
        raise ArchiveError("--run names archived crawls: use it with --from-archive")
    if from_archive:
        if hubs:
            raise ArchiveError("give hubs or from_archive, not both: an archive replay loads whole crawls")
        return flow_state(
            replay_archive(
                "backfill",
                parse_day(since, "--since"),
                parse_day(until, "--until"),
                PARSER_VERSION,
                database_url,
                data_dir,
                lock_wait_seconds,
                replay_workers,
                archive_of,
                run_ids,
            )
        )
    if since or until:
        raise ArchiveError("--since/--until select archived crawls: use them with --from-archive")
    refs = resolve_hub_refs(hubs or [])
    # A backfill asks for fresh bodies: validators from an earlier fetch would let the site answer 304.
    report = nightly_refresh(
        base_url=base_url,
        hubs=refs,
        database_url=database_url,
        data_dir=data_dir,
        include_known=False,
        kind="backfill",
        conditional=False,
        lock_wait_seconds=lock_wait_seconds,
    )
    return flow_state(
        {"status": report.get("status", "completed"), "reasons": report.get("reasons", []), "runs": [report]}
    )


@flow(name="reparse", log_prints=True)
def reparse(
    parser_version: str = PARSER_VERSION,
    database_url: SecretStr | str | None = None,
    data_dir: str | None = None,
    lock_wait_seconds: float = 0.0,
    replay_workers: int | None = None,
    archive_of: str | None = None,
) -> dict[str, Any]:
    """Re-derive an empty warehouse from every archived crawl with the installed parsers (on `replay_workers`
    processes)."""
    if parser_version != PARSER_VERSION:
        raise ArchiveError(
            f"the installed parsers are version {PARSER_VERSION!r}, not {parser_version!r}: "
            "install the fixed parsers first (spiders/parse/records.py PARSER_VERSION)"
        )
    return flow_state(
        replay_archive(
            "reparse", None, None, parser_version, database_url, data_dir, lock_wait_seconds, replay_workers, archive_of
        )
    )


__all__ = ["backfill", "replay_archive", "reparse"]
