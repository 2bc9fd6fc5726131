"""Single-flight runs: one writer per warehouse, whatever started it (nightly, backfill, reparse).

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) held on a dedicated connection for the
  whole run; the server drops it when that session ends, so a crashed run never leaves it behind.
- SQLite: an OS file lock (`filelock`) on `<database file>.runlock` beside the database: the warehouse is
  one file on one machine, so the lock has exactly its scope, and the OS drops it when the process dies
  (no heartbeat or stale-owner takeover to get wrong). An in-memory database is private to its process:
  no lock.

A run that cannot get the lock within `wait_seconds` gets `RunLockBusy`, whose message names the run
holding it (the latest other run still `running` in the `run` table).

A run that gets the lock marks its row as the holder (`summary` = {"lock_holder": pid}) and ends every
other row that held it and still says `running`: their process died (killed, crashed, power cut) without
finishing, since a live holder would still hold the lock. They become `abandoned`, naming the run that
found them. Runs still waiting for the lock are left alone (their row records until when they wait).
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from filelock import FileLock
from filelock import Timeout as FileLockTimeout
from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import DBAPIError

from schema.errors import CitehubError
from schema.tables import run

# Advisory lock key: a stable 31-bit number derived from the name (any other user of advisory locks on
# the database picks other keys).
ADVISORY_KEY = zlib.crc32(b"citehub:run-lock") & 0x7FFFFFFF
# Held (transaction-level) by a load's transaction from its fence to its commit, and by a new holder's
# claim: a run that takes the lock after the previous holder's session died waits for that holder's load
# to commit before it judges the holder dead, so no second writer starts between a fence and its commit.
WRITE_KEY = zlib.crc32(b"citehub:run-write") & 0x7FFFFFFF
POLL_SECONDS = 0.2
STALE_SECONDS = 30.0  # margin past a waiter's deadline (or a markerless row's start) before it counts as dead


class RunLockBusy(CitehubError, RuntimeError):
    """Another run holds the warehouse's run lock."""


@contextmanager
def single_flight(engine: Engine, owner: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; `RunLockBusy` when it stays taken for `wait_seconds`."""
    if wait_seconds < 0:
        raise ValueError(f"wait_seconds must be >= 0, not {wait_seconds!r}")
    name = engine.dialect.name
    # Until it holds the lock, the run's row says how long it may wait (`_dead` tells waiters from the dead).
    _mark(engine, owner, {"lock_waiting_until": time.time() + wait_seconds})
    if name == "postgresql":
        with _advisory(engine, owner, wait_seconds) as session:
            claim(engine, owner, session)
            yield
    elif name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        lock = FileLock(f"{database}.runlock")
        try:
            lock.acquire(timeout=wait_seconds, poll_interval=POLL_SECONDS)
        except FileLockTimeout:
            raise RunLockBusy(_busy_message(engine, owner, wait_seconds)) from None
        try:
            claim(engine, owner)
            yield
        finally:
            lock.release()
    else:
        raise NotImplementedError(f"no run lock for dialect {name!r}")


def _mark(engine: Engine, owner: str, marker: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(run).where(run.c.run_id == owner, run.c.status == "running").values(summary=json.dumps(marker))
        )


def _dead(summary: str | None, started_at: datetime, now: float) -> bool:
    """A `running` row seen by the lock holder: did its process die? A holder did (the lock is ours now);
    a waiter did once its wait is over (alive, it would have ended `skipped`); a row with no marker yet
    died between recording the run and asking for the lock (seconds, alive) once that is long past."""
    marker = json.loads(summary) if summary else {}
    if "lock_holder" in marker:
        return True
    if "lock_waiting_until" in marker:
        return marker["lock_waiting_until"] + STALE_SECONDS < now
    started = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    return started.timestamp() + STALE_SECONDS < now


def claim(engine: Engine, owner: str, session: int | None = None) -> list[str]:
    """With the lock held: mark `owner` as the holder (with the PostgreSQL session holding the lock, which
    `fence` checks before the run writes), and abandon rows of runs that died `running` (`_dead`).
    Returns the abandoned run ids."""
    holder = json.dumps({"lock_holder": os.getpid(), **({"lock_session": session} if session else {})})
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # a fenced load still committing finishes first
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_KEY})
        now = time.time()
        dead = [
            rid
            for rid, summary, started in conn.execute(
                select(run.c.run_id, run.c.summary, run.c.started_at).where(
                    run.c.status == "running", run.c.run_id != owner
                )
            )
            if _dead(summary, started, now)
        ]
        for rid in dead:
            conn.execute(
                update(run)
                .where(run.c.run_id == rid, run.c.status == "running")
                .values(
                    status="abandoned",
                    finished_at=datetime.now(UTC),
                    summary=json.dumps(
                        {"error": f"abandoned: its process died before finishing; found by run {owner}"}
                    ),
                )
            )
        conn.execute(update(run).where(run.c.run_id == owner, run.c.status == "running").values(summary=holder))
    return dead


@contextmanager
def _advisory(engine: Engine, owner: str, wait_seconds: float) -> Iterator[int]:
    """Hold the advisory lock on a connection of its own; yields that session's backend pid."""
    deadline = time.monotonic() + wait_seconds
    with engine.connect() as conn:
        while not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar_one():
            conn.rollback()  # no transaction left open while waiting
            if time.monotonic() >= deadline:
                raise RunLockBusy(_busy_message(engine, owner, wait_seconds))
            time.sleep(POLL_SECONDS)
        session = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.commit()
        try:
            yield session
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                conn.commit()
            except DBAPIError:  # the session is gone, and its lock with it: nothing to release
                pass


class LockLost(CitehubError, RuntimeError):
    """The run's lock session ended (terminated, connection lost) before it wrote: another run may hold the
    lock now, so this one must not write."""

    exit_code = 1


def fence(conn: Connection, run_id: str) -> None:
    """Inside the load's transaction, before anything is written: raise `LockLost` unless the PostgreSQL
    session that took `run_id`'s lock still holds it. The transaction then holds WRITE_KEY to its end, so a
    run that takes the lock meanwhile (this run's session died after the fence) waits for the commit. A run that holds no lock session (SQLite's file lock,
    which the OS keeps while the process lives; a load outside a run lock) is not fenced."""
    if conn.dialect.name != "postgresql":
        return
    # Until this transaction ends, no new holder can declare this run dead (see WRITE_KEY).
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_KEY})
    row = conn.execute(select(run.c.status, run.c.summary).where(run.c.run_id == run_id)).first()
    if row is not None and row.status == "abandoned":  # a later holder found it dead: it lost the lock
        raise LockLost(
            f"run {run_id} lost its lock (another run took it and marked this one abandoned): nothing written; rerun it"
        )
    session = json.loads(row.summary or "{}").get("lock_session") if row is not None else None
    if not session:
        return
    held = conn.execute(
        text("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND pid = :pid AND granted"),
        {"key": ADVISORY_KEY, "pid": session},
    ).first()
    if held is None:
        raise LockLost(
            f"run {run_id} lost its lock (session {session} ended): nothing written, another run may hold the "
            "warehouse now; rerun it"
        )


def _busy_message(engine: Engine, owner: str, wait_seconds: float) -> str:
    with engine.connect() as conn:
        holder = conn.execute(
            select(run.c.run_id, run.c.kind, run.c.started_at)
            .where(run.c.status == "running", run.c.run_id != owner)
            .order_by(run.c.started_at.desc())
            .limit(1)
        ).first()
    who = (
        f"run {holder.run_id} ({holder.kind}, started {holder.started_at:%Y-%m-%d %H:%M:%S})"
        if holder
        else "another citehub process"
    )
    return (
        f"run {owner} skipped: {who} holds the warehouse's run lock (waited {wait_seconds:g} s; runs are single-flight)"
    )
