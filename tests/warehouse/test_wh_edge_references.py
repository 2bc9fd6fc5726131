"""citation's references to hub and paper: checked once per load in its transaction (migration 0006 dropped
the per-row foreign keys), and the migration itself, up and down, on both engines."""

from __future__ import annotations

import pytest
from conftest import two_hub_items
from sqlalchemy import func, inspect, select, text

from schema.engine import make_engine
from schema.migrate import alembic_config, upgrade
from schema.tables import citation, hub, hub_version, paper
from tests.oracle import load
from warehouse.clean import clean
from warehouse.load import DanglingEdges
from warehouse.runs import start_run

RUN = "20261124T030000Z-aaaaaa"
ROWS = [
    "INSERT INTO run (run_id, kind, status, started_at, params, code_version, parser_version) "
    f"VALUES ('{RUN}', 'nightly', 'completed', '2026-11-24 03:00:00+00', '{{}}', 'x', 'y')",
    "INSERT INTO hub (hub_uuid, tier, citing_count, first_seen_run, last_seen_run, run_id) "
    f"VALUES ('h1', 'hub', 1, '{RUN}', '{RUN}', '{RUN}')",
    "INSERT INTO paper (paper_key, title_raw, first_seen_run, last_seen_run, run_id) "
    f"VALUES ('arxiv:2601.00001', 'A paper', '{RUN}', '{RUN}', '{RUN}')",
    "INSERT INTO citation (hub_uuid, paper_key, representative, first_seen_run, last_seen_run, run_id, "
    f"valid_from_run) VALUES ('h1', 'arxiv:2601.00001', false, '{RUN}', '{RUN}', '{RUN}', '{RUN}')",
]


def _fks(engine) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(
            (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
            for fk in inspect(conn).get_foreign_keys("citation")
        )


def _edges(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT hub_uuid, paper_key FROM citation")).all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bare_url(request):
    """An empty database on each backend, not migrated."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def test_0006_drops_the_foreign_keys_and_keeps_rows_up_and_down(bare_url):
    from alembic import command

    url = bare_url
    engine = make_engine(url)
    upgrade(engine, "0005")
    with engine.begin() as conn:
        for row in ROWS:
            conn.execute(text(row))
    before = [
        ("fk_citation_hub_uuid_hub", ("hub_uuid",), "hub"),
        ("fk_citation_paper_key_paper", ("paper_key",), "paper"),
    ]
    assert _fks(engine) == before
    upgrade(engine)
    fresh = make_engine(url)  # a new connection reads the rewritten schema
    assert _fks(fresh) == []
    assert _edges(fresh) == [("h1", "arxiv:2601.00001")]
    with fresh.connect() as conn:  # the views over the edges still compile (no version rows were written)
        assert conn.execute(text("SELECT COUNT(*) FROM citation_as_of")).scalar_one() == 0
    fresh.dispose()
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    again = make_engine(url)
    assert _fks(again) == before
    assert _edges(again) == [("h1", "arxiv:2601.00001")]
    again.dispose()
    engine.dispose()


def test_a_load_naming_a_missing_paper_is_refused_and_writes_nothing(engine):
    upgrade(engine)
    run_id = start_run(engine, "nightly", {})
    batch = clean(two_hub_items())
    missing = batch.citations[0]["paper_key"]
    batch.papers = [p for p in batch.papers if p["paper_key"] != missing]  # a CleanBatch made by hand, wrong
    dangling = sum(c["paper_key"] == missing for c in batch.citations)
    assert dangling == 2  # the paper is cited by both hubs
    with pytest.raises(
        DanglingEdges,
        match=rf"^refusing to commit the load: {dangling} edge\(s\) fail "
        r"citation_paper_exists \(every citation's paper is in paper\)$",
    ):
        load(engine, run_id, batch)
    with engine.connect() as conn:
        for table in (hub, paper, citation, hub_version):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0, table.name


def test_a_whole_batch_loads(engine):
    upgrade(engine)
    run_id = start_run(engine, "nightly", {})
    batch = clean(two_hub_items())
    load(engine, run_id, batch)
    assert len(_edges(engine)) == len(batch.citations) > 0


def test_a_staged_load_checks_the_references_of_its_own_hubs_edges(engine):
    """`load_staged` checks the edges of the hubs its pages showed (its scratch `_clean_hub`, those whose twin
    answered "not modified" aside), not every edge: a dangling edge of one of them refuses the load; one of
    another hub was an earlier load's to refuse."""
    from conftest import HUB_A, HUB_B

    from warehouse.load import check_edge_references

    run_id = start_run(engine, "backfill", {})
    load(engine, run_id, clean(two_hub_items()))
    with engine.begin() as conn:  # hub A's edge to a paper only it cites loses its paper
        conn.execute(text("DELETE FROM paper WHERE paper_key = 'pith:ab12cd34'"))
    # hub A re-checked by a twin that answered "not modified" writes none of its edges: nothing to refuse
    for shown, unchanged, refused in ((HUB_B, False, False), (HUB_A, True, False), (HUB_A, False, True)):
        with engine.connect() as conn, conn.begin() as transaction:
            conn.execute(text("CREATE TEMPORARY TABLE _clean_hub (hub_uuid TEXT, unchanged BOOLEAN)"))
            conn.execute(text("INSERT INTO _clean_hub VALUES (:h, :u)"), {"h": shown, "u": unchanged})
            if refused:
                with pytest.raises(DanglingEdges, match=r"1 edge\(s\) fail citation_paper_exists"):
                    check_edge_references(conn, of_run=True)
            else:
                check_edge_references(conn, of_run=True)
            with pytest.raises(DanglingEdges):  # the whole warehouse's check sees it either way
                check_edge_references(conn)
            transaction.rollback()
