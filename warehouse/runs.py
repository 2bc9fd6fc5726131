"""Run bookkeeping: the `run` table (plan, finish, history) and the hubs a nightly run starts from."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from schema.errors import CitehubError
from schema.partitions import ensure_partitions
from schema.tables import RUN_KINDS, RUN_STATUSES, fetch, hub, run
from spiders.parse.records import PARSER_VERSION


def code_version() -> str:
    try:
        return importlib_metadata.version("citehub")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def new_run_id(now: datetime | None = None) -> str:
    """`20261124T030000Z-a1b2c3`: sortable by start time, unique thanks to the random suffix."""
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def start_run(
    engine: Engine,
    kind: str,
    params: dict[str, Any],
    started_at: datetime | None = None,
    parser_version: str = PARSER_VERSION,
) -> str:
    """Record a new run with status `running`; returns its run_id.

    `started_at` defaults to now; a replay of an archived crawl (flows/backfill.py) passes the crawl's own
    start, so the run sorts, and as-of queries date it, where its data belongs in time.
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"run kind must be one of {RUN_KINDS}, not {kind!r}")
    started_at = started_at or datetime.now(UTC)
    run_id = new_run_id(started_at)
    with engine.begin() as conn:
        conn.execute(
            insert(run).values(
                run_id=run_id,
                kind=kind,
                status="running",
                started_at=started_at,
                params=json.dumps(params, sort_keys=True, default=str),
                code_version=code_version(),
                parser_version=parser_version,
            )
        )
        # PostgreSQL: the month partitions the run's rows go to (a replay's month may be long past)
        ensure_partitions(conn, run_id)
    return run_id


def finish_run(engine: Engine, run_id: str, status: str, summary: dict[str, Any]) -> None:
    """Close a run with its final status and summary."""
    if status not in RUN_STATUSES or status == "running":
        raise ValueError(f"final run status must be completed, failed or skipped, not {status!r}")
    with engine.begin() as conn:
        result = conn.execute(
            update(run)
            .where(run.c.run_id == run_id)
            .values(
                status=status, finished_at=datetime.now(UTC), summary=json.dumps(summary, sort_keys=True, default=str)
            )
        )
        if result.rowcount != 1:
            raise LookupError(f"no run {run_id!r}")


def get_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    """The run's row as a dict (params and summary decoded), or None."""
    with engine.connect() as conn:
        row = conn.execute(select(run).where(run.c.run_id == run_id)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["params"] = json.loads(out["params"])
    out["summary"] = json.loads(out["summary"]) if out["summary"] else None
    return out


def completed_runs(engine: Engine) -> list[str]:
    """run_ids of completed runs, oldest first."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(run.c.run_id).where(run.c.status == "completed").order_by(run.c.started_at, run.c.run_id)
            ).scalars()
        )


def known_hub_urls(engine: Engine, base_url: str) -> list[str]:
    """Hub page URLs of every hub in the warehouse, sorted: the start of a nightly crawl."""
    base = base_url.rstrip("/")
    with engine.connect() as conn:
        uuids = conn.execute(select(hub.c.hub_uuid).order_by(hub.c.hub_uuid)).scalars()
        return [f"{base}/citations/{uuid}" for uuid in uuids]


def published_runs(engine: Engine, run_ids: list[str]) -> dict[str, bool | None]:
    """Whether the load of each run committed (it published), as the warehouse says: True for a `completed` or
    `degraded` run, and for a `failed` or `abandoned` one that left fetch rows (only its load's transaction
    writes them: it failed, or died, after the commit); False for a `blocked` or `skipped` run and for a failed
    or abandoned one without; None while it is `running` or unknown here (not decided yet)."""
    if not run_ids:
        return {}
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(run.c.run_id, run.c.status).where(run.c.run_id.in_(run_ids))).all())
        loaded = set(
            conn.execute(select(fetch.c.run_id).where(fetch.c.run_id.in_(run_ids)).group_by(fetch.c.run_id)).scalars()
        )
    out: dict[str, bool | None] = {}
    for run_id in run_ids:
        status = statuses.get(run_id)
        if status in ("completed", "degraded"):
            out[run_id] = True
        elif status in ("failed", "abandoned"):
            out[run_id] = run_id in loaded
        elif status in ("blocked", "skipped"):
            out[run_id] = False
        else:
            out[run_id] = None
    return out


def run_count(engine: Engine) -> int:
    """How many runs the warehouse holds (a reparse derives a whole warehouse: it needs an empty one)."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(run)).scalar_one()


def newest_loaded_run(engine: Engine) -> tuple[str, datetime] | None:
    """(run id, start) of the latest run that may have published (completed, degraded, failed after loading,
    or abandoned after its commit), or None: what a replay of an older crawl would write history behind."""
    with engine.connect() as conn:
        row = conn.execute(
            select(run.c.run_id, run.c.started_at)
            .where(run.c.status.in_(("completed", "degraded", "failed", "abandoned")))
            .order_by(run.c.started_at.desc(), run.c.run_id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    started = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
    return row.run_id, started


class OlderThanHistory(CitehubError):
    """A replay of a crawl older than the warehouse's newest run: refused (history would run backward)."""


def refuse_older_history(engine: Engine, crawl: str, crawl_started: datetime) -> None:
    """A replay loads its crawl after everything the warehouse holds: a crawl older than the warehouse's
    newest run would write history (`citation_version` spells) that runs backward in time, and the as-of
    answers of later runs would change. Refused; older crawls are replayed into an empty warehouse."""
    newest = newest_loaded_run(engine)
    if newest is not None and crawl_started <= newest[1]:
        raise OlderThanHistory(
            f"archived crawl {crawl} ({crawl_started:%Y-%m-%d %H:%M:%S} UTC) is older than run {newest[0]} "
            f"({newest[1]:%Y-%m-%d %H:%M:%S} UTC) of this warehouse: replaying it would rewrite the history of "
            "later runs; replay it into an empty warehouse (--database-url), or replay later crawls (--since)"
        )
