"""A night's change report reads what the run opened and closed by the run's id (migration 0015's indexes),
never a whole table of history: SQLite's plan for each of change_report.sql's statements searches
citation_version, hub_version and fetch by index and scans nothing but its own subquery."""

from __future__ import annotations

from sqlalchemy import text

from schema.engine import make_engine
from schema.migrate import upgrade
from warehouse.materialize import full_sql
from warehouse.sqlfiles import statements


def test_the_change_report_reads_history_by_the_run_only(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    upgrade(engine)
    scanned: list[str] = []
    searched: set[str] = set()
    with engine.connect() as conn:
        for sql in statements(full_sql("change_report")):
            if not sql.lstrip().upper().startswith("INSERT"):
                continue
            for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"run_id": "r"}):
                detail = row[3]
                if detail.startswith("SCAN "):
                    scanned.append(detail)
                if " USING " in detail:
                    searched.add(detail.split(" USING ", 1)[1].split(" (")[0])
    assert scanned == ["SCAN u"]  # the incomplete hubs' union, grouped: no table of history
    assert {
        "INDEX ix_citation_version_from_run",
        "INDEX ix_citation_version_to_run",
        "INDEX ix_hub_version_from_run",
        "INDEX ix_hub_version_to_run",
    } <= searched
    engine.dispose()
