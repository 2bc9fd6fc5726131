"""Coverage and freshness marts (issue 16): `coverage` (a row per published run) and `staleness` (known hubs by
days since their last complete fetch) against a hand-built warehouse of three runs, exact values on both
engines; the rows appended run by run equal those rebuilt from history (warehouse.coverage.REBUILD) and those
migration 0012 derives for a warehouse that predates the marts; the checks declared on them pass."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import insert, select

from schema import tables as t
from schema.migrate import alembic_config, upgrade
from tests.warehouse.conftest import (
    BASE,
    HUB_A,
    HUB_B,
    entry,
    fetch_item,
    hub_page,
    page_item,
    two_hub_items,
    write_items,
)
from warehouse import coverage, stage
from warehouse.checks import CHECKS, run_checks
from warehouse.load import load_staged, materialize_marts
from warehouse.runs import start_run

NEW1 = "11111111-0000-4000-8000-000000000011"
NEW2 = "22222222-0000-4000-8000-000000000022"
NEW3 = "33333333-0000-4000-8000-000000000033"
DAY1 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
DAY2 = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 1.5 days later
DAY3 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)  # 5 days after the first


def _links(url: str, source: str | None, *hubs: str) -> dict:
    return {
        "kind": "links",
        "url": url,
        "hub_uuid": source,
        "fetched_at": "2026-12-01T03:00:00+00:00",
        "hubs": [{"hub_uuid": u, "url": f"{BASE}/citations/{u}", "block": "references"} for u in hubs],
        "bad": [],
    }


def _run(engine, tmp_path, started: datetime, items: list[dict], planned: tuple[str, ...] = ()) -> str:
    run_id = start_run(engine, "nightly", {}, started)
    if planned:
        with engine.begin() as conn:
            conn.execute(
                insert(t.run_plan),
                [
                    {"run_id": run_id, "hub_uuid": u, "rank": i, "reason": "known", "expected_requests": 3.0}
                    for i, u in enumerate(planned, start=1)
                ],
            )
    stage.stage_items(engine, run_id, write_items(tmp_path / f"{run_id}.jsonl", items))
    load_staged(engine, run_id, then=lambda conn: materialize_marts(conn, run_id))
    return run_id


def three_runs(engine, tmp_path) -> list[str]:
    """Day 1: hubs A and B fetched completely, two paper pages; A links to B and NEW1, a paper to NEW2.
    Day 2: A's page fails, NEW1 is fetched completely, a /ref/arxiv/ paper page links to NEW2 again and NEW3.
    Day 3: B's twin answers 304 (unchanged: a complete fetch), NEW3 is fetched but truncated."""
    paper = f"{BASE}/paper/2406.01234"
    day1 = [
        *two_hub_items(),
        fetch_item(f"{BASE}/citations/{HUB_A}", HUB_A),
        fetch_item(f"{BASE}/citations/{HUB_B}", HUB_B),
        fetch_item(paper, None),
        fetch_item(f"{BASE}/p/ab12cd34", None),
        fetch_item(f"{BASE}/robots.txt", None),
        _links(f"{BASE}/citations/{HUB_A}", HUB_A, HUB_B, NEW1),
        _links(paper, None, NEW2),
    ]
    ref = f"{BASE}/ref/arxiv/hep-th/9901001"
    day2 = [
        fetch_item(f"{BASE}/citations/{HUB_A}", HUB_A, outcome="failed", status=503),
        page_item(hub_page(NEW1, citing_count=1, explorer=[entry("Newly Seen Work", 0, arxiv="2411.00001")])),
        fetch_item(f"{BASE}/citations/{NEW1}", NEW1),
        fetch_item(ref, None),
        _links(ref, None, NEW2, NEW3),
    ]
    day3 = [
        fetch_item(f"{BASE}/citations/{HUB_B}.json", HUB_B, outcome="not_modified", status=304),
        page_item(hub_page(NEW3, citing_count=2, explorer=[entry("Only One Of Two", 0, arxiv="2411.00002")])),
        fetch_item(f"{BASE}/citations/{NEW3}", NEW3),
    ]
    return [
        _run(engine, tmp_path, DAY1, day1, planned=(HUB_A, HUB_B)),
        _run(engine, tmp_path, DAY2, day2, planned=(HUB_A, NEW1)),
        _run(engine, tmp_path, DAY3, day3),
    ]


def _coverage_rows(engine) -> list[tuple]:
    cols = [t.coverage.c[k] for k in ("run_id", *coverage.COUNTS)]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*cols).order_by(t.coverage.c.run_id))]


def test_coverage_and_staleness_of_three_runs(engine, tmp_path):
    runs = three_runs(engine, tmp_path)
    assert _coverage_rows(engine) == [
        # run, known, fetched, frontier unfetched, oldest days, paper pages, new hubs, rate, requests, planned
        (runs[0], 4, 2, 2, 0.0, 2, 3, 1.5, 5, 2),  # A, B + NEW1, NEW2 on the frontier
        (runs[1], 5, 3, 2, 1.5, 1, 1, 1.0, 3, 2),  # NEW1 fetched; NEW2 (day 1) and NEW3 wait
        (runs[2], 5, 3, 1, 5.0, 0, 0, None, 2, 0),  # NEW3 fetched but truncated: known, not fetched completely
    ]
    started = [coverage.run_coverage(engine, r)["started_at"] for r in runs]
    assert [s.replace(tzinfo=UTC) if s.tzinfo is None else s for s in started] == [DAY1, DAY2, DAY3]
    buckets = coverage.staleness_buckets(engine)
    assert [
        (b["bucket"], b["bucket_seq"], b["min_days"], b["max_days"], b["hubs"], b["oldest_days"]) for b in buckets
    ] == [
        ("0-1", 1, 0.0, 1.0, 1, 0.0),  # B: its twin's 304 in run 3 refreshes it
        ("1-2", 2, 1.0, 2.0, 0, None),
        ("2-4", 3, 2.0, 4.0, 1, 3.5),  # NEW1, fetched on day 2
        ("4-7", 4, 4.0, 7.0, 1, 5.0),  # A: its day-2 fetch failed, day 3 did not fetch it
        ("7-14", 5, 7.0, 14.0, 0, None),
        ("14+", 6, 14.0, None, 0, None),
        ("never", 7, None, None, 2, 5.0),  # NEW2 (seen day 1) and NEW3 (seen day 2, truncated on day 3)
    ]
    assert {b["run_id"] for b in buckets} == {runs[2]}
    assert coverage.max_staleness(buckets) == 5.0
    assert coverage.run_coverage(engine)["run_id"] == runs[2]  # the latest by default
    assert [r["run_id"] for r in coverage.coverage_history(engine, 2)] == runs[1:]
    results = {r.name: r for r in run_checks(engine, runs[2])}
    declared = [c.name for table in ("coverage", "staleness") for c in CHECKS[table]]
    assert [(n, results[n].passed, results[n].failed_rows) for n in declared] == [(n, True, 0) for n in declared]


def test_rebuilt_from_history_equals_the_rows_appended_run_by_run(engine, tmp_path):
    three_runs(engine, tmp_path)
    appended = _coverage_rows(engine)
    with engine.begin() as conn:
        assert coverage.rebuild(conn) == 3
    assert _coverage_rows(engine) == appended


def test_migration_0012_fills_coverage_for_the_runs_a_warehouse_holds(engine, tmp_path):
    three_runs(engine, tmp_path)
    appended = _coverage_rows(engine)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0011")
    upgrade(engine)
    assert _coverage_rows(engine) == appended
    assert coverage.staleness_buckets(engine) == []  # rebuilt by the next run


def test_lines_for_status_and_summary(engine, tmp_path):
    three_runs(engine, tmp_path)
    row = coverage.run_coverage(engine)
    assert coverage.coverage_line(row) == (
        "3 of 5 known hubs fetched completely (60%), 1 on the frontier never fetched "
        "(oldest seen 5.0 days before the run)"
    )
    assert coverage.run_line(coverage.run_coverage(engine, row["run_id"])) == (
        "URLs fetched 2, planned hubs 0, paper pages 0, new hubs 0"
    )
    assert coverage.staleness_line(coverage.staleness_buckets(engine)) == (
        "0-1 d 1, 1-2 d 0, 2-4 d 1, 4-7 d 1, 7-14 d 0, 14+ d 0, never 2; max 5.0 days"
    )


def test_a_warehouse_without_the_marts_answers_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(url, "0011")
    from schema.engine import make_engine

    engine = make_engine(url)
    assert coverage.run_coverage(engine) is None
    assert coverage.coverage_history(engine) == []
    assert coverage.staleness_buckets(engine) == []
    engine.dispose()


@pytest.mark.parametrize("rows", [[]])
def test_empty_staleness_has_no_maximum(rows):
    assert coverage.max_staleness(rows) is None
