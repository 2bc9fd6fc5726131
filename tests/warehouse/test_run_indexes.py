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


def test_a_nights_checks_read_nothing_whole_but_the_small_tables(tmp_path) -> None:
    """Every run-scoped check searches by key; the run's hub pages are found among its items by kind
    (`ix_stg_item_run_kind`), not by reading every item a night of re-checks staged. Whole reads are left to
    the small tables (a row per run or bucket) and to derived rows (a GROUP BY's output)."""
    from warehouse.checks import CHECKS

    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    upgrade(engine)
    scanned: set[str] = set()
    with engine.connect() as conn:
        for checks in CHECKS.values():
            for check in checks:
                plan = [
                    r[3]
                    for r in conn.execute(text("EXPLAIN QUERY PLAN " + (check.changed or check.sql)), {"run_id": "r"})
                ]
                scanned |= {p.split()[1] for p in plan if p.startswith("SCAN ")}
                if "stg_item" in (check.changed or ""):
                    assert any("ix_stg_item_run_kind" in p for p in plan), check.name
    assert scanned == {"d", "coverage", "staleness"}
    engine.dispose()
