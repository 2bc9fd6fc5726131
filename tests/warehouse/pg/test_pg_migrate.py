"""Schemas per layer on PostgreSQL; a warehouse created at revision 0001 upgrades in place on both engines."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, inspect, select, text

from schema import placement
from schema.engine import make_engine
from schema.migrate import head_revision, upgrade
from schema.tables import metadata

RUN_ROW = (
    "INSERT INTO run (run_id, kind, status, started_at, params, code_version, parser_version) "
    "VALUES ('20261124T030000Z-aaaaaa', 'nightly', 'completed', '2026-11-24 03:00:00+00', '{}', 'x', 'y')"
)
HUB_ROW = (
    "INSERT INTO hub (hub_uuid, tier, citing_count, first_seen_run, last_seen_run, run_id) VALUES "
    "('aaaaaaaa-0000-4000-8000-000000000001', 'hub', 12, '20261124T030000Z-aaaaaa', "
    "'20261124T030000Z-aaaaaa', '20261124T030000Z-aaaaaa')"
)


def _upgrade_from_0001(url: str) -> None:
    upgrade(url, "0001")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(RUN_ROW))
        conn.execute(text(HUB_ROW))
    upgrade(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
        assert conn.execute(text("SELECT hub_uuid, tier, citing_count FROM hub")).all() == [
            ("aaaaaaaa-0000-4000-8000-000000000001", "hub", 12)
        ]
        # the citation history added by 0002 and every new mart exist and are queryable
        for table in placement.published_tables(metadata):
            conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_sqlite_0001_warehouse_upgrades_in_place(tmp_path):
    _upgrade_from_0001(f"sqlite:///{tmp_path / 'old.sqlite'}")


@pytest.mark.postgres
def test_postgres_0001_warehouse_upgrades_in_place_into_schemas(pg_url):
    engine = make_engine(pg_url)
    _upgrade_from_0001(pg_url)
    with engine.connect() as conn:
        inspector = inspect(conn)
        core = set(inspector.get_table_names(schema="citehub"))
        marts = set(inspector.get_table_names(schema="marts"))
        assert set(inspector.get_table_names(schema="public")) == set()
        assert marts == {t.name for t in placement.published_tables(metadata)}
        assert core == {t.name for t in metadata.tables.values() if t.info["layer"] != "marts"} | {"alembic_version"}
        assert set(inspector.get_view_names(schema="marts")) >= {"citation_as_of", "hub_as_of"}


@pytest.mark.postgres
def test_late_table_created_unqualified_is_placed_by_the_next_upgrade(pg_url):
    """A later migration's op.create_table lands in citehub; the post-upgrade step moves a mart to marts."""
    upgrade(pg_url)
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE marts.hub_growth SET SCHEMA citehub"))  # as a new migration leaves it
    upgrade(pg_url)
    with engine.connect() as conn:
        assert placement.relation_schema(conn, "hub_growth") == "marts"


@pytest.mark.postgres
def test_cli_db_upgrade_uses_citehub_database_url(pg_url, tmp_path):
    env = {
        "CITEHUB_DATABASE_URL": pg_url,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with make_engine(pg_url).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM citehub.alembic_version")).scalar_one() == head_revision()
