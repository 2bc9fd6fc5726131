"""Month partitions of the tables that grow without bound (PostgreSQL); SQLite keeps plain tables.

`fetch` (by `run_id`), `citation_version`, `hub_version` and `hub_facet_version` (by `valid_from_run`) are
range-partitioned by the month of a run id: run ids begin with their UTC start (`20261124T030000Z-a1b2c3`),
so the month 2026-11 holds the keys '202611' <= key < '202612' in text order. Migration 0014 turns the
plain tables into partitioned ones; each table then has one partition per month that holds rows, the
current and the next month, and a DEFAULT partition for keys no month partition takes (a replay of an old
crawl, or a key that is not a run id).

Partitions live in their own schema, `citehub_partitions`, off the search_path: they are storage, not
tables of the model (`schema.tables`), so Alembic's comparison, `schema.placement` and the reader grants
never see them, and `citehub` lists the same tables on both engines. Reads and writes name the parent
only; its privileges are the ones checked. (`pg_dump -n citehub` leaves the partitions out: dump
`-n 'citehub*'`.)

`ensure_partitions` extends the tables: `warehouse.runs.start_run` calls it in the transaction that
records a run, so the run's month (and the month after) has its partition before the run writes a row.
"""

from __future__ import annotations

import logging
import re
import zlib
from datetime import UTC, datetime

from psycopg import sql
from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from schema.placement import execute_pg

log = logging.getLogger(__name__)

PARTITION_SCHEMA = "citehub_partitions"
# table -> the run-id column its rows are partitioned by (part of each table's primary key)
PARTITION_KEYS = {
    "fetch": "run_id",
    "citation_version": "valid_from_run",
    "hub_version": "valid_from_run",
    "hub_facet_version": "valid_from_run",
}
# Months created ahead of the run's own: a run's rows all carry its own id, so one is plenty.
AHEAD_MONTHS = 1
# Creating a partition attaches it (SHARE UPDATE EXCLUSIVE on the parent, which readers and writers do not
# conflict with) after a brief exclusive lock on the DEFAULT partition; a reader holding that one makes the
# run wait at most this long, then its rows go to DEFAULT and a later run splits them out.
LOCK_TIMEOUT = "5s"
ENSURE_KEY = zlib.crc32(b"citehub:partitions") & 0x7FFFFFFF

_RUN_MONTH = re.compile(r"(\d{4})(0[1-9]|1[0-2])\d\dT")
_BOUND = re.compile(r"FOR VALUES FROM \('(\d{6})'\) TO \('(\d{6})'\)")


def run_month(run_id: str) -> str | None:
    """'YYYYMM' of a run id (`20261124T030000Z-a1b2c3` -> '202611'); None for a key that is not a run id."""
    match = _RUN_MONTH.match(run_id)
    return match.group(1) + match.group(2) if match else None


def month_after(month: str) -> str:
    year, number = int(month[:4]), int(month[4:])
    return f"{year + number // 12:04d}{number % 12 + 1:02d}"


def current_month(now: datetime | None = None) -> str:
    return f"{(now or datetime.now(UTC)).astimezone(UTC):%Y%m}"


def partition_name(table: str, month: str | None) -> str:
    """`fetch_202611`, or `fetch_default` for the DEFAULT partition (month None)."""
    return f"{table}_{month or 'default'}"


def partitioned_tables(conn: Connection) -> dict[str, str]:
    """{table: partition key} of the tables of PARTITION_KEYS that are partitioned in this warehouse
    (none on SQLite, nor before migration 0014)."""
    if conn.dialect.name != "postgresql":
        return {}
    found = set(
        conn.execute(
            text(
                "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                "WHERE p.partrelid = ANY(ARRAY(SELECT to_regclass(n) FROM unnest(CAST(:names AS text[])) AS n))"
            ),
            {"names": list(PARTITION_KEYS)},
        ).scalars()
    )
    return {table: key for table, key in PARTITION_KEYS.items() if table in found}


def partitions(conn: Connection, table: str) -> dict[str | None, tuple[str, str]]:
    """{month ('YYYYMM', None for DEFAULT): (schema, name)} of the partitions of `table`, read from their
    bounds (a month partition detached to cold storage is no longer listed)."""
    rows = conn.execute(
        text(
            "SELECT n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE i.inhparent = to_regclass(:table)"
        ),
        {"table": table},
    ).all()
    out: dict[str | None, tuple[str, str]] = {}
    for schema, name, bound in rows:
        if bound == "DEFAULT":
            out[None] = (schema, name)
        elif match := _BOUND.fullmatch(bound):
            out[match.group(1)] = (schema, name)
    return out


def ensure_partitions(conn: Connection, upto_run_id: str, ahead: int = AHEAD_MONTHS) -> list[str]:
    """Give every partitioned table a partition for the month of `upto_run_id` and the `ahead` months after
    it, moving the rows of those months out of DEFAULT; returns the partitions created ("schema.name").

    In `conn`'s transaction; concurrent callers take turns. A no-op on SQLite, before migration 0014 and for
    a key that is not a run id. A partition that cannot get its lock within LOCK_TIMEOUT is left for a later
    call (its rows go to DEFAULT meanwhile): a run never fails for want of one.
    """
    tables = partitioned_tables(conn)
    first = run_month(upto_run_id)
    if not tables or first is None:
        return []
    months = [first]
    for _ in range(ahead):
        months.append(month_after(months[-1]))
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ENSURE_KEY})
    created = []
    for table, key in tables.items():
        existing = partitions(conn, table)
        for month in months:
            if month in existing:
                continue
            try:
                # SET LOCAL within a savepoint: undone with it on failure, restored by hand on success
                with conn.begin_nested():
                    previous = conn.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
                    conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": LOCK_TIMEOUT})
                    _create_month(conn, table, key, month, existing.get(None))
                    conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": previous})
            except (LockNotAvailable, OperationalError) as exc:  # lock_timeout: leave it to a later run
                log.warning("partition %s not created now: %s", partition_name(table, month), exc)
                continue
            created.append(f"{PARTITION_SCHEMA}.{partition_name(table, month)}")
    return created


def _create_month(conn: Connection, table: str, key: str, month: str, default: tuple[str, str] | None) -> None:
    """Create `table`'s partition of `month` beside the table, fill it with the month's rows from DEFAULT,
    and attach it: attaching takes a lighter lock on the parent than CREATE TABLE ... PARTITION OF, and the
    CHECK constraint spares the scan that proves the rows fit."""
    low, high = month, month_after(month)
    name = partition_name(table, month)
    parent = sql.Identifier(table)  # resolved by the search_path, as the model's tables are
    part = sql.Identifier(PARTITION_SCHEMA, name)
    column = sql.Identifier(key)
    in_month = sql.SQL("{} >= {} AND {} < {}").format(column, sql.Literal(low), column, sql.Literal(high))
    execute_pg(
        conn,
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)").format(
            part, parent
        ),
    )
    bound = sql.Identifier(f"{name}_bound")
    execute_pg(
        conn,
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} IS NOT NULL AND {})").format(part, bound, column, in_month),
    )
    if default is not None:
        source = sql.Identifier(*default)
        execute_pg(conn, sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE {}").format(part, source, in_month))
        execute_pg(conn, sql.SQL("DELETE FROM {} WHERE {}").format(source, in_month))
    execute_pg(
        conn,
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            parent, part, sql.Literal(low), sql.Literal(high)
        ),
    )
    execute_pg(conn, sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(part, bound))
