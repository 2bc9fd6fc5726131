"""The published `runs` and `run_checks` views (issue 18): analysts tell a nightly from a replay and filter by
outcome, on both engines alike; a reader role reads them without reading the core `run` table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text

from schema import tables as t
from schema.engine import make_engine
from schema.migrate import upgrade
from warehouse.runs import finish_run, start_run


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def _two_runs(engine) -> tuple[str, str]:
    nightly = start_run(engine, "nightly", {"base_url": "https://pith.science"}, datetime(2026, 12, 1, 3, tzinfo=UTC))
    finish_run(
        engine,
        nightly,
        "degraded",
        {"requests": 41, "pages_fetched": 30, "quarantined": 1, "failed_fetches": 2, "incomplete_hubs": ["h1", "h2"]},
    )
    replay = start_run(engine, "reparse", {"replay_of": nightly}, datetime(2026, 12, 1, 3, 0, 1, tzinfo=UTC))
    finish_run(engine, replay, "failed", {"error": "nothing useful fetched: 0 URLs (no URL at all)"})
    with engine.begin() as conn:
        conn.execute(
            insert(t.check_result).values(
                run_id=nightly, check_name="hub_key_unique", table_name="hub", passed=True, failed_rows=0, detail="d"
            )
        )
    return nightly, replay


def test_runs_say_kind_outcome_replay_and_counts(engine):
    nightly, replay = _two_runs(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT run_id, kind, outcome, replay_of, requests, pages_fetched, quarantined, failed_fetches, "
                "incomplete_hubs, error FROM runs ORDER BY started_at"
            )
        ).all()
        checks = conn.execute(text("SELECT run_id, kind, check_name, passed, failed_rows FROM run_checks")).all()
    assert [tuple(r) for r in rows] == [
        (nightly, "nightly", "degraded", None, 41, 30, 1, 2, 2, None),
        (
            replay,
            "reparse",
            "failed",
            nightly,
            None,
            None,
            None,
            None,
            None,
            "nothing useful fetched: 0 URLs (no URL at all)",
        ),
    ]
    assert [tuple(c) for c in checks] == [(nightly, "nightly", "hub_key_unique", True, 0)]


@pytest.mark.postgres
def test_a_reader_role_reads_runs_but_not_the_run_table(pg_url):
    import secrets

    import psycopg
    from psycopg import errors, sql
    from sqlalchemy.engine import make_url

    from schema import placement
    from warehouse.grants import grant_reader

    upgrade(pg_url)
    eng = make_engine(pg_url)
    nightly, _ = _two_runs(eng)
    role = f"citehub_reader_{secrets.token_hex(4)}"
    with eng.begin() as conn:
        placement.execute_pg(conn, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        grant_reader(eng, role)
        conninfo = make_url(pg_url).set(drivername="postgresql", username=role).render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            assert conn.execute("SELECT kind, outcome FROM runs WHERE run_id = %s", (nightly,)).fetchall() == [
                ("nightly", "degraded")
            ]
            assert conn.execute("SELECT COUNT(*) FROM run_checks").fetchone() == (1,)
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SELECT COUNT(*) FROM citehub.run")
    finally:
        with eng.begin() as conn:
            for statement in ("DROP OWNED BY {}", "DROP ROLE {}"):
                placement.execute_pg(conn, sql.SQL(statement).format(sql.Identifier(role)))
        eng.dispose()
