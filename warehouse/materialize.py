"""Materialize the published summary tables (marts) from the core tables, atomically.

Each mart is rebuilt by its SQL file in warehouse/marts (delete, then insert ... select), all marts in one
transaction: readers see the previous build until the commit (SQLite WAL snapshot, PostgreSQL MVCC).
The SQL names tables without a schema so it runs on SQLite and on PostgreSQL (where a search_path can
place core and marts in their own schemas).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select, text

from schema.tables import change_report, hub_polarity_mix, hub_role_mix, hub_summary
from warehouse.sqlfiles import statements

MARTS_DIR = Path(__file__).with_name("marts")
MARTS = (hub_summary, hub_role_mix, hub_polarity_mix, change_report)  # change_report keeps earlier runs' rows


def materialize(engine: Engine, run_id: str) -> dict[str, int]:
    """Rebuild every mart for `run_id`; returns rows per mart."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for table in MARTS:
            for sql in statements(MARTS_DIR / f"{table.name}.sql"):
                params = {"run_id": run_id} if ":run_id" in sql else {}
                conn.execute(text(sql), params)
            counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return counts
