"""The revisit plan (issue 16): what a load learns of each hub's changes (`hub_change`), and which hubs a
budgeted run chooses, in which order and why (`run_plan`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Boolean, Column, MetaData, Table, Text, insert, select

from schema import tables as t
from warehouse import plan
from warehouse.runs import start_run

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
A, B, C, D, E = (f"{c * 8}-0000-4000-8000-00000000000{i}" for i, c in enumerate("abcde", start=1))
NEW = "0c6c5d40-5c8d-4d5c-9d0e-3f1f1b9a7e11"


def _run(engine, day: float) -> str:
    return start_run(engine, "nightly", {}, started_at=T0 + timedelta(days=day))


def _fetch(run_id: str, uuid: str, path: str, status: int, sha: str | None = None) -> dict:
    return {
        "run_id": run_id,
        "url": f"https://pith.science/citations/{uuid}{path}",
        "hub_uuid": uuid,
        "status": status,
        "sha256": sha,
        "bytes": 10,
        "outcome": "not_modified" if status == 304 else "parsed",
    }


def _observe(engine, run_id: str, fetches: list[dict], complete: dict[str, bool], unchanged: set[str]) -> int:
    scratch = Table(
        f"_hubs_{run_id[-6:]}",
        MetaData(),
        Column("hub_uuid", Text),
        Column("complete", Boolean),
        Column("unchanged", Boolean),
    )
    with engine.begin() as conn:
        scratch.create(conn)
        if fetches:
            conn.execute(insert(t.fetch), fetches)
        conn.execute(
            insert(scratch), [{"hub_uuid": u, "complete": c, "unchanged": u in unchanged} for u, c in complete.items()]
        )
        return plan.observe(conn, run_id, scratch)


def _learned(engine) -> dict[str, tuple]:
    c = t.hub_change.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.hub_uuid, c.checks, c.changes, c.observed_days, c.full_requests)).all()
    return {r[0]: (r[1], r[2], round(r[3], 6), r[4]) for r in rows}


def test_a_load_learns_how_often_each_hub_changed(engine):
    first = _run(engine, 0)
    pages = [_fetch(first, A, "", 200), _fetch(first, A, "?page=2", 200), _fetch(first, A, "?role=method", 200)]
    assert (
        _observe(
            engine,
            first,
            [_fetch(first, A, ".json", 200, "x"), *pages, _fetch(first, B, ".json", 200, "b")],
            {A: True, B: False},
            set(),
        )
        == 2
    )
    # first answers: nothing to compare with; A's full fetch cost 4 requests; B was incomplete
    assert _learned(engine) == {A: (0, 0, 0.0, 4), B: (0, 0, 0.0, None)}
    second = _run(engine, 1)
    _observe(
        engine, second, [_fetch(second, A, ".json", 304), _fetch(second, B, ".json", 200, "b")], {A: True, B: True}, {A}
    )
    assert _learned(engine) == {A: (1, 0, 1.0, 4), B: (1, 0, 1.0, None)}  # a 304 and the same body: no change
    third = _run(engine, 3)
    _observe(engine, third, [_fetch(third, A, ".json", 200, "y"), _fetch(third, A, "", 200)], {A: True}, set())
    assert _learned(engine)[A] == (2, 1, 3.0, 2)  # a new body: a change, over the two days since
    with engine.connect() as conn:
        last = conn.execute(select(t.hub_change.c.last_complete_at).where(t.hub_change.c.hub_uuid == B)).scalar_one()
    assert last.replace(tzinfo=last.tzinfo or UTC) == T0 + timedelta(days=1)


def _known(engine, rows: dict[str, tuple[int, int, int, float, float, int]]) -> None:
    """Hubs with (citing_count, checks, changes, observed_days, days since complete fetch, full_requests)."""
    run_id = _run(engine, 0)
    now = T0 + timedelta(days=30)
    with engine.begin() as conn:
        for uuid, (citing, checks, changes, days, stale, full) in rows.items():
            conn.execute(
                insert(t.hub).values(
                    hub_uuid=uuid, citing_count=citing, first_seen_run=run_id, last_seen_run=run_id, run_id=run_id
                )
            )
            conn.execute(
                insert(t.hub_change).values(
                    hub_uuid=uuid,
                    checks=checks,
                    changes=changes,
                    observed_days=days,
                    last_checked_at=now - timedelta(days=stale),
                    last_complete_at=now - timedelta(days=stale),
                    full_requests=full,
                )
            )
        conn.execute(
            insert(t.frontier).values(
                hub_uuid=NEW,
                first_seen_run=run_id,
                first_seen_on="https://pith.science/paper/1",
                first_seen_block="references",
                last_seen_run=run_id,
            )
        )


NOW = T0 + timedelta(days=30)


def test_without_a_budget_every_known_hub_and_every_new_one_is_planned(engine):
    _known(engine, {A: (1, 10, 0, 10.0, 1.0, 4), B: (50, 10, 9, 10.0, 1.0, 30)})
    chosen = plan.choose(engine, NOW, [(C, "seed")])
    assert [(c.hub_uuid, c.reason) for c in chosen.choices] == [(C, "seed"), (A, "known"), (B, "known"), (NEW, "new")]
    assert chosen.deferred == 0 and chosen.frontier_left == 0


def test_a_budget_goes_to_overdue_then_new_hubs_then_the_best_gain_per_request(engine):
    _known(
        engine,
        {
            A: (1, 20, 0, 20.0, 6.5, 4),  # quiet, but 6.5 days old: past 7 days by tomorrow
            B: (80, 20, 20, 20.0, 1.0, 40),  # changes daily and costs 40 requests when it does
            C: (3, 20, 10, 20.0, 2.0, 4),  # changes every other day, cheap
            D: (1, 20, 0, 20.0, 1.0, 4),  # quiet and fresh
            E: (3, 20, 10, 20.0, 4.0, 4),  # as C, staler
        },
    )
    chosen = plan.choose(engine, NOW, budget=30, max_staleness_days=7.0, paper_pages=False)
    reasons = [(c.hub_uuid, c.reason) for c in chosen.choices]
    assert reasons[:2] == [(A, "overdue"), (NEW, "new")]
    # by gain per request: E (staler) before C; B (40 requests, stale again tomorrow) does not fit; D is fresh
    assert reasons[2:] == [(E, "likely_changed"), (C, "likely_changed"), (D, "likely_changed")]
    assert chosen.expected_requests <= 30 * plan.PLAN_SHARE + 1  # robots.txt reserved apart
    assert chosen.deferred == 1 and chosen.reserved == {"robots.txt": 1.0}
    robin = plan.choose(engine, NOW, budget=30, policy="round_robin", paper_pages=False)
    assert [c.hub_uuid for c in robin.choices][:3] == [A, NEW, E]  # then oldest complete fetch first
    assert [c.reason for c in robin.choices][2:] == ["round_robin"] * (len(robin.choices) - 2)


def test_the_plan_is_recorded_with_its_reasons(engine):
    _known(engine, {A: (1, 10, 0, 10.0, 1.0, 4)})
    chosen = plan.choose(engine, NOW, [(B, "named")], budget=100, paper_pages=False)
    run_id = _run(engine, 30)
    plan.record(engine, run_id, chosen)
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.run_plan.c.rank, t.run_plan.c.hub_uuid, t.run_plan.c.reason)
            .where(t.run_plan.c.run_id == run_id)
            .order_by(t.run_plan.c.rank)
        ).all()
    assert [tuple(r) for r in rows] == [(1, B, "named"), (2, NEW, "new"), (3, A, "likely_changed")]


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="revisit policy must be one of citehub, round_robin, not 'newest'"):
        plan.choose(None, NOW, policy="newest")  # type: ignore[arg-type]
