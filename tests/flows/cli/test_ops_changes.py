"""`warehouse.queries.hub_changes` (the run-changes artifact and the report's change table): each hub of a run
against its snapshot in the latest earlier completed run, compared with the sample site's days."""

from __future__ import annotations

import pytest

from schema.engine import make_engine
from tests.flows.cli.conftest import DAYS
from warehouse import queries as ops


def _expected(before: dict, after: dict) -> dict[str, dict]:
    """Per hub of `after` that changed since `before` (truths of two days): the figures hub_changes reports."""
    old_hubs = {h["uuid"]: h for h in before["hubs"]}
    old_edges = {(c["hub_uuid"], c["paper_key"]) for c in before["citations"]}
    new_edges = {(c["hub_uuid"], c["paper_key"]) for c in after["citations"]}
    out = {}
    for hub in after["hubs"]:
        uuid, old = hub["uuid"], old_hubs.get(hub["uuid"])
        figures = {
            "citing_before": old["citing_count"] if old else None,
            "citing_after": hub["citing_count"],
            "tier_before": old["tier"] if old else None,
            "tier_after": hub["tier"],
            "label_before": old["label"] if old else None,
            "label_after": hub["label"],
            "new_citations": sum(1 for e in new_edges - old_edges if e[0] == uuid),
            "retired_citations": sum(1 for e in old_edges - new_edges if e[0] == uuid),
        }
        moved = old is None or any(figures[f"{k}_before"] != figures[f"{k}_after"] for k in ("citing", "tier", "label"))
        if moved or figures["new_citations"] or figures["retired_citations"]:
            out[uuid] = figures
    return out


@pytest.mark.parametrize("day", range(2, DAYS + 1))
def test_hub_changes_compare_each_hub_with_the_previous_day(history, day):
    engine = make_engine(history["url"])
    run_id = history["reports"][day - 1]["run_id"]
    expected = _expected(history["truths"][day - 2], history["truths"][day - 1])
    assert len(expected) == {2: 0, 3: 3}[day]  # day 2 repeats day 1; day 3 changes three hubs
    changes = ops.hub_changes(engine, run_id)
    keys = (
        "citing_before",
        "citing_after",
        "tier_before",
        "tier_after",
        "label_before",
        "label_after",
        "new_citations",
        "retired_citations",
    )
    # Relabel-only hubs are listed too (the truth's edge sets do not show relabels), nothing else.
    listed = {c["hub_uuid"]: {k: c[k] for k in keys} for c in changes}
    assert {u: listed.get(u) for u in expected} == expected
    for uuid in set(listed) - set(expected):
        assert changes[[c["hub_uuid"] for c in changes].index(uuid)]["relabelled_citations"] > 0, uuid


def test_hub_changes_of_the_first_run_list_every_hub_as_new(history):
    engine = make_engine(history["url"])
    changes = ops.hub_changes(engine, history["reports"][0]["run_id"])
    first = history["truths"][0]
    assert sorted(c["hub_uuid"] for c in changes) == sorted(h["uuid"] for h in first["hubs"])
    assert all(c["first_seen"] and c["citing_before"] is None for c in changes)


def test_hub_changes_take_the_spell_the_run_closed(tmp_path):
    """Runs 1..4 of one hub with citing counts 10, 20, - (run 3 failed: it wrote nothing), 40: 'before' run 4
    is the spell run 2 opened and run 4 closed."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from schema import tables as t
    from schema.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    upgrade(engine)
    uuid = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    runs = [("r1", "completed", 10), ("r2", "completed", 20), ("r3", "failed", 30), ("r4", "completed", 40)]
    with engine.begin() as conn:
        for day, (run_id, status, _) in enumerate(runs, start=1):
            conn.execute(
                insert(t.run).values(
                    run_id=run_id,
                    kind="nightly",
                    status=status,
                    params="{}",
                    started_at=datetime(2026, 11, day, tzinfo=UTC),
                    code_version="x",
                    parser_version="x",
                )
            )
        conn.execute(
            insert(t.hub).values(hub_uuid=uuid, title="A hub", first_seen_run="r1", last_seen_run="r4", run_id="r4")
        )
        spells = [("r1", "r2", 10), ("r2", "r4", 20), ("r4", None, 40)]
        for start, end, citing in spells:
            conn.execute(
                insert(t.hub_version).values(
                    valid_from_run=start,
                    valid_to_run=end,
                    hub_uuid=uuid,
                    citing_count=citing,
                    parsed_count=citing,
                    complete=True,
                    tier="hub",
                )
            )
    (change,) = ops.hub_changes(engine, "r4")
    assert (change["citing_before"], change["citing_after"], change["first_seen"]) == (20, 40, False)
    (change,) = ops.hub_changes(engine, "r2")
    assert (change["citing_before"], change["citing_after"]) == (10, 20)


def _change(i: int) -> dict:
    return {
        "hub_uuid": f"h{i:05d}",
        "title": f"Hub {i}",
        "citing_before": None,
        "citing_after": i,
        "tier_before": None,
        "tier_after": "hub",
        "label_before": None,
        "label_after": None,
        "new_citations": i,
        "retired_citations": 0,
        "relabelled_citations": 0,
        "first_seen": True,
    }


def test_change_table_and_markdown_are_bounded_when_every_hub_changed():
    changes = [_change(i) for i in range(ops.TABLE_ROWS + 500)]
    rows = ops.change_table_rows(changes)
    assert [r["hub_uuid"] for r in rows] == [c["hub_uuid"] for c in changes[: ops.TABLE_ROWS]]
    assert list(rows[0]) == list(ops.CHANGE_COLUMNS)
    text = ops.change_markdown("RUN", {"new": 1, "retired": 0, "relabelled": 0}, changes)
    assert text.count("\n| Hub ") == 25
    assert f"... and {len(changes) - 25:,} more hubs: the run-changes table artifact lists the 1,000" in text
    assert "change_report table holds every change (WHERE run_id = 'RUN')" in text
    few = ops.change_markdown("RUN", {}, changes[:30])
    assert few.endswith("... and 5 more hubs: see the run-changes table artifact.")
    assert ops.change_table_rows(changes[:30]) == [{k: c[k] for k in ops.CHANGE_COLUMNS} for c in changes[:30]]


def test_change_markdown_leads_with_every_kind_and_shows_no_none():
    """30 hubs that grew most, then a relabel-only hub and a tier change: the first 25 rows show both, and a
    hub seen for the first time reads its tier without a 'None →'."""
    grown = [_change(i) | {"first_seen": False, "citing_before": 0, "tier_before": "hub"} for i in range(100, 130)]
    relabelled = _change(1) | {
        "hub_uuid": "relabel",
        "title": "Relabelled hub",
        "first_seen": False,
        "citing_before": 1,
        "tier_before": "hub",
        "new_citations": 0,
        "relabelled_citations": 2,
    }
    tiered = relabelled | {"hub_uuid": "tier", "title": "Tier hub", "relabelled_citations": 0, "tier_before": None}
    first = _change(7) | {"hub_uuid": "first", "title": "First hub", "new_citations": 0}
    changes = sorted([*grown, relabelled, tiered, first], key=lambda c: -c["citing_after"])
    assert [c["hub_uuid"] for c in changes[-3:]] == ["first", "relabel", "tier"]  # beyond the first 25
    shown = ops.change_markdown("RUN", {"new": 1, "retired": 0, "relabelled": 2}, changes)  # its first 25 rows
    assert "| Relabelled hub |" in shown and "| Tier hub |" in shown and "| First hub |" in shown
    assert "stub → hub" in shown
    assert "None" not in shown
