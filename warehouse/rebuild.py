"""The marts' full rebuild, and the drift it corrects.

A run maintains most marts incrementally (`warehouse.materialize`): it recomputes only the rows its changes
can reach. The full SQL files stay the reference, and a full rebuild is what proves the increments right:
`rebuild` rebuilds every mart in full in one transaction and reports, per mart, the rows in which the
maintained mart and the full rebuild differed (the `run_id` bookkeeping column aside: it names the run that
last (re)computed a row, so it differs by design). A row the increments got wrong counts once as `missing`
(the rebuild's row, absent or with other values before) and once as `extra` (the row the mart held).

Who rebuilds: `citehub marts --rebuild` (under the warehouse's run lock, recorded in the summary of the run
the marts were built for, under `mart_rebuilds`), and the nightly once a week (`rebuild_due`, setting
CITEHUB_FULL_REBUILD_WEEKDAY, default 6 = Sunday UTC): after its load commits, in a transaction of its own,
reporting what it corrected in its run summary. `citehub marts` without --rebuild compares and rolls back.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, Table, func, insert, select, text, update

from schema.errors import CitehubError
from schema.tables import metadata, run
from warehouse.checks import run_checks
from warehouse.lock import single_flight
from warehouse.materialize import MARTS, build_marts

EXAMPLES = 3  # keys of differing rows a drift report names per mart
LOCK_OWNER = "marts-rebuild"  # the run lock's holder while `citehub marts` works (no run row of its own)


class NothingToRebuild(CitehubError, LookupError):
    """No run has published marts in this warehouse yet."""


@dataclass
class MartDrift:
    """Rows in which a maintained mart and its full rebuild differed (run_id bookkeeping aside)."""

    missing: int  # rows of the full rebuild the maintained mart lacked, or held with other values
    extra: int  # rows the maintained mart held that the full rebuild does not have
    examples: list[list[Any]] = field(default_factory=list)  # primary keys of a few such rows


@dataclass
class Rebuild:
    run_id: str  # the run the marts were (re)built for
    applied: bool  # committed (False: compared, then rolled back)
    seconds: float
    drift: dict[str, MartDrift]  # only the marts that differed
    checks_failed: list[str] = field(default_factory=list)  # the full check set's failures (an applied rebuild)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def rows(self) -> int:
        """Rows that differed, over every mart (a wrong row counts twice: missing and extra)."""
        return sum(d.missing + d.extra for d in self.drift.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows": self.rows}


def compared_columns(table: Table) -> list[Column[Any]]:
    """The columns a drift comparison reads: all but `run_id` when it is bookkeeping (not in the key)."""
    key = {c.name for c in table.primary_key.columns}
    return [c for c in table.columns if c.name != "run_id" or c.name in key]


def rebuild_with_drift(conn: Connection, run_id: str) -> dict[str, MartDrift]:
    """Rebuild every mart in full for `run_id` on `conn` (the caller's transaction) and return, per mart
    that differed, how its rows before the rebuild differed from the rebuild's. The rows before are copied
    into temporary tables and compared with EXCEPT in the database, both ways: nothing comes to Python."""
    md = MetaData()
    before: dict[str, Table] = {}
    for table in MARTS:
        columns = compared_columns(table)
        copy = Table(f"_was_{table.name}", md, *(Column(c.name, c.type) for c in columns), prefixes=["TEMPORARY"])
        copy.create(conn)
        conn.execute(insert(copy).from_select([c.name for c in columns], select(*columns)))
        before[table.name] = copy
    _mart_work_mem(conn)
    build_marts(conn, run_id, full=True)
    drift: dict[str, MartDrift] = {}
    for table in MARTS:
        columns = compared_columns(table)
        now = select(*columns)
        was = select(*(before[table.name].c[c.name] for c in columns))
        missing = now.except_(was).subquery()
        extra = was.except_(now).subquery()
        counts = [conn.execute(select(func.count()).select_from(q)).scalar_one() for q in (missing, extra)]
        if any(counts):
            key = [c.name for c in table.primary_key.columns]
            examples = [
                list(row)
                for q in (missing, extra)
                for row in conn.execute(select(*(q.c[k] for k in key)).order_by(*(q.c[k] for k in key)).limit(EXAMPLES))
            ]
            drift[table.name] = MartDrift(counts[0], counts[1], examples[:EXAMPLES])
        before[table.name].drop(conn)
    return drift


def _mart_work_mem(conn: Connection) -> None:
    """PostgreSQL: the sort and hash memory of a run's marts (`warehouse.load.MART_WORK_MEM`) for the rest
    of the transaction, unless the server already allows more."""
    if conn.dialect.name != "postgresql":
        return
    from warehouse.load import MART_WORK_MEM

    conn.execute(
        text(
            "SELECT set_config('work_mem', :mem, true) "
            "WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(:mem)"
        ),
        {"mem": MART_WORK_MEM},
    )


def latest_published_run(conn: Connection) -> str | None:
    """The run the marts were last built for: of the runs that published (one `coverage` row each), the one
    that finished last (a replay of an old crawl sorts early by its id but published last)."""
    coverage = metadata.tables["coverage"]
    stmt = (
        select(run.c.run_id)
        .join(coverage, coverage.c.run_id == run.c.run_id)
        .order_by(func.coalesce(run.c.finished_at, run.c.started_at).desc(), run.c.run_id.desc())
        .limit(1)
    )
    return conn.execute(stmt).scalar_one_or_none()


def rebuild(engine: Engine, run_id: str | None = None, apply: bool = True, record: bool = False) -> Rebuild:
    """Rebuild every mart in full, in one transaction, for `run_id` (default: `latest_published_run`), with
    the drift it corrects; `apply` False compares and rolls back. `record` appends the result to the run's
    summary (`mart_rebuilds`) in the same transaction. The caller holds the run lock (`rebuild_marts`)."""
    started = time.perf_counter()
    with engine.connect() as conn, conn.begin() as transaction:
        target = run_id or latest_published_run(conn)
        if target is None:
            raise NothingToRebuild("no run has published marts in this warehouse yet: nothing to rebuild")
        drift = rebuild_with_drift(conn, target)
        result = Rebuild(target, apply, round(time.perf_counter() - started, 3), drift)
        if not apply:
            transaction.rollback()
            return result
        if record:
            _record(conn, target, result)
    return result


def rebuild_marts(engine: Engine, apply: bool = True, wait_seconds: float = 0.0) -> Rebuild:
    """`citehub marts [--rebuild]`: `rebuild` of the latest published run's marts under the warehouse's run
    lock (`RunLockBusy` while a run holds it), recorded in that run's summary when applied."""
    with single_flight(engine, LOCK_OWNER, wait_seconds):
        result = rebuild(engine, apply=apply, record=apply)
        if apply:  # the full check set goes with the full rebuild; the run's check results become its results
            result.checks_failed = [c.name for c in run_checks(engine, result.run_id, full=True) if not c.passed]
        return result


def _record(conn: Connection, run_id: str, result: Rebuild) -> None:
    summary = conn.execute(select(run.c.summary).where(run.c.run_id == run_id)).scalar_one_or_none()
    data = json.loads(summary) if summary else {}
    data["mart_rebuilds"] = [*data.get("mart_rebuilds", []), result.as_dict()]
    conn.execute(
        update(run).where(run.c.run_id == run_id).values(summary=json.dumps(data, sort_keys=True, default=str))
    )


def rebuild_due(started_at: datetime, weekday: int) -> bool:
    """Whether a nightly started at `started_at` rebuilds the marts in full: its UTC weekday is `weekday`
    (0 Monday ... 6 Sunday; -1 never). A naive time is UTC."""
    if weekday < 0:
        return False
    aware = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).weekday() == weekday


def drift_line(rebuilt: dict[str, Any]) -> str:
    """One line for a `Rebuild.as_dict()`: what the full rebuild corrected, mart by mart."""
    drift: dict[str, dict[str, Any]] = rebuilt.get("drift") or {}
    if not drift:
        return f"full mart rebuild in {rebuilt.get('seconds', 0):.1f} s: no drift (every mart equal to its rebuild)"
    parts = [
        f"{name} {d['missing']} missing / {d['extra']} extra (e.g. {', '.join(map(str, d['examples']))})"
        for name, d in sorted(drift.items())
    ]
    return f"full mart rebuild in {rebuilt.get('seconds', 0):.1f} s corrected drift: " + "; ".join(parts)
