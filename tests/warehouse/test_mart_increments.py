"""Marts follow the change (issue 17): a run recomputes only the mart rows its changes can reach, and the
marts it maintains that way equal a full rebuild from the reference SQL exactly, table by table (the
`run_id` bookkeeping column aside), on SQLite and PostgreSQL.

Here, staged items of two and three runs aim at the reach of a change outside the run's hubs: a paper whose
category and date change moves `category_flow` rows of a hub the run did not fetch, a hub whose tier changes
moves `paper_reach` of every paper citing it, a retired edge takes a paper out of `paper_current`. The
evolving sample site over five nights (failures, quarantines, relabels, retirements, new hubs) is in
tests/warehouse/test_mart_increments_days.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from schema import tables as t
from tests.warehouse.conftest import BASE, entry, fetch_item, hub_page, json_item, page_item, write_items
from tests.warehouse.marts_equality import differences, recomputed
from warehouse import rebuild as rebuild_mod
from warehouse import stage
from warehouse.load import load_staged, materialize_marts
from warehouse.materialize import INCREMENTAL, MARTS
from warehouse.runs import finish_run, get_run, start_run

A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"
C = "cccccccc-0000-4000-8000-00000000000c"
DAY1 = datetime(2026, 11, 23, 3, tzinfo=UTC)


def _hub(uuid: str, papers: list, tier: str = "hub", roles: dict[str, list] | None = None) -> list[dict]:
    """A complete fetch of a hub listing `papers` (all on one explorer page), its role lists, its twin."""
    roles = roles or {}
    items = [
        page_item(
            hub_page(
                uuid,
                citing_count=len(papers),
                explorer=papers,
                tier=tier,
                role_summary={role: len(listed) for role, listed in roles.items()},
            )
        ),
        json_item(uuid, tier=tier),
    ]
    for role, listed in roles.items():
        items.append(
            page_item(hub_page(uuid, citing_count=len(papers), explorer=listed, tier=tier, filters={"role": role}))
        )
    return items


def _run(engine, tmp_path, day: int, items: list[dict]) -> str:
    run_id = start_run(engine, "nightly", {}, DAY1 + timedelta(days=day - 1))
    stage.stage_items(engine, run_id, write_items(tmp_path / f"{run_id}.jsonl", items))
    load_staged(engine, run_id, then=lambda conn: materialize_marts(conn, run_id))
    finish_run(engine, run_id, "completed", {})
    return run_id


def _papers():
    p1 = entry("Paper One", 0, arxiv="2401.00001", category="cs.LG", date="2026-01-10")
    p2 = entry("Paper Two", 1, arxiv="2401.00002", category="cs.LG", date="2026-02-10")
    p3 = entry("Paper Three", 1, arxiv="2401.00003", category="stat.ML", date="2026-03-10")
    p4 = entry("Paper Four", 1, arxiv="2401.00004", category="cs.CL", date="2026-04-10")
    moved = entry("Paper One", 0, arxiv="2401.00001", category="cs.CL", date="2026-01-11")
    return p1, p2, p3, p4, moved


def test_marts_in_scope():
    assert {"citation_current", "paper_current", "paper_reach", "category_flow", "hub_role_mix"} <= INCREMENTAL
    assert {"hub_polarity_mix", "hub_summary"} <= INCREMENTAL
    assert {m.name for m in MARTS} > INCREMENTAL  # the others are rebuilt in full every run


def test_a_change_reaches_the_rows_of_hubs_and_papers_outside_the_run(engine, tmp_path):
    p1, p2, p3, p4, moved = _papers()
    # run 1: A (hub) lists P1, P2; B (super hub) lists P1, P3; C lists P3
    first = _run(
        engine,
        tmp_path,
        1,
        _hub(A, [p1, p2], roles={"background": [p1]})
        + _hub(B, [p1, p3], tier="super_hub", roles={"method": [p1, p3]})
        + _hub(C, [p3]),
    )
    assert differences(engine, first) == {}
    # run 2 fetches A only: P1 moved to cs.CL (and another date), P2 retired, P4 new, A now a super hub,
    # P1 relabelled background -> method on A
    second = _run(engine, tmp_path, 2, _hub(A, [moved, p4], tier="super_hub", roles={"method": [moved]}))
    assert differences(engine, second) == {}
    with engine.connect() as conn:
        flow = conn.execute(
            text("SELECT category, citations, run_id FROM category_flow WHERE hub_uuid = :b ORDER BY category"),
            {"b": B},
        ).all()
        reach = dict(conn.execute(text("SELECT paper_key, super_hubs_cited FROM paper_reach")).all())
        current = set(conn.execute(select(t.paper_current.c.paper_key)).scalars())
    # B was not in run 2, yet its P1 citation moved from cs.LG to cs.CL (recomputed by run 2)
    assert [tuple(r) for r in flow] == [("cs.CL", 1, second), ("stat.ML", 1, second)]
    assert reach["arxiv:2401.00001"] == 2  # cites A and B, both super hubs now
    assert reach["arxiv:2401.00003"] == 1  # B only: not recomputed, still right
    assert "arxiv:2401.00002" not in current and "arxiv:2401.00004" in current
    # C saw nothing change: none of its rows was recomputed
    assert recomputed(engine, "category_flow", first) == 1  # (stat.ML, C)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT run_id FROM citation_current WHERE hub_uuid = :c"), {"c": C}).scalars().all()
    assert kept == [first]
    # run 3 fetches B, unchanged but fetched again (its row rewritten, its papers listed again)
    third = _run(engine, tmp_path, 3, _hub(B, [moved, p3], tier="super_hub", roles={"method": [moved, p3]}))
    assert differences(engine, third) == {}
    assert recomputed(engine, "citation_current", third) == 0  # no edge changed
    # run 4: A lists P2 again (reopened: back in paper_current) and drops P4
    fourth = _run(engine, tmp_path, 4, _hub(A, [moved, p2], tier="super_hub", roles={"method": [moved]}))
    assert differences(engine, fourth) == {}
    with engine.connect() as conn:
        current = set(conn.execute(select(t.paper_current.c.paper_key)).scalars())
    assert "arxiv:2401.00002" in current and "arxiv:2401.00004" not in current


def test_a_hub_whose_twin_answered_not_modified_is_seen_again_in_hub_summary(engine, tmp_path):
    p1, p2, p3, _, _ = _papers()
    first = _run(engine, tmp_path, 1, _hub(A, [p1, p2]) + _hub(B, [p3]) + _hub(C, [p3]))
    unchanged = fetch_item(f"{BASE}/citations/{B}.json", B, outcome="not_modified", status=304)
    second = _run(engine, tmp_path, 2, _hub(A, [p1]) + [unchanged])
    assert differences(engine, second) == {}
    with engine.connect() as conn:
        seen = dict(conn.execute(text("SELECT hub_uuid, run_id FROM hub_summary")).all())
    assert seen == {A: second, B: second, C: first}  # C, not asked, kept its row


def test_a_page_reached_by_a_redirect_is_its_own_hubs(engine, tmp_path):
    """The crawl asked for C and was redirected to A's page: the item names C, the load files the page under
    A (its URL's uuid), so A's rows are the ones to recompute."""
    p1, p2, p3, p4, _ = _papers()
    _run(engine, tmp_path, 1, _hub(A, [p1, p2]) + _hub(B, [p3]))
    redirected = [{**item, "hub_uuid": C} for item in _hub(A, [p1, p2, p4]) if item["kind"] == "hub_page"]
    second = _run(engine, tmp_path, 2, redirected)
    assert differences(engine, second) == {}
    assert recomputed(engine, "citation_current", second) == 1  # (A, P4)


def test_the_full_rebuild_reports_and_corrects_drift(engine, tmp_path):
    with pytest.raises(rebuild_mod.NothingToRebuild):
        rebuild_mod.rebuild_marts(engine)
    p1, p2, p3, p4, _ = _papers()
    first = _run(engine, tmp_path, 1, _hub(A, [p1, p2]) + _hub(B, [p3, p4], roles={"method": [p3]}))
    second = _run(engine, tmp_path, 2, _hub(A, [p1, p2, p3]))
    # drift the marts by hand: a wrong count, a row lost, a stale row
    with engine.begin() as conn:
        conn.execute(text("UPDATE paper_reach SET hubs_cited = 9 WHERE paper_key = 'arxiv:2401.00003'"))
        conn.execute(text("DELETE FROM citation_current WHERE hub_uuid = :b"), {"b": B})
        conn.execute(
            text("INSERT INTO hub_role_mix (hub_uuid, role, count, share, run_id) VALUES (:a, 'x', 1, 1.0, :r)"),
            {"a": A, "r": first},
        )
    dry = rebuild_mod.rebuild_marts(engine, apply=False)
    assert (dry.run_id, dry.applied) == (second, False)
    assert {name: (d.missing, d.extra) for name, d in dry.drift.items()} == {
        "paper_reach": (1, 1),
        "citation_current": (2, 0),
        "hub_role_mix": (0, 1),
    }
    assert dry.drift["hub_role_mix"].examples == [[A, "x"]]
    assert rebuild_mod.drift_line(dry.as_dict()).startswith("full mart rebuild in")
    assert set(differences(engine, second)) == {"paper_reach", "citation_current", "hub_role_mix"}  # rolled back
    done = rebuild_mod.rebuild_marts(engine)
    assert {name: (d.missing, d.extra) for name, d in done.drift.items()} == {
        name: (d.missing, d.extra) for name, d in dry.drift.items()
    }
    assert differences(engine, second) == {}
    assert rebuild_mod.rebuild(engine, apply=False).drift == {}
    recorded = (get_run(engine, second) or {})["summary"]["mart_rebuilds"]
    assert [r["rows"] for r in recorded] == [5]
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT DISTINCT run_id FROM citation_current")).scalars()) == {second}


def test_citehub_marts_reports_drift_and_rebuild_corrects_it(engine, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    p1, p2, p3, _, _ = _papers()
    only = _run(engine, tmp_path, 1, _hub(A, [p1, p2]) + _hub(B, [p3]))
    url = engine.url.render_as_string(hide_password=False)
    clean = CliRunner().invoke(app, ["marts", "--database-url", url])
    assert clean.exit_code == 0, clean.output
    assert f"marts of run {only} compared with a full rebuild (rolled back)" in clean.output
    assert "no drift" in clean.output
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM category_flow WHERE hub_uuid = :b"), {"b": B})
    drifted = CliRunner().invoke(app, ["marts", "--database-url", url])
    assert drifted.exit_code == 1, drifted.output
    assert "category_flow" in drifted.output and "nothing changed" in drifted.output
    fixed = CliRunner().invoke(app, ["marts", "--rebuild", "--database-url", url])
    assert fixed.exit_code == 0, fixed.output
    assert "category_flow" in fixed.output and "1 rows differed" in fixed.output and "corrected" in fixed.output
    again = CliRunner().invoke(app, ["marts", "--database-url", url])
    assert again.exit_code == 0 and "no drift" in again.output, again.output


def test_the_weekly_rebuild_falls_on_its_weekday():
    sunday = datetime(2026, 12, 6, 3, tzinfo=UTC)
    assert rebuild_mod.rebuild_due(sunday, 6)
    assert not rebuild_mod.rebuild_due(sunday + timedelta(days=1), 6)
    assert rebuild_mod.rebuild_due(sunday + timedelta(days=1), 0)
    assert not rebuild_mod.rebuild_due(sunday, -1)
    assert rebuild_mod.rebuild_due(datetime(2026, 12, 6, 23, 30), 6)  # naive: UTC
