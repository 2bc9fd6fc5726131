"""Checks follow the change: a run checks the rows its change can reach (the hubs it staged, their edges and
those edges' papers, their mart rows); the full set over every row goes with the full rebuild."""

from __future__ import annotations

from conftest import BASE, HUB_A, HUB_B, fetch_item, two_hub_items
from sqlalchemy import text
from test_wh_flow import run_pipeline

from warehouse.checks import CHECKS, run_checks
from warehouse.rebuild import rebuild_marts

BROKEN = {  # an edge's novelty out of range (its open version no longer matches), a hub's counts
    "citation_novelty_in_range": 1,
    "citation_version_open_matches_edge": 1,
    "hub_classified_within_citing": 1,
}


def _break(engine, uuid: str, paper: str | None = None) -> None:
    """Values no load writes, in the rows of one hub (its first edge, its row) and of one paper."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE citation SET novelty = 42 WHERE hub_uuid = :h AND paper_key = "
                "(SELECT MIN(paper_key) FROM citation WHERE hub_uuid = :h)"
            ),
            {"h": uuid},
        )
        conn.execute(text("UPDATE hub SET classified_count = 99 WHERE hub_uuid = :h"), {"h": uuid})
        if paper is not None:
            conn.execute(text("UPDATE paper SET title_raw = ' ' WHERE paper_key = :p"), {"p": paper})


def _failed(checks) -> dict[str, int]:
    return {c.name: c.failed_rows for c in checks if not c.passed}


def test_a_run_checks_what_its_change_reaches_and_the_full_set_checks_everything(engine, tmp_path):
    run_pipeline(engine, tmp_path, two_hub_items())
    _break(engine, HUB_B)
    # the next night lists hub A only: hub B's broken rows are out of its reach
    only_a = [i for i in two_hub_items() if i.get("hub_uuid") == HUB_A]
    second, _, checks = run_pipeline(engine, tmp_path, only_a)
    assert _failed(checks) == {}
    assert _failed(run_checks(engine, second, full=True)) == BROKEN
    # `citehub marts --rebuild` runs the full set with the full rebuild
    assert sorted(rebuild_marts(engine).checks_failed) == sorted(BROKEN)
    # the same breakage within the run's reach is caught by the run's own checks (a paper hub A alone cites)
    _break(engine, HUB_A, paper="pith:ab12cd34")
    assert _failed(run_checks(engine, second)) == {**BROKEN, "paper_title_present": 1}
    assert _failed(run_checks(engine, second, full=True)) == {
        **dict.fromkeys(BROKEN, 2),  # hub A's and hub B's
        "paper_title_present": 1,
    }


def test_a_hub_whose_twin_answered_not_modified_is_out_of_the_runs_reach(engine, tmp_path):
    """A 304 writes the hub's bookkeeping (last_seen_run) and nothing any check reads: a night of 304s
    checks no hub row, however many hubs it re-checked."""
    run_pipeline(engine, tmp_path, two_hub_items())
    _break(engine, HUB_B)
    unchanged = fetch_item(f"{BASE}/citations/{HUB_B}.json", HUB_B, outcome="not_modified", status=304)
    only_a = [i for i in two_hub_items() if i.get("hub_uuid") == HUB_A]
    second, _, checks = run_pipeline(engine, tmp_path, [*only_a, unchanged])
    assert _failed(checks) == {}
    assert _failed(run_checks(engine, second, full=True)) == BROKEN


def test_every_check_over_a_large_table_has_a_run_scoped_form():
    """Tables that grow with the warehouse are checked by key in a nightly; the small ones (coverage,
    staleness: a row per run or bucket) and the run's own spells are checked whole."""
    grows = {"hub", "paper", "citation", "citation_version", "hub_role_mix", "hub_polarity_mix"}
    for table, checks in CHECKS.items():
        for check in checks:
            if table in grows:
                assert check.changed is not None and ":run_id" in check.changed, check.name
            else:
                assert check.changed is None, check.name
