"""Backfills and reparses: load hubs on demand, or re-derive runs from the WARC archive without the network.

- `backfill(hubs=[...])`: fetch those hubs now, unconditionally (no If-None-Match), as a run of kind
  `backfill`; the nightly's retire/relabel rules apply (flows/history.py).
- `backfill(from_archive=True, since=, until=)`: replay every crawl archived in that date range (UTC date of
  its run id), oldest first, each as one `backfill` run.
- `reparse(parser_version=)`: replay every archived crawl into an empty warehouse after a parser fix, as
  `reparse` runs that record the parser version.

The archive is self-describing: `<runs dir>/<run_id>/items.jsonl` holds the crawl's fetch rows, each naming
its response's WARC file and offset in `<run_id>/warc/`. A replay (flows/replay.py) parses the archived
responses with the hub spider's own callbacks, on `replay_workers` processes (setting
CITEHUB_REPLAY_WORKERS; default: every core), and then goes through the nightly's stage -> clean -> load ->
materialize -> check.

A replay run starts at the archived crawl's own start time (run id and `started_at`), so history, hub
growth and as-of queries date its data where it belongs; its params name the run it replays.

Bad input fails before any run starts, naming what is wrong: `--until` before `--since`, a range with no
archived crawl, a fetch row naming a WARC file the archive lacks, an unreadable items file, a reparse into
a warehouse that already holds runs, a parser version other than the installed one. A WARC record that
cannot be read fails its run before the load: the warehouse keeps what it had.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from flows import guard, runs
from flows.lock import RunLockBusy, single_flight
from flows.nightly import (
    check_task,
    clean_task,
    finish_blocked,
    load_task,
    nightly_refresh,
    publish_artifacts_task,
    stage_task,
)
from flows.replay import ArchivedRun, ArchiveError, replay_items, replay_workers, write_replay
from flows.report import build_report, stage_timer
from flows.settings import Settings, redacted
from schema.engine import make_engine
from schema.migrate import upgrade
from schema.tables import run as run_table
from spiders.hubref import UUID, BadHubRef, read_seeds
from spiders.parse.records import PARSER_VERSION

RUN_DIR_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-[0-9a-f]{6}$")


# --- hub references ------------------------------------------------------------------------------------


def resolve_hub_refs(args: list[str]) -> list[str]:
    """`--hubs FILE|UUID...`: an existing file is a seed list, anything else must hold a hub uuid (or URL)."""
    refs: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_file():
            refs.extend(read_seeds(path))
        elif UUID.search(arg.strip().lower()):
            refs.append(arg.strip())
        else:
            raise BadHubRef(f"unknown hub reference {arg!r}: no such seed file, and not a hub uuid or URL")
    if not refs:
        raise BadHubRef("no hubs to backfill (the seed files name none)")
    return list(dict.fromkeys(refs))


# --- the archive ---------------------------------------------------------------------------------------


def parse_day(value: str | date | None, option: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArchiveError(f"{option}: not a date (YYYY-MM-DD): {value!r}") from None


def archived_runs(runs_dir: Path, since: date | None = None, until: date | None = None) -> list[ArchivedRun]:
    """Crawls archived under `runs_dir` whose run id's UTC date is in [since, until], oldest first.

    A run folder counts when its crawl finished (stats.json) and left items and WARC files; a crawl that
    died midway has no complete fetch log to replay.
    """
    if since and until and until < since:
        raise ArchiveError(f"--until {until} is before --since {since}")
    if not runs_dir.is_dir():
        raise ArchiveError(f"no run archive at {runs_dir}")
    found = []
    for run_dir in runs_dir.iterdir():
        match = RUN_DIR_NAME.match(run_dir.name)
        if not match or not run_dir.is_dir():
            continue
        if not all((run_dir / p).exists() for p in ("stats.json", "items.jsonl", "warc")):
            continue
        stamp = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if (since and stamp.date() < since) or (until and stamp.date() > until):
            continue
        found.append(ArchivedRun(run_dir.name, run_dir, _crawl_start(run_dir, stamp)))
    if not found:
        span = f"from {since or 'the first'} to {until or 'the last'}"
        raise ArchiveError(f"no archived crawl in {runs_dir} {span} (UTC dates of run ids)")
    return sorted(found, key=lambda r: (r.crawl_started, r.run_id))


def _crawl_start(run_dir: Path, stamp: datetime) -> datetime:
    """The crawl's start with sub-second precision (orders runs started within one second)."""
    try:
        started = json.loads((run_dir / "stats.json").read_text()).get("start_time")
        parsed = datetime.fromisoformat(started)
    except (OSError, ValueError, TypeError):
        return stamp
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def fetch_plan(archived: ArchivedRun) -> list[dict[str, Any]]:
    """The archived crawl's fetch rows, in crawl order; every WARC file they name must be in the archive."""
    fetches = []
    try:
        lines = archived.items_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"run {archived.run_id}: cannot read {archived.items_path}: {exc}") from exc
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ArchiveError(f"{archived.items_path}:{lineno}: malformed JSON ({exc.msg})") from None
        if not isinstance(item, dict) or item.get("kind") != "fetch":
            continue
        name = item.get("warc_file")
        if name is not None:
            # A bare file name in the run's warc folder: nothing outside the archive is ever opened.
            if Path(name).name != name or not (archived.warc_dir / name).is_file():
                raise ArchiveError(
                    f"run {archived.run_id}: fetch of {item.get('url')} names WARC file {name!r}, "
                    f"missing from {archived.warc_dir}"
                )
            if not isinstance(item.get("warc_offset"), int):
                raise ArchiveError(f"{archived.items_path}:{lineno}: fetch of {item.get('url')} has no WARC offset")
        fetches.append(item)
    return fetches


def require_empty(engine: Engine) -> None:
    """A reparse derives the whole warehouse from the archive; into one that holds runs it would mix two."""
    with engine.connect() as conn:
        held = conn.execute(select(func.count()).select_from(run_table)).scalar_one()
    if held:
        raise ArchiveError(
            f"{redacted(str(engine.url))} already holds {held} runs: reparse into an empty "
            "warehouse (--database-url), check it, then switch CITEHUB_DATABASE_URL to it"
        )


def _plain(database_url: SecretStr | str | None) -> str | None:
    # Prefect stores and shows flow parameters and masks only SecretStr: the CLI wraps a URL's password so
    return database_url.get_secret_value() if isinstance(database_url, SecretStr) else database_url


# --- Prefect wiring ------------------------------------------------------------------------------------


@task(name="replay archived crawl", cache_policy=NO_CACHE)
def replay_task(archived: ArchivedRun, fetches: list[dict], run_id: str, out: Path, workers: int) -> dict[str, int]:
    return write_replay(archived, fetches, run_id, out, workers)


def _replay_one(
    engine: Engine,
    database_url: str,
    kind: str,
    run_id: str,
    archived: ArchivedRun,
    fetches: list[dict],
    settings: Settings,
) -> dict:
    timings: dict[str, float] = {}
    timed = stage_timer(timings)

    try:
        # outside the runs folder: a replay is not itself an archived crawl
        items = settings.data_dir / "replays" / run_id / "items.jsonl"
        stats = timed("replay", replay_task, archived, fetches, run_id, items, replay_workers(settings.replay_workers))
        timed("stage", stage_task, database_url, run_id, items)
        batch = timed("clean", clean_task, database_url, run_id)
        # load + marts in one guarded transaction, as for a nightly (flows/guard.py)
        loaded = timed("load", load_task, database_url, run_id, batch, guard.Limits.from_settings(settings))
        if isinstance(loaded, guard.Verdict):
            return finish_blocked(engine, run_id, loaded, stats, timings, get_run_logger())
        checks = timed("check", check_task, database_url, run_id)
        report = build_report(engine, run_id, stats, loaded, checks, timings)
        failed = [c.name for c in checks if not c.passed]
        runs.finish_run(
            engine, run_id, "failed" if failed else "completed", {**report.as_dict(), "replay_of": archived.run_id}
        )
        publish_artifacts_task(database_url, run_id, kind, report.markdown())
        if failed:
            raise RuntimeError(
                f"run {run_id} (replay of {archived.run_id}): quality checks failed: " + ", ".join(failed)
            )
        return report.as_dict()
    except BaseException as exc:
        if (runs.get_run(engine, run_id) or {}).get("status") == "running":
            runs.finish_run(engine, run_id, "failed", {"error": str(exc)[:2000], "replay_of": archived.run_id})
        raise


def replay_archive(
    kind: str,
    since: date | None,
    until: date | None,
    parser_version: str,
    database_url: SecretStr | str | None,
    data_dir: str | None,
    lock_wait_seconds: float,
    workers: int | None = None,
) -> dict:
    """Replay archived crawls (oldest first) as runs of `kind`; every input checked before the first run."""
    log = get_run_logger()
    settings = Settings(
        **({"data_dir": data_dir} if data_dir else {}), **({"replay_workers": workers} if workers is not None else {})
    )
    database_url = _plain(database_url) or settings.database_url
    archived = archived_runs(settings.runs_dir, since, until)
    plans = [(a, fetch_plan(a)) for a in archived]
    engine = make_engine(database_url)
    upgrade(engine)
    if kind == "reparse":
        require_empty(engine)
    log.info(
        "%s: replaying %d archived crawls from %s into %s", kind, len(plans), settings.runs_dir, redacted(database_url)
    )
    reports: list[dict] = []
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
            if not reports:  # one lock for the whole sequence: no other run lands between two replays
                try:
                    lock.enter_context(single_flight(engine, run_id, lock_wait_seconds))
                except RunLockBusy as exc:
                    log.warning("%s", exc)
                    runs.finish_run(engine, run_id, "skipped", {"message": str(exc)})
                    return {"status": "skipped", "message": str(exc), "run_id": run_id, "runs": []}
            report = _replay_one(engine, database_url, kind, run_id, archived_run, fetches, settings)
            reports.append(report)
            if report.get("status") == "blocked":  # later crawls build on this one: stop here
                return {"status": "blocked", "message": report["message"], "run_id": run_id, "runs": reports}
            log.info("run %s replayed %s", run_id, archived_run.run_id)
    finally:
        lock.close()
    return {
        "status": "completed",
        "runs": reports,
        "replayed": {r["run_id"]: a.run_id for r, (a, _) in zip(reports, plans, strict=True)},
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
) -> dict:
    """Backfill `hubs` (uuids, URLs or seed files) by fetching them now, or replay archived crawls (parsed on
    `replay_workers` processes)."""
    if from_archive:
        if hubs:
            raise ArchiveError("give hubs or from_archive, not both: an archive replay loads whole crawls")
        return replay_archive(
            "backfill",
            parse_day(since, "--since"),
            parse_day(until, "--until"),
            PARSER_VERSION,
            database_url,
            data_dir,
            lock_wait_seconds,
            replay_workers,
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
    return {"status": report.get("status", "completed"), "runs": [report]}


@flow(name="reparse", log_prints=True)
def reparse(
    parser_version: str = PARSER_VERSION,
    database_url: SecretStr | str | None = None,
    data_dir: str | None = None,
    lock_wait_seconds: float = 0.0,
    replay_workers: int | None = None,
) -> dict:
    """Re-derive an empty warehouse from every archived crawl with the installed parsers (on `replay_workers`
    processes)."""
    if parser_version != PARSER_VERSION:
        raise ArchiveError(
            f"the installed parsers are version {PARSER_VERSION!r}, not {parser_version!r}: "
            "install the fixed parsers first (spiders/parse/records.py PARSER_VERSION)"
        )
    return replay_archive(
        "reparse", None, None, parser_version, database_url, data_dir, lock_wait_seconds, replay_workers
    )


__all__ = [
    "ArchiveError",
    "ArchivedRun",
    "archived_runs",
    "backfill",
    "fetch_plan",
    "replay_archive",
    "replay_items",
    "reparse",
    "resolve_hub_refs",
]
