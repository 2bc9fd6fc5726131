"""Materialize the published summary tables (marts) from the core tables, atomically.

Each mart is rebuilt by its SQL file in warehouse/marts (delete, then insert ... select), all marts in one
transaction: readers see the previous build until the commit (SQLite WAL snapshot, PostgreSQL MVCC).
The SQL names tables without a schema so it runs on SQLite and on PostgreSQL (where a search_path can
place core and marts in their own schemas).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, func, select, text

from schema.placement import published_tables
from schema.tables import metadata
from warehouse.sqlfiles import statements

MARTS_DIR = Path(__file__).with_name("marts")


def _build_order() -> tuple[Table, ...]:
    """Every published table with a SQL file in warehouse/marts (discovered from the metadata, layer
    `marts`); a mart whose SQL reads another mart is built after the marts it reads."""
    tables = [t for t in published_tables(metadata) if (MARTS_DIR / f"{t.name}.sql").exists()]
    names = {t.name for t in tables}
    reads = {
        t.name: {
            n for n in names - {t.name} if re.search(rf"\b{n}\b", " ".join(statements(MARTS_DIR / f"{t.name}.sql")))
        }
        for t in tables
    }
    ordered: list[Table] = []
    while tables:
        ready = [t for t in tables if reads[t.name] <= {o.name for o in ordered}]
        if not ready:
            raise RuntimeError(f"marts read each other in a cycle: {sorted(t.name for t in tables)}")
        ordered += ready
        tables = [t for t in tables if t not in ready]
    return tuple(ordered)


MARTS = _build_order()  # change_report keeps earlier runs' rows


def build_marts(conn: Connection, run_id: str, timings: dict[str, float] | None = None) -> None:
    """Rebuild every mart for `run_id` on `conn`, in the caller's transaction; `timings`, when given,
    receives each mart's seconds (bench/load_passes.py)."""
    for table in MARTS:
        started = time.perf_counter()
        for sql in statements(MARTS_DIR / f"{table.name}.sql"):
            conn.execute(text(sql), {"run_id": run_id} if ":run_id" in sql else {})
        if timings is not None:
            timings[table.name] = time.perf_counter() - started


def materialize(engine: Engine, run_id: str) -> dict[str, int]:
    """Rebuild every mart for `run_id` in a transaction of its own; returns rows per mart."""
    with engine.begin() as conn:
        build_marts(conn, run_id)
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one() for table in MARTS}
