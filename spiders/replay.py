"""Archive replay: the archived responses of a crawl -> the items that crawl would write with today's parsers.

A replay reads each archived response, hands it to the hub spider's own callbacks (so the current
`spiders.parse` parsers make the records and the items are the ones a crawl would build), keeps the fetch
row (time, validators, WARC location) with the outcome the parsers give now. Fetches that never had a
response (connection errors, refused URLs) replay as they were.

Parsing is CPU-bound and a reparse replays every page ever fetched, so a replay of more than one chunk of
fetches runs on several processes: chunks go to a process pool and their items are written back in the
archive's order, a bounded number of chunks in flight, so the items file is the same byte for byte whatever
the number of workers, and memory does not grow with the archive. The workers come from a forkserver that
has imported this module (never a fork of the flow's process, which runs Prefect's threads). This module
imports no Prefect: a worker needs only Scrapy and the parsers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from schema.errors import CitehubError
from spiders.parse.paperref import is_paper_url
from spiders.parse.records import PARSER_VERSION

CHUNK = 100  # fetches a pool task: enough parsing to outweigh its round trip, few enough items to stay small
IN_FLIGHT = 2  # chunks queued or running per worker: workers never wait, memory stays bounded


class ArchiveError(CitehubError, ValueError):
    """The archive cannot give what was asked (bad range, no runs, missing or unreadable files)."""


@dataclass(frozen=True)
class ArchivedRun:
    """One crawl kept under the runs folder: its WARC files and the fetch rows pointing into them, and what
    its manifest (`run.json`) says: the warehouse it was crawled for and whether its run published it
    (None for both: archived before runs recorded them; PENDING: its load was about to commit, see
    `settle_pending`), and its kind (CRAWL_ONLY: `citehub crawl`, which no run published)."""

    run_id: str
    run_dir: Path
    crawl_started: datetime  # when the crawl started (stats.json start_time; else the run id's stamp)
    warehouse: str | None = None
    published: bool | str | None = None
    status: str | None = None
    kind: str | None = None

    @property
    def items_path(self) -> Path:
        return self.run_dir / "items.jsonl"

    @property
    def warc_dir(self) -> Path:
        return self.run_dir / "warc"


def replay_workers(setting: int | None) -> int:
    """Processes a replay parses on: the setting, else every core this process may use."""
    if setting is not None:
        return setting
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def read_response(path: Path, offset: int) -> tuple[str, int, list[tuple[str, str]], bytes]:
    """(target URL, status, headers, body) of the WARC response record at `offset` of `path`."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None or record.rec_type != "response" or record.http_headers is None:
                raise ArchiveError(f"{path.name} at offset {offset}: not a response record")
            status = int(record.http_headers.get_statuscode())
            return (
                record.rec_headers.get_header("WARC-Target-URI"),
                status,
                list(record.http_headers.headers),
                record.content_stream().read(),
            )
    except (OSError, ArchiveLoadFailed, ValueError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"{path} at offset {offset}: unreadable WARC record ({exc})") from exc


def replay_items(archived: ArchivedRun, fetches: list[dict[str, Any]], run_id: str) -> Iterator[dict[str, Any]]:
    """The items a crawl of the archived responses would write, parsed by today's parsers, for `run_id`."""
    from scrapy.http import Headers, Request
    from scrapy.responsetypes import responsetypes

    from spiders.crawl import allowed_hosts_for
    from spiders.hub import HubSpider

    spider = HubSpider()
    spider.follow = False  # the archive holds what the crawl fetched; the spider only reads pages back
    # Whose hub links are the site's: the real site's hosts, and the hosts of each page read back (the crawl
    # fetched it, so its allowlist held them on every hop), so a replay records the links the crawl recorded.
    site_hosts = set(spider.link_hosts)
    for fetched in fetches:
        if fetched.get("warc_file") is None:  # no response was archived: the fetch row is all there is
            yield _stamp({**fetched}, run_id)
            continue
        target, status, header_list, body = read_response(
            archived.warc_dir / fetched["warc_file"], fetched["warc_offset"]
        )
        spider.link_hosts = sorted(site_hosts.union(allowed_hosts_for(fetched["url"]), allowed_hosts_for(target)))
        headers = Headers()
        for name, value in header_list:
            headers.appendlist(name, value)
        parts = urlsplit(fetched["url"])
        query = dict(parse_qsl(parts.query))
        page = int(query.pop("page", "1") or 1)
        meta = {
            "hub_uuid": fetched.get("hub_uuid"),
            "hub_url": urlunsplit((*parts[:3], "", "")),
            "filters": query,
            "page": page,
        }
        request = Request(fetched["url"], meta=meta)
        cls = responsetypes.from_args(headers=headers, url=target, body=body)
        response = cls(url=target, status=status, headers=headers, body=body, request=request)
        if is_paper_url(fetched["url"]):  # a citing paper's page: its reference list, as a links item
            callback = spider.parse_paper
        else:
            callback = spider.parse_json if parts.path.endswith(".json") else spider.parse_page
        for out in callback(response):
            if not isinstance(out, dict):
                continue  # a follow-up request: the archive already holds what it fetched
            if out["kind"] == "fetch":
                out = {**fetched, "outcome": out["outcome"], "error": out["error"]}
            else:
                out["fetched_at"] = fetched.get("fetched_at")
            yield _stamp(out, run_id)


def _stamp(item: dict[str, Any], run_id: str) -> dict[str, Any]:
    # what spiders.pipelines.StampRunPipeline does for a crawl: these records are this run's, by these parsers
    item["run_id"] = run_id
    item["parser_version"] = PARSER_VERSION
    return item


def replay_chunk(archived: ArchivedRun, fetches: list[dict[str, Any]], run_id: str) -> tuple[list[str], Counter]:
    """One chunk's items as JSON lines, and what they count (a pool task; also the one-process path)."""
    lines: list[str] = []
    stats: Counter = Counter()
    for item in replay_items(archived, fetches, run_id):
        stats[f"citehub/items/{item['kind']}"] += 1
        if item["kind"] == "fetch":
            stats[f"citehub/fetch/{item['outcome']}"] += 1
            stats["citehub/replay/warc_records"] += item.get("warc_file") is not None
        lines.append(json.dumps(item, sort_keys=True) + "\n")
    return lines, stats


def _chunks(fetches: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(fetches), CHUNK):
        yield fetches[start : start + CHUNK]


def _in_order(
    archived: ArchivedRun, fetches: list[dict[str, Any]], run_id: str, workers: int
) -> Iterator[tuple[list[str], Counter]]:
    """Each chunk's result in the archive's order; on several processes when there is more than one chunk."""
    if workers <= 1:
        for chunk in _chunks(fetches):
            yield replay_chunk(archived, chunk, run_id)
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    pending: deque[Future] = deque()
    try:
        for chunk in _chunks(fetches):
            pending.append(pool.submit(replay_chunk, archived, chunk, run_id))
            if len(pending) >= workers * IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a failed chunk stops the rest


def write_replay(
    archived: ArchivedRun, fetches: list[dict[str, Any]], run_id: str, out: Path, workers: int = 1
) -> dict[str, int]:
    """Write the replayed items as JSON Lines (what stage reads) on `workers` processes; returns crawl-like
    stats (no requests). The file appears only when complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers, -(-len(fetches) // CHUNK)))  # no more processes than chunks
    stats: Counter = Counter()
    tmp = out.with_suffix(".jsonl.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for lines, counts in _in_order(archived, fetches, run_id, workers):
                fh.writelines(lines)
                stats.update(counts)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return {"downloader/request_count": 0, "citehub/replay/workers": workers, **stats}


RUN_DIR_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-[0-9a-f]{6}$")


# --- the archive ---------------------------------------------------------------------------------------


def parse_day(value: str | date | None, option: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArchiveError(f"{option}: not a date (YYYY-MM-DD): {value!r}") from None


MANIFEST = "run.json"
# `published` while the run's load commits: written before its transaction opens, replaced by True once it
# committed (False when the guard blocked it). A run killed in between leaves it; `settle_pending` asks the
# warehouse whether that load committed.
PENDING = "pending"
CRAWL_ONLY = "crawl"  # the manifest `kind` of a `citehub crawl` (crawl only: no run, no warehouse)


def record_run(run_dir: Path, **fields: Any) -> None:
    """Add `fields` to the run folder's manifest (`run.json`): which warehouse the crawl is for (at its start),
    whether its run published it and how the run ended (at its end). Written whole, then renamed: a reader
    never sees half of it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = {**read_manifest(run_dir), **fields}
    tmp = run_dir / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, sort_keys=True, default=str) + "\n", encoding="utf-8")
    tmp.replace(run_dir / MANIFEST)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"run {run_dir.name}: unreadable {MANIFEST} ({exc})") from exc
    return manifest if isinstance(manifest, dict) else {}


def settle_pending(
    runs_dir: Path, warehouse: str, judge: Callable[[list[str]], Mapping[str, bool | None]]
) -> dict[str, bool]:
    """Settle the manifests under `runs_dir` of warehouse `warehouse` (its identity) still saying `published:
    "pending"`: `judge(run_ids)` says, from that warehouse's run table, whether each run's load committed
    (`warehouse.runs.published_runs`: True, False, or None while undecided, e.g. still running). Decided ones
    are rewritten with that answer (and `settled: true`); returns them. `judge` is called only when there is
    something to settle."""
    pending: dict[str, Path] = {}
    if runs_dir.is_dir():
        for run_dir in sorted(runs_dir.iterdir()):
            if not RUN_DIR_NAME.match(run_dir.name) or not (run_dir / MANIFEST).is_file():
                continue
            try:
                manifest = read_manifest(run_dir)
            except ArchiveError:  # a replay that selects it names it; a run does not fail for it
                continue
            if manifest.get("published") == PENDING and manifest.get("warehouse") == warehouse:
                pending[str(manifest.get("run_id") or run_dir.name)] = run_dir
    if not pending:
        return {}
    settled = {}
    for run_id, published in judge(sorted(pending)).items():
        if run_id in pending and published is not None:
            record_run(pending[run_id], published=published, settled=True)
            settled[run_id] = published
    return settled


ANY_WAREHOUSE = "any"


@dataclass(frozen=True)
class Selection:
    """The archived crawls a replay takes, and the ones it leaves out with why."""

    chosen: list[ArchivedRun]
    left_out: list[tuple[ArchivedRun, str]]
    warehouse: str | None  # whose crawls: None with ANY_WAREHOUSE


def select_runs(
    found: list[ArchivedRun], target: str, archive_of: str | None = None, named: list[str] | None = None
) -> Selection:
    """Of the archived crawls `found`, those a replay into warehouse `target` (its `warehouse_identity`)
    takes: the crawls of `archive_of` (a warehouse identity, or ANY_WAREHOUSE), by default of the target when
    the archive holds some, else of the one warehouse the archive holds; never a crawl whose run did not
    publish (it died during its load, the guard blocked it, it was interrupted), nor one whose publication is
    still PENDING (not settled yet: `settle_pending`).

    `named`: only these run ids (each must be found). A crawl-only run (`citehub crawl`: no run published it,
    for no warehouse) is taken only when named; a folder without a manifest (archived before manifests) is
    taken as a crawl of no recorded warehouse, as before."""
    if named is not None:
        missing = sorted(set(named) - {a.run_id for a in found})
        if missing:
            raise ArchiveError(
                f"no archived crawl {', '.join(missing)} (a run folder with stats.json, items.jsonl and warc/ "
                "in the range asked)"
            )
        found = [a for a in found if a.run_id in named]
    owners = {a.warehouse for a in found if a.kind != CRAWL_ONLY}
    if archive_of == ANY_WAREHOUSE or not owners:
        owner = None
    elif archive_of is not None:
        owner = archive_of
    elif target in owners:
        owner = target
    elif len(owners) == 1:
        owner = next(iter(owners))
    else:
        names = ", ".join(sorted(o or "(not recorded)" for o in owners))
        raise ArchiveError(
            f"the archive holds crawls of {len(owners)} warehouses ({names}): name one with --archive-of URL, "
            f"or --archive-of {ANY_WAREHOUSE}"
        )
    chosen, left_out = [], []
    for archived in found:
        if archived.kind == CRAWL_ONLY:
            if named is not None:
                chosen.append(archived)
            else:
                left_out.append((archived, "a crawl-only run (citehub crawl): replayed only when named (--run)"))
        elif owner is not None and archived.warehouse != owner:
            left_out.append((archived, f"crawled for {archived.warehouse or 'a warehouse it does not record'}"))
        elif archived.published is False:
            left_out.append((archived, f"its run ended {archived.status or 'before its load'} and published nothing"))
        elif archived.published == PENDING:
            left_out.append(
                (
                    archived,
                    f"its run stopped during its load; whether that committed is not settled yet (the next run of "
                    f"{archived.warehouse} settles it)",
                )
            )
        else:
            chosen.append(archived)
    if not chosen:
        raise ArchiveError(
            f"no archived crawl of {owner or 'any warehouse'} to replay"
            + (f" ({len(left_out)} left out: {left_out[0][1]}, ...)" if left_out else "")
        )
    return Selection(chosen, left_out, owner)


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
        manifest = read_manifest(run_dir)
        found.append(
            ArchivedRun(
                run_dir.name,
                run_dir,
                _crawl_start(run_dir, stamp),
                warehouse=manifest.get("warehouse"),
                published=manifest.get("published"),
                status=manifest.get("status"),
                kind=manifest.get("kind"),
            )
        )
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
