"""Bulk writes that suit each engine: COPY on PostgreSQL, executemany on SQLite.

PostgreSQL: rows go through COPY (into the table itself for plain inserts, into a temporary table for
upserts, then one INSERT ... SELECT ... ON CONFLICT ordered by the conflict key). COPY moves rows far
faster than one parameterized statement per row, and the single set-based merge keeps the upsert one
statement. SQLite: one statement compiled by SQLAlchemy, then the driver's executemany over plain tuples
(the column types' bind processors applied by hand): SQLAlchemy's own executemany of dicts costs far more
per row than the driver's. Both take rows sorted by the conflict key (PostgreSQL upserts in key order avoid
lock-order deadlocks).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Column, Connection, MetaData, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

CHUNK = 5000


def chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Plain INSERT of `rows` (no conflicts expected)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, rows)
        return
    _sqlite_many(conn, table, sqlite.insert(table), rows)


def upsert_rows(
    conn: Connection, table: Table, key_cols: list[str], rows: Sequence[dict[str, Any]], update_cols: list[str]
) -> None:
    """INSERT `rows`, or on a key conflict UPDATE `update_cols` from them."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_merge(conn, table, key_cols, rows, update_cols)
        return
    stmt = sqlite.insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=key_cols, set_={c: stmt.excluded[c] for c in update_cols})
    _sqlite_many(conn, table, stmt, rows)


def _sqlite_many(conn: Connection, table: Table, stmt: sqlite.Insert, rows: Sequence[dict[str, Any]]) -> None:
    names = [c.name for c in table.columns if c.name in rows[0]]
    compiled = stmt.compile(dialect=conn.dialect, column_keys=names)
    order = list(cast("list[str]", compiled.positiontup))  # set: SQLite's paramstyle is positional
    # DateTime to text, Boolean to 0/1, Float coercion: what SQLAlchemy would bind
    processors = [
        (i, p)
        for i, p in enumerate(table.c[n].type._cached_bind_processor(conn.dialect) for n in order)
        if p is not None
    ]
    if not processors:
        params = [tuple(row[n] for n in order) for row in rows]
    else:
        params = []
        for row in rows:
            values = [row[n] for n in order]
            for index, process in processors:
                if values[index] is not None:
                    values[index] = process(values[index])
            params.append(tuple(values))
    conn.exec_driver_sql(str(compiled), params)


def _copy(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    from psycopg import sql

    names = [c.name for c in table.columns if c.name in rows[0]]
    target = sql.Identifier(table.name) if table.schema is None else sql.Identifier(table.schema, table.name)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(target, sql.SQL(", ").join(map(sql.Identifier, names)))
    driver = conn.connection.driver_connection
    if driver is None:  # SQLAlchemy's pool holds none for a connection it invalidated
        raise RuntimeError("the connection has no driver connection (invalidated)")
    cursor = driver.cursor()
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[n] for n in names])


def _copy_merge(
    conn: Connection, table: Table, key_cols: list[str], rows: Sequence[dict[str, Any]], update_cols: list[str]
) -> None:
    names = [c.name for c in table.columns if c.name in rows[0]]
    stage = _stage_table(conn, table, names)
    _copy(conn, stage, rows)
    source = select(*(stage.c[n] for n in names)).order_by(*(stage.c[k] for k in key_cols))
    stmt = postgresql.insert(table).from_select(names, source)
    stmt = stmt.on_conflict_do_update(index_elements=key_cols, set_={c: stmt.excluded[c] for c in update_cols})
    conn.execute(stmt)


def _stage_table(conn: Connection, table: Table, names: list[str]) -> Table:
    """The session's scratch table for merges into `table` of these columns, empty.

    One table a (table, columns) for the session, emptied before each merge and at each commit, not one
    created and dropped a merge: every table a transaction creates holds its locks until the transaction
    ends, and a first load merges a table thousands of times in one transaction (past
    max_locks_per_transaction's lock table)."""
    digest = hashlib.sha1(",".join(f"{n}:{table.c[n].type}" for n in names).encode()).hexdigest()[:10]
    stage = Table(
        f"_stage_{table.name[:40]}_{digest}",
        MetaData(),
        *(Column(n, table.c[n].type) for n in names),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DELETE ROWS",
    )
    conn.execute(CreateTable(stage, if_not_exists=True))
    conn.execute(delete(stage))  # what an earlier merge of this transaction left
    return stage
