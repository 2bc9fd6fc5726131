"""Single-flight runs: one writer per warehouse, whatever started it (nightly, backfill, reparse).

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) held on a dedicated connection for the
  whole run; the server drops it when that session ends, so a crashed run never leaves it behind.
- SQLite: an OS file lock (`filelock`) on `<database file>.runlock` beside the database: the warehouse is
  one file on one machine, so the lock has exactly its scope, and the OS drops it when the process dies
  (no heartbeat or stale-owner takeover to get wrong). An in-memory database is private to its process:
  no lock.

A run that cannot get the lock within `wait_seconds` gets `RunLockBusy`, whose message names the run
holding it (the latest other run still `running` in the `run` table).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock
from filelock import Timeout as FileLockTimeout
from sqlalchemy import Engine, select, text

from schema.tables import run

# Advisory lock key: a stable 31-bit number derived from the name (any other user of advisory locks on
# the database picks other keys).
ADVISORY_KEY = zlib.crc32(b"citehub:run-lock") & 0x7FFFFFFF
POLL_SECONDS = 0.2


class RunLockBusy(RuntimeError):
    """Another run holds the warehouse's run lock."""


@contextmanager
def single_flight(engine: Engine, owner: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; `RunLockBusy` when it stays taken for `wait_seconds`."""
    if wait_seconds < 0:
        raise ValueError(f"wait_seconds must be >= 0, not {wait_seconds!r}")
    name = engine.dialect.name
    if name == "postgresql":
        with _advisory(engine, owner, wait_seconds):
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
            yield
        finally:
            lock.release()
    else:
        raise NotImplementedError(f"no run lock for dialect {name!r}")


@contextmanager
def _advisory(engine: Engine, owner: str, wait_seconds: float) -> Iterator[None]:
    deadline = time.monotonic() + wait_seconds
    with engine.connect() as conn:
        while not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar_one():
            conn.rollback()  # no transaction left open while waiting
            if time.monotonic() >= deadline:
                raise RunLockBusy(_busy_message(engine, owner, wait_seconds))
            time.sleep(POLL_SECONDS)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            conn.commit()


def _busy_message(engine: Engine, owner: str, wait_seconds: float) -> str:
    with engine.connect() as conn:
        holder = conn.execute(
            select(run.c.run_id, run.c.kind, run.c.started_at)
            .where(run.c.status == "running", run.c.run_id != owner)
            .order_by(run.c.started_at.desc()).limit(1)
        ).first()
    who = (f"run {holder.run_id} ({holder.kind}, started {holder.started_at:%Y-%m-%d %H:%M:%S})"
           if holder else "another citehub process")
    return (f"run {owner} skipped: {who} holds the warehouse's run lock "
            f"(waited {wait_seconds:g} s; runs are single-flight)")
