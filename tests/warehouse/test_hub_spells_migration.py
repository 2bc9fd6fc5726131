"""Migration 0013 on an existing warehouse: per-run hub snapshots (copies of unchanged runs included) become
figure and facet spells in place, on SQLite and PostgreSQL, and `hub_as_of` answers every run as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import column, select, table, text

from schema.engine import make_engine
from schema.migrate import alembic_config, upgrade
from schema.tables import hub_change, hub_facet_version, hub_version

RUNS = [f"2026112{d}T030000Z-00000{d}" for d in range(1, 6)]
R1, R2, R3, R4, R5 = RUNS
A, B = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
FIGURES = ("tier", "label", "template", "headline", "headline_role", "headline_share", "citing_count")


def _snap(run_id, hub, citing, parsed, complete, tier="hub"):
    return {
        "run_id": run_id,
        "hub_uuid": hub,
        "tier": tier,
        "label": "Mixed citations",
        "template": "current",
        "headline": None,
        "headline_role": "background",
        "headline_share": 50.0,
        "citing_count": citing,
        "classified_count": 3,
        "parsed_count": parsed,
        "complete": complete,
    }


# Hub A: copied forward by R2 (its twin answered 304), grew on R3, fetched incompletely on R4, whole on R5.
# Hub B: unchanged throughout, not fetched on R4.
SNAPSHOTS = [
    _snap(R1, A, 3, 3, True),
    _snap(R2, A, 3, 3, True),
    _snap(R3, A, 4, 4, True),
    _snap(R4, A, 5, 2, False, tier="super_hub"),
    _snap(R5, A, 5, 5, True, tier="super_hub"),
    *(_snap(r, B, 1, 1, True) for r in (R1, R2, R3, R5)),
]
ROLES = {  # hub A's role summary per run; B shows one field in every run
    R1: {"background": 2, "method": 1},
    R2: {"background": 2, "method": 1},
    R3: {"background": 3, "method": 1},
    R4: {"background": 3},
    R5: {"background": 3, "method": 2},
}
FACETS = [
    *(
        {"run_id": r, "hub_uuid": A, "facet": "role_summary", "value": v, "count": n}
        for r, m in ROLES.items()
        for v, n in m.items()
    ),
    *({"run_id": r, "hub_uuid": B, "facet": "fields", "value": "cs.LG", "count": 1} for r in (R1, R2, R3, R5)),
]


def _cols(*names):
    return [column(n) for n in names]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_warehouse(request):
    """A warehouse at revision 0012 holding five runs of per-run snapshots."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = make_engine(url)
    upgrade(engine, "0012")
    start = datetime(2026, 11, 21, 3, tzinfo=UTC)
    with engine.begin() as conn:
        run = table(
            "run",
            *_cols("run_id", "kind", "status", "started_at", "finished_at", "params", "code_version", "parser_version"),
        )
        conn.execute(
            run.insert(),
            [
                {
                    "run_id": r,
                    "kind": "nightly",
                    "status": "completed",
                    "started_at": start + timedelta(days=i),
                    "finished_at": start + timedelta(days=i, minutes=5),
                    "params": "{}",
                    "code_version": "0",
                    "parser_version": "2",
                }
                for i, r in enumerate(RUNS)
            ],
        )
        conn.execute(table("hub_snapshot", *_cols(*SNAPSHOTS[0])).insert(), SNAPSHOTS)
        conn.execute(table("hub_facet_count", *_cols(*FACETS[0])).insert(), FACETS)
        conn.execute(
            table("hub_change", *_cols("hub_uuid", "checks", "changes", "observed_days")).insert(),
            [{"hub_uuid": h, "checks": 0, "changes": 0, "observed_days": 0.0} for h in (A, B)],
        )
    yield engine
    engine.dispose()


AS_OF = "SELECT * FROM hub_as_of ORDER BY as_of_run, hub_uuid"


def _as_of(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(AS_OF)).mappings()]


def test_snapshots_become_spells_and_as_of_answers_stay(old_warehouse):
    engine = old_warehouse
    before = _as_of(engine)
    upgrade(engine)
    after = _as_of(engine)

    # every run answers with the same figures; snapshot_run is now the run that opened the spell
    assert [{k: v for k, v in r.items() if k != "snapshot_run"} for r in after] == [
        {k: v for k, v in r.items() if k != "snapshot_run"} for r in before
    ]
    spell_start = {(R1, A): R1, (R2, A): R1, (R3, A): R3, (R4, A): R4, (R5, A): R5}
    spell_start |= {(r, B): R1 for r in RUNS}
    assert {(r["as_of_run"], r["hub_uuid"]): r["snapshot_run"] for r in after} == spell_start
    assert len(before) == 10  # the comparison is about something: five runs, two hubs

    v, f = hub_version.c, hub_facet_version.c
    with engine.connect() as conn:
        spells = conn.execute(
            select(v.hub_uuid, v.valid_from_run, v.valid_to_run, v.tier, v.citing_count, v.complete).order_by(
                v.hub_uuid, v.valid_from_run
            )
        ).all()
        facets = conn.execute(
            select(f.hub_uuid, f.facet, f.value, f.valid_from_run, f.valid_to_run, f["count"]).order_by(
                f.hub_uuid, f.facet, f.value, f.valid_from_run
            )
        ).all()
        last_complete = dict(conn.execute(select(hub_change.c.hub_uuid, hub_change.c.last_complete_run)).all())
    assert [tuple(r) for r in spells] == [
        (A, R1, R3, "hub", 3, True),  # R2's copy continues R1's spell
        (A, R3, R4, "hub", 4, True),
        (A, R4, R5, "super_hub", 5, False),  # an incomplete fetch opens a spell of its own
        (A, R5, None, "super_hub", 5, True),
        (B, R1, None, "hub", 1, True),
    ]
    assert [tuple(r) for r in facets] == [
        (A, "role_summary", "background", R1, R3, 2),
        (A, "role_summary", "background", R3, None, 3),
        (A, "role_summary", "method", R1, R4, 1),  # R4 no longer showed it
        (A, "role_summary", "method", R5, None, 2),
        (B, "fields", "cs.LG", R1, None, 1),
    ]
    assert last_complete == {A: R5, B: R5}


def test_downgrade_writes_one_snapshot_per_spell(old_warehouse):
    engine = old_warehouse
    upgrade(engine)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
    with engine.connect() as conn:
        snaps = conn.execute(text("SELECT run_id, hub_uuid FROM hub_snapshot ORDER BY hub_uuid, run_id")).all()
        facets = conn.execute(
            text("SELECT run_id, value, count FROM hub_facet_count WHERE hub_uuid = :a ORDER BY run_id, value"),
            {"a": A},
        ).all()
    assert [tuple(r) for r in snaps] == [(R1, A), (R3, A), (R4, A), (R5, A), (R1, B)]
    assert [tuple(r) for r in facets] == [
        (R1, "background", 2),
        (R1, "method", 1),
        (R3, "background", 3),
        (R3, "method", 1),
        (R4, "background", 3),
        (R5, "background", 3),
        (R5, "method", 2),
    ]
