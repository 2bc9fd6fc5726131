"""hub_growth and hub_role_history maintained incrementally (issue 17): a run adds the rows of the figure spells
it opened and of the hubs whose role summary it changed, as of itself, with exactly the values the full build
(warehouse/marts/<mart>.sql) gives them, and recomputes no other row; after every run both marts equal a full
rebuild (the `run_id` bookkeeping column aside), on SQLite and PostgreSQL.

Covered here, beside the five nights of tests/warehouse/test_mart_increments_days.py: a run that changes only a
role summary (a run_seq of hub_role_history, none of hub_growth, and the next run numbered after it in both), a
hub's first spell (prev_run NULL), an incomplete fetch's spell, a role summary that ends with no new one (no
row), and a run materialized twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from schema.tables import metadata
from tests.warehouse.conftest import BASE, entry, fetch_item, hub_page, json_item, page_item, write_items
from tests.warehouse.marts_equality import differences, recomputed
from warehouse import stage
from warehouse.load import load_staged, materialize_marts
from warehouse.materialize import INCREMENTAL, build_marts
from warehouse.runs import finish_run, start_run

A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"
MARTS = ("hub_growth", "hub_role_history")
DAY1 = datetime(2026, 12, 28, 3, tzinfo=UTC)  # the runs cross a new year (run_day, days from civil)
P1 = entry("Paper One", 0, arxiv="2401.00001")
P2 = entry("Paper Two", 1, arxiv="2401.00002")
P3 = entry("Paper Three", 2, arxiv="2401.00003")


def _hub(uuid: str, papers: list, roles: dict[str, list], tier: str = "hub", failed_role: str | None = None):
    """A fetch of a hub listing `papers`, its role summary from `roles` (role -> listed papers), one filtered
    page a role, its twin; `failed_role`: that role's page answered 503 instead (an incomplete fetch)."""
    summary = {role: len(listed) for role, listed in roles.items()}
    items = [
        page_item(hub_page(uuid, citing_count=len(papers), explorer=papers, tier=tier, role_summary=summary)),
        json_item(uuid, tier=tier),
    ]
    for role, listed in roles.items():
        page = hub_page(uuid, citing_count=len(papers), explorer=listed, tier=tier, filters={"role": role})
        if role == failed_role:
            items.append(fetch_item(f"{BASE}/citations/{uuid}?role={role}", uuid, outcome="failed", status=503))
        else:
            items.append(page_item(page))
    return items


def _run(engine, tmp_path, day: int, items: list[dict]) -> str:
    run_id = start_run(engine, "nightly", {}, DAY1 + timedelta(days=day - 1))
    stage.stage_items(engine, run_id, write_items(tmp_path / f"{run_id}.jsonl", items))
    load_staged(engine, run_id, then=lambda conn: materialize_marts(conn, run_id))
    finish_run(engine, run_id, "completed", {})
    return run_id


def _rows(engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _only_own_rows(engine, run_id: str) -> None:
    """The run (re)computed exactly its own rows of both marts: those of its spells and role changes."""
    for mart in MARTS:
        m = metadata.tables[mart]
        with engine.connect() as conn:
            own = conn.execute(select(func.count()).select_from(m).where(m.c.snapshot_run == run_id)).scalar_one()
            others = conn.execute(
                select(func.count()).select_from(m).where(m.c.run_id == run_id, m.c.snapshot_run != run_id)
            ).scalar_one()
        assert (recomputed(engine, mart, run_id), others) == (own, 0), mart


def _contents(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {m: sorted(map(tuple, conn.execute(select(metadata.tables[m])))) for m in MARTS}


def test_both_marts_are_incremental():
    assert {"hub_growth", "hub_role_history"} <= INCREMENTAL


def test_growth_and_role_history_follow_each_run(engine, tmp_path):
    # day 1: first build (full); day 2 on: increments
    first = _run(
        engine, tmp_path, 1, _hub(A, [P1, P2], {"background": [P1], "method": [P2]}) + _hub(B, [P3], {"result": [P3]})
    )
    assert differences(engine, first) == {}

    # day 2: A cites one more paper (a figure spell) and its role summary changes; B is not fetched
    second = _run(engine, tmp_path, 2, _hub(A, [P1, P2, P3], {"background": [P1, P2], "method": [P3]}))
    assert differences(engine, second) == {}
    _only_own_rows(engine, second)

    # day 3: A shows the same figures but one role page fails (incomplete: a spell of its own); B's tier
    # changes (a figure spell) and its role summary ends with no new one (no hub_role_history row)
    third = _run(
        engine,
        tmp_path,
        3,
        _hub(A, [P1, P2, P3], {"background": [P1, P2], "method": [P3]}, failed_role="method")
        + _hub(B, [P3], {}, tier="super_hub"),
    )
    assert differences(engine, third) == {}
    _only_own_rows(engine, third)

    growth = _rows(
        engine,
        "SELECT hub_uuid, snapshot_run, run_seq, prev_run, citing_delta, tier_changed FROM hub_growth "
        "ORDER BY run_seq, hub_uuid",
    )
    roles = _rows(
        engine,
        "SELECT hub_uuid, snapshot_run, run_seq, role, count FROM hub_role_history ORDER BY run_seq, hub_uuid, role",
    )
    seqs = {run: seq for _, run, seq, *_ in growth + roles}
    assert seqs == {first: 1, second: 2, third: 3}
    assert [(h, r) for h, r, *_ in growth] == [(A, first), (B, first), (A, second), (A, third), (B, third)]
    first_rows = {h: rest for h, r, *rest in growth if r == first}
    assert first_rows[A][1:] == [None, None, False] and first_rows[B][1:] == [None, None, False]  # first spells
    assert [rest for h, r, *rest in growth if (h, r) == (A, second)] == [[2, first, 1, False]]
    assert [rest for h, r, *rest in growth if (h, r) == (B, third)] == [[3, first, 0, True]]
    complete = dict(_rows(engine, "SELECT valid_from_run, complete FROM hub_version WHERE hub_uuid = :h", h=A))
    assert complete[third] in (False, 0)  # the incomplete fetch's spell has its row
    assert (B, third) not in {(h, r) for h, r, *_ in roles}  # B's role summary ended: no row
    assert [(h, r, role, n) for h, r, _, role, n in roles if r == second] == [
        (A, second, "background", 2),
        (A, second, "method", 1),
    ]


def test_a_run_that_changes_only_a_role_summary(engine, tmp_path):
    first = _run(engine, tmp_path, 1, _hub(A, [P1, P2], {"background": [P1], "method": [P2]}))
    # same figures (citing 2, classified 2), counts swapped between the roles
    second = _run(engine, tmp_path, 2, _hub(A, [P1, P2], {"background": [P1, P2]} | {"method": []}))
    assert differences(engine, second) == {}
    _only_own_rows(engine, second)
    assert _rows(engine, "SELECT COUNT(*) FROM hub_version WHERE valid_from_run = :r", r=second) == [(0,)]
    assert _rows(engine, "SELECT COUNT(*) FROM hub_growth WHERE snapshot_run = :r", r=second) == [(0,)]
    assert _rows(engine, "SELECT DISTINCT run_seq FROM hub_role_history WHERE snapshot_run = :r", r=second) == [(2,)]
    # the next run that changes figures is numbered after the role-only run, in both marts
    third = _run(engine, tmp_path, 3, _hub(A, [P1, P2, P3], {"background": [P1, P2], "method": [P3]}))
    assert differences(engine, third) == {}
    _only_own_rows(engine, third)
    assert _rows(engine, "SELECT run_seq, prev_run FROM hub_growth WHERE snapshot_run = :r", r=third) == [(3, first)]
    assert _rows(engine, "SELECT DISTINCT run_seq FROM hub_role_history WHERE snapshot_run = :r", r=third) == [(3,)]


def test_materializing_a_run_again_changes_nothing(engine, tmp_path):
    _run(engine, tmp_path, 1, _hub(A, [P1, P2], {"background": [P1], "method": [P2]}))
    second = _run(engine, tmp_path, 2, _hub(A, [P1, P2, P3], {"background": [P1, P2, P3]}) + _hub(B, [P3], {}))
    before = _contents(engine)
    with engine.begin() as conn:
        build_marts(conn, second, full=False)
    assert differences(engine, second) == {}
    assert _contents(engine) == before
