"""Alembic baseline vs schema.tables.metadata, on an empty SQLite file and an empty PostgreSQL database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from schema import placement
from schema.engine import make_engine
from schema.migrate import upgrade
from schema.tables import metadata


def _assert_matches_metadata(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # each layer in its own schema (schema.placement)
                inspector = inspect(conn)
                found = {
                    (s, n)
                    for s in (placement.CORE_SCHEMA, placement.MARTS_SCHEMA)
                    for n in inspector.get_table_names(schema=s)
                } - {("citehub", "alembic_version")}
                assert found == {(placement.schema_for(t), t.name) for t in metadata.tables.values()}
                opts = {
                    "compare_type": True,
                    "include_schemas": True,
                    "include_name": placement.include_name,
                    "include_object": placement.include_object,
                }
                target = placement.placed_metadata(metadata)
            else:
                tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
                assert tables == set(metadata.tables)
                opts, target = {"compare_type": True}, metadata
            context = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(context, target) == []
    finally:
        engine.dispose()


def test_sqlite_upgrade_from_empty_gives_metadata(sqlite_url):
    _assert_matches_metadata(sqlite_url)
    upgrade(sqlite_url)  # at head already: a no-op, not an error
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_from_empty_gives_metadata(pg_url):
    _assert_matches_metadata(pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        comments = inspect(conn).get_table_comment("citation")
    engine.dispose()
    assert comments["text"] == metadata.tables["citation"].comment


@pytest.mark.parametrize("engine_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_concurrent_upgrades_of_a_new_warehouse_migrate_once(engine_name, tmp_path, request):
    """Two commands started at once both upgrade first (issue 18: two refreshes at once on a new warehouse
    failed in Alembic): one migrates, the others wait and find it at head."""
    import threading

    from schema.migrate import current_revision, head_revision
    from schema.migrate import upgrade as migrate

    url = f"sqlite:///{tmp_path / 'w.sqlite'}" if engine_name == "sqlite" else request.getfixturevalue("pg_url")
    errors: list[BaseException] = []

    def one() -> None:
        try:
            migrate(url)
        except BaseException as exc:  # collected: the assertion names it
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert current_revision(url) == head_revision()
