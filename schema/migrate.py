"""Run the Alembic migrations of schema/migrations programmatically."""

from __future__ import annotations

import contextlib
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import Engine, text

from schema.engine import make_engine

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config() -> Config:
    return Config(str(ALEMBIC_INI))


# Two commands started at once both upgrade the warehouse first: one migrates, the other waits and then
# finds it at head. PostgreSQL: a transaction-level advisory lock; SQLite: a file lock beside the database.
MIGRATE_KEY = zlib.crc32(b"citehub:migrate") & 0x7FFFFFFF


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the warehouse at `url_or_engine` up to `revision` (creates every table on an empty database);
    concurrent callers migrate one at a time."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    config = alembic_config()
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    file_lock = (
        FileLock(f"{database}.migrate.lock") if database and database != ":memory:" else contextlib.nullcontext()
    )
    try:
        with file_lock, engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def head_revision() -> str:
    """The newest migration: what `upgrade()` brings a warehouse to."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(heads)}): make them one chain")
    return heads[0]


def current_revision(url: str) -> str | None:
    """The migration the warehouse at `url` is at (Alembic's version table); None before any."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def history() -> list[tuple[str, str]]:
    """Every migration, newest first: (revision, its one-line description)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return [(s.revision, (s.doc or "").strip()) for s in scripts.walk_revisions()]
