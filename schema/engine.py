"""Engines for the warehouse: SQLite (default, one file) and PostgreSQL (production, psycopg 3, pooled).

On PostgreSQL every connection gets `search_path = citehub, marts, public` (see schema.placement), so the
same unqualified table names work on both engines.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from schema.placement import SEARCH_PATH

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 30000
PG_POOL = {"pool_size": 5, "max_overflow": 5, "pool_recycle": 1800, "pool_pre_ping": True}


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def make_engine(url: str) -> Engine:
    """The engine for `url`: sqlite:///path (WAL, busy timeout, foreign keys) or postgresql+psycopg://...

    One engine (one pool) per URL and process: the flow's tasks each ask for the warehouse by URL, and a
    new pool per task would leave idle PostgreSQL connections behind until garbage collection."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _new_engine(url)
        return engine


def _new_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(url)
    raise ValueError(
        f"unsupported warehouse URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///path or postgresql+psycopg://user@host/db"
    )


def _postgres_engine(url: str) -> Engine:
    if make_url(url).get_driver_name() != "psycopg":
        raise ValueError("PostgreSQL warehouses use psycopg 3: write the URL as postgresql+psycopg://...")
    # libpq's `options` sets the search_path before the first statement (also before SQLAlchemy's own
    # first-connect queries), and survives ROLLBACK, unlike a SET issued inside a transaction.
    return create_engine(url, connect_args={"options": "-c search_path=" + ",".join(SEARCH_PATH)}, **PG_POOL)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # pysqlite opens transactions implicitly and late (and not for DDL); we switch that off and emit
        # BEGIN ourselves so that one SQLAlchemy transaction is exactly one SQLite transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def redacted(url: str) -> str:
    """A database URL fit for logs: the password never leaves the process."""
    return make_url(url).render_as_string(hide_password=True)


def warehouse_identity(url: str) -> str:
    """Which warehouse a URL names, fit to record beside its crawls: redacted, a SQLite file by its
    absolute path (`sqlite:///w.db` run from two folders is two warehouses)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=True)
