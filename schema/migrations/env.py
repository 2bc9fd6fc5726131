"""Alembic environment: target is schema.tables.metadata; a connection may be handed in by schema.migrate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import context

from schema import placement
from schema.engine import make_engine
from schema.tables import metadata

if TYPE_CHECKING:
    from sqlalchemy import Connection

config = context.config


def _configure(connection: Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    context.configure(
        connection=connection,
        # On PostgreSQL the tables live in per-layer schemas (schema.placement): compare against that.
        target_metadata=placement.placed_metadata(metadata) if postgres else metadata,
        include_schemas=postgres,
        include_name=placement.include_name,
        include_object=placement.include_object if postgres else None,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _after_upgrade(connection: Connection) -> None:
    """Tables created unqualified by a migration land in the core schema: move each to its layer's schema,
    and give the reader roles SELECT on published tables that arrived by that move (default privileges
    only cover tables created in `marts`)."""
    placement.place_tables(connection, metadata)
    placement.sync_reader_grants(connection)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
            _after_upgrade(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: pass -x url=... or use schema.migrate.upgrade(url)")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
                _after_upgrade(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported; run against a database")
run_migrations_online()
